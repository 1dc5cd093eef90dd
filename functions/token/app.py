"""Token function: the app API an app's back end calls with the ``ltik`` it received (LTIAAS-compatible).

Routes (see template.yaml; the official ``ltiaas`` Python client works against them unchanged):
  GET    /api/idtoken                   the launch, normalised (``?raw=true``: raw claims/params)   ltik
  GET    /api/memberships               Names and Roles                                            ltik|service
  GET    /api/lineitems                 line items (LTI 1.1: the synthetic one)                    ltik|service
  POST   /api/lineitems                 create a line item                                         ltik|service
  GET    /api/lineitems/{id}            one line item                                              ltik|service
  PUT    /api/lineitems/{id}            replace a line item                                        ltik|service
  DELETE /api/lineitems/{id}            delete a line item                                         ltik|service
  GET    /api/lineitems/{id}/scores     results (LTI 1.1: readResult)                              ltik|service
  POST   /api/lineitems/{id}/scores     submit a score (LTI 1.1: replaceResult)                    ltik|service
  POST   /api/deeplinking/form          signed LtiDeepLinkingResponse as an auto-submitting form   ltik
  POST   /api/deeplinking               the same as {message, target}                              ltik
  DELETE /api/servicekey                revoke the service key presented                            service
  POST   /api/console-link              a one-time owner console link to the launch's class        ltik

``/api/lineitems/{id+}`` is one greedy route: a raw LMS URL id keeps its slashes, and a trailing
``/scores`` is split off here. Leading ``//`` (the Python client) is collapsed before routing.
Every error is a JSON object in the contract's shape (``{"status", "error", "details"}``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.app_api import auth, console_links, deep_linking, service_keys, transport
from lti_gateway.app_api import idtoken as app_idtoken
from lti_gateway.app_api.errors import NOT_FOUND
from lti_gateway.core import http, responses, urls
from lti_gateway.core.errors import ApiError
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced

# Every error, of any route, in the contract's shape (a bug: 500 ``INTERNAL_ERROR`` with only its
# ``correlationId``; an AWS fault: 503 with ``Retry-After``), through web's one error path.
app = web.resolver(
    responses.contract_error, "app api request rejected", not_found=ApiError(404, NOT_FOUND, "No such route.")
)
LTIK = (auth.LTIK,)
LTIK_OR_SERVICE = (auth.LTIK, auth.SERVICE)
SERVICE = (auth.SERVICE,)
DEEP_LINKING_MAX_BODY = 256 * 1024


def _json(status: int, body: Any) -> Response:
    return responses.json_response(status, body)


def _no_content() -> Response:
    return Response(status_code=204, headers=dict(responses.NO_STORE), body="")


def _session(allow: tuple[auth.Kind, ...]) -> auth.AppSession:
    session = auth.authenticate(app.current_event.headers.get("authorization"), allow=allow)
    logger.append_keys(org_id=session.org_id, launch_id=session.launch_id, session=session.kind)
    return session


def _query() -> dict[str, str]:
    return transport.query(app.current_event.raw_event.get("rawQueryString"))


def _body(max_bytes: int = http.MAX_JSON_BYTES) -> dict[str, Any]:
    return http.json_body(app.current_event, max_bytes=max_bytes)


def _services() -> Any:
    # imported on the first service call: /api/idtoken cold starts skip outcomes and the platform clients
    from lti_gateway.app_api import services

    return services


@app.get("/api/idtoken")
def id_token():
    session = _session(LTIK)
    raw = transport.truthy(_query().get("raw"))
    return _json(200, app_idtoken.id_token(session, raw=raw))


@app.get("/api/memberships")
def memberships():
    return _json(200, _services().memberships(_session(LTIK_OR_SERVICE), _query()))


@app.get("/api/lineitems")
def list_line_items():
    return _json(200, _services().list_line_items(_session(LTIK_OR_SERVICE), _query()))


@app.post("/api/lineitems")
def create_line_item():
    session = _session(LTIK_OR_SERVICE)
    return _json(201, _services().create_line_item(session, _body()))


def _line_item_target() -> tuple[str, bool]:
    target = transport.line_item_path(app.current_event.path)
    if target is None:
        raise ApiError(404, NOT_FOUND, "No such line item.")
    return target


@app.route("/api/lineitems/.+", method=["GET", "PUT", "DELETE", "POST"])
def line_item():
    raw_id, scores = _line_item_target()
    method = app.current_event.http_method.upper()
    session = _session(LTIK_OR_SERVICE)
    if scores and method == "GET":
        return _json(200, _services().get_scores(session, raw_id, _query()))
    if scores and method == "POST":
        _services().submit_score(session, raw_id, _body())
        logger.info("score submitted")
        return _no_content()
    if not scores and method == "GET":
        return _json(200, _services().get_line_item(session, raw_id))
    if not scores and method == "PUT":
        return _json(200, _services().update_line_item(session, raw_id, _body()))
    if not scores and method == "DELETE":
        _services().delete_line_item(session, raw_id)
        return _no_content()
    raise ApiError(404, NOT_FOUND, "No such route.")


@app.post("/api/deeplinking/form")
def deep_linking_form():
    session = _session(LTIK)
    return _json(200, deep_linking.form(session, _body(DEEP_LINKING_MAX_BODY)))


@app.post("/api/deeplinking")
def deep_linking_message():
    session = _session(LTIK)
    return _json(200, deep_linking.message(session, _body(DEEP_LINKING_MAX_BODY)))


@app.post("/api/console-link")
def console_link():
    """A one-time owner console link scoped to the launch's class (instructors and administrators)."""
    session = _session(LTIK)
    created = console_links.create(session, base=urls.event_base_url(app.current_event.raw_event))
    logger.info("console link created", extra={"class_id": created["class_id"]})
    return _json(201, created)


@app.delete("/api/servicekey")
def revoke_service_key():
    session = _session(SERVICE)
    assert session.service_key_item is not None
    service_keys.revoke(session.service_key_item)
    logger.info("service key revoked")
    return _no_content()


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(transport.normalise_event(event), context)
