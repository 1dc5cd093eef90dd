"""Service keys: long-lived, revocable credentials that open one LMS context's services.

LTIAAS hands an app a service key (``services.serviceKey`` of ``/api/idtoken``) when a launch has
AGS or NRPS, so a back end (a nightly job) can grade or read rosters after the 24 h ltik expired. We
do the same, and for LTI 1.1 launches with an outcome service too (our extension: grades through the
line items API, for every learner who launched a resource link of the context).

- **One per LMS context, valid until revoked.** A slot is organisation + platform (LTI 1.1 consumer
  key, or LTI 1.3 issuer + client id + deployment) + LMS context. Every launch of the context is
  shown the same key; a newer launch never replaces it (keys issued before this design named a
  resource link; they keep working for their own launch until revoked).
- **Derived, stored hashed.** The key of a slot's generation ``g`` is ``sk_`` +
  base64url(HMAC-SHA256(ltik key, ``service-key:context:{slot}:{g}``)): ``/api/idtoken`` answers it
  again on every call without a plaintext copy anywhere; the table keeps its SHA-256
  (``SERVICEKEY#{hash}``, no TTL) and the slot (``SERVICESLOT#{slot}``: generation, status).
- **Issued lazily**, on the first ``/api/idtoken`` of a launch of the context (the launch path makes no
  extra write for it).
- **Revocable**: ``DELETE /api/servicekey`` with the key itself deletes its item and marks the slot
  revoked with the time. A later launch of the context gets the next generation's key; a launch from
  before the last revocation (its ltik still valid for up to 24 h) gets no key of the context again,
  neither the revoked one nor the next. A launch in the same second as the revocation counts as before
  it (launch times are whole seconds).
- **Carries the context's service data** (:class:`~lti_gateway.app_api.launch_context.ServiceContext`,
  ``scope="context"``, as JSON): LTI 1.1 the consumer key and context (learners' outcome URLs and
  sourcedids come from the outcome records the launches wrote); LTI 1.3 the AGS line items container
  and scopes, the NRPS claim and the resource links' own line items seen. A launch at least as new as
  the stored data replaces what it shows (container, scopes, NRPS, platform); any launch adds its own
  line item to those seen (the newest :data:`MAX_LINE_ITEMS_SEEN`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import replace
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
MAX_LINE_ITEMS_SEEN = 100
_ATTEMPTS = 4
# Launch id -> the service key /api/idtoken showed it, per warm container: a repeated /api/idtoken makes
# no slot read. This only remembers what /api/idtoken *shows*; it never authenticates anything. A
# revocation made on another container shows here after the cache time at most, but the key itself is
# refused from the very next call on every container: a service session reads the key's own item,
# strongly consistent, on each call (:func:`lookup`).
_issued: TtlCache[str] = TtlCache()


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def slot_of(ctx: ServiceContext) -> str:
    return hashlib.sha256(ctx.context_slot_identity().encode()).hexdigest()[:40]


def derive(slot: str, generation: int) -> str:
    mac = ltik.derive(f"service-key:context:{slot}:{int(generation)}")
    return PREFIX + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def ensure_issued(ctx: ServiceContext, *, launch_expires_at: int) -> str | None:
    """The service key of the launch's context, issued now if needed; None when the launch has no
    services, or when the context's key was revoked after this launch."""
    if not ctx.has_services:
        return None
    known = _issued.peek(ctx.launch_id)
    if known is not None:
        return known
    key = _issue(ctx, launched_at=int(launch_expires_at) - ltik.LIFETIME_SECONDS)
    if key is not None:
        _issued.put(ctx.launch_id, key, ttl_seconds=settings().consumer_key_cache_seconds)
    return key


def _issue(launch: ServiceContext, *, launched_at: int) -> str | None:
    repo = deps.app_tokens_repo()
    data = launch.for_context()
    slot = slot_of(data)
    for _ in range(_ATTEMPTS):
        current = repo.get_slot(slot)
        revoked_generation = None
        if current is not None:
            generation = int(current.get("generation", 0))
            if launched_at <= int(current.get("revoked_at", 0)):
                return None  # a launch from before the last revocation never gets a key of the context again
            if current.get("status") == "active":
                key = derive(slot, generation)
                if not hmac.compare_digest(str(current.get("key_hash", "")), key_hash(key)):
                    return None  # not a key this stack derives (cannot happen unless the ltik key changed)
                if data.family == "1.3":
                    _refresh(key_hash(key), data, launched_at)
                return key
            revoked_generation = generation
        generation = (revoked_generation or 0) + 1
        key = derive(slot, generation)
        now = clock.iso(clock.now())
        item = {
            "kind": "service_key",
            "key_hash": key_hash(key),
            "org_id": data.org_id,
            "slot": slot,
            "generation": generation,
            "scope": "context",
            "launch_id": data.launch_id,
            "lti_version_family": data.family,
            "platform": data.consumer_key if data.family == "1.1" else data.issuer,
            "context_id": data.context_id,
            "service_context": data.to_json(),
            "data_launched_at": launched_at,
            "data_version": 1,
            "created_at": now,
        }
        slot_fields = {
            "kind": "service_key_slot",
            "org_id": data.org_id,
            "generation": generation,
            "context_id": data.context_id,
            "updated_at": now,
            "revoked_at": None if current is None else current.get("revoked_at"),
        }
        try:
            repo.issue_service_key(slot, item, slot_fields, revoked_generation=revoked_generation)
        except SlotTaken:
            continue  # another request issued it (or revoked it) meanwhile: read the slot again
        return key
    return None


def merged(stored: ServiceContext, launch: ServiceContext, *, stored_at: int, launched_at: int) -> ServiceContext:
    """The context data after a launch (LTI 1.3): a launch at least as new as the stored data replaces
    what it shows; every launch adds its own line item to those seen."""
    seen = [u for u in stored.line_items_seen if u not in launch.line_items_seen] + list(launch.line_items_seen)
    seen = seen[-MAX_LINE_ITEMS_SEEN:]
    if launched_at < stored_at:
        return replace(stored, line_items_seen=seen)
    ags = {**(stored.ags or {}), **(launch.ags or {})} or None
    return replace(
        stored,
        launch_id=launch.launch_id,
        platform_id=launch.platform_id or stored.platform_id,
        ags=ags,
        nrps=launch.nrps or stored.nrps,
        line_items_seen=seen,
    )


def _refresh(digest: str, launch: ServiceContext, launched_at: int) -> None:
    repo = deps.app_tokens_repo()
    for _ in range(_ATTEMPTS):
        item = repo.get_service_key(digest)
        if item is None:
            return  # revoked meanwhile
        stored = context_of(item)
        stored_at = int(item.get("data_launched_at", 0))
        new = merged(stored, launch, stored_at=stored_at, launched_at=launched_at)
        if new == stored:
            return
        if repo.update_service_data(
            digest,
            new.to_json(),
            data_launched_at=max(stored_at, launched_at),
            version=int(item.get("data_version", 0)),
        ):
            return


def lookup(key: str) -> dict[str, Any] | None:
    """The stored item of a live service key, or None: one strongly consistent GetItem per call (a
    revoked key's item is gone, so it is refused from the next call on every container)."""
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
    _issued.clear()  # this container shows no launch the revoked key again (others: after the cache time)
    return deps.app_tokens_repo().revoke_service_key(
        str(item["key_hash"]), str(item["slot"]), revoked_at=int(clock.now())
    )


def clear_cache() -> None:
    _issued.clear()
