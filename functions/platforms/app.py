"""Platforms function: LTI 1.3 platform registrations, dynamic registration, the tool's keys and
configuration.

Routes (see template.yaml). /api routes take ``Authorization: Bearer <API_KEY>`` of an **owner**
(members get 403) and answer JSON:
  GET    /api/platforms                           list (``url`` = issuer and ``clientId`` filters; paginated)
  POST   /api/platforms                           register a platform (LTIAAS Platform JSON)
  GET    /api/platforms/{platform_id}             read one
  PUT    /api/platforms/{platform_id}             change the fields sent (conditional on the version read)
  DELETE /api/platforms/{platform_id}             delete it (its issuer + client id become free)
  POST   /api/platforms/{platform_id}/activate    launches accepted again
  POST   /api/platforms/{platform_id}/deactivate  launches refused (kept for later)
  POST   /api/platforms/registration-url          a dynamic-registration URL for the organisation
  GET    /api/platforms/{platform_id}/lti11-bindings                     LTI 1.1 -> 1.3 bindings (``status``)
  POST   /api/platforms/{platform_id}/lti11-bindings/{binding_id}/approve  bind later launches to the key
  POST   /api/platforms/{platform_id}/lti11-bindings/{binding_id}/reject   never bind (or unbind)
  GET    /api/tool-configuration                  the organisation's LTI 1.3 settings for manual registration
  GET    /api/tool-configuration/canvas           Canvas developer key JSON (``?inline_jwk=true``)
  POST   /api/tool-keys/rotate                    rotate the organisation's RSA signing key (its own only)
Public:
  GET    /lti/orgs/{org_id}/jwks.json             an organisation's public keys (current and previous)
  GET    /.well-known/jwks.json                   the stack-wide keys of registrations made before
                                                  tenant scoping (operator-rotated; never created)
  GET    /lti/register/{token}                    LTI Dynamic Registration (HTML for the LMS admin)
"""

from __future__ import annotations

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.admin import orgs, tool_config
from lti_gateway.core import http, pagination, responses, urls, validation
from lti_gateway.core.errors import NotFound, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced
from lti_gateway.lti13 import dynamic_registration, lti11_bindings, platforms, tool_keys
from lti_gateway.lti13.oidc import ORG_ID_RE

app = web.resolver()

JWKS_HEADERS = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}


def _principal() -> orgs.Principal:
    return web.bearer_principal(app.current_event)


def _owner() -> orgs.Principal:
    principal = _principal()
    principal.require_owner()
    return principal


def _base() -> str:
    return urls.event_base_url(app.current_event.raw_event)


def _query() -> dict[str, str]:
    return app.current_event.query_string_parameters or {}


# -- platforms ----------------------------------------------------------------------------------------


@app.get("/api/platforms")
def list_platforms():
    principal = _principal()
    query = _query()
    return responses.json_response(
        200,
        platforms.list_platforms(
            principal,
            limit=pagination.parse_limit(query.get("limit")),
            token=query.get("next"),
            url=query.get("url"),
            client_id=query.get("clientId"),
        ),
    )


@app.post("/api/platforms")
def create_platform():
    principal = _principal()
    created = platforms.create_platform(principal, http.json_body(app.current_event))
    logger.info("platform registered", extra={"platform_id": created["id"], "issuer": created["url"]})
    return responses.json_response(201, created)


@app.post("/api/platforms/registration-url")
def create_registration_url():
    principal = _principal()
    created = dynamic_registration.create_registration_url(principal, http.json_body(app.current_event), base=_base())
    logger.info("registration url created", extra={"reusable": created["reusable"]})
    return responses.json_response(201, created)


@app.get("/api/platforms/<platform_id>")
def get_platform(platform_id: str):
    return responses.json_response(200, platforms.get_platform(_principal(), platform_id))


@app.put("/api/platforms/<platform_id>")
def update_platform(platform_id: str):
    principal = _principal()
    updated = platforms.update_platform(principal, platform_id, http.json_body(app.current_event))
    logger.info("platform updated", extra={"platform_id": platform_id})
    return responses.json_response(200, updated)


@app.delete("/api/platforms/<platform_id>")
def delete_platform(platform_id: str):
    deleted = platforms.delete_platform(_principal(), platform_id)
    logger.info("platform deleted", extra={"platform_id": platform_id})
    return responses.json_response(200, deleted)


@app.post("/api/platforms/<platform_id>/activate")
def activate_platform(platform_id: str):
    answer = platforms.set_active(_principal(), platform_id, True)
    logger.info("platform activated", extra={"platform_id": platform_id})
    return responses.json_response(200, answer)


@app.post("/api/platforms/<platform_id>/deactivate")
def deactivate_platform(platform_id: str):
    answer = platforms.set_active(_principal(), platform_id, False)
    logger.info("platform deactivated", extra={"platform_id": platform_id})
    return responses.json_response(200, answer)


# -- LTI 1.1 -> 1.3 bindings awaiting an owner's decision ----------------------------------------------


@app.get("/api/platforms/<platform_id>/lti11-bindings")
def list_lti11_bindings(platform_id: str):
    query = _query()
    return responses.json_response(
        200,
        lti11_bindings.list_bindings(
            _principal(),
            platform_id,
            limit=pagination.parse_limit(query.get("limit")),
            token=query.get("next"),
            status=query.get("status"),
        ),
    )


def _decide(platform_id: str, binding_id: str, decision: str):
    principal = _principal()
    validation.reject_unknown(http.json_body(app.current_event), ())  # an empty body, or {}
    decided = lti11_bindings.decide(principal, platform_id, binding_id, decision)
    logger.info(
        "lti 1.1 binding decided",
        extra={"platform_id": platform_id, "binding_id": binding_id, "status": decided["status"]},
    )
    return responses.json_response(200, decided)


@app.post("/api/platforms/<platform_id>/lti11-bindings/<binding_id>/approve")
def approve_lti11_binding(platform_id: str, binding_id: str):
    return _decide(platform_id, binding_id, "approve")


@app.post("/api/platforms/<platform_id>/lti11-bindings/<binding_id>/reject")
def reject_lti11_binding(platform_id: str, binding_id: str):
    return _decide(platform_id, binding_id, "reject")


# -- the tool's configuration and keys ----------------------------------------------------------------


def _inline_jwk() -> bool:
    raw = _query().get("inline_jwk", "false").lower()
    if raw not in ("true", "false"):
        raise ValidationFailed({"inline_jwk": "must be true or false"})
    return raw == "true"


@app.get("/api/tool-configuration")
def tool_configuration():
    org_id = _owner().org_id
    jwk = tool_keys.current_public_key(org_id).jwk
    tool = tool_config.for_org(org_id)
    return responses.json_response(200, tool_config.configuration(_base(), org_id, public_jwk=jwk, tool=tool))


@app.get("/api/tool-configuration/canvas")
def canvas_configuration():
    org_id = _owner().org_id
    inline = _inline_jwk()
    jwk = tool_keys.current_public_key(org_id).jwk if inline else None
    tool = tool_config.for_org(org_id)
    return responses.json_response(200, tool_config.canvas_developer_key(_base(), org_id, public_jwk=jwk, tool=tool))


@app.post("/api/tool-keys/rotate")
def rotate_tool_key():
    org_id = _owner().org_id
    http.json_body(app.current_event)  # an empty body, or {} (size and type still checked)
    rotated = tool_keys.rotate(org_id)  # this organisation's key set only
    logger.info("tool key rotated", extra={"org_id": org_id, "kid": rotated["current"]["kid"]})
    return responses.json_response(200, rotated)


@app.get("/.well-known/jwks.json")
def jwks():
    """The stack-wide key set of registrations made before tenant scoping (never created anew)."""
    return responses.json_response(200, tool_keys.public_jwks(None), headers=JWKS_HEADERS)


@app.get("/lti/orgs/<org_id>/jwks.json")
def organisation_jwks(org_id: str):
    """An organisation's own key set: what its LMSs verify client assertions and deep links with."""
    if not ORG_ID_RE.fullmatch(org_id):
        raise NotFound({"org_id": "no such organisation"})
    return responses.json_response(200, tool_keys.organisation_jwks(org_id), headers=JWKS_HEADERS)


# -- LTI Dynamic Registration ---------------------------------------------------------------------------


@app.get("/lti/register/<token>")
@web.errors_as(app, dynamic_registration.error_page, "dynamic registration refused")
def dynamic_register(token: str):
    """The LMS opens this in a window or iframe: every answer is a page (an AWS fault a 503 page with
    ``Retry-After``, a bug a 500 page with only a reference), never JSON."""
    registered = dynamic_registration.register(token, _query(), base=_base())
    logger.info(
        "platform registered dynamically",
        extra={"org_id": registered.org_id, "platform_id": registered.platform_id, "issuer": registered.issuer},
    )
    return dynamic_registration.success_page(registered)


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
