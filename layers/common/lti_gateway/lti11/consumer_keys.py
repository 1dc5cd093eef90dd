"""LTI 1.1 consumer keys: the policy (Learnosity Data API rules) and the operations on them.

Rules, as Learnosity documents for ``consumer/keys/lti``: key and secret are 16-255 characters from
``a-z 0-9 ! # % & , - _ / ^ $ * + . |``; key != secret; both given or neither (then both are generated);
label at most 255 characters, unique within the organisation.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import re
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

from lti_gateway.admin.orgs import Principal
from lti_gateway.core import clock, runtime, validation
from lti_gateway.core.errors import Conflict, NotFound, ValidationFailed
from lti_gateway.repositories import deps

KEY_CHARS = string.ascii_lowercase + string.digits + "!#%&,-_/^$*+.|"
_POLICY = re.compile(r"^[a-z0-9!#%&,\-_/^$*+.|]{16,255}$")
_GENERATED_ALPHABET = string.ascii_lowercase + string.digits
GENERATED_KEY_LENGTH = 24
GENERATED_SECRET_LENGTH = 40  # ~206 bits
MAX_GRACE_SECONDS = 7 * 24 * 3600
MAX_LABEL = 255


def _bound(key: str) -> str:
    return f"consumer-key:{key}"


def _check_credential(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed({field: "must be a string"})
    if not 16 <= len(value) <= 255:
        raise ValidationFailed({field: "must be between 16 and 255 characters long"})
    if not _POLICY.match(value):
        raise ValidationFailed({field: "may only contain the characters a-z 0-9 ! # % & , - _ / ^ $ * + . |"})
    return value


def validate_new_key(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Check a creation request; returns (key, secret, label) with key/secret None to generate both."""
    unknown = sorted(set(body) - {"key", "secret", "label"})
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))
    key, secret, label = body.get("key"), body.get("secret"), body.get("label")
    if (key is None) != (secret is None):
        missing = "secret" if secret is None else "key"
        raise ValidationFailed({missing: "key and secret must be given together, or neither to generate both"})
    if key is not None:
        key = _check_credential("key", key)
        secret = _check_credential("secret", secret)
        if key == secret:
            raise ValidationFailed({"secret": "must not be the same as key"})
    label = validation.optional_text("label", label, max_len=MAX_LABEL)
    return key, secret, label


def _generate(length: int) -> str:
    return "".join(secrets.choice(_GENERATED_ALPHABET) for _ in range(length))


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """What listings and reads show: never a secret, sealed or not."""
    view = {
        "key": item["key"],
        "label": item.get("label"),
        "status": item["status"],
        "created_at": item["created_at"],
        "rotated_at": item.get("rotated_at"),
        "revoked_at": item.get("revoked_at"),
    }
    until = item.get("previous_valid_until")
    if until is not None and int(until) > time.time():
        view["previous_secret_valid_until"] = clock.iso(int(until))
    return view


def new_key_record(org_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate, generate if asked, seal the secret and store. Returns the stored record (sealed)."""
    key, secret, label = validate_new_key(body)
    if key is None:
        key, secret = _generate(GENERATED_KEY_LENGTH), _generate(GENERATED_SECRET_LENGTH)
    assert secret is not None
    record = {
        "key": key,
        "org_id": org_id,
        "label": label,
        "status": "active",
        "created_at": clock.iso(clock.now()),
        "version": 1,
        "secret_sealed": deps.secret_box().seal(secret, bound_to=_bound(key)),
    }
    deps.keys_repo().put_consumer_key({k: v for k, v in record.items() if v is not None})
    return record


def reveal(record: dict[str, Any]) -> dict[str, Any]:
    """The creation answer: the public view plus the secret, shown this once."""
    secret = deps.secret_box().open(record["secret_sealed"], bound_to=_bound(record["key"]))
    return {**public_view(record), "secret": secret}


# The record the idempotent function has just written, handed past Powertools to the first answer
# only; on a replay (Powertools answers from its table without running the function) it stays None.
_created: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("created_key", default=None)


def _fingerprint(sealed: str) -> str:
    """Names one sealed secret (a SHA-256 of its ciphertext; sealing is randomised, so a rotation,
    even to the same secret, changes it). Opens nothing."""
    return hashlib.sha256(sealed.encode()).hexdigest()


def _new_key_from_request(request: dict[str, Any]) -> dict[str, Any]:
    """Create the key. What this returns is what Powertools stores for replays: the key, its
    organisation and the fingerprint of its sealed secret, never the secret, sealed or not."""
    record = new_key_record(request["org_id"], request["payload"])
    _created.set(record)
    return {
        "key": record["key"],
        "org_id": record["org_id"],
        "secret_fingerprint": _fingerprint(record["secret_sealed"]),
    }


def create_idempotently(
    principal: Principal, body: dict[str, Any], *, idempotency_key: str | None, lambda_context: Any = None
) -> dict[str, Any]:
    """``POST /api/keys``: a new key of the owner's organisation, revealed once. With an
    ``Idempotency-Key`` a retried request answers the key as it is *now* (:func:`_replay`): its
    current status, and the secret only while it is still the one the first answer revealed."""
    principal.require_owner()
    from lti_gateway.repositories import idempotency  # Powertools' idempotency: the keys function only

    reset = _created.set(None)
    try:
        stored = idempotency.once(
            "consumer-keys",
            _new_key_from_request,
            org_id=principal.org_id,
            idempotency_key=idempotency_key,
            payload=body,
            lambda_context=lambda_context,
        )
        created = _created.get()
    finally:
        _created.reset(reset)
    if created is not None:
        return reveal(created)
    return _replay(principal, stored)


def _replay(principal: Principal, stored: dict[str, Any]) -> dict[str, Any]:
    """A replayed creation, answered from the key's item read now (strongly consistent): the secret,
    opened from the item's current sealed value, only if the key is active and that sealed value is
    the one the first answer revealed; otherwise the public view, current status and
    ``secret_available: false`` (rotated away or revoked). Records stored before fingerprints held
    the sealed secret itself: its fingerprint is taken, the old sealed value is never opened."""
    key = str(stored.get("key", ""))
    item = deps.keys_repo().get_consumer_key(key) if 1 <= len(key) <= 255 else None
    if item is None or item.get("org_id") != principal.org_id:
        raise Conflict(
            {"key": f"the consumer key {key} created with this Idempotency-Key no longer exists"}, code="key_deleted"
        )
    first = stored.get("secret_fingerprint") or (
        _fingerprint(stored["secret_sealed"]) if stored.get("secret_sealed") else ""
    )
    sealed = item.get("secret_sealed")
    if item.get("status") == "active" and sealed and first and hmac.compare_digest(_fingerprint(sealed), first):
        return reveal(item)
    return {**public_view(item), "secret_available": False}


def create_consumer_key(
    org_id: str, *, label: str | None = None, key: str | None = None, secret: str | None = None
) -> dict[str, Any]:
    body = {k: v for k, v in {"label": label, "key": key, "secret": secret}.items() if v is not None}
    return reveal(new_key_record(org_id, body))


def _owned(principal: Principal, key: str) -> dict[str, Any]:
    item = deps.keys_repo().get_consumer_key(key) if 1 <= len(key) <= 255 else None
    if item is None or item.get("org_id") != principal.org_id:
        raise NotFound({"key": "no such consumer key"})
    return item


def get_key(principal: Principal, key: str) -> dict[str, Any]:
    principal.require_owner()
    return public_view(_owned(principal, key))


def list_keys(principal: Principal, *, limit: int, token: str | None) -> dict[str, Any]:
    principal.require_owner()
    items, next_token = deps.keys_repo().list_consumer_keys(principal.org_id, limit=limit, token=token)
    return {"keys": [public_view(i) for i in items], "next": next_token}


def parse_grace(body: dict[str, Any]) -> int:
    unknown = sorted(set(body) - {"grace_period_seconds"})
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))
    grace = body.get("grace_period_seconds", 0)
    if isinstance(grace, bool) or not isinstance(grace, int) or not 0 <= grace <= MAX_GRACE_SECONDS:
        raise ValidationFailed(
            {"grace_period_seconds": f"must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"}
        )
    return grace


def rotate_key(principal: Principal, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """New secret (returned once); the old one keeps working for ``grace_period_seconds``."""
    principal.require_owner()
    grace = parse_grace(body)
    item = _owned(principal, key)
    if item["status"] != "active":
        raise Conflict("a revoked key cannot be rotated", code="key_revoked")
    secret = _generate(GENERATED_SECRET_LENGTH)
    now = clock.now()
    updated = deps.keys_repo().rotate_consumer_key(
        principal.org_id,
        key,
        expected_version=int(item["version"]),
        secret_sealed=deps.secret_box().seal(secret, bound_to=_bound(key)),
        previous_secret_sealed=item["secret_sealed"] if grace else None,
        previous_valid_until=int(now) + grace if grace else None,
        at=clock.iso(now),
    )
    return {**public_view(updated), "secret": secret}


def revoke_key(principal: Principal, key: str) -> dict[str, Any]:
    principal.require_owner()
    item = _owned(principal, key)
    if item["status"] != "active":
        raise Conflict("the key is already revoked", code="already_revoked")
    return public_view(
        deps.keys_repo().revoke_consumer_key(principal.org_id, key, item.get("label"), clock.iso(clock.now()))
    )


# -- launches ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchCredentials:
    """What an LTI 1.1 launch needs to verify a signature made with this key."""

    key: str
    org_id: str | None
    status: str  # "active", "revoked" or "unknown"
    secrets: tuple[str, ...]


# Opened secrets per key, remembered with the item's version and the sealed values they came from:
# only the decryption is remembered, never whether the key may be used. Every lookup reads the item
# (strongly consistent) and reuses the opened secrets only when version and sealed values are those
# of the item just read, so a revocation or rotation is seen by the very next launch on every container.
_opened: dict[str, tuple[tuple[Any, ...], tuple[str, ...]]] = {}
_MAX_OPENED = 4096


def launch_credentials(key: str) -> LaunchCredentials:
    """The currently valid secrets of ``key`` (two during a rotation grace period).

    One strongly consistent GetItem of the key's item on every call: a revoked key, an old secret
    after a rotation without grace, and a grace period that ended are refused at once. What is kept
    per warm container is the opened secrets, reused only while the item's ``version`` and sealed
    values are unchanged (no KMS or AES work on a warm launch).
    """
    item = deps.keys_repo().get_consumer_key(key) if 1 <= len(key) <= 255 else None
    if item is None:
        return LaunchCredentials(key, None, "unknown", ())
    if item.get("status") != "active" or not item.get("secret_sealed"):
        return LaunchCredentials(key, item.get("org_id"), str(item.get("status") or "revoked"), ())
    sealed = [str(item["secret_sealed"])]
    until = item.get("previous_valid_until")
    if item.get("previous_secret_sealed") and until is not None and int(until) > time.time():
        sealed.append(str(item["previous_secret_sealed"]))
    stamp = (int(item.get("version", 0)), *sealed)
    hit = _opened.get(key)
    if hit is not None and hit[0] == stamp:
        found = hit[1]
    else:
        box = deps.secret_box()
        found = tuple(box.open(value, bound_to=_bound(key)) for value in sealed)
        if len(_opened) >= _MAX_OPENED:
            _opened.clear()
        _opened[key] = (stamp, found)
    return LaunchCredentials(key, item["org_id"], "active", found)


@runtime.register
def clear_cache() -> None:
    _opened.clear()
