"""``GET /api/idtoken``: the launch, normalised to LTIAAS's ID token shape (or raw).

LTI 1.3 launches follow the 1.3 mapping table of ``ltiaas-api.md`` §5.4 (``ltiVersion`` "1.3.0");
LTI 1.0/1.1/1.2 launches are mapped onto the same shape (``ltiVersion`` "1.2.0",
``launch.type`` ``basic-lti-launch-request``). ``?raw=true`` answers the verified id_token claims
(1.3) or the signed launch parameters without ``oauth_signature`` (1.x), each plus ``ltiVersion``.

Both shapes (and both raw forms) carry ``gateway``: the gateway's own side of the launch, the same for
both protocols — the organisation, the class and unit the launch URL named (with their names as they
were at launch time; ``null`` for a class launch's unit, or a deep-linking request that named no class)
and the URL the LMS launched (the LTI 1.1 URL it signed, the LTI 1.3 ``target_link_uri``). An app can
choose its page from ``gateway`` alone.

The official client validates these answers strictly (pydantic): ``services.outcomes`` is a dict of
bools, ``launch.custom`` values are strings or ints, a raw 1.3 ``aud`` is a string, and every raw 1.x
value but ``gateway`` is a string. The functions here keep to that.
"""

from __future__ import annotations

import json
from typing import Any

from lti_gateway.app_api import launch_context as c
from lti_gateway.app_api import line_item_ids, service_keys
from lti_gateway.app_api.auth import AppSession
from lti_gateway.core import vocabulary as lti

LTI13 = lti.LTI_VERSION
LTI1X = "1.2.0"
BASIC_LAUNCH = lti.BASIC_LAUNCH
_PRESENTATION = {
    "document_target": "documentTarget",
    "return_url": "returnUrl",
    "locale": "locale",
    "width": "width",
    "height": "height",
}
_DEEP_LINKING = {
    "accept_types": "acceptTypes",
    "accept_presentation_document_targets": "acceptPresentationDocumentTargets",
    "accept_media_types": "acceptMediaTypes",
    "accept_multiple": "acceptMultiple",
    "accept_lineitem": "acceptLineItem",
    "auto_create": "autoCreate",
    "title": "title",
    "text": "text",
}


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in value.items() if v not in (None, "", [], {})}


def custom_values(custom: Any) -> dict[str, str | int]:
    """Custom parameters the client accepts: nulls dropped, bools as ints, other values as text."""
    if not isinstance(custom, dict):
        return {}
    out: dict[str, str | int] = {}
    for key, value in custom.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[str(key)] = int(value)
        elif isinstance(value, str | int):
            out[str(key)] = value
        elif isinstance(value, float) and value.is_integer():
            out[str(key)] = int(value)
        elif isinstance(value, float):
            out[str(key)] = repr(value)
        else:
            out[str(key)] = json.dumps(value, separators=(",", ":"))
    return out


def id_token(session: AppSession, *, raw: bool) -> dict[str, Any]:
    launch = c.plain(session.launch or {})
    if c.family(launch) == "1.3":
        answer = raw_lti13(launch) if raw else lti13(session, launch)
    else:
        answer = raw_lti1x(launch) if raw else lti1x(session, launch)
    return answer | {"gateway": gateway(launch)}


def gateway(launch: dict[str, Any]) -> dict[str, Any]:
    """The gateway's side of a launch (see the module docstring); every key present, ``null`` when unknown."""

    def text(name: str) -> str | None:
        value = launch.get(name)
        return value if isinstance(value, str) and value else None

    class_id, unit_id = text("class_id"), text("unit_id")
    return {
        "orgId": text("org_id"),
        "classId": class_id,
        "className": text("class_name") if class_id else None,
        "unitId": unit_id,
        "unitName": text("unit_name") if unit_id else None,
        "target": "unit" if unit_id else "class" if class_id else None,
        "launchUrl": text("launch_url"),
    }


def _service_key(session: AppSession, launch: dict[str, Any]) -> str | None:
    assert session.service is not None
    return service_keys.ensure_issued(session.service, launch_expires_at=int(launch.get("expires_at", 0)))


# -- LTI 1.0 / 1.1 / 1.2 --------------------------------------------------------------------------------


def _params(launch: dict[str, Any]) -> dict[str, str]:
    """The signed launch parameters, first value of each (the stored list keeps repeats)."""
    values: dict[str, str] = {}
    for pair in launch.get("params") or []:
        if isinstance(pair, list | tuple) and len(pair) == 2:
            values.setdefault(str(pair[0]), str(pair[1]))
    return values


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def lti1x(session: AppSession, launch: dict[str, Any]) -> dict[str, Any]:
    params = _params(launch)
    service = session.service
    assert service is not None
    user = _compact(
        {
            "id": launch.get("user_id") or "",
            "roles": [str(r) for r in launch.get("roles") or []],
            "name": launch.get("full_name"),
            "email": launch.get("email"),
            "givenName": launch.get("given_name"),
            "familyName": launch.get("family_name"),
        }
    )
    user.setdefault("id", "")
    user.setdefault("roles", [])
    platform = _compact(
        {
            "consumerKey": launch.get("consumer_key"),
            "guid": launch.get("tool_consumer_instance_guid"),
            "name": launch.get("tool_consumer_instance_name"),
            "description": params.get("tool_consumer_instance_description"),
            "contactEmail": params.get("tool_consumer_instance_contact_email"),
            "productFamilyCode": launch.get("tool_consumer_info_product_family_code"),
            "version": params.get("tool_consumer_info_version"),
            "lis": _compact(
                {
                    "person_sourcedid": launch.get("person_sourcedid"),
                    "course_section_sourcedid": params.get("lis_course_section_sourcedid"),
                }
            ),
        }
    )
    presentation = _compact(
        {
            "documentTarget": launch.get("launch_presentation_document_target"),
            "returnUrl": launch.get("launch_presentation_return_url"),
            "locale": launch.get("launch_presentation_locale"),
            "width": params.get("launch_presentation_width"),
            "height": params.get("launch_presentation_height"),
        }
    )
    context = _compact(
        {
            "id": launch.get("context_id"),
            "label": launch.get("context_label"),
            "title": launch.get("context_title"),
            "type": _split(launch.get("context_type")),
        }
    )
    resource_link = _compact(
        {
            "id": launch.get("resource_link_id"),
            "title": launch.get("resource_link_title"),
            "description": launch.get("resource_link_description"),
        }
    )
    services: dict[str, Any] = {
        "outcomes": {"available": service.has_outcomes},
        "deepLinking": {"available": False},
        "assignmentAndGrades": {"available": False},
        "namesAndRoles": {"available": False},
    }
    key = _service_key(session, launch)
    if key:
        services["serviceKey"] = key
    return {
        "ltiVersion": LTI1X,
        "user": user,
        "platform": platform,
        "launch": _compact(
            {
                "type": BASIC_LAUNCH,
                "context": context,
                "resourceLink": resource_link,
                "presentation": presentation,
                "custom": custom_values(launch.get("custom")),
            }
        ),
        "services": services,
    }


def raw_lti1x(launch: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in _params(launch).items() if k != "oauth_signature"}
    return {**raw, "ltiVersion": LTI1X}


# -- LTI 1.3 ------------------------------------------------------------------------------------------


def _camel_presentation(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    return _compact({_PRESENTATION.get(k, k): v for k, v in value.items()})


def _registration_name(service: Any) -> str | None:
    """The platform registration's name (cached per container), when the platform sends none."""
    from lti_gateway.app_api import platform_services

    registration = platform_services.registration_lookup(service)
    name = getattr(registration, "name", None)
    return name if isinstance(name, str) else None


def lti13(session: AppSession, launch: dict[str, Any]) -> dict[str, Any]:
    claims = c.claims_of(launch)
    service = session.service
    assert service is not None
    tool_platform = claims.get(lti.TOOL_PLATFORM) if isinstance(claims.get(lti.TOOL_PLATFORM), dict) else {}
    message_type = claims.get(lti.MESSAGE_TYPE)
    user = _compact(
        {
            "id": claims.get("sub") or "",
            "roles": [r for r in claims.get(lti.ROLES) or [] if isinstance(r, str) and r],
            "name": claims.get("name"),
            "email": claims.get("email"),
            "givenName": claims.get("given_name"),
            "familyName": claims.get("family_name"),
            "roleScopeMentor": claims.get(lti.ROLE_SCOPE_MENTOR),
        }
    )
    user.setdefault("id", "")
    user.setdefault("roles", [])
    platform = _compact(
        {
            "id": launch.get("platform_id"),
            "url": claims.get("iss"),
            "clientId": service.client_id,
            "deploymentId": service.deployment_id,
            "name": tool_platform.get("name") or _registration_name(service),
            "description": tool_platform.get("description"),
            "guid": tool_platform.get("guid"),
            "version": tool_platform.get("version"),
            "productFamilyCode": tool_platform.get("product_family_code"),
            "contactEmail": tool_platform.get("contact_email"),
        }
    )
    deep_linking: dict[str, Any] = {"available": message_type == "LtiDeepLinkingRequest"}
    settings = claims.get(lti.DEEP_LINKING_SETTINGS)
    if deep_linking["available"] and isinstance(settings, dict):
        deep_linking.update(_compact({_DEEP_LINKING[k]: v for k, v in settings.items() if k in _DEEP_LINKING}))
    ags: dict[str, Any] = {"available": bool(service.ags)}
    if service.ags:
        ags["scopes"] = list(service.ags_scopes)
        if isinstance(service.ags.get("lineitem"), str):
            ags["lineItemId"] = line_item_ids.encode(service.ags["lineitem"])
    services: dict[str, Any] = {
        "outcomes": {"available": False},
        "deepLinking": deep_linking,
        "assignmentAndGrades": ags,
        "namesAndRoles": {"available": bool(service.nrps)},
    }
    key = _service_key(session, launch)
    if key:
        services["serviceKey"] = key
    context = claims.get(lti.CONTEXT) if isinstance(claims.get(lti.CONTEXT), dict) else None
    resource_link = claims.get(lti.RESOURCE_LINK) if isinstance(claims.get(lti.RESOURCE_LINK), dict) else None
    return {
        "ltiVersion": LTI13,
        "user": user,
        "platform": platform,
        "launch": _compact(
            {
                "type": message_type,
                "target": claims.get(lti.TARGET_LINK_URI),
                "context": context,
                "resourceLink": resource_link,
                "presentation": _camel_presentation(claims.get(lti.LAUNCH_PRESENTATION)),
                "custom": custom_values(claims.get(lti.CUSTOM)),
            }
        ),
        "services": services,
    }


def raw_lti13(launch: dict[str, Any]) -> dict[str, Any]:
    claims = dict(c.claims_of(launch))
    aud = claims.get("aud")
    if isinstance(aud, list):
        claims["aud"] = launch.get("client_id") or (aud[0] if aud else "")
    for name in (lti.CUSTOM, lti.LIS):
        if isinstance(claims.get(name), dict):
            claims[name] = custom_values(claims[name])
    claims["ltiVersion"] = LTI13
    return claims
