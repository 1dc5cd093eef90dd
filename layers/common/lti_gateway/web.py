"""What every HTTP handler shares: the resolver, the bearer principal, paging arguments, and the one
error path (:func:`refusal`) that the resolver and any route answering in its own format go through.

Every route of every resolver made here first checks its request's path and query (:func:`check_request`):
text that is not well-formed (percent-encoded invalid UTF-8 or a surrogate, NUL) is a 400 ``invalid_text``
naming the field, in the route's own format, before the route reads anything; bodies are checked by
:mod:`lti_gateway.core.http` as they are read.

Handlers stay thin: parse the request with :mod:`lti_gateway.core.http`, call one domain function,
answer its dict with :func:`lti_gateway.core.responses.json_response`. Errors are rendered by
:mod:`lti_gateway.core.responses`; this module is the edge where they meet ``repositories.aws`` (the
AWS fault -> 503 mapping ``core`` may not import).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lti_gateway.admin import console_sessions
from lti_gateway.admin.orgs import Principal, authenticate_bearer
from lti_gateway.core import responses, validation
from lti_gateway.core.errors import (
    GatewayError,
    NotFound,
    ValidationFailed,
)
from lti_gateway.core.observability import logger
from lti_gateway.core.pagination import parse_limit
from lti_gateway.core.responses import Render
from lti_gateway.repositories import aws

F = TypeVar("F", bound=Callable[..., Any])


def bearer_principal(event: Any) -> Principal:
    """The caller of an API route, tagged onto every log line: ``Authorization: Bearer <API_KEY>``, or,
    when the request has no ``Authorization`` header, the owner console's session cookie
    (:mod:`lti_gateway.admin.console_sessions`): its CSRF token checked for any method but GET/HEAD
    before anything is read (403), the session and its credential read (401 ``session_expired`` /
    ``api_key_revoked``), and a class-scoped session held to its class's routes (403 ``class_scope``).
    Neither: 401 ``missing_credentials``, as before."""
    authorization = event.headers.get("authorization")
    raw = getattr(event, "raw_event", event)
    token = None if authorization else console_sessions.session_token(raw)
    if token is None:
        principal = authenticate_bearer(authorization)
        logger.append_keys(org_id=principal.org_id, credential_id=principal.credential_id)
        return principal
    console_sessions.check_csrf(raw, token)
    session = console_sessions.authenticate_session(token)
    logger.append_keys(
        org_id=session.principal.org_id, credential_id=session.principal.credential_id, auth="console_session"
    )
    console_sessions.check_class_scope(session, raw)
    return session.principal


def _decoded(field: str, raw: str, *, plus: bool) -> str:
    """``raw`` percent-decoded (``+`` a space in a query) as strict UTF-8 without NUL, or 400."""
    validation.well_formed(field, raw)
    if "%" not in raw and (not plus or "+" not in raw):
        return raw
    try:
        text = unquote_to_bytes(raw.replace("+", " ") if plus else raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(
            {validation.field_name(field): "not valid UTF-8 once percent-decoded"}, code=validation.INVALID_TEXT
        ) from None
    return validation.well_formed(field, text)


def check_request(event: Mapping[str, Any]) -> None:
    """The request's path and query are well-formed text (400 ``invalid_text`` naming the field):
    ``rawPath`` segment by segment and ``rawQueryString`` pair by pair, percent-decoded as strict UTF-8
    (``%ED%A0%80`` is an encoded surrogate, ``%FF`` no UTF-8 at all), and the parameters API Gateway
    decoded for us (``pathParameters``, ``queryStringParameters``), with no NUL anywhere."""
    raw_path = event.get("rawPath")
    if isinstance(raw_path, str):
        for segment in raw_path.split("/"):
            _decoded("path", segment, plus=False)
    raw_query = event.get("rawQueryString")
    if isinstance(raw_query, str) and raw_query:
        for pair in raw_query.split("&"):
            name, _, value = pair.partition("=")
            _decoded(_decoded("query", name, plus=True) or "query", value, plus=True)
    for where in ("pathParameters", "queryStringParameters"):
        parameters = event.get(where)
        if isinstance(parameters, Mapping):
            for name, value in parameters.items():
                field = validation.well_formed("path" if where == "pathParameters" else "query", str(name))
                if isinstance(value, str):
                    validation.well_formed(field, value)


_CHECKED = "__lti_gateway_checks_request__"


def _checking(app: APIGatewayHttpResolver, route: F) -> F:
    if getattr(route, _CHECKED, False):  # errors_as checks it itself, to answer in the route's format
        return route

    @functools.wraps(route)
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_request(app.current_event.raw_event)
        return route(*args, **kwargs)

    return checked  # type: ignore[return-value]


class _Resolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver whose every route checks its request first (:func:`check_request`)."""

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().route(rule, method, *args, **kwargs)

        def checked_register(func: F) -> F:
            register(_checking(self, func))
            return func

        return checked_register


def page_args(event: Any) -> tuple[int, str | None]:
    """``?limit=1..100&next=<token>`` of a listing."""
    query = event.query_string_parameters or {}
    return parse_limit(query.get("limit")), query.get("next")


def refusal(app: APIGatewayHttpResolver, error: Exception, render: Render, message: str | None = None) -> Response:
    """The one error path: ``error`` classified once (:func:`responses.failure`, with the AWS fault
    mapping of ``repositories.aws``), its one log line written, then rendered in the route's format by
    ``render(error, correlation_id)``."""
    reference = responses.correlation_id(app.current_event.raw_event, app.lambda_context)
    return render(responses.failure(error, reference, aws.as_unavailable, message=message), reference)


def errors_as(app: APIGatewayHttpResolver, render: Render, message: str | None = None) -> Callable[[F], F]:
    """A route that answers every failure in its own format (an HTML page, the Learnosity envelope)
    rather than the resolver's: any exception under it goes through :func:`refusal` with ``render``."""

    def decorate(route: F) -> F:
        @functools.wraps(route)
        def routed(*args: Any, **kwargs: Any) -> Any:
            try:
                check_request(app.current_event.raw_event)
                return route(*args, **kwargs)
            except Exception as error:  # every failure of this route in its format
                return refusal(app, error, render, message)

        setattr(routed, _CHECKED, True)
        return routed  # type: ignore[return-value]

    return decorate


def resolver(
    render: Render = responses.json_error,
    message: str | None = None,
    *,
    not_found: GatewayError | None = None,
) -> APIGatewayHttpResolver:
    """A resolver (HTTP API and Function URLs) whose every error, of any route, goes through
    :func:`refusal` with ``render`` (default: the JSON envelope) and ``message`` (the log line's); an
    unknown route is ``not_found`` (default: 404 ``not_found``, "no such route")."""
    app = _Resolver()
    unknown = not_found or NotFound("no such route")

    @app.exception_handler(Exception)  # GatewayError, an AWS fault, a bug: one path
    def _error(error: Exception) -> Response:
        return refusal(app, error, render, message)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return refusal(app, unknown, render, message)

    return app
