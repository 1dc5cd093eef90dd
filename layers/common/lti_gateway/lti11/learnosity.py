"""A Learnosity Data API compatible front for consumer keys (``POST /{lts}/consumer/keys/lti``).

The official Learnosity SDKs post three form fields: ``security`` (JSON: consumer_key, domain,
timestamp ``YYYYMMDD-HHMM``, optional expires/user_id, signature), ``request`` (a JSON string) and
``action``. The signature is ``"$02$" + HMAC-SHA256(secret, "_".join(consumer_key, domain, timestamp,
[expires], [user_id], request, action))``. Our ``consumer_key`` is an owner API credential id and the
secret is that credential's secret.

Actions: ``set`` creates a key (Learnosity's only documented action); ``get`` lists keys (our
extension; paged with ``request.next`` / ``meta.next`` like other Data API endpoints).

Answers, success and error alike, are in the Data API envelope of :mod:`lti_gateway.core.responses`
(``data_api_envelope``; errors through ``data_api_error``, throttling with Learnosity's code 42000).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from lti_gateway.admin import orgs
from lti_gateway.core import clock, pagination
from lti_gateway.core.errors import Unauthorized, ValidationFailed
from lti_gateway.core.responses import data_api_envelope
from lti_gateway.lti11 import consumer_keys

SIGNED_SECURITY_FIELDS = ("consumer_key", "domain", "timestamp", "expires", "user_id")
ALLOWED_SECURITY_FIELDS = {*SIGNED_SECURITY_FIELDS, "signature"}


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

    security_raw = one("security")
    request_raw = one("request", required=False) or "{}"
    action = one("action", required=False) or "get"
    try:
        security = json.loads(security_raw or "")
    except (ValueError, RecursionError):
        raise ValidationFailed({"security": "must be a JSON object"}) from None
    if not isinstance(security, dict):
        raise ValidationFailed({"security": "must be a JSON object"})
    unknown = sorted(set(security) - ALLOWED_SECURITY_FIELDS)
    if unknown:
        raise ValidationFailed({f"security.{u}": "unknown field" for u in unknown})
    for name in ("consumer_key", "domain", "timestamp", "signature"):
        if not isinstance(security.get(name), str) or not security[name]:
            raise ValidationFailed({f"security.{name}": "missing"})
    return security, request_raw, action


def expected_signature(secret: str, security: dict[str, Any], request_raw: str, action: str) -> str:
    values = [str(security[f]) for f in SIGNED_SECURITY_FIELDS if f in security]
    values += [request_raw, action]
    digest = hmac.new(secret.encode(), "_".join(values).encode(), hashlib.sha256).hexdigest()
    return "$02$" + digest


def authenticate(security: dict[str, Any], request_raw: str, action: str, *, window_seconds: int) -> orgs.Principal:
    """Verify the security packet: signature with the owner credential's secret, and its time window."""
    now = clock.now()
    issued = _parse_time(security["timestamp"], "timestamp")
    if "expires" in security:
        expires = _parse_time(security["expires"], "expires")
        fresh = issued - window_seconds <= now <= expires + 60
    else:
        # Timestamps have minute resolution: allow the window plus the minute being written.
        fresh = issued - window_seconds <= now <= issued + 60 + window_seconds
    found = orgs.credential_secret_for_signature(security["consumer_key"])
    # A dummy secret keeps unknown and known consumers on the same path (no timing oracle).
    secret = found[1] if found else "unknown-consumer"
    expected = expected_signature(secret, security, request_raw, action)
    if not hmac.compare_digest(expected.encode(), str(security["signature"]).encode()) or found is None:
        raise Unauthorized("signature does not match the consumer key and secret", code="invalid_signature")
    if not fresh:
        raise Unauthorized("security timestamp is outside the allowed window", code="timestamp_expired")
    item = found[0]
    principal = orgs.Principal(org_id=item["org_id"], credential_id=item["credential_id"], role=item["role"])
    principal.require_owner()
    return principal


def handle(principal: orgs.Principal, request_raw: str, action: str) -> dict[str, Any]:
    try:
        request = json.loads(request_raw)
    except (ValueError, RecursionError):
        raise ValidationFailed({"request": "must be a JSON object"}) from None
    if not isinstance(request, dict):
        raise ValidationFailed({"request": "must be a JSON object"})
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
