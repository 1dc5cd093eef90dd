"""What a refused launch or login is recorded as (:mod:`lti_gateway.admin.launch_errors`), and for which
organisation: gathered here from the request and from what the tool itself stored, never from a claim.

The organisation, in order (the first that is determined wins):

1. what the refusal carries: ``error.org_id`` (set by the launch once it knows it);
2. LTI 1.1: the consumer key's item (``oauth_consumer_key`` names it; its ``org_id`` is the tool's);
   LTI 1.3 launch: the login state the tool wrote (``STATE#``: organisation and platform of the
   login it belongs to);
3. the organisation the URL names (``/lti/orgs/{org_id}/…``), if it exists;
4. the class the URL names (``/lti/launch/{class_id}``), if it exists.

The LMS's identifiers come from the request (LTI 1.1 form; LTI 1.3 login parameters; an LTI 1.3
id_token's claims, read without verification and only when the tool's own login state named the
organisation). Platform id, issuer and client id of an LTI 1.3 launch come from that state. Nothing
else of the request is kept: no signature, no id_token, no state, no form.

A refusal costs at most two extra reads here (the key or state item, then the organisation or class)
and one write. Nothing here raises: a failure is logged and the refusal answered as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import jwt

from lti_gateway.admin import launch_errors
from lti_gateway.core import clock, http
from lti_gateway.core import vocabulary as lti
from lti_gateway.core.errors import GatewayError, LaunchRefused
from lti_gateway.core.observability import logger
from lti_gateway.repositories import deps

# Refusals that come after the launch's signature verified (LTI 1.1: OAuth 1.0a; LTI 1.3: the id_token's).
VERIFIED_CODES = frozenset(
    {
        # LTI 1.1, after the signature
        "nonce_replayed",
        "duplicate_lti_parameter",
        "missing_lti_parameter",
        "content_item_not_supported",
        "unsupported_lti_message_type",
        # LTI 1.3, after the signature (id_token.LaunchValidation's order)
        "invalid_claim_text",
        "invalid_time_claim",
        "id_token_expired",
        "iat_in_future",
        "iat_too_old",
        "id_token_not_yet_valid",
        "unknown_deployment",
        "unsupported_message_type",
        "invalid_target_link_uri",
        "invalid_context",
        "invalid_custom",
        "invalid_launch_presentation",
        "invalid_roles",
        "invalid_sub",
        "state_not_from_this_browser",
        "browser_not_bound",
        "storage_check_failed",
        *(f"missing_{claim}" for claim in ("deployment_id", "version", "message_type", "target_link_uri")),
        *(f"missing_{claim}" for claim in ("resource_link_id", "deep_linking_settings", "roles")),
    }
)
MAX_ID_TOKEN_CHARS = 200_000
MAX_QUERY_FIELDS = 200
ID_LIMIT = 128


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _form(event: Mapping[str, Any]) -> dict[str, str]:
    try:
        return _first(http.form_pairs(dict(event)))
    except Exception:  # an unreadable form is what was refused; nothing of it is recorded
        return {}


def _query(event: Mapping[str, Any]) -> dict[str, str]:
    try:
        return _first(
            parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS)
        )
    except ValueError:
        return {}


def _method(event: Mapping[str, Any]) -> str:
    return str(((event.get("requestContext") or {}).get("http") or {}).get("method") or "POST").upper()


def _route(event: Mapping[str, Any]) -> str:
    route = event.get("routeKey")
    if isinstance(route, str) and route and route != "$default":
        return route
    return f"{_method(event)} {event.get('rawPath') or ''!s}"


def _existing_org(org_id: str | None) -> str | None:
    if not org_id or len(org_id) > 64:
        return None
    return org_id if deps.keys_repo().get_organisation(org_id) is not None else None


def _class_org(class_id: str | None) -> str | None:
    if not class_id or len(class_id) > 64:
        return None
    item = deps.classes_repo().get_class(class_id)
    return _text((item or {}).get("org_id"))


def _claims(token: str | None) -> dict[str, Any]:
    """The id_token's claims, read WITHOUT verification: only to name the LMS's identifiers in a record."""
    if not token or len(token) > MAX_ID_TOKEN_CHARS:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception:
        return {}
    return claims if isinstance(claims, dict) else {}


def _lti11(values: Mapping[str, str], facts: dict[str, Any]) -> str | None:
    key = _text(values.get("oauth_consumer_key"))
    facts["consumer_key"] = key
    for name in ("context_id", "resource_link_id", "user_id", "tool_consumer_instance_guid", "lti_version"):
        facts[name] = _text(values.get(name))
    facts["lti_message_type"] = _text(values.get("lti_message_type"))
    if key is None or len(key) > 255:
        return None
    item = deps.keys_repo().get_consumer_key(key)
    return _text((item or {}).get("org_id"))


def _lti13_launch(values: Mapping[str, str], facts: dict[str, Any]) -> str | None:
    state = _text(values.get("state"))
    if state is None or len(state) > ID_LIMIT:
        return None
    item = deps.launch_repo().read_state(state, int(clock.now())).item
    if not item:
        return None
    for name in ("platform_id", "issuer", "client_id"):
        facts[name] = _text(item.get(name))
    claims = _claims(values.get("id_token"))
    context, link = claims.get(lti.CONTEXT), claims.get(lti.RESOURCE_LINK)
    facts["deployment_id"] = _text(claims.get(lti.DEPLOYMENT_ID))
    facts["context_id"] = _text(context.get("id")) if isinstance(context, dict) else None
    facts["resource_link_id"] = _text(link.get("id")) if isinstance(link, dict) else None
    facts["user_id"] = _text(claims.get("sub"))
    facts["lti_version"] = _text(claims.get(lti.VERSION))
    facts["lti_message_type"] = _text(claims.get(lti.MESSAGE_TYPE))
    return _text(item.get("org_id"))


def _login(event: Mapping[str, Any], facts: dict[str, Any]) -> None:
    values = _query(event)
    if _method(event) == "POST":
        values = {**values, **_form(event)}
    facts["issuer"] = _text(values.get("iss"))
    facts["client_id"] = _text(values.get("client_id"))
    facts["deployment_id"] = _text(values.get("lti_deployment_id"))


def verified(error: GatewayError) -> bool:
    """Whether the refused launch's signature had verified (what the refusal carries, else its code)."""
    said = getattr(error, "verified", None)
    if isinstance(said, bool):
        return said
    if isinstance(error, LaunchRefused) or getattr(error, "return_url", None):
        return True
    if error.code == "unsupported_lti_version":  # LTI 1.1's (after the signature) names lti_version
        return isinstance(error.details, Mapping) and "lti_version" in error.details
    return error.code in VERIFIED_CODES


def gather(
    event: Mapping[str, Any], error: GatewayError, route_args: Mapping[str, Any]
) -> tuple[str | None, str, dict]:
    """``(organisation, protocol, facts)`` of a refused launch or login (see the module docstring)."""
    path = str(event.get("rawPath") or "")
    class_id, unit_id = _text(route_args.get("class_id")), _text(route_args.get("unit_id"))
    path_org = _text(route_args.get("org_id"))
    facts: dict[str, Any] = {"class_id": class_id, "unit_id": unit_id}
    org_id = _text(getattr(error, "org_id", None))
    if path.endswith("/login"):
        protocol = "1.3"
        _login(event, facts)
    else:
        values = _form(event)
        if "id_token" in values or "state" in values:
            protocol = "1.3"
            found = _lti13_launch(values, facts)
        else:
            protocol = "1.1"
            found = _lti11(values, facts)
        org_id = org_id or found
    carried = getattr(error, "launch_facts", None)  # what the launch determined, if it says
    if isinstance(carried, Mapping):
        facts.update({k: v for k, v in carried.items() if v is not None})
    org_id = org_id or _existing_org(path_org) or _class_org(class_id)
    return org_id, protocol, facts


def remember(
    event: Mapping[str, Any], error: GatewayError, reference: str, route_args: Mapping[str, Any], message: str
) -> bool:
    """Record the refusal ``error`` of this request under ``reference``; True if a record was stored."""
    try:
        org_id, protocol, facts = gather(event, error, route_args)
        if org_id is None:
            return False
        return launch_errors.record(
            reference,
            org_id=org_id,
            route=_route(event),
            code=error.code,
            status=error.status,
            message=message,
            verified=verified(error),
            details=error.details,
            protocol=protocol,
            facts=facts,
        )
    except Exception as failure:  # a record must never change the refusal's answer
        logger.warning("launch error not recorded", extra={"reference": reference, "error": type(failure).__name__})
        return False
