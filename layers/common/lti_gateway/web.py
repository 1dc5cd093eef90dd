"""What every HTTP handler shares: the resolver, the bearer principal, paging arguments, and the one
error path (:func:`refusal`) that the resolver and any route answering in its own format go through.

Handlers stay thin: parse the request with :mod:`lti_gateway.core.http`, call one domain function,
answer its dict with :func:`lti_gateway.core.responses.json_response`. Errors are rendered by
:mod:`lti_gateway.core.responses`; this module is the edge where they meet ``repositories.aws`` (the
AWS fault -> 503 mapping ``core`` may not import).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from lti_gateway.admin.orgs import Principal, authenticate_bearer
from lti_gateway.core import responses
from lti_gateway.core.errors import (
    GatewayError,
    NotFound,
)
from lti_gateway.core.observability import logger
from lti_gateway.core.pagination import parse_limit
from lti_gateway.core.responses import Render
from lti_gateway.repositories import aws

F = TypeVar("F", bound=Callable[..., Any])


def bearer_principal(event: Any) -> Principal:
    """The caller of an API route (``Authorization: Bearer <API_KEY>``), tagged onto every log line."""
    principal = authenticate_bearer(event.headers.get("authorization"))
    logger.append_keys(org_id=principal.org_id, credential_id=principal.credential_id)
    return principal


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
                return route(*args, **kwargs)
            except Exception as error:  # every failure of this route in its format
                return refusal(app, error, render, message)

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
    app = APIGatewayHttpResolver()
    unknown = not_found or NotFound("no such route")

    @app.exception_handler(Exception)  # GatewayError, an AWS fault, a bug: one path
    def _error(error: Exception) -> Response:
        return refusal(app, error, render, message)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response:
        return refusal(app, unknown, render, message)

    return app
