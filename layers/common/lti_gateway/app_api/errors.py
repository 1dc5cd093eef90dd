"""Errors of the app API (the token function) in the LTIAAS contract's shape.

``{"status": 401, "error": "Unauthorized", "details": {"message": "INVALID_API_KEY", "description": ...}}``
(``../shared/reference/ltiaas-api.md`` §5.5): always a JSON object, ``status`` an int, ``error`` the
HTTP reason phrase, ``details.message`` a stable upper-case code. Errors from the platform (LMS) add
``externalError: true``, ``externalUrl`` and ``bodyReceived`` (truncated).

Any other :class:`~lti_gateway.core.errors.GatewayError` raised underneath (a body too large, malformed
JSON) is rendered in the same shape by :func:`contract_body`, so an app never sees two error shapes.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from lti_gateway.core.errors import GatewayError

BODY_RECEIVED_LIMIT = 2048

# The codes the contract names (§5.2, §5.5).
INVALID_LTIK = "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
INVALID_SERVICE_KEY = "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER"
INVALID_API_KEY = "INVALID_API_KEY"
MISSING_AUTHORIZATION = "MISSING_AUTHORIZATION_HEADER"
INVALID_AUTHORIZATION = "INVALID_AUTHORIZATION_HEADER"
VALIDATION_ERROR = "VALIDATION_ERROR"
INVALID_URL_PARAMETER = "INVALID_URL_PARAMETER"
MISSING_DEEP_LINK_SETTINGS = "MISSING_DEEP_LINK_SETTINGS"
SERVICE_NOT_AVAILABLE = "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"
NOT_FOUND = "NOT_FOUND"
PLATFORM_REQUEST_FAILED = "PLATFORM_REQUEST_FAILED"
UNREGISTERED_OR_INACTIVE_PLATFORM = "UNREGISTERED_OR_INACTIVE_PLATFORM"


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(GatewayError):
    """An app API failure: ``status``, a contract ``message`` code, an optional description.

    ``errors`` is the ``[{field, message}]`` list of a validation failure; ``extra`` goes into
    ``details`` as given (``externalError``, ``externalUrl``, ``bodyReceived``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        description: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ):
        super().__init__(description or message, code=message, status=status)
        self.description = description
        self.errors = errors
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        details: dict[str, Any] = {"message": self.code}
        if self.description:
            details["description"] = self.description
        if self.errors:
            details["errors"] = self.errors
        details.update({k: v for k, v in self.extra.items() if v is not None})
        return {"status": self.status, "error": reason(self.status), "details": details}


def validation_error(errors: dict[str, str], description: str | None = None) -> ApiError:
    return ApiError(
        400,
        VALIDATION_ERROR,
        description or "The request is not valid.",
        errors=[{"field": field, "message": message} for field, message in errors.items()],
    )


def not_available(description: str) -> ApiError:
    return ApiError(403, SERVICE_NOT_AVAILABLE, description)


def invalid_url(description: str = "The URL is not on this context's platform service origin.") -> ApiError:
    return ApiError(400, INVALID_URL_PARAMETER, description)


def truncated(body: bytes | str | None) -> str | None:
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:BODY_RECEIVED_LIMIT]


def platform_failed(
    description: str, *, status: int = 502, url: str | None = None, body: bytes | str | None = None
) -> ApiError:
    """The LMS failed or refused: ``externalError`` with what it answered (never our token)."""
    return ApiError(
        status,
        PLATFORM_REQUEST_FAILED,
        description,
        externalError=True,
        externalUrl=url,
        bodyReceived=truncated(body),
    )


def contract_body(error: GatewayError) -> dict[str, Any]:
    """Any domain error in the contract's shape."""
    if isinstance(error, ApiError):
        return error.to_body()
    status = error.status
    details: dict[str, Any]
    if status == 400:
        details = {"message": VALIDATION_ERROR}
        if isinstance(error.details, dict):
            details["errors"] = [{"field": str(k), "message": str(v)} for k, v in error.details.items()]
            details["description"] = "The request is not valid."
        else:
            details["description"] = str(error.details or error.code)
    elif status >= 500:
        # Platform failures are ApiErrors already; this is one of ours (KMS, DynamoDB): name it only.
        details = {"message": error.code.upper(), "description": "A dependency of the gateway failed."}
    else:
        details = {"message": error.code.upper()}
        if isinstance(error.details, str):
            details["description"] = error.details
    return {"status": status, "error": reason(status), "details": details}
