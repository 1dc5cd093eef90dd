"""The app API's (the token function's) error vocabulary: the LTIAAS contract's codes and the
:class:`~lti_gateway.core.errors.ApiError` each failure is raised as.

``{"status": 401, "error": "Unauthorized", "details": {"message": "INVALID_API_KEY", "description": ...}}``
(the LTIAAS API contract, errors): always a JSON object, ``status`` an int, ``error`` the
HTTP reason phrase, ``details.message`` a stable upper-case code. Errors from the platform (LMS) add
``externalError: true``, ``externalUrl`` and ``bodyReceived`` (truncated).

``ApiError`` itself lives with the rest of the hierarchy in ``core/errors.py`` and is rendered by
``core/responses.py`` (:func:`~lti_gateway.core.responses.contract_body`, which also renders any other
GatewayError raised underneath, a body too large or malformed JSON, in the same shape, so an app never
sees two error shapes). The codes stay here: they are this API's words, used by ``app_api`` only
(except ``VALIDATION_ERROR``, which the renderer gives any 400 and so is defined next to ``ApiError``).
"""

from __future__ import annotations

from lti_gateway.core.errors import VALIDATION_ERROR, ApiError

BODY_RECEIVED_LIMIT = 2048

# The codes the contract names (§5.2, §5.5).
INVALID_LTIK = "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
INVALID_SERVICE_KEY = "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER"
INVALID_API_KEY = "INVALID_API_KEY"
MISSING_AUTHORIZATION = "MISSING_AUTHORIZATION_HEADER"
INVALID_AUTHORIZATION = "INVALID_AUTHORIZATION_HEADER"
INVALID_URL_PARAMETER = "INVALID_URL_PARAMETER"
MISSING_DEEP_LINK_SETTINGS = "MISSING_DEEP_LINK_SETTINGS"
SERVICE_NOT_AVAILABLE = "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"
NOT_FOUND = "NOT_FOUND"
PLATFORM_REQUEST_FAILED = "PLATFORM_REQUEST_FAILED"
UNREGISTERED_OR_INACTIVE_PLATFORM = "UNREGISTERED_OR_INACTIVE_PLATFORM"


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
