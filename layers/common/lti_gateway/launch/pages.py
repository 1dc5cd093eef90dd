"""What a person sees at a launch URL: when a launch or login fails, a short page saying what happened
and who can fix it, or a redirect back to the LMS with ``lti_errormsg``; when someone opens a launch
URL in a browser, a page saying what the URL is for.

``MESSAGES`` says, per reason code, **what happened** in plain words and **who can fix it**. The page
cannot know who is looking before the launch verified (a learner, an instructor, the LMS
administrator), so the second part speaks to each: a student tells the instructor; an instructor or
LMS administrator gets the exact setting to check. No text ever names another organisation's data:
a refusal names the side to check (the consumer key, the registration, the URL), never whose class
or key something is. :func:`explain` adds what the error's own details name (a parameter, the version
received), bounded and escaped by :mod:`lti_gateway.core.responses`.

The reference on the page is the request's correlation id; the refusal is recorded under it for the
organisation it concerns (:mod:`lti_gateway.admin.launch_errors`), and the page says so only when a
record was kept. The return redirect is offered only for failures after the launch verified
(``LaunchRefused.return_url``, ``LaunchRejected.return_url``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.event_handler import Response

from lti_gateway.core import responses
from lti_gateway.core.errors import GatewayError

STUDENT = "If you are a student, tell your instructor."
AGAIN = "Go back to the course and open the link again."
AGAIN_THEN = f"{AGAIN} If it keeps failing, tell your instructor."


def _staff(check: str) -> str:
    """Who fixes a setting: the student tells the instructor; staff get the exact setting."""
    return f"{STUDENT} Instructor or LMS administrator: {check}"


def _operators(check: str) -> str:
    """Who fixes the tool's own deployment: only its operators."""
    return f"{STUDENT} Instructor or LMS administrator: tell the tool's operators to {check}"


LTI11_SETTINGS = "the consumer key and shared secret in the LMS's external tool settings for this tool"
LTI11_TOOL = (
    "configure the tool in the LMS as an LTI 1.1 external tool with a consumer key and shared secret, "
    "its launch URL the class or unit launch URL this tool shows"
)
LTI13_REGISTRATION = "the platform registration in this tool (issuer, client id, deployment ids, JWKS URL)"
CLOCK = "check the LMS server's clock: it must be within a few minutes of the real time."
REPORT = "send the reference below to the tool's owner, who can look up exactly what was refused."
BAD_LTI13 = "The LMS sent an LTI 1.3 launch this tool cannot accept"
BAD_REQUEST = "The request could not be read as an LTI launch."
BAD_LOGIN = "The LMS's LTI 1.3 login request to this tool is incomplete or malformed."
LOGIN_FIX = _staff(
    "the LMS must send iss, login_hint and target_link_uri (and client_id when the issuer is registered more "
    "than once) to the OIDC login URL this tool shows for the organisation."
)
MALFORMED_OAUTH = "The LMS's OAuth 1.0a signature parameters are malformed, so this launch cannot be verified."

# code -> (what happened, who can fix it)
MESSAGES: dict[str, tuple[str, str]] = {
    # -- LTI 1.1: key, signature, time, nonce --------------------------------------------------------
    "unknown_consumer_key": (
        "The consumer key the LMS sent is not known to this tool.",
        _staff(f"check {LTI11_SETTINGS}: the key must be one created in this tool, copied exactly."),
    ),
    "consumer_key_revoked": (
        "The consumer key the LMS sent has been revoked in this tool.",
        _staff(f"create a new consumer key in this tool and put it, with its secret, in {LTI11_SETTINGS}."),
    ),
    "invalid_signature": (
        "The LMS signed this launch with a shared secret that does not match its consumer key.",
        _staff(f"check {LTI11_SETTINGS}: paste the secret again (after a rotation, the new one)."),
    ),
    "timestamp_expired": ("The launch request is older than this tool accepts (a few minutes).", f"{AGAIN} {CLOCK}"),
    "timestamp_in_future": ("The launch request is dated in the future.", _staff(CLOCK)),
    "nonce_replayed": (
        "This launch request was already used once (reloaded, opened from the browser history, or sent twice).",
        AGAIN,
    ),
    "invalid_timestamp": (
        "The LMS sent a malformed oauth_timestamp, so this launch cannot be verified.",
        _staff(LTI11_TOOL + "."),
    ),
    "invalid_nonce": (
        "The LMS sent a malformed oauth_nonce, so this launch cannot be verified.",
        _staff(LTI11_TOOL + "."),
    ),
    "missing_oauth_parameter": (
        "The launch carries no complete OAuth 1.0a signature, so it cannot be verified.",
        _staff(LTI11_TOOL + " (a plain link, or an LTI 1.3 tool, sends no such signature)."),
    ),
    "duplicate_oauth_parameter": (MALFORMED_OAUTH, _staff(LTI11_TOOL + ".")),
    "unsupported_oauth_parameter": (
        "The LMS sent an oauth_token, which LTI 1.1 launches never carry.",
        _staff(LTI11_TOOL + "."),
    ),
    "unsupported_oauth_version": ("The LMS sent an oauth_version other than 1.0.", _staff(LTI11_TOOL + ".")),
    "invalid_oauth_request": (MALFORMED_OAUTH, _staff(LTI11_TOOL + ".")),
    "unsupported_signature_method": (
        "The LMS signed this launch with a method this tool does not accept (HMAC-SHA1 and HMAC-SHA256 only).",
        _staff("set the external tool's signature method to HMAC-SHA1 or HMAC-SHA256."),
    ),
    "invalid_launch_url": (
        "The launch URL could not be read.",
        _staff("use the launch URL exactly as this tool shows it."),
    ),
    "launch_too_large": (
        "The LMS sent more data in this launch than this tool accepts.",
        _staff("remove large custom parameters from the external tool's settings."),
    ),
    "launch_rejected": ("The LMS's launch request could not be verified.", _staff(f"check {LTI11_SETTINGS}.")),
    # -- LTI 1.1: the LTI parameters ---------------------------------------------------------------
    "malformed_launch": ("The LMS's launch request is not a valid LTI 1.1 launch.", _staff(LTI11_TOOL + ".")),
    "duplicate_lti_parameter": (
        "The LMS sent an LTI parameter more than once.",
        _staff("remove custom parameters that repeat an LTI parameter from the external tool's settings."),
    ),
    "missing_lti_parameter": (
        "The launch lacks parameters every LTI 1.1 launch carries.",
        _staff(LTI11_TOOL + " (not a plain link)."),
    ),
    "unsupported_lti_message_type": (
        "The launch is not an LTI 1.1 basic launch (basic-lti-launch-request).",
        _staff("add the tool as an LTI 1.1 link or assignment; other LTI 1.1 messages are not supported."),
    ),
    "content_item_not_supported": (
        "Selecting content from this tool (Content-Item) is not supported.",
        _staff("add the tool as a link or assignment instead of a content-selection placement."),
    ),
    "lti11_launch_to_lti13_url": (
        "An LTI 1.1 launch (consumer key and signature) was sent to this tool's LTI 1.3 redirect URL.",
        _staff(
            "set the external tool's launch URL to the class or unit launch URL this tool shows "
            "(…/lti/launch/{class id}); the …/launch redirect URL is only for LTI 1.3 registrations."
        ),
    ),
    # -- the class and the app (both protocols) --------------------------------------------------------
    "class_not_in_organisation": (
        "No class with this id belongs to the organisation of this consumer key or platform.",
        _staff(
            "check that the launch URL was copied from a class of your own organisation in this tool, and that "
            "the consumer key (LTI 1.1) or platform registration (LTI 1.3) the LMS uses belongs to that same "
            "organisation."
        ),
    ),
    "not_found": (
        "The class or unit this launch URL names does not exist (it may have been deleted).",
        _staff("copy the class's or unit's current launch URL from this tool into the LMS link or assignment."),
    ),
    "lti_disabled": (
        "LTI launches are switched off for this class.",
        _staff("switch LTI on for this class in the tool (the class's lti_enabled setting)."),
    ),
    "no_app_launch_url": (
        "This class is not connected to an application yet.",
        _staff("set an app launch URL on the unit, the class or the organisation in this tool."),
    ),
    "app_origin_not_allowed": (
        "The application this class opens is not on this tool's list of allowed application addresses.",
        _staff(
            "correct the app launch URL of the unit, class or organisation, or ask the tool's operators to add "
            "its origin to AllowedAppOrigins."
        ),
    ),
    "validation_failed": (BAD_REQUEST, _staff(REPORT)),
    "item_too_large": (
        "This launch carries more data than this tool can store.",
        _staff("remove large custom parameters from the tool's settings in the LMS."),
    ),
    # -- the request itself ----------------------------------------------------------------------------
    "invalid_text": (BAD_REQUEST + " It contains text that is not valid Unicode.", _staff(REPORT)),
    "invalid_form_body": (BAD_REQUEST + " Its form is not valid.", _staff(REPORT)),
    "unsupported_charset": (BAD_REQUEST + " Its form is not UTF-8.", _staff(REPORT)),
    "unsupported_media_type": (BAD_REQUEST + " It is not a form post.", _staff(REPORT)),
    "body_too_large": (
        "The LMS sent more data than this tool accepts.",
        _staff("remove large custom parameters from the tool's settings in the LMS."),
    ),
    "invalid_request_path": (BAD_REQUEST, _staff(REPORT)),
    "invalid_host_header": (BAD_REQUEST + " It names no valid host.", _staff(REPORT)),
    "invalid_forwarded_header": (BAD_REQUEST + " A proxy header is not valid.", _staff(REPORT)),
    "no_public_base_url": (
        "This tool cannot tell its own public address.",
        _operators("set the PublicBaseUrl parameter of the stack."),
    ),
    # -- LTI 1.3: the login ------------------------------------------------------------------------
    "login_rejected": (BAD_LOGIN, LOGIN_FIX),
    "missing_login_parameter": (BAD_LOGIN, LOGIN_FIX),
    "duplicate_login_parameter": (BAD_LOGIN, LOGIN_FIX),
    "invalid_login_parameter": (BAD_LOGIN, LOGIN_FIX),
    "invalid_auth_login_url": (
        "The platform registration's authentication (login) URL in this tool is not a web address.",
        _staff("correct the auth_login_url of the platform registration in this tool."),
    ),
    "unknown_platform": (
        "This LMS (its issuer and client id) is not registered with this tool under the organisation of this URL.",
        _staff(
            "register the platform in this tool (issuer and client id, or LTI Dynamic Registration) and use the "
            "login and redirect URLs this tool shows for that same organisation."
        ),
    ),
    "platform_inactive": (
        "This LMS's registration with this tool has been switched off.",
        _staff("reactivate the platform registration in this tool."),
    ),
    "client_id_required": (
        "This LMS's issuer is registered more than once, and its login request does not say which registration.",
        _staff("make the LMS send its client_id in the login request (most LMSs do when configured as LTI 1.3)."),
    ),
    "unknown_deployment": (
        "This deployment of the tool in the LMS is not registered.",
        _staff("add the deployment id the LMS shows to the platform registration's deployment ids in this tool."),
    ),
    "invalid_target_link_uri": (
        "The target link URI of this launch is not a launch URL of this tool.",
        _staff("set the target link URI to a class or unit launch URL this tool shows (…/lti/launch/{class id})."),
    ),
    "platform_login_error": ("The LMS did not complete the login.", AGAIN_THEN),
    # -- LTI 1.3: the state and this browser -------------------------------------------------------
    "missing_id_token": (
        "This address receives LTI launches from an LMS, and nothing to launch was sent.",
        "Start from the link in your course. "
        + _staff("if the LMS sent this, check the redirect URL and target link URI of the tool in the LMS."),
    ),
    "missing_state": (BAD_LTI13 + " (no state).", _staff(REPORT)),
    "invalid_state": (
        "This launch was already used, or was not started from this tool's login.",
        f"{AGAIN} "
        + _staff(
            "if it keeps failing, check that the LMS uses the OIDC login URL this tool shows for the organisation."
        ),
    ),
    "state_expired": ("Too much time passed between the LMS's login and its launch.", AGAIN),
    "state_platform_mismatch": (
        "The launch came from another LMS registration than the login it belongs to.",
        _staff(f"check {LTI13_REGISTRATION}."),
    ),
    "state_not_from_this_browser": (
        "This launch was started in another browser, so it cannot be completed here.",
        "Go back to the course in this browser and open the link again.",
    ),
    "browser_not_bound": (
        "This browser blocks the tool's cookies, so the launch cannot be tied to you.",
        "Allow this tool's cookies (or third-party cookies for this site), or open the tool in a new window, then "
        "open the link again from the course.",
    ),
    "storage_check_failed": (
        "This launch could not be checked with your LMS.",
        f"{AGAIN} If it keeps failing, allow this tool's cookies or open it in a new window.",
    ),
    # -- LTI 1.3: the id_token ---------------------------------------------------------------------
    "id_token_rejected": ("The LMS's LTI 1.3 launch could not be verified.", _staff(f"check {LTI13_REGISTRATION}.")),
    "malformed_id_token": (BAD_LTI13 + " (the id_token is not a valid JWT).", _staff(REPORT)),
    "invalid_id_token": (BAD_LTI13 + " (the id_token does not verify).", _staff(f"check {LTI13_REGISTRATION}.")),
    "id_token_too_large": (
        BAD_LTI13 + " (the id_token is too large).",
        _staff("remove large custom parameters from the tool's settings in the LMS."),
    ),
    "alg_not_allowed": (BAD_LTI13 + " (it must be signed with RS256).", _staff(REPORT)),
    "missing_kid": (BAD_LTI13 + " (its signature names no key).", _staff(REPORT)),
    "invalid_issuer": (
        "The launch's issuer is not the one of the registration its login matched.",
        _staff(f"check the issuer of {LTI13_REGISTRATION}."),
    ),
    "invalid_audience": (
        "The launch is not addressed to this tool's client id.",
        _staff(f"check the client id of {LTI13_REGISTRATION}."),
    ),
    "missing_azp": (
        BAD_LTI13 + " (several audiences and no azp).",
        _staff(f"check the client id of {LTI13_REGISTRATION}."),
    ),
    "invalid_azp": (
        "The launch is not addressed to this tool's client id (azp).",
        _staff(f"check the client id of {LTI13_REGISTRATION}."),
    ),
    "unknown_kid": (
        "The LMS signed this launch with a key it does not publish.",
        _staff(f"check the JWKS URL of {LTI13_REGISTRATION}."),
    ),
    "id_token_signature_invalid": (
        "The LMS's signature on this launch does not verify.",
        _staff(f"check the JWKS URL (or public key) of {LTI13_REGISTRATION}."),
    ),
    "jwks_unavailable": (
        "The LMS's public keys could not be fetched.",
        f"Try again in a minute. {_staff(f'if it persists, check the JWKS URL of {LTI13_REGISTRATION}.')}",
    ),
    "invalid_claim_text": (BAD_LTI13 + " (text that is not valid Unicode).", _staff(REPORT)),
    "invalid_time_claim": (BAD_LTI13 + " (its times are not numbers).", _staff(REPORT)),
    "id_token_expired": ("The launch is too old.", f"{AGAIN} {CLOCK}"),
    "iat_too_old": ("The launch is too old.", f"{AGAIN} {CLOCK}"),
    "iat_in_future": ("The launch is dated in the future.", _staff(CLOCK)),
    "id_token_not_yet_valid": ("The launch is not valid yet.", _staff(CLOCK)),
    "unsupported_lti_version": (
        "This address accepts LTI 1.3.0 launches only.",
        _staff("configure the tool in the LMS as an LTI 1.3 tool."),
    ),
    "unsupported_message_type": (
        "This kind of LTI message is not supported (resource links, deep linking and submission review are).",
        _staff("add the tool as a link, an assignment or a deep-linking placement."),
    ),
    "invalid_sub": (BAD_LTI13 + " (the user id, sub).", _staff(REPORT)),
    "invalid_roles": (BAD_LTI13 + " (roles must be a list).", _staff(REPORT)),
    "invalid_context": (BAD_LTI13 + " (the context claim).", _staff(REPORT)),
    "invalid_custom": (BAD_LTI13 + " (the custom claim).", _staff(REPORT)),
    "invalid_launch_presentation": (BAD_LTI13 + " (the launch_presentation claim).", _staff(REPORT)),
    "target_mismatch": (
        "The launch names another class or unit than the URL it was sent to.",
        _staff("make the link's target link URI and its custom class_id/unit_id name the same class and unit."),
    ),
    "no_class_in_launch": (
        "This link names no class.",
        _staff("use a class or unit launch URL as the target link URI, or set the custom parameter class_id."),
    ),
    # -- any other refusal (an error class's default code) -------------------------------------------
    "bad_request": (BAD_REQUEST, _staff(REPORT)),
    "conflict": ("This launch conflicts with a change made at the same moment.", AGAIN_THEN),
    "unauthorized": ("This launch could not be verified.", _staff(REPORT)),
    "forbidden": ("This launch is not allowed.", _staff(REPORT)),
    # -- the tool's own dependencies ---------------------------------------------------------------
    "service_unavailable": (
        "The tool is busy right now.",
        "Wait a few seconds, then open the link again from the course.",
    ),
    "throttled": ("Too many launches in a short time.", "Wait a minute, then open the link again from the course."),
    "kms_unavailable": ("The tool cannot open its keys right now.", f"Try again later. {STUDENT} Instructor: {REPORT}"),
    "upstream_failed": ("A service this launch needs did not answer.", f"Try again later. {STUDENT}"),
    "tool_key_missing": ("The tool's signing key is missing.", _operators("rotate the tool's keys.")),
    "internal_error": (
        "The tool failed to complete this launch.",
        f"{AGAIN} If it keeps failing, tell your instructor. Instructor or LMS administrator: {REPORT}",
    ),
}

# Every claim the id_token chain may name missing (``missing_{claim}``).
MISSING_CLAIMS = (
    "iss",
    "aud",
    "exp",
    "iat",
    "nonce",
    "sub",
    "deployment_id",
    "version",
    "message_type",
    "target_link_uri",
    "resource_link_id",
    "deep_linking_settings",
    "roles",
)
for _claim in MISSING_CLAIMS:
    MESSAGES[f"missing_{_claim}"] = (f"{BAD_LTI13} (it lacks the {_claim} claim).", _staff(REPORT))
# The transport's refusals of a JWKS fetch (``OutboundRefused.kind``) and the registration calls'.
for _kind in (
    "url_not_allowed",
    "unreachable",
    "response_too_large",
    "invalid_response",
    "upstream_timeout",
    "upstream_unreachable",
):
    MESSAGES[_kind] = MESSAGES["jwks_unavailable"]

DEFAULT = (BAD_REQUEST, _staff(REPORT))


def _detail(details: Any, name: str) -> str | None:
    value = details.get(name) if isinstance(details, Mapping) else None
    return value if isinstance(value, str) and value else None


def explain(error: GatewayError) -> tuple[str, str]:
    """``(what happened, who can fix it)`` for ``error``: its code's entry, completed with what its own
    details name (a parameter, the value received); a code without an entry shows its details' text."""
    code, details = error.code, error.details
    what, fix = MESSAGES.get(code) or ((details if isinstance(details, str) and details else DEFAULT[0]), DEFAULT[1])
    if code == "unsupported_lti_version" and _detail(details, "lti_version") is not None:  # LTI 1.1's
        what = f"The launch says LTI version “{_detail(details, 'lti_version')}”, which is not LTI 1.1."
        problem = _detail(details, "problem")
        fix = _staff(f"{problem}." if problem else LTI11_TOOL + ".")
    elif code == "unsupported_lti_version" and _detail(details, "version") is not None:  # LTI 1.3's
        what = f"The launch says LTI version “{_detail(details, 'version')}”; this address accepts LTI 1.3.0 only."
    elif code == "unsupported_lti_message_type" and _detail(details, "lti_message_type") is not None:
        what = (
            f"The launch's lti_message_type is “{_detail(details, 'lti_message_type')}”, not basic-lti-launch-request."
        )
        problem = _detail(details, "problem")
        if problem:
            fix = _staff(f"{problem}.")
    elif code == "invalid_nonce" and _detail(details, "nonce") is not None:  # LTI 1.3's nonce claim
        what, fix = "The launch does not carry the value its login issued (a replay, or two launches mixed up).", AGAIN
    elif code in ("missing_lti_parameter", "missing_oauth_parameter", "duplicate_lti_parameter"):
        names = details.get("parameters") if isinstance(details, Mapping) else None
        if isinstance(names, list) and names:
            what = f"{what[:-1]}: {', '.join(str(n)[:64] for n in names[:8])}."
    elif code == "not_found":
        if isinstance(details, str):  # no such route, or a malformed organisation id in it
            what = "This is not a launch URL of this tool."
            fix = _staff("copy the launch, login or redirect URL exactly as this tool shows it.")
        elif _detail(details, "unit_id") is not None:
            what = "The unit this launch URL names does not exist in its class (it may have been deleted)."
        elif _detail(details, "class_id") is not None:
            what = "The class this launch URL names does not exist (it may have been deleted)."
    elif code == "platform_login_error" and isinstance(details, str):
        what = details
        fix = AGAIN_THEN if "Go back" not in details else STUDENT
    return what, fix


# One text whether or not the refusal could be recorded: a page that said "not recorded" for a made-up
# class id and "recorded" for a real one would tell a stranger which class ids exist.
REFERENCE_NOTE = (
    "Give this reference to your LMS administrator or to your organisation's owner in this tool: when the "
    "launch named one of their classes, consumer keys or platforms, they can look up what was refused and why "
    "for 30 days."
)


def error_page(error: GatewayError, correlation_id: str) -> Response:
    """The launch error page (core/responses' one page, with the launch's texts), framed by the LMS."""
    what, fix = explain(error)
    return responses.error_page(
        error,
        correlation_id,
        title="Launch failed",
        heading="This launch could not be completed",
        message=what,
        next_step=fix,
        reference_note=REFERENCE_NOTE,
        framed=True,
    )


def errormsg(error: GatewayError, correlation_id: str | None = None) -> str:
    """The ``lti_errormsg`` of a return to the LMS: what happened, the reference, who can fix it."""
    what, fix = explain(error)
    return f"{what} (Reference: {correlation_id}.) {fix}" if correlation_id else f"{what} {fix}"


def error_return(error: GatewayError, correlation_id: str | None = None) -> Response | None:
    """The 302 back to the LMS return URL with ``lti_errormsg``, only for failures after the signature
    verified (the error carries ``return_url``); None otherwise."""
    back = getattr(error, "return_url", None)
    if not back:
        return None
    return responses.lti_return(back, errormsg(error, correlation_id))


# -- a launch URL opened in a browser ------------------------------------------------------------------

_LAUNCH_URL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LTI launch URL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="{nonce}">{stylesheet}</style></head>
<body><h1>This is an LTI launch URL</h1>
<p>This address is not a web page to open in a browser: an LMS (Canvas, Moodle, Blackboard, D2L,
Sakai…) sends launches to it when a student or instructor opens the tool from a course.</p>
{what}
<p>If you are a student, go back to your course and open the tool from there. If you reached this page
from a course, tell your instructor: the link in the course is not set up as an LTI tool.</p>
</body></html>
"""

_CLASS_URL = """<p>To use it, paste it into your LMS:</p>
<ul>
<li><strong>LTI 1.1</strong>: as the <em>launch URL</em> (tool URL) of an external tool, with a
<em>consumer key</em> and <em>shared secret</em> created in this tool.</li>
<li><strong>LTI 1.3</strong>: as the <em>target link URI</em> of a link or assignment, with the LMS
registered as a platform in this tool (its login and redirect URLs are the organisation's).</li>
</ul>
<p>It accepts LTI 1.1 (basic launch, signed with OAuth 1.0a, HMAC-SHA1 or HMAC-SHA256) and LTI 1.3
(resource link, deep linking and submission review launches) form posts.</p>"""

_REDIRECT_URL = """<p>It is the <em>redirect URL</em> of an LTI 1.3 registration: paste it into your
LMS's LTI 1.3 tool registration (developer key) as the redirect URI, together with the login URL and
JWKS URL this tool shows for your organisation.</p>
<p>It accepts LTI 1.3 launches only (an <code>id_token</code> posted by the LMS after its login). LTI
1.1 launches go to a class or unit launch URL (<code>…/lti/launch/{class id}</code>).</p>"""


def launch_url_page(kind: str) -> Response:
    """200 HTML for a GET on a launch URL (``kind``: ``class`` for a class or unit launch URL,
    ``redirect`` for an LTI 1.3 redirect URL): what the URL is for and which LTI versions it accepts.
    The same text whatever the URL names: nothing about a class, not even whether it exists."""
    nonce = responses.csp_nonce()
    body = _LAUNCH_URL_PAGE.format(
        nonce=html.escape(nonce),
        stylesheet=responses.STYLESHEET,
        what=_REDIRECT_URL if kind == "redirect" else _CLASS_URL,
    )
    return responses.page(200, body, csp=f"style-src 'nonce-{nonce}'", framed=True)
