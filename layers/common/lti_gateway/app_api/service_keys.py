"""Service keys: long-lived, revocable credentials that open one resource link's services.

LTIAAS hands an app a service key (``services.serviceKey`` of ``/api/idtoken``) when a launch has
AGS or NRPS, so cron jobs can grade or read rosters after the 24 h ltik expired. We do the same, and
for LTI 1.1 launches with an outcome service too (our extension: grades through the line items API).

- **Derived, stored hashed.** A launch's key is ``sk_`` + base64url(HMAC-SHA256(ltik key,
  ``service-key:{launch id}``)): ``/api/idtoken`` can answer it again on every call without storing
  the plaintext anywhere; the table keeps only its SHA-256 (``SERVICEKEY#{hash}``, no TTL).
- **One per slot.** A slot is organisation + platform (consumer key, or issuer + client id +
  deployment) + context + resource link. A newer launch's key replaces the slot's key in one
  transaction (the previous key is deleted), so the previous key stops working.
- **Carries its own service data** (:class:`~lti_gateway.app_api.launch_context.ServiceContext` as JSON): the
  launch context expires after 24 h, the key does not. A newer launch refreshes it by replacing the key.
- **Issued lazily**, on the first ``/api/idtoken`` of a launch (the launch path keeps its two writes);
  a launch whose app never reads its id token leaves the slot's previous key in place.
- **Revocable**: ``DELETE /api/servicekey`` with the key itself; the slot remembers the revocation, so
  the same launch cannot have it issued again (a later launch gets a new key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from lti_gateway.app_api import ltik
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.core import clock
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.repositories import deps
from lti_gateway.repositories.app_tokens import SlotTaken

PREFIX = "sk_"
MAX_LENGTH = 128
_ATTEMPTS = 3
# Launch id -> its issued service key, per warm container: a repeated /api/idtoken makes no slot read.
# This only remembers what /api/idtoken *shows*; it never authenticates anything. A revocation or a
# newer launch of the same resource link made on another container shows here after the cache time
# at most, but the key itself is refused from the very next call on every container: a service
# session reads the key's own item, strongly consistent, on each call (:func:`lookup`).
_issued: TtlCache[str] = TtlCache()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def slot_of(ctx: ServiceContext) -> str:
    return hashlib.sha256(ctx.slot_identity().encode()).hexdigest()[:40]


def derive(launch_id: str) -> str:
    mac = ltik.derive(f"service-key:{launch_id}")
    return PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def ensure_issued(ctx: ServiceContext, *, launch_expires_at: int) -> str | None:
    """The launch's service key, issued now if needed; None when the launch has no services, when a
    newer launch of the same resource link holds the slot, or when this launch's key was revoked."""
    if not ctx.has_services:
        return None
    known = _issued.peek(ctx.launch_id)
    if known is not None:
        return known
    key = _issue(ctx, launch_expires_at=launch_expires_at)
    if key is not None:
        _issued.put(ctx.launch_id, key, ttl_seconds=settings().consumer_key_cache_seconds)
    return key


def _issue(ctx: ServiceContext, *, launch_expires_at: int) -> str | None:
    repo = deps.app_tokens_repo()
    key = derive(ctx.launch_id)
    digest = key_hash(key)
    slot = slot_of(ctx)
    for _ in range(_ATTEMPTS):
        current = repo.get_slot(slot)
        if current is not None:
            if hmac.compare_digest(str(current.get("key_hash", "")), digest):
                return key
            if current.get("launch_id") == ctx.launch_id:
                return None  # this launch's key was revoked
            if int(current.get("launch_expires_at", 0)) > launch_expires_at:
                return None  # a newer launch holds the slot (launches of the same second: the last reader wins)
        item = {
            "kind": "service_key",
            "key_hash": digest,
            "org_id": ctx.org_id,
            "slot": slot,
            "launch_id": ctx.launch_id,
            "lti_version_family": ctx.family,
            "platform": ctx.consumer_key if ctx.family == "1.1" else ctx.issuer,
            "context_id": ctx.context_id,
            "resource_link_id": ctx.resource_link_id,
            "service_context": ctx.to_json(),
            "created_at": clock.iso(clock.now()),
        }
        slot_fields = {
            "kind": "service_key_slot",
            "org_id": ctx.org_id,
            "launch_id": ctx.launch_id,
            "launch_expires_at": launch_expires_at,
            "updated_at": item["created_at"],
        }
        try:
            repo.replace_service_key(
                slot, item, slot_fields, previous_hash=None if current is None else str(current["key_hash"])
            )
        except SlotTaken:
            continue  # another launch moved the slot meanwhile: read it again
        if current is not None:
            _issued.discard(str(current.get("launch_id", "")))
        return key
    return None


def lookup(key: str) -> dict[str, Any] | None:
    """The stored item of a live service key, or None: one strongly consistent GetItem per call (a
    revoked or replaced key's item is gone, so it is refused from the next call on every container)."""
    if not isinstance(key, str) or not key.startswith(PREFIX) or len(key) > MAX_LENGTH:
        return None
    digest = key_hash(key)
    item = deps.app_tokens_repo().get_service_key(digest)
    if item is None or not hmac.compare_digest(str(item.get("key_hash", "")), digest):
        return None
    return item


def context_of(item: dict[str, Any]) -> ServiceContext:
    return ServiceContext.from_json(str(item["service_context"]))


def revoke(item: dict[str, Any]) -> bool:
    _issued.discard(str(item.get("launch_id", "")))
    return deps.app_tokens_repo().revoke_service_key(str(item["key_hash"]), str(item["slot"]))


def clear_cache() -> None:
    _issued.clear()
