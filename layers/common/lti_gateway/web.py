"""What every HTTP handler shares: body parsing with size limits, and one mapping of errors to JSON.

Handlers stay thin: parse with these helpers, call one domain function, return its dict.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lti_gateway.admin.orgs import Principal, authenticate_bearer
from lti_gateway.core.errors import BodyTooLarge, GatewayError, InvalidJson, UnsupportedMediaType, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.pagination import parse_limit
from lti_gateway.repositories import aws

MAX_JSON_BODY = 16 * 1024
MAX_FORM_BODY = 256 * 1024
NO_STORE = {"Cache-Control": "no-store"}


def _raw_body(event: Any, max_bytes: int) -> bytes:
    body = event.body or ""
    # Reject on the encoded size first, so a huge body is never decoded.
    if len(body) > max_bytes * 4 // 3 + 4:
        raise BodyTooLarge(f"body must be at most {max_bytes} bytes")
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed("body is not valid base64", code="invalid_body") from None
    else:
        raw = body.encode()
    if len(raw) > max_bytes:
        raise BodyTooLarge(f"body must be at most {max_bytes} bytes")
    return raw


def _content_type(event: Any) -> str:
    return (event.headers or {}).get("content-type", "").split(";")[0].strip().lower()


def json_body(event: Any, *, max_bytes: int = MAX_JSON_BODY) -> dict[str, Any]:
    """The JSON object sent, ``{}`` for an empty body; 400/413/415 otherwise."""
    raw = _raw_body(event, max_bytes)
    if not raw.strip():
        return {}
    content_type = _content_type(event)
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: "[[[[…" nested deep
        raise InvalidJson(f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(value, dict):
        raise InvalidJson("body must be a JSON object")
    return value


def form_body(event: Any, *, max_bytes: int = MAX_FORM_BODY) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body, blank values and repeats kept."""
    content_type = _content_type(event)
    if content_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("send the body as application/x-www-form-urlencoded")
    raw = _raw_body(event, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("form body is not valid UTF-8", code="invalid_body") from None
    return parse_qs(text, keep_blank_values=True, strict_parsing=False)


def bearer_principal(event: Any) -> Principal:
    """The caller of an API route (``Authorization: Bearer <API_KEY>``), tagged onto every log line."""
    principal = authenticate_bearer(event.headers.get("authorization"))
    logger.append_keys(org_id=principal.org_id, credential_id=principal.credential_id)
    return principal


def page_args(event: Any) -> tuple[int, str | None]:
    """``?limit=1..100&next=<token>`` of a listing."""
    query = event.query_string_parameters or {}
    return parse_limit(query.get("limit")), query.get("next")


def retry_after_header(error: GatewayError) -> dict[str, str]:
    """``{"Retry-After": …}`` for a Throttled (429) or ServiceUnavailable (503), else ``{}``."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


def error_response(error: GatewayError) -> Response:
    return Response(
        status_code=error.status,
        content_type="application/json",
        body=json.dumps(error.to_body()),
        headers={**NO_STORE, **retry_after_header(error)},
    )


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={**NO_STORE, **(headers or {})},
    )


def log_rejection(error: GatewayError) -> None:
    """One log line per refused or failed request: the code and status, never the details' values."""
    if error.status >= 500:
        extra = {"error": error.code, "status": error.status, "aws_error": getattr(error, "aws_error", None)}
        logger.warning("request failed on a dependency", extra={k: v for k, v in extra.items() if v})
    else:
        logger.info("request rejected", extra={"error": error.code, "status": error.status})


def unavailable(error: Exception) -> GatewayError | None:
    """The 503 (``Retry-After``) an AWS throttle, timeout or connection failure becomes; None otherwise.

    Every handler family calls this from its catch-all, so DynamoDB/KMS trouble never reaches a 500.
    """
    return aws.as_unavailable(error)


def correlation_id(app: APIGatewayHttpResolver) -> str:
    """The reference an error page or envelope shows: the request id the logs carry as ``correlation_id``
    (``correlation_paths.API_GATEWAY_HTTP``), else Lambda's request id."""
    return app.current_event.request_context.request_id or getattr(app.lambda_context, "aws_request_id", None) or "-"


def failure(error: Exception, correlation_id: str) -> GatewayError:
    """Any exception as the GatewayError a route answering in its own format (an HTML page, the
    Learnosity envelope) renders: a GatewayError as is; an AWS throttle, timeout or connection failure
    as the 503 of :func:`unavailable` (logged); anything else, a bug, as a 500 ``internal_error`` whose
    details are only the correlation id (the trace goes to the log, never to the answer)."""
    if isinstance(error, GatewayError):
        return error
    mapped = unavailable(error)
    if mapped is not None:
        log_rejection(mapped)
        return mapped
    logger.exception("unhandled error", extra={"correlation_id": correlation_id})
    return GatewayError({"correlation_id": correlation_id}, code="internal_error", status=500)


def resolver() -> APIGatewayHttpResolver:
    """A resolver with the project's error mapping installed (serves HTTP API and Function URLs)."""
    app = APIGatewayHttpResolver()

    @app.exception_handler(GatewayError)
    def _domain_error(error: GatewayError) -> Response:
        log_rejection(error)
        return error_response(error)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return error_response(GatewayError("no such route", code="not_found", status=404))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response:
        mapped = unavailable(error)
        if mapped is not None:
            return _domain_error(mapped)
        correlation_id = (app.lambda_context and getattr(app.lambda_context, "aws_request_id", None)) or str(
            uuid.uuid4()
        )
        logger.exception("unhandled error", extra={"correlation_id": correlation_id})
        return json_response(500, {"error": "internal_error", "details": {"correlation_id": correlation_id}})

    return app
