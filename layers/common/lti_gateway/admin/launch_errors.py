"""Launch error records: every refused launch or login that concerns an organisation is kept for
:data:`RETENTION_DAYS` under the reference its error page showed, for that organisation's owners to
look up (``GET /api/launch-errors/{reference}``, ``lti-gateway launch-errors show``).

A record says what was refused and why (route, code, status, the page's message, the error's
details), which consumer key, class, unit and platform (id, issuer, client id, deployment id) it
named, the LMS's own identifiers (``context_id``, ``resource_link_id``, ``user_id``,
``tool_consumer_instance_guid``, the LTI version and message type it said), and whether the launch's
signature had verified. It never holds a secret, a signature, an id_token, a state, a nonce or the
form: only the named fields, each cut to a bound (:data:`FIELD_LIMITS`, :data:`LMS_LIMITS`), so a
record stays a few kilobytes whatever was sent.

**Which organisation** a record belongs to is decided by the caller from what it determined, never
from a claim: the consumer key's item, the login state the tool wrote, the organisation in the URL
(which must exist), the class item the URL names. A refusal that concerns no organisation is not
recorded (nobody could look it up): a stranger posting to made-up URLs stores nothing. One who knows
a real class URL or consumer key can still add records to that organisation: each is small, marked
``verified: false`` and gone after :data:`RETENTION_DAYS` (TTL). API Gateway's throttling bounds the
rate (see docs/security.md).

Storing never changes the answer: :func:`record` logs a failed write and answers False, and the page
then does not promise a record.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from typing import Any

from lti_gateway.core import clock
from lti_gateway.core.errors import NotFound
from lti_gateway.core.observability import logger
from lti_gateway.repositories import deps

RETENTION_DAYS = 31
RETENTION_SECONDS = RETENTION_DAYS * 86_400
# A reference is a correlation id: API Gateway's request id ("Ab1cDeFgHiJkL=") or a uuid.
REFERENCE = re.compile(r"[A-Za-z0-9=_.:-]{1,128}")
FIELD_LIMITS = {
    "consumer_key": 255,
    "class_id": 64,
    "unit_id": 64,
    "platform_id": 64,
    "issuer": 512,
    "client_id": 255,
    "deployment_id": 255,
}
LMS_LIMITS = {
    "context_id": 255,
    "resource_link_id": 255,
    "user_id": 255,
    "tool_consumer_instance_guid": 255,
    "lti_version": 32,
    "lti_message_type": 64,
}
MESSAGE_LIMIT = 600
DETAILS_LIMIT = 1000
ROUTE_LIMIT = 200
CODE_LIMIT = 64
# Details keys a record leaves out: the stack's configuration, not the organisation's.
_UNRECORDED_DETAILS = frozenset({"allowed_origins"})
# C0 and C1 controls, lone surrogates, and the invisible format characters that reorder or hide text
# (bidirectional overrides and isolates, zero-width characters): a stranger's values must read as sent
# in a terminal (`lti-gateway launch-errors show`) and in a console.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
NOT_FOUND = "no launch error with this reference in your organisation (records are kept for 31 days)"


def _bounded(value: Any, limit: int) -> str | None:
    """``value`` as printable text of at most ``limit`` characters (cut values end in ``…``), or None."""
    if value is None or isinstance(value, (dict, list, tuple, set)):
        return None
    text = _UNPRINTABLE.sub("?", str(value))
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _details_text(details: Any) -> str | None:
    if details is None:
        return None
    if isinstance(details, Mapping):
        details = {str(k): v for k, v in details.items() if str(k) not in _UNRECORDED_DETAILS}
    try:
        text = json.dumps(details, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return _bounded(text, DETAILS_LIMIT)


def build(
    reference: str,
    *,
    org_id: str,
    route: str,
    code: str,
    status: int,
    message: str,
    verified: bool,
    details: Any = None,
    protocol: str | None = None,
    facts: Mapping[str, Any] | None = None,
    now: float,
) -> dict[str, Any]:
    """The record's attributes: only the named fields, each bounded (see the module docstring)."""
    facts = facts or {}
    item: dict[str, Any] = {
        "reference": reference,
        "org_id": org_id,
        "time": clock.iso(now),
        "route": _bounded(route, ROUTE_LIMIT),
        "code": _bounded(code, CODE_LIMIT),
        "status": int(status),
        "message": _bounded(message, MESSAGE_LIMIT),
        "details": _details_text(details),
        "verified": bool(verified),
        "protocol": _bounded(protocol, 8),
    }
    for name, limit in FIELD_LIMITS.items():
        item[name] = _bounded(facts.get(name), limit)
    lms = {name: _bounded(facts.get(name), limit) for name, limit in LMS_LIMITS.items()}
    item["lms"] = {k: v for k, v in lms.items() if v is not None}
    return {k: v for k, v in item.items() if v not in (None, {})}


def record(
    reference: str,
    *,
    org_id: str | None,
    route: str,
    code: str,
    status: int,
    message: str,
    verified: bool,
    details: Any = None,
    protocol: str | None = None,
    facts: Mapping[str, Any] | None = None,
) -> bool:
    """Keep a refused launch or login under ``reference`` for ``org_id``'s owners; True if stored.

    Not stored (False) when no organisation was determined or the reference is not one; a failed
    write is logged (its error type only) and answered False, never raised: the refusal's own answer
    must not change."""
    if not org_id or not REFERENCE.fullmatch(reference or ""):
        return False
    now = clock.now()
    try:
        item = build(
            reference,
            org_id=org_id,
            route=route,
            code=code,
            status=status,
            message=message,
            verified=verified,
            details=details,
            protocol=protocol,
            facts=facts,
            now=now,
        )
        return deps.launch_errors_repo().put(reference, item, expires_at=int(now) + RETENTION_SECONDS)
    except Exception as error:  # never turn the refusal into another answer
        logger.warning("launch error not recorded", extra={"reference": reference, "error": type(error).__name__})
        return False


def lookup(org_id: str, reference: str) -> dict[str, Any]:
    """The record of ``reference`` if it belongs to ``org_id`` and is younger than 31 days; NotFound
    otherwise — the same answer for an unknown reference and another organisation's."""
    if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise NotFound({"reference": NOT_FOUND}, code="launch_error_not_found")
    item = deps.launch_errors_repo().get(reference, now=int(clock.now()))
    if item is None or item.get("org_id") != org_id:
        raise NotFound({"reference": NOT_FOUND}, code="launch_error_not_found")
    answer = {k: v for k, v in item.items() if k not in ("pk", "sk", "expires_at", "org_id")}
    answer["status"] = int(item.get("status", 0))
    answer["expires_at"] = clock.iso(int(item["expires_at"]))
    if isinstance(item.get("details"), str):
        with contextlib.suppress(ValueError):  # cut to its bound: shown as the text it is
            answer["details"] = json.loads(item["details"])
    answer.setdefault("lms", {})
    return answer
