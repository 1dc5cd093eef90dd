"""One exception hierarchy for the whole domain.

Handlers turn any :class:`GatewayError` into ``{"error": code, "details": ...}`` with ``status``.
Codes are stable strings clients may switch on; details never carry a secret.
"""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, details: Any = None, *, code: str | None = None, status: int | None = None):
        super().__init__(details if isinstance(details, str) else (code or self.code))
        self.details = details
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "details": self.details}


class ValidationFailed(GatewayError):
    """Input is malformed: 400 with the failing fields named."""

    status = 400
    code = "validation_failed"


class InvalidJson(GatewayError):
    status = 400
    code = "invalid_json"


class BodyTooLarge(GatewayError):
    status = 413
    code = "body_too_large"


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"


class Unauthorized(GatewayError):
    """Authentication failed (missing, malformed, unknown, revoked or wrong credential)."""

    status = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    """Authenticated, but this credential's role may not do this."""

    status = 403
    code = "forbidden"


class NotFound(GatewayError):
    """Unknown resource, or one of another organisation (existence never leaks)."""

    status = 404
    code = "not_found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class Throttled(GatewayError):
    status = 429
    code = "throttled"

    def __init__(self, details: Any = None, *, retry_after: int = 60, **kw: Any):
        super().__init__(details, **kw)
        self.retry_after = retry_after


class UpstreamFailed(GatewayError):
    """A platform (LMS), JWKS or AWS dependency failed."""

    status = 502
    code = "upstream_failed"


class ServiceUnavailable(GatewayError):
    """An AWS dependency (DynamoDB, KMS) throttled or did not answer in time: the same request may
    well succeed a moment later, so the answer is a 503 with ``Retry-After``."""

    status = 503
    code = "service_unavailable"

    def __init__(self, details: Any = None, *, retry_after: int = 2, **kw: Any):
        super().__init__(details, **kw)
        self.retry_after = retry_after
        self.aws_error: str | None = None  # the AWS error code or exception behind it (logged, never answered)
