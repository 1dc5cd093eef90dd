"""Console function: the owner console's static page and its session (issue 15).

Routes (see template.yaml):
  GET    /console                  the console page (static/index.html)
  GET    /console/assets/{name}    console.js / console.css (static/; nothing else)
  POST   /console/session          sign in: {"api_key"} or {"link"} -> the session, its cookie set
  GET    /console/session          the signed-in session (with its csrf_token), or 401 no_session
  DELETE /console/session          sign out (X-CSRF-Token): the session deleted, its cookie cleared

A sign-in is refused from a page of another origin (403 ``cross_origin_request``) or without
``Content-Type: application/json`` (415): no login CSRF. The console has no business logic: its page
calls the same /api/* routes as any client, with the session cookie instead of a bearer key
(``web.bearer_principal``). Every page and asset carries the
console's CSP (no inline script or style) and is never cached. No token (API key, session, link,
CSRF) is ever logged.
"""

from __future__ import annotations

import functools
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.admin import console_sessions
from lti_gateway.core import http, responses
from lti_gateway.core.errors import GatewayError, NotFound, Unauthorized
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced

app = web.resolver()
STATIC = Path(__file__).resolve().parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'"
)  # frame-ancestors 'none' is added by responses.page_headers
ASSETS = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
MAX_SESSION_BODY = 4096


@functools.cache  # read once per container: the files ship with the function and never change
def _static(name: str) -> str:
    try:
        return (STATIC / name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound("no such file") from None


@app.get("/console")
def console_page():
    return responses.page(200, _static("index.html"), csp=CSP)


@app.get("/console/assets/<name>")
def console_asset(name: str):
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound({"name": "no such asset"})
    return Response(
        status_code=200,
        content_type=content_type,
        body=_static(name),
        headers=responses.page_headers(CSP),
    )


def _session_answer(status: int, token: str, session: console_sessions.ConsoleSession) -> Response:
    answer = responses.json_response(status, console_sessions.view(session))
    answer.cookies.append(console_sessions.session_cookie(token, max_age=console_sessions.max_age(session)))
    return answer


def _signed_out(error: GatewayError, correlation_id: str) -> Response:
    """A 401 of the session routes, answered with the cookie cleared (a stale one is of no use)."""
    answer = responses.json_error(error, correlation_id)
    if error.status == 401:
        answer.cookies.append(console_sessions.clearing_cookie())
    return answer


@app.post("/console/session")
def sign_in():
    console_sessions.check_sign_in_request(app.current_event.raw_event)  # no login CSRF: before any read
    body = http.json_body(app.current_event, max_bytes=MAX_SESSION_BODY)
    token, session = console_sessions.sign_in(body)
    logger.append_keys(org_id=session.principal.org_id, credential_id=session.principal.credential_id)
    logger.info("console signed in", extra={"role": session.principal.role, "class_scoped": bool(session.class_id)})
    return _session_answer(200, token, session)


@app.get("/console/session")
def current_session():
    token = console_sessions.session_token(app.current_event.raw_event)
    try:
        session = console_sessions.authenticate_session(token, missing_code="no_session")
    except Unauthorized as error:
        if error.code == "session_expired":
            error = Unauthorized(error.details, code="no_session")
        return web.refusal(app, error, _signed_out)
    return responses.json_response(200, console_sessions.view(session))


@app.delete("/console/session")
def sign_out():
    event = app.current_event.raw_event
    token = console_sessions.session_token(event)
    if not token:
        return web.refusal(app, Unauthorized("no console session to end", code="no_session"), _signed_out)
    console_sessions.check_csrf(event, token)  # before anything is read or deleted
    console_sessions.sign_out(token)
    logger.info("console signed out")
    answer = responses.json_response(200, {"signed_out": True})
    answer.cookies.append(console_sessions.clearing_cookie())
    return answer


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
