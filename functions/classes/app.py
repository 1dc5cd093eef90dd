"""Classes function: classes and units (the LMS course and assignment mappings), and the public
"send students back" link.

Routes (see template.yaml); every /api route takes ``Authorization: Bearer <API_KEY>`` (owners and
members alike) and answers JSON:
  POST   /api/classes                                     create a class
  GET    /api/classes                                     list the organisation's classes (paginated)
  GET    /api/classes/{class_id}                          read one (with its class launch URL)
  PATCH  /api/classes/{class_id}                          partial update (optional ``version``)
  DELETE /api/classes/{class_id}                          delete it and its units
  POST   /api/classes/{class_id}/units                    create a unit (appended unless ``position``)
  GET    /api/classes/{class_id}/units                    list units by position (paginated)
  POST   /api/classes/{class_id}/units/reorder            ``{"unit_ids": [...]}`` → positions 0..n-1
  GET    /api/classes/{class_id}/units/{unit_id}          read one (with its unit launch URL)
  PATCH  /api/classes/{class_id}/units/{unit_id}          partial update (optional ``version``)
  DELETE /api/classes/{class_id}/units/{unit_id}          delete it
  GET    /classes/{class_id}/open                         public: 302 to the Class LMS URL when it is on an
                                                          LMS origin of the organisation (or owner-confirmed),
                                                          else a page saying where it leaves for; or an
                                                          HTML page saying why it cannot be opened
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.admin import classes, orgs
from lti_gateway.core import http, responses, urls
from lti_gateway.core.errors import GatewayError, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced

app = web.resolver()

OPEN_CSP = "default-src 'none'; style-src 'unsafe-inline'"
PAGE_HEADERS = {**responses.PAGE_HEADERS, "Content-Security-Policy": OPEN_CSP}


def _principal() -> orgs.Principal:
    return web.bearer_principal(app.current_event)


def _base() -> str:
    return urls.event_base_url(app.current_event.raw_event)


def _page_args() -> tuple[int, str | None]:
    return web.page_args(app.current_event)


def _no_content() -> Response:
    return Response(status_code=204, headers=dict(responses.NO_STORE))


# -- classes ----------------------------------------------------------------------------------------


@app.post("/api/classes")
def create_class():
    principal = _principal()
    created = classes.create_class(principal, http.json_body(app.current_event), base=_base())
    logger.info("class created", extra={"class_id": created["class_id"]})
    return responses.json_response(201, created)


@app.get("/api/classes")
def list_classes():
    principal = _principal()
    limit, token = _page_args()
    return responses.json_response(200, classes.list_classes(principal, limit=limit, token=token, base=_base()))


@app.get("/api/classes/<class_id>")
def get_class(class_id: str):
    return responses.json_response(200, classes.get_class(_principal(), class_id, base=_base()))


@app.patch("/api/classes/<class_id>")
def update_class(class_id: str):
    principal = _principal()
    body = http.json_body(app.current_event)
    return responses.json_response(200, classes.update_class(principal, class_id, body, base=_base()))


@app.delete("/api/classes/<class_id>")
def delete_class(class_id: str):
    units = classes.delete_class(_principal(), class_id)
    logger.info("class deleted", extra={"class_id": class_id, "units_deleted": units})
    return _no_content()


# -- units ------------------------------------------------------------------------------------------


@app.post("/api/classes/<class_id>/units")
def create_unit(class_id: str):
    principal = _principal()
    created = classes.create_unit(principal, class_id, http.json_body(app.current_event), base=_base())
    logger.info("unit created", extra={"class_id": class_id, "unit_id": created["unit_id"]})
    return responses.json_response(201, created)


@app.get("/api/classes/<class_id>/units")
def list_units(class_id: str):
    principal = _principal()
    limit, token = _page_args()
    return responses.json_response(200, classes.list_units(principal, class_id, limit=limit, token=token, base=_base()))


@app.post("/api/classes/<class_id>/units/reorder")
def reorder_units(class_id: str):
    principal = _principal()
    body = http.json_body(app.current_event)
    return responses.json_response(200, classes.reorder_units(principal, class_id, body, base=_base()))


@app.get("/api/classes/<class_id>/units/<unit_id>")
def get_unit(class_id: str, unit_id: str):
    return responses.json_response(200, classes.get_unit(_principal(), class_id, unit_id, base=_base()))


@app.patch("/api/classes/<class_id>/units/<unit_id>")
def update_unit(class_id: str, unit_id: str):
    principal = _principal()
    body = http.json_body(app.current_event)
    return responses.json_response(200, classes.update_unit(principal, class_id, unit_id, body, base=_base()))


@app.delete("/api/classes/<class_id>/units/<unit_id>")
def delete_unit(class_id: str, unit_id: str):
    classes.delete_unit(_principal(), class_id, unit_id)
    logger.info("unit deleted", extra={"class_id": class_id, "unit_id": unit_id})
    return _no_content()


# -- the public page --------------------------------------------------------------------------------

_TITLES = {
    404: "Class not found",
    409: "This class cannot be opened from here",
    503: "This class cannot be opened right now",
}
_OPEN_MESSAGES = {
    "not_found": "There is no such class. Check the link you followed.",
    "lti_disabled": "LTI is not enabled for this class. Ask your teacher how to open it.",
    "no_class_lms_url": "No Class LMS URL is set for this class yet. Ask your teacher for the course link.",
    "invalid_class_lms_url": "The Class LMS URL of this class is not a web address. Ask your teacher for the link.",
    "service_unavailable": "The service is busy. Wait a moment, then open the link again.",
}


def _open_refused(error: GatewayError, correlation_id: str) -> Response:
    """The page of a link that cannot be followed: no reason code (the reference is enough), no org data;
    brace-free (style attributes, under its ``'unsafe-inline'`` CSP)."""
    return responses.error_page(
        error,
        correlation_id,
        title=_TITLES.get(error.status, "Something went wrong"),
        message=_OPEN_MESSAGES.get(error.code, "This class cannot be opened right now."),
        show_reason=False,
        csp=OPEN_CSP,
        inline_style=True,
    )


# Brace-free like the refusal pages (style attributes, under OPEN_CSP): never to be taken for JSON.
_BODY_STYLE = "font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222"
_LEAVING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>This link leaves {here}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="{style}"><h1>This link leaves {here}</h1>
<p>This link leaves {here} for <strong>{there}</strong>, which is not an LMS this class's organisation
is known to use. Continue only if you expected to go there.</p>
<p><a href="{href}" rel="noopener noreferrer">{shown}</a></p>
</body></html>
"""


def _here() -> str:
    """The host people followed the link on (``PUBLIC_BASE_URL``'s, else the request's)."""
    try:
        return urlsplit(_base()).netloc or "this site"
    except ValidationFailed:
        return "this site"


def _leaving(target: classes.OpenTarget) -> Response:
    """A Class LMS URL on an origin no launch of the organisation came from and no owner confirmed: no
    redirect, a page naming where it goes and a link to click."""
    logger.info("class open leaves for an unknown origin", extra={"lms_origin": target.origin})
    body = _LEAVING_PAGE.format(
        here=html.escape(_here()),
        style=_BODY_STYLE,
        there=html.escape(target.origin),
        href=html.escape(target.url, quote=True),
        shown=html.escape(target.url),
    )
    return responses.page(200, body, csp=OPEN_CSP)


@app.get("/classes/<class_id>/open")
@web.errors_as(app, _open_refused, "class open refused")
def open_class(class_id: str):
    """Students always enter through the LMS: redirect to the Class LMS URL when it is on an LMS origin of
    the class's organisation or an owner confirmed it, else a page saying where the link leaves for.
    Never JSON, no org data; an AWS fault is a 503 page with ``Retry-After``, a bug a 500 page with only
    a reference."""
    target = classes.open_target(class_id)
    if not target.direct:
        return _leaving(target)
    return Response(status_code=302, headers={"Location": target.url, **PAGE_HEADERS})


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
