"""What a person in the LMS iframe sees when a launch fails: a short page with the reason, or a
redirect back to the LMS with ``lti_errormsg``.

``MESSAGES`` says, per reason code, what went wrong in words an instructor or LMS administrator can
act on; a code without an entry shows the error's own text. The return redirect is offered only for
failures after the launch verified (``LaunchRefused.return_url``, ``LaunchRejected.return_url``).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from lti_gateway.core import responses
from lti_gateway.core.errors import GatewayError

MESSAGES = {
    "invalid_signature": "The LMS signed this launch with a key and secret that do not match. Check the "
    "consumer key and secret configured in the LMS.",
    "unknown_consumer_key": "The consumer key configured in the LMS is not known to this tool.",
    "consumer_key_revoked": "The consumer key configured in the LMS has been revoked.",
    "timestamp_expired": "The launch request is too old. Check the LMS server's clock, then launch again.",
    "timestamp_in_future": "The launch request is dated in the future. Check the LMS server's clock.",
    "nonce_replayed": "This launch was already used. Go back to the course and launch again.",
    "content_item_not_supported": "Selecting content from this tool (Content-Item) is not supported yet. "
    "Add the tool as an assignment or link instead.",
    "lti_disabled": "LTI is not enabled for this class.",
    "no_app_launch_url": "This class is not connected to an application yet.",
    "not_found": "The class or unit this link points to does not exist.",
    # LTI 1.3
    "missing_id_token": "This address expects an LTI launch from an LMS. Start the launch from the course.",
    "invalid_state": "This launch was already used, or was not started from this tool's login. Go back to the "
    "course and launch again.",
    "state_expired": "The launch took too long to complete. Go back to the course and launch again.",
    "state_not_from_this_browser": "This launch was started in another browser, so it cannot be completed "
    "here. Go back to the course in this browser and launch again.",
    "browser_not_bound": "This browser blocks the tool's cookies, so the launch cannot be tied to you. Allow "
    "this tool's cookies (or third-party cookies for this site), or open the tool in a new window, then "
    "launch again from the course.",
    "storage_check_failed": "This launch could not be checked with your LMS. Go back to the course and launch "
    "again; if it keeps failing, allow this tool's cookies or open it in a new window.",
    "invalid_claim_text": "The LMS sent text this tool cannot read (not valid Unicode) in this launch. Tell "
    "your LMS administrator; the reason and reference below identify it.",
    "unknown_platform": "This LMS is not registered with this tool. Ask your administrator to register it "
    "(issuer and client id).",
    "platform_inactive": "This LMS's registration with this tool has been deactivated.",
    "client_id_required": "This LMS is registered more than once: the LMS must send its client id when it "
    "starts the login.",
    "unknown_deployment": "This deployment of the tool in the LMS is not registered. Ask your administrator to "
    "add its deployment id to the platform registration.",
    "id_token_signature_invalid": "The LMS's signature on this launch does not verify. Check the platform's key "
    "(JWKS URL) in its registration.",
    "unknown_kid": "The LMS signed this launch with a key it does not publish. Check the platform's JWKS URL "
    "in its registration.",
    "jwks_unavailable": "The LMS's public keys could not be fetched. Try again in a minute.",
    "id_token_expired": "The launch is too old. Check the LMS server's clock, then launch again.",
    "iat_in_future": "The launch is dated in the future. Check the LMS server's clock.",
    "iat_too_old": "The launch is too old. Check the LMS server's clock, then launch again.",
    "unsupported_message_type": "This kind of LTI message is not supported by this tool (resource links, deep "
    "linking and submission review are).",
    "unsupported_lti_version": "Only LTI 1.3.0 launches are supported.",
    "invalid_target_link_uri": "The link in the LMS does not point to a launch URL of this tool.",
    "target_mismatch": "The launch names another class or unit than the URL it was sent to.",
    "no_class_in_launch": "This link names no class: use a class or unit launch URL as the target link URI, "
    "or set the custom parameter class_id.",
    # The gateway's own dependencies
    "service_unavailable": "The tool is busy right now. Wait a few seconds, then launch again from the course.",
    "kms_unavailable": "The tool cannot open its keys right now. Try again later; if it persists, tell your "
    "LMS administrator.",
    "internal_error": "The tool failed to complete this launch. Launch again from the course; if it keeps "
    "failing, send the reference below to your LMS administrator.",
}


def error_page(error: GatewayError, correlation_id: str) -> Response:
    """The launch error page (core/responses' one page, with the launch's texts), framed by the LMS."""
    message = MESSAGES.get(error.code)
    if message is None:
        details = error.details if isinstance(error.details, str) else None
        message = details or "The launch request was not valid."
    return responses.error_page(
        error,
        correlation_id,
        title="Launch failed",
        heading="This launch could not be completed",
        message=message,
        next_step="If this keeps happening, send the reference to your LMS administrator.",
        framed=True,
    )


def error_return(error: GatewayError) -> Response | None:
    """The 302 back to the LMS return URL with ``lti_errormsg``, only for failures after the signature
    verified (the error carries ``return_url``); None otherwise."""
    back = getattr(error, "return_url", None)
    if not back:
        return None
    message = MESSAGES.get(error.code) or (error.details if isinstance(error.details, str) else error.code)
    return responses.lti_return(back, message)
