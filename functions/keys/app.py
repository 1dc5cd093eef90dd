"""Keys function: organisation API credentials and LTI 1.1 consumer keys.

Routes (see template.yaml):
  POST   /api/keys                          create a consumer key (Idempotency-Key honoured)
  GET    /api/keys                          list (paginated, no secrets)
  GET    /api/keys/{key}                    read one (no secret; key percent-encoded)
  POST   /api/keys/{key}/rotate             new secret, old one valid for a grace period
  DELETE /api/keys/{key}                    revoke (kept for audit)
  POST   /{lts_version}/consumer/keys/lti   Learnosity Data API compatible create/list
  GET    /api/org                           who am I
  PATCH  /api/org                           settings: app launch URL, app origins, tool name/description/icon (owners)
  GET    /api/credentials                   list API credentials (owners)
  POST   /api/credentials                   create an API credential (owners)
  DELETE /api/credentials/{credential_id}   revoke an API credential (owners)
  GET    /api/launch-errors/{reference}     a refused launch or login by its page's reference (owners)
  GET    /api/openapi.json                  the OpenAPI document of every route (public)
"""

from __future__ import annotations

from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import openapi, web
from lti_gateway.admin import launch_errors, orgs
from lti_gateway.core import http, responses, urls
from lti_gateway.core.config import settings
from lti_gateway.core.errors import ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced
from lti_gateway.lti11 import consumer_keys, learnosity

app = web.resolver()


def _principal() -> orgs.Principal:
    return web.bearer_principal(app.current_event)


def _page_args() -> tuple[int, str | None]:
    return web.page_args(app.current_event)


@app.post("/api/keys")
def create_key():
    principal = _principal()
    principal.require_owner()  # before the body is read: a member learns nothing from a 400
    created = consumer_keys.create_idempotently(
        principal,
        http.json_body(app.current_event),
        idempotency_key=app.current_event.headers.get("idempotency-key"),
        lambda_context=app.lambda_context,
    )
    logger.info("consumer key created", extra={"key": created["key"]})
    return responses.json_response(201, created)


@app.get("/api/keys")
def list_keys():
    principal = _principal()
    limit, token = _page_args()
    return responses.json_response(200, consumer_keys.list_keys(principal, limit=limit, token=token))


@app.get("/api/keys/<key>")
def get_key(key: str):
    return responses.json_response(200, consumer_keys.get_key(_principal(), unquote(key)))


@app.post("/api/keys/<key>/rotate")
def rotate_key(key: str):
    principal = _principal()
    body = http.json_body(app.current_event)
    rotated = consumer_keys.rotate_key(principal, unquote(key), body)
    logger.info("consumer key rotated", extra={"key": rotated["key"]})
    return responses.json_response(200, rotated)


@app.delete("/api/keys/<key>")
def revoke_key(key: str):
    revoked = consumer_keys.revoke_key(_principal(), unquote(key))
    logger.info("consumer key revoked", extra={"key": revoked["key"]})
    return responses.json_response(200, revoked)


@app.post("/<lts_version>/consumer/keys/lti")
@web.errors_as(app, responses.data_api_error, "data api request rejected")
def learnosity_keys(lts_version: str):
    """Learnosity Data API shape: errors are answered in its envelope too (an AWS fault a 503 with
    ``Retry-After``, a bug a 500 naming only its correlation id), never as ``{error, details}``."""
    logger.append_keys(lts_version=lts_version)
    answer = learnosity.serve(
        http.form_body(app.current_event),
        source_ip=app.current_event.request_context.http.source_ip or "unknown",
        window_seconds=settings().learnosity_window_seconds,
        per_minute=settings().data_api_requests_per_minute,
    )
    return responses.json_response(200, answer)


@app.get("/api/org")
def get_org():
    return responses.json_response(200, orgs.get_organisation(_principal()))


@app.patch("/api/org")
def update_org():
    updated = orgs.update_settings(_principal(), http.json_body(app.current_event))
    logger.info("organisation settings updated")
    return responses.json_response(200, updated)


@app.get("/api/credentials")
def list_credentials():
    principal = _principal()
    limit, token = _page_args()
    return responses.json_response(200, orgs.list_credentials(principal, limit=limit, token=token))


@app.post("/api/credentials")
def create_credential():
    principal = _principal()
    created = orgs.create_credential(principal, http.json_body(app.current_event))
    logger.info("api credential created", extra={"created_credential_id": created["credential_id"]})
    return responses.json_response(201, created)


@app.delete("/api/credentials/<credential_id>")
def revoke_credential(credential_id: str):
    return responses.json_response(200, orgs.revoke_credential(_principal(), credential_id))


@app.get("/api/launch-errors/<reference>")
def get_launch_error(reference: str):
    """What a launch error page's reference stands for: the refused launch or login of the caller's
    organisation (owners only; another organisation's reference is a 404 like an unknown one)."""
    principal = _principal()
    principal.require_owner()
    return responses.json_response(200, launch_errors.lookup(principal.org_id, unquote(reference)))


@app.get("/api/openapi.json")
def openapi_document():
    """Public: no organisation data in it, and the same for every caller of a host. ``servers`` names
    the stack's public base URL (PUBLIC_BASE_URL or the custom domain, else the request's own https
    host as API Gateway gives it); a request naming no valid host gets the shipped placeholder."""
    try:
        base: str | None = urls.event_base_url(app.current_event.raw_event)
    except ValidationFailed:
        base = None
    return Response(
        status_code=200,
        content_type="application/json",
        body=openapi.document_text(base),
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*", **responses.NOSNIFF},
    )


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
