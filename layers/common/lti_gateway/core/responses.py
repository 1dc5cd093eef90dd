"""Every error answer, rendered here and only here; and the one classification of what went wrong.

A request that fails is answered in its route's format, always from a :class:`GatewayError`:

- :func:`json_error`: the ``{"error": code, "details": ...}`` envelope of the JSON API (an
  :class:`ApiError` raised under it keeps the contract's shape, as it always had);
- :func:`contract_error`: the LTIAAS contract object of the app API (the token function),
  ``{"status", "error", "details": {"message", ...}}``;
- :func:`data_api_error`: the Learnosity Data API envelope, ``{"meta": {"status": false, ...}, "data"}``;
- :func:`error_page`: the one HTML error page (launch, class "open", dynamic registration), its texts
  given by the caller;
- :func:`lti_return`: the 302 back to the LMS return URL with ``lti_errormsg`` (LTI 1.1 and 1.3).

Every answer's security headers come from here too. JSON and empty answers: :data:`NO_STORE` (never
cached, ``nosniff``). Redirects: :data:`PAGE_HEADERS` (also ``Referrer-Policy: no-referrer``: an ltik
travels in the app's URL). HTML: :func:`page` (every page goes through it) adds a Content-Security-Policy
completed by :func:`content_security_policy` (``default-src 'none'``, ``base-uri 'none'``, ``form-action
'none'`` unless the page names where its form posts, and ``frame-ancestors``) and, for a page no LMS
frames, ``X-Frame-Options: DENY``. Inline scripts and styles run only by a per-response
:func:`csp_nonce`.

Framing: the pages an LMS iframe shows during a login or a launch (the launch error page, the
client-side storage pages, dynamic registration, which LMSs open in an iframe) are ``framed``:
``frame-ancestors *``. Not ``https:``: the LMS is not known before the launch verified (most launch
error pages are about exactly that), a local LMS is often plain http, and these pages hold nothing to
click on someone's behalf (an error text, a script that runs by itself), so a framing page gains
nothing. Everything else is ``frame-ancestors 'none'`` plus ``X-Frame-Options: DENY``.

Each JSON renderer is ``(error, correlation_id) -> Response``; a page renderer is the caller's own
function with that signature that calls :func:`error_page` with its texts.

Which GatewayError an exception is, is decided once, by :func:`failure`: a GatewayError as it is; an
AWS throttle, timeout or connection failure as a 503 with ``Retry-After``; anything else, a bug, as a
500 :class:`InternalError` naming only the correlation id (the trace goes to the log). It also writes
the one log line of the refusal (:func:`log_rejection`). Recognising an AWS fault needs botocore and
``repositories.aws``, which ``core`` may not import: the mapping comes in as an argument
(``unavailable``), and the edge (:mod:`lti_gateway.web`, which may import repositories) passes
``repositories.aws.as_unavailable``. An argument rather than a hook registered at import time: nothing
can forget to register it, and a unit test passes its own.

Every body, page and log line names the request by :func:`correlation_id`, the request id the logs
carry as ``correlation_id``.

Imports: the standard library, Powertools' ``Response``, and ``core`` only.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from lti_gateway.core import clock
from lti_gateway.core.errors import VALIDATION_ERROR, ApiError, GatewayError, InternalError, Throttled
from lti_gateway.core.observability import logger
from lti_gateway.core.urls import with_query

NOSNIFF = {"X-Content-Type-Options": "nosniff"}
# Every JSON and empty answer (json_response, 204s, exports): never cached, never sniffed.
NO_STORE = {"Cache-Control": "no-store", **NOSNIFF}
# Every redirect (to the app, back to the LMS, to the class's LMS) and, with a CSP, every page.
PAGE_HEADERS = {**NO_STORE, "Referrer-Policy": "no-referrer"}
# A page's policy starts from these; a page adds what its own content needs (a nonce, a form target).
BASE_POLICY = {"default-src": "'none'", "base-uri": "'none'", "form-action": "'none'"}
FRAMED_BY_ANY = "*"  # frame-ancestors of the pages an LMS iframe shows during a login or launch
HTML = "text/html; charset=utf-8"
LTI_ERRORMSG_MAX = 500
DATA_API_THROTTLE_CODE = 42000  # Learnosity's code for "too many requests"

Unavailable = Callable[[BaseException], GatewayError | None]
Render = Callable[[GatewayError, str], Response]


# -- which request, which error --------------------------------------------------------------------------


def correlation_id(event: Mapping[str, Any] | None, context: Any = None) -> str:
    """The request id the logs carry as ``correlation_id`` (``requestContext.requestId``, what
    ``correlation_paths.API_GATEWAY_HTTP`` reads), else Lambda's ``aws_request_id``, else a uuid4."""
    request = event.get("requestContext") if isinstance(event, Mapping) else None
    request_id = request.get("requestId") if isinstance(request, Mapping) else None
    if isinstance(request_id, str) and request_id:
        return request_id
    aws_request_id = getattr(context, "aws_request_id", None)
    if isinstance(aws_request_id, str) and aws_request_id:
        return aws_request_id
    return str(uuid.uuid4())


def log_rejection(error: GatewayError, message: str | None = None) -> None:
    """One log line per refused or failed request: the code and status, never the details' values.

    A 5xx (a dependency failed) is a warning naming the AWS error behind it, if any; a refusal is info.
    ``message`` names the route's refusal ("launch rejected"); by default "request rejected", or "request
    failed on a dependency" for a 5xx.
    """
    fields: dict[str, Any] = {"error": error.code, "status": error.status}
    if error.status >= 500:
        aws_error = getattr(error, "aws_error", None)
        if aws_error:
            fields["aws_error"] = aws_error
        logger.warning(message or "request failed on a dependency", extra=fields)
    else:
        logger.info(message or "request rejected", extra=fields)


def failure(
    error: BaseException, correlation_id: str, unavailable: Unavailable, *, message: str | None = None
) -> GatewayError:
    """Any exception as the GatewayError its route renders, logged once.

    A GatewayError as it is; what ``unavailable`` maps (an AWS throttle, timeout or connection failure:
    503 with ``Retry-After``) as mapped; anything else, a bug, as a 500 :class:`InternalError` whose
    details are only the correlation id, its trace logged with that id.
    """
    if isinstance(error, GatewayError):
        refused: GatewayError = error
    else:
        mapped = unavailable(error)
        if mapped is None:
            logger.exception("unhandled error", exc_info=error, extra={"correlation_id": correlation_id})
            return InternalError(correlation_id)
        refused = mapped
    log_rejection(refused, message)
    return refused


def retry_after_header(error: GatewayError) -> dict[str, str]:
    """``{"Retry-After": …}`` for a Throttled (429) or ServiceUnavailable (503), else ``{}``."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after is not None else {}


# -- JSON ---------------------------------------------------------------------------------------------


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer, never cached (also what handlers answer success with)."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body),
        headers={**NO_STORE, **(headers or {})},
    )


def error_body(error: GatewayError) -> dict[str, Any]:
    """``{"error": code, "details": ...}``; an :class:`ApiError` in the contract's shape wherever raised."""
    if isinstance(error, ApiError):
        return contract_body(error)
    return {"error": error.code, "details": error.details}


def json_error(error: GatewayError, correlation_id: str) -> Response:
    """The JSON API's error answer (the InternalError's details already name ``correlation_id``)."""
    return json_response(error.status, error_body(error), retry_after_header(error))


# -- the LTIAAS contract (app API) --------------------------------------------------------------------


def reason(status: int) -> str:
    """The HTTP reason phrase, the contract's ``error``."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def contract_body(error: GatewayError) -> dict[str, Any]:
    """Any error in the contract's shape (the LTIAAS API contract, errors), so an app never
    sees two error shapes: ``details.message`` a stable upper-case code, ``description`` where there is
    one, a 400's fields as ``errors: [{field, message}]``."""
    status = error.status
    details: dict[str, Any]
    if isinstance(error, ApiError):
        details = {"message": error.code}
        if error.description:
            details["description"] = error.description
        if error.errors:
            details["errors"] = error.errors
        details.update({k: v for k, v in error.extra.items() if v is not None})
    elif isinstance(error, InternalError):
        details = {"message": error.code.upper(), "correlationId": error.correlation_id}
    elif status == 400:
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


def contract_error(error: GatewayError, correlation_id: str) -> Response:
    return json_response(error.status, contract_body(error), retry_after_header(error))


# -- the Learnosity Data API envelope -----------------------------------------------------------------


def data_api_envelope(data: Any, *, status: bool = True, **meta: Any) -> dict[str, Any]:
    """``{"meta": {"status", "timestamp", ...}, "data": ...}``, success and error alike."""
    return {"meta": {"status": status, "timestamp": int(clock.now()), **meta}, "data": data}


def data_api_error(error: GatewayError, correlation_id: str) -> Response:
    """``meta.status: false``, ``meta.error`` our code, ``meta.message`` the details (a bug's: only the
    correlation id), ``meta.code`` Learnosity's 42000 for throttling, else our code."""
    body = data_api_envelope(
        None,
        status=False,
        message=error.details if error.details is not None else error.code,
        code=DATA_API_THROTTLE_CODE if isinstance(error, Throttled) else error.code,
        error=error.code,
    )
    return json_response(error.status, body, retry_after_header(error))


# -- HTML: the error page and the return to the LMS -----------------------------------------------------

_STYLE = {
    "body": "font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222",
    "code": "background:#f3f3f3;padding:.1rem .3rem",
}
STYLESHEET = "".join(f"{selector}{{{rules}}}" for selector, rules in _STYLE.items())

_ERROR_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{stylesheet}</head>
<body{body_style}><h1>{heading}</h1>
<p>{message}</p>
{next_step}<p>{reason}Reference: <code{code_style}>{reference}</code>{reference_note}</p>
</body></html>
"""

# What HTML must not carry raw: C0 controls but tab/LF/CR, DEL, lone surrogates (not encodable). A
# pattern string, compiled by re on first use (and cached there): every handler's cold start imports
# this module, few ever render a page.
_UNPRINTABLE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]"


def _clean(value: Any) -> str:
    return re.sub(_UNPRINTABLE, "\ufffd", str(value))


def _text(value: Any) -> str:
    return html.escape(_clean(value))


def csp_nonce() -> str:
    """A fresh CSP nonce (128 random bits), one per response."""
    return secrets.token_urlsafe(16)


def content_security_policy(csp: str | None = None, *, framed: bool = False) -> str:
    """``csp`` (the page's own directives, e.g. ``script-src 'nonce-…'``) completed: :data:`BASE_POLICY`
    for every directive it does not name, and ``frame-ancestors`` (``*`` when ``framed``, else
    ``'none'``) always ours."""
    directives: dict[str, str] = {}
    for part in (csp or "").split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name.lower()] = value.strip()
    policy = {**BASE_POLICY, **directives, "frame-ancestors": FRAMED_BY_ANY if framed else "'none'"}
    return "; ".join(f"{name} {value}".strip() for name, value in policy.items())


def page_headers(csp: str | None = None, *, framed: bool = False) -> dict[str, str]:
    """The headers of an HTML answer: :data:`PAGE_HEADERS`, the completed CSP, and, unless an LMS may
    frame it, ``X-Frame-Options: DENY`` (for browsers without ``frame-ancestors``)."""
    headers = {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(csp, framed=framed)}
    if not framed:
        headers["X-Frame-Options"] = "DENY"
    return headers


def page(
    status: int,
    body: str,
    *,
    csp: str | None = None,
    framed: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An HTML page, every one: never cached, never sniffed, no referrer, its CSP completed by
    :func:`content_security_policy`; ``framed`` for a page an LMS iframe shows (see the module
    docstring). ``headers`` may loosen only ``Referrer-Policy`` (a page whose form needs ``Origin``)."""
    extra = {k: v for k, v in (headers or {}).items() if k.lower() not in _PAGE_SECURITY}
    return Response(
        status_code=status,
        content_type=HTML,
        body=body,
        headers={**page_headers(csp, framed=framed), **extra},
    )


# What a caller's extra headers cannot override on a page (Referrer-Policy may be loosened).
_PAGE_SECURITY = frozenset({"content-security-policy", "x-content-type-options", "x-frame-options", "cache-control"})


def error_page(
    error: GatewayError,
    correlation_id: str,
    *,
    title: str,
    message: str,
    heading: str | None = None,
    next_step: str | None = None,
    reference_note: str | None = None,
    show_reason: bool = True,
    csp: str | None = None,
    nonce: str | None = None,
    inline_style: bool = False,
    framed: bool = False,
) -> Response:
    """The one error page: ``title``, ``heading`` (default the title), ``message``, an optional
    ``next_step`` (who can fix it), the reason code (unless ``show_reason`` is false), the reference
    (correlation id) with an optional ``reference_note`` (what to do with it); the error's status and
    ``Retry-After``. Every text is escaped here.

    Styled by :data:`STYLESHEET` in a ``<style>`` element (with ``nonce`` when the page's ``csp`` admits
    styles by nonce; without a ``csp``, under a fresh nonce of its own), or, ``inline_style``, by
    ``style`` attributes: a page that must stay free of braces (the class "open" page is never to be
    taken for JSON). ``framed``: a page an LMS iframe shows (the launch's, dynamic registration's).
    """
    if csp is None:  # its own policy: the stylesheet by a fresh nonce, or style attributes
        nonce = None if inline_style else csp_nonce()
        csp = "style-src 'unsafe-inline'" if inline_style else f"style-src 'nonce-{nonce}'"
    if inline_style:
        stylesheet, body_style, code_style = "", f' style="{_STYLE["body"]}"', f' style="{_STYLE["code"]}"'
    else:
        nonce_attribute = f' nonce="{_text(nonce)}"' if nonce else ""
        stylesheet, body_style, code_style = f"\n<style{nonce_attribute}>{STYLESHEET}</style>", "", ""
    body = _ERROR_PAGE.format(
        title=_text(title),
        stylesheet=stylesheet,
        body_style=body_style,
        heading=_text(heading or title),
        message=_text(message),
        reason=f"Reason: <code{code_style}>{_text(error.code)}</code><br>" if show_reason else "",
        code_style=code_style,
        reference=_text(correlation_id),
        reference_note=f"<br>{_text(reference_note)}" if reference_note else "",
        next_step=f"<p>{_text(next_step)}</p>\n" if next_step else "",
    )
    return page(error.status, body, csp=csp, framed=framed, headers=retry_after_header(error))


def lti_return(return_url: str, message: Any) -> Response:
    """302 back to the LMS (``launch_presentation_return_url``, LTI 1.3's ``return_url``) with
    ``lti_errormsg`` (at most 500 characters), for a refusal after the launch verified."""
    location = with_query(return_url, lti_errormsg=_clean(message)[:LTI_ERRORMSG_MAX])
    return Response(status_code=302, headers={**PAGE_HEADERS, "Location": location}, body="")
