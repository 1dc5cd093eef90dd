"""Export function: a class's (or the organisation's) LTI settings as CSV, JSON, Common Cartridge or XML.

Routes (see template.yaml); every route takes ``Authorization: Bearer <API_KEY>``:
  GET /api/classes/{class_id}/lti-settings?format=csv|json|cc|xml   owners and members (or ``Accept``)
  GET /api/classes/{class_id}/units/{unit_id}/lti-config.xml        one unit's LTI 1.1 XML configuration
  GET /api/lti-settings?format=csv|json                              every class of the organisation (owners)

An export that fits Lambda's response limit is the file itself (``Content-Disposition: attachment``);
a larger one is ``200 {"url": <presigned S3 GET, 15 min>, "expires_in": 900, "format", "filename",
"bytes", "units"}``.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.admin import exports, orgs
from lti_gateway.core import responses, urls
from lti_gateway.core.observability import logger
from lti_gateway.core.tracing import traced

app = web.resolver()


def _principal() -> orgs.Principal:
    return web.bearer_principal(app.current_event)


def _base() -> str:
    return urls.event_base_url(app.current_event.raw_event)


def _format(allowed: tuple[str, ...]) -> str:
    query = app.current_event.query_string_parameters or {}
    return exports.negotiate(query.get("format"), app.current_event.headers.get("accept"), allowed)


def _answer(export: exports.Export, **log: str) -> Response:
    logger.info(
        "export served",
        extra={
            **log,
            "format": export.format,
            "units": export.units,
            "bytes": export.size,
            "delivery": "s3" if export.download else "inline",
        },
    )
    if export.download is not None:
        return responses.json_response(200, export.download)
    # The body is bytes, answered base64-encoded (API Gateway decodes it), so the size checked against
    # Lambda's response limit is exact. The content type goes in as a lower-case header on purpose:
    # given ``content_type="application/json"`` Powertools would JSON-encode the bytes again.
    return Response(
        status_code=200,
        body=export.body,
        headers={
            **responses.NO_STORE,
            "content-type": export.media_type,
            "Content-Disposition": export.disposition,
            "X-Content-Type-Options": "nosniff",
        },
    )


@app.get("/api/classes/<class_id>/lti-settings")
def class_settings(class_id: str):
    principal = _principal()
    fmt = _format(exports.CLASS_FORMATS)
    return _answer(exports.export_class(principal, class_id, fmt, base=_base()), class_id=class_id)


@app.get("/api/classes/<class_id>/units/<unit_id>/lti-config.xml")
def unit_config(class_id: str, unit_id: str):
    principal = _principal()
    return _answer(exports.unit_config(principal, class_id, unit_id, base=_base()), class_id=class_id)


@app.get("/api/lti-settings")
def org_settings():
    principal = _principal()
    principal.require_owner()
    fmt = _format(exports.ORG_FORMATS)
    return _answer(exports.export_org(principal, fmt, base=_base()))


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
