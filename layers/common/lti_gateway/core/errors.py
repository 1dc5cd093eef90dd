"""One exception hierarchy for the whole domain.

A :class:`GatewayError` has a ``status``, a stable ``code`` clients may switch on and ``details`` that
never carry a secret. How one is answered (the ``{"error": code, "details": ...}`` envelope, the
LTIAAS contract object, the Learnosity Data API envelope, an HTML page, a return to the LMS) is
decided in one place, :mod:`lti_gateway.core.responses`; these classes carry data only.
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


class InternalError(GatewayError):
    """A bug: what an exception that is no :class:`GatewayError` and no AWS fault is answered as. Its
    details are only the correlation id (the trace goes to the log, never to the answer)."""

    status = 500
    code = "internal_error"

    def __init__(self, correlation_id: str):
        super().__init__({"correlation_id": correlation_id})
        self.correlation_id = correlation_id


class NotAcceptable(GatewayError):
    """None of the media types the client accepts can be produced (exports)."""

    status = 406
    code = "not_acceptable"


class DataApiError(GatewayError):
    """An error answered in the Learnosity Data API envelope (``meta.status: false``)."""


# -- the app API (LTIAAS contract) ---------------------------------------------------------------------

# The contract's code for any 400 (an ApiError's own, and the one a plain 400 GatewayError is shown
# with); the other contract codes are the app API's vocabulary, in ``app_api/errors.py``.
VALIDATION_ERROR = "VALIDATION_ERROR"


class ApiError(GatewayError):
    """An app API failure in the LTIAAS contract's terms: ``status``, a contract ``message`` code (upper
    case, its ``code`` here), an optional description.

    ``errors`` is the ``[{field, message}]`` list of a validation failure; ``extra`` goes into
    ``details`` as given (``externalError``, ``externalUrl``, ``bodyReceived``). Rendered by
    :func:`lti_gateway.core.responses.contract_body`, wherever it is raised.
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


# -- launches (both protocols) ---------------------------------------------------------------------


class LaunchRefused(GatewayError):
    """A verified launch that cannot proceed (unknown class, LTI disabled, no app configured).

    ``return_url`` is set: the signature verified, so the LMS may be sent back with ``lti_errormsg``.
    ``org_id`` and ``launch_facts`` (key or platform, LMS ids) name whose launch it was, for the launch
    error record; ``verified`` is always true.
    """

    verified = True

    def __init__(
        self,
        details: Any,
        *,
        code: str,
        status: int,
        return_url: str | None,
        org_id: str | None = None,
        launch_facts: dict[str, str] | None = None,
    ):
        super().__init__(details, code=code, status=status)
        self.return_url = return_url
        self.org_id = org_id
        self.launch_facts = launch_facts or {}


# -- LTI 1.1 launches ------------------------------------------------------------------------------


class LaunchRejected(GatewayError):
    """A launch failed authentication (401). ``code`` says why; ``details`` never carries a secret.

    ``return_url`` is the LMS's ``launch_presentation_return_url``, set only when the failure happened
    *after* the signature verified: only then may an error page redirect there (otherwise it would
    be an open redirect).
    """

    status = 401
    code = "launch_rejected"

    def __init__(self, details: Any = None, *, code: str | None = None, return_url: str | None = None):
        super().__init__(details, code=code)
        self.return_url = return_url


class MalformedLaunch(LaunchRejected):
    """A launch is malformed (400): missing/duplicated/unsupported parameter or signature method."""

    status = 400
    code = "malformed_launch"


# -- LTI 1.3 login and launches --------------------------------------------------------------------


class LoginRejected(GatewayError):
    """A login initiation that cannot proceed (400), before any platform was contacted."""

    status = 400
    code = "login_rejected"


class IdTokenRejected(Unauthorized):
    """An LTI 1.3 launch failed authentication (401). ``code`` says why; no claim value is echoed."""

    code = "id_token_rejected"


class MalformedIdToken(IdTokenRejected):
    """An LTI 1.3 launch is malformed (400): not a JWT, a required claim missing or of the wrong type."""

    status = 400
    code = "malformed_id_token"


class UnknownPlatform(GatewayError):
    """No registration for this issuer (+ client id)."""

    status = 400
    code = "unknown_platform"


class RegistrationUrlRefused(GatewayError):
    """A dynamic-registration URL that is unknown, expired or (single use) already used."""

    status = 404
    code = "registration_url_unknown"


class PlatformInactive(GatewayError):
    """The registration exists but an owner deactivated it."""

    status = 403
    code = "platform_inactive"


# -- calls to platforms and LMSs -------------------------------------------------------------------


class JwksUnavailable(UpstreamFailed):
    """The platform's JWKS could not be fetched (or held no usable key) and no earlier set is cached."""

    code = "jwks_unavailable"


class OutcomeFailed(UpstreamFailed):
    """The outcome service failed or said no (502). ``code`` says how; never carries the secret.

    Codes: ``outcome_failure`` / ``outcome_unsupported`` (the LMS answered that ``imsx_codeMajor``),
    ``outcome_http_error`` (non-2xx), ``outcome_timeout``, ``outcome_unreachable``,
    ``outcome_response_too_large``, ``outcome_invalid_response`` (not a POX response, or a DOCTYPE),
    ``outcome_url_not_allowed`` (http, or a private address, refused by the transport).
    """

    code = "outcome_failed"

    def __init__(
        self,
        details: Any = None,
        *,
        code: str | None = None,
        code_major: str | None = None,
        description: str | None = None,
    ):
        super().__init__(details, code=code)
        self.code_major = code_major
        self.description = description


class OutboundRefused(UpstreamFailed):
    """The transport refused or could not complete a call. ``kind`` says why:

    ``url_not_allowed`` (not https, or not a public address), ``unreachable`` (does not resolve),
    ``response_too_large``, ``invalid_response`` (a broken HTTP answer). Timeouts and connection
    failures propagate as ``TimeoutError`` / ``OSError`` for the caller to name.
    """

    def __init__(self, details: Any, *, kind: str):
        super().__init__(details, code=kind)
        self.kind = kind
