"""A Learnosity Data API compatible front for consumer keys (``POST /{lts}/consumer/keys/lti``).

The official Learnosity SDKs post three form fields: ``security`` (JSON: consumer_key, domain,
timestamp ``YYYYMMDD-HHMM``, optional expires/user_id, signature), ``request`` (a JSON string) and
``action``. The signature is ``"$02$" + HMAC-SHA256(secret, "_".join(consumer_key, domain, timestamp,
[expires], [user_id], request, action))``. Our ``consumer_key`` is an owner API credential id and the
secret is that credential's secret.

Actions: ``set`` creates a key (Learnosity's only documented action); ``get`` lists keys (our
extension; paged with ``request.next`` / ``meta.next`` like other Data API endpoints).

One request is served in this order (:func:`serve`): parse (the packet bounded and well-formed
before anything else: ``consumer_key`` at most 255 characters, no field longer than 1 KB, no lone
surrogate or NUL anywhere in it or in the request; a 400 naming the field), verify the signature, refuse a replay
(a signature is accepted once: a one-time record keyed by it, kept until the packet's window ends),
count the verified credential's rate limit, act. A 4xx before the caller is verified (malformed,
bad signature, stale, replayed) counts against the source address's own limit instead, never
against an identifier the caller chose. ``expires`` may be at most an hour after ``timestamp``.

Answers, success and error alike, are in the Data API envelope of :mod:`lti_gateway.core.responses`
(``data_api_envelope``; errors through ``data_api_error``, throttling with Learnosity's code 42000).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from lti_gateway.admin import orgs, throttle
from lti_gateway.core import clock, pagination, validation
from lti_gateway.core.errors import GatewayError, Unauthorized, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.responses import data_api_envelope
from lti_gateway.lti11 import consumer_keys
from lti_gateway.repositories import deps

SIGNED_SECURITY_FIELDS = ("consumer_key", "domain", "timestamp", "expires", "user_id")
ALLOWED_SECURITY_FIELDS = {*SIGNED_SECURITY_FIELDS, "signature"}
# ``expires`` may lie at most this far after ``timestamp`` (and after now).
MAX_EXPIRES_SECONDS = 3600
# Bounds of the security packet, checked before it is used for anything (a lookup, an HMAC). The
# consumer_key is an API credential id (``ak_`` + 16 hex; Learnosity's own are 16 characters).
MAX_SECURITY_CHARS = 8 * 1024
MAX_CONSUMER_KEY = validation.MAX_ID
MAX_SECURITY_FIELD = 1024


def _parse_time(value: Any, field: str) -> float:
    if not isinstance(value, str):
        raise ValidationFailed({f"security.{field}": "must be a string YYYYMMDD-HHMM"})
    try:
        return datetime.strptime(value, "%Y%m%d-%H%M").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise ValidationFailed({f"security.{field}": "must be a UTC time formatted YYYYMMDD-HHMM"}) from None


def parse_form(fields: dict[str, list[str]]) -> tuple[dict[str, Any], str, str]:
    """(security packet, raw request string, action) from the posted form, or 400."""

    def one(name: str, required: bool = True) -> str | None:
        values = fields.get(name, [])
        if len(values) > 1:
            raise ValidationFailed({name: "given more than once"})
        if not values:
            if required:
                raise ValidationFailed({name: "missing"})
            return None
        return values[0]

    security_raw = one("security") or ""
    request_raw = one("request", required=False) or "{}"
    action = one("action", required=False) or "get"
    if len(security_raw) > MAX_SECURITY_CHARS:
        raise ValidationFailed({"security": f"must be at most {MAX_SECURITY_CHARS} characters"})
    try:
        security = json.loads(security_raw)
    except (ValueError, RecursionError):
        raise ValidationFailed({"security": "must be a JSON object"}) from None
    if not isinstance(security, dict):
        raise ValidationFailed({"security": "must be a JSON object"})
    validation.check_json(security, "security")  # a "\ud800" escape: before any lookup or HMAC
    unknown = sorted(set(security) - ALLOWED_SECURITY_FIELDS)
    if unknown:
        raise ValidationFailed({f"security.{u}": "unknown field" for u in unknown})
    for name in ("consumer_key", "domain", "timestamp", "signature"):
        if not isinstance(security.get(name), str) or not security[name]:
            raise ValidationFailed({f"security.{name}": "missing"})
    for name in (*SIGNED_SECURITY_FIELDS, "signature"):
        bound = MAX_CONSUMER_KEY if name == "consumer_key" else MAX_SECURITY_FIELD
        if name in security and len(str(security[name])) > bound:
            raise ValidationFailed({f"security.{name}": f"must be at most {bound} characters"})
    return security, request_raw, action


def expected_signature(secret: str, security: dict[str, Any], request_raw: str, action: str) -> str:
    values = [str(security[f]) for f in SIGNED_SECURITY_FIELDS if f in security]
    values += [request_raw, action]
    digest = hmac.new(secret.encode(), "_".join(values).encode(), hashlib.sha256).hexdigest()
    return "$02$" + digest


def _valid_until(security: dict[str, Any], window_seconds: int) -> float:
    """The last moment the packet is fresh (timestamps have minute resolution: plus the minute)."""
    if "expires" in security:
        return _parse_time(security["expires"], "expires") + 60
    return _parse_time(security["timestamp"], "timestamp") + 60 + window_seconds


def authenticate(security: dict[str, Any], request_raw: str, action: str, *, window_seconds: int) -> orgs.Principal:
    """Verify the security packet: signature with the owner credential's secret, and its time window."""
    now = clock.now()
    issued = _parse_time(security["timestamp"], "timestamp")
    valid_until = _valid_until(security, window_seconds)
    fresh = issued - window_seconds <= now <= valid_until
    found = orgs.credential_secret_for_signature(security["consumer_key"])
    # A dummy secret keeps unknown and known consumers on the same path (no timing oracle).
    secret = found[1] if found else "unknown-consumer"
    expected = expected_signature(secret, security, request_raw, action)
    if not hmac.compare_digest(expected.encode(), str(security["signature"]).encode()) or found is None:
        raise Unauthorized("signature does not match the consumer key and secret", code="invalid_signature")
    if "expires" in security and valid_until - 60 - min(issued, now) > MAX_EXPIRES_SECONDS:
        raise Unauthorized("security expires may be at most an hour after its timestamp", code="expires_too_far")
    if not fresh:
        raise Unauthorized("security timestamp is outside the allowed window", code="timestamp_expired")
    item = found[0]
    principal = orgs.Principal(org_id=item["org_id"], credential_id=item["credential_id"], role=item["role"])
    principal.require_owner()
    return principal


def accept_once(principal: orgs.Principal, security: dict[str, Any], *, window_seconds: int) -> None:
    """Refuse a verified packet seen before: one record per signature, kept until the packet goes stale."""
    now = int(clock.now())
    expires_at = int(_valid_until(security, window_seconds)) + 1
    scope = f"learnosity-sig#{principal.credential_id}"
    if not deps.launch_repo().add_once(scope, str(security["signature"]), now=now, expires_at=expires_at):
        raise Unauthorized("this signed request was already used; sign a new one", code="signature_replayed")


def serve(fields: dict[str, list[str]], *, source_ip: str, window_seconds: int, per_minute: int) -> dict[str, Any]:
    """Parse, verify, refuse a replay, count the verified caller's rate limit, act.

    A 4xx before that rate limit is counted against the source address (``data-api-ip#``), so a
    stranger naming someone's credential id never spends that credential's budget."""
    try:
        security, request_raw, action = parse_form(fields)
        principal = authenticate(security, request_raw, action, window_seconds=window_seconds)
        logger.append_keys(org_id=principal.org_id, credential_id=principal.credential_id)
        accept_once(principal, security, window_seconds=window_seconds)
    except GatewayError as refused:
        if 400 <= refused.status < 500:
            throttle.check(f"data-api-ip#{source_ip}", per_minute=per_minute)
        raise
    throttle.check(f"data-api#{principal.credential_id}", per_minute=per_minute)
    return handle(principal, request_raw, action)


def handle(principal: orgs.Principal, request_raw: str, action: str) -> dict[str, Any]:
    try:
        request = json.loads(request_raw)
    except (ValueError, RecursionError):
        raise ValidationFailed({"request": "must be a JSON object"}) from None
    if not isinstance(request, dict):
        raise ValidationFailed({"request": "must be a JSON object"})
    validation.check_json(request, "request")
    request.pop("meta", None)  # SDK telemetry, not part of the operation
    if action == "set":
        record = consumer_keys.new_key_record(principal.org_id, request)
        created = consumer_keys.reveal(record)
        return data_api_envelope({k: created[k] for k in ("key", "secret", "label", "status", "created_at")})
    if action == "get":
        next_token = request.pop("next", None)
        limit = request.pop("limit", pagination.DEFAULT_LIMIT)
        unknown = sorted(set(request))
        if unknown:
            raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= pagination.MAX_LIMIT:
            raise ValidationFailed({"limit": f"must be a whole number from 1 to {pagination.MAX_LIMIT}"})
        if next_token is not None and not isinstance(next_token, str):
            raise ValidationFailed({"next": "must be a string"})
        page = consumer_keys.list_keys(principal, limit=limit, token=next_token)
        meta: dict[str, Any] = {"records": len(page["keys"])}
        if page["next"]:
            meta["next"] = page["next"]
        return data_api_envelope(page["keys"], **meta)
    raise ValidationFailed({"action": "must be 'set' (create a key) or 'get' (list keys)"}, code="unsupported_action")
