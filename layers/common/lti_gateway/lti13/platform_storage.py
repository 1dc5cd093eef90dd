"""LTI client-side postMessage storage for the OIDC login (``lti_storage_target``).

1EdTech "LTI Client Side postMessages", "LTI postMessage Storage" and "LTI OIDC Login with LTI Client
Side postMessages" (v0.1). A platform that offers storage sends ``lti_storage_target`` with the login
initiation: the name of a frame of the window that embeds (or opened) the tool, ``_parent`` for that
window itself. The login then answers :func:`login_page` instead of the bare 302. The page:

1. posts ``{subject: "lti.put_data", message_id, key: "state_<state>", value: <state>}`` and the same
   for ``nonce_<nonce>`` to that frame of ``window.parent`` (``window.opener`` when the tool is not
   framed), with the target origin set to the origin of the platform's OIDC auth URL, as the spec
   requires (Canvas serves its storage frame on that origin; the parent page is elsewhere);
2. waits for the ``lti.put_data.response`` of each (same ``message_id``, ``event.origin`` the auth URL's
   origin; an answer carrying ``error`` counts as an answer), at most :data:`TIMEOUT_MS`;
3. then navigates to the platform's auth URL — the very URL the 302 would carry — in any case: no
   frame, no answer, an error or a script exception all continue the launch.

The login also sets the state's cookie (:func:`oidc.state_cookie`). When that cookie does not come back
with the launch (third-party cookies blocked in the LMS iframe), the copy in the platform's storage is
what binds the state to this browser (:func:`oidc.browser_check`): the launch, once every other check
passed and with the state still unconsumed, answers :func:`launch_check_page` instead, which

1. posts ``{subject: "lti.get_data", message_id, key: "state_<state>"}`` to the same frame, with the
   target origin the login stored (its auth URL's), and takes only the ``lti.get_data.response`` with
   that ``message_id`` from that origin (an ``error`` answer, none within :data:`TIMEOUT_MS`, no frame
   or a script exception post an empty value);
2. posts the launch again, to the same URL, from this page (our own origin, ``Referrer-Policy:
   same-origin`` so the browser sends ``Origin``): ``id_token``, ``state``, the value read
   (``lti_storage_value``) and the state's one-time ``lti_storage_proof``.

The server decides, not the script: the value must be the state, the proof the state's, the POST
same-origin. A victim's browser made to post an attacker's ``id_token`` and ``state`` reads nothing
from the victim's platform storage (it never held that state), and a cross-site post of a forged
second step carries the attacker's origin. ``lti.capabilities`` is not sent: ``lti_storage_target``
is itself the platform's statement that storage is offered and where (Canvas documents either signal
as sufficient).

Every value reaches the script as JSON (``<``, ``>``, ``&`` escaped, so no ``</script>`` can end the
block), never concatenated into code, and the form's fields as escaped attributes; each page has a
strict CSP with a per-response nonce for its one inline script. The login page has a ``<noscript>``
link to the same auth URL; the launch check page a ``<noscript>`` text (allow cookies, or open the tool
in a new window). The launch check page's ``form-action`` is our own origin plus where the answer to
its form may redirect (browsers apply it to that redirect): the app or back to the LMS, over https
(the exact origins are unknown when it is rendered).
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any

from aws_lambda_powertools.event_handler import Response

from lti_gateway.core import responses
from lti_gateway.lti13 import oidc

TIMEOUT_MS = 2000
PARENT = "_parent"

# The platform's storage frame, as both pages find it: ``lti_storage_target`` names a frame of the window
# that opened or holds ours, or is ``_parent`` (that window itself). Each page template's {storage_frame}.
_STORAGE_FRAME = f"""  function storage() {{
    var host = window.parent !== window ? window.parent : window.opener;
    if (!host) {{ return null; }}
    if (c.target === "{PARENT}") {{ return host; }}
    var frame = host.frames[c.target];
    return frame && typeof frame.postMessage === "function" ? frame : null;
  }}
"""

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Continuing to your LMS</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"></head>
<body><p>Continuing to your LMS&hellip;</p>
<noscript><p><a href="{href}">Continue</a></p></noscript>
<script nonce="{nonce}">
(function () {{
  "use strict";
  var c = {config};
  var pending = Object.create(null);
  var left = 0;
  var done = false;
  function go() {{
    if (done) {{ return; }}
    done = true;
    window.removeEventListener("message", answered);
    window.location.replace(c.location);
  }}
  function answered(event) {{
    var data = event.data;
    if (event.origin !== c.origin || !data || typeof data !== "object") {{ return; }}
    if (data.subject !== "lti.put_data.response" || typeof data.message_id !== "string") {{ return; }}
    if (!pending[data.message_id]) {{ return; }}
    pending[data.message_id] = false;  /* an error answer counts too: the state is server-side */
    left -= 1;
    if (left === 0) {{ go(); }}
  }}
{storage_frame}  try {{
    var frame = storage();
    if (!frame) {{ go(); return; }}
    window.addEventListener("message", answered);
    window.setTimeout(go, c.timeout_ms);
    c.messages.forEach(function (message) {{
      pending[message.message_id] = true;
      left += 1;
      frame.postMessage(message, c.origin);
    }});
  }} catch (e) {{
    go();
  }}
}})();
</script>
</body></html>
"""


origin = oidc.web_origin  # the origin a browser computes for a URL (the login stores the auth URL's)


def script_json(value: Any) -> str:
    """``value`` as a JavaScript literal safe inside ``<script>``: JSON with ``<``, ``>`` and ``&``
    escaped (no ``</script>``, no ``<!--``), non-ASCII escaped (so U+2028/2029 too)."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def put_data_messages(state: str, nonce: str) -> list[dict[str, str]]:
    """The ``lti.put_data`` messages: the key carries the value (``state_<state>``), so parallel
    launches never collide and the launch could find it again from the state alone."""
    return [
        {
            "subject": "lti.put_data",
            "message_id": f"put-{name}-{secrets.token_urlsafe(12)}",
            "key": f"{name}_{value}",
            "value": value,
        }
        for name, value in (("state", state), ("nonce", nonce))
    ]


def page_config(*, location: str, target: str, state: str, nonce: str) -> dict[str, Any]:
    """What the page's script gets (as JSON): where to go, which frame, which origin, what to store."""
    return {
        "location": location,
        "origin": origin(location),
        "target": target,
        "messages": put_data_messages(state, nonce),
        "timeout_ms": TIMEOUT_MS,
    }


def content_security_policy(nonce: str) -> str:
    """Only the one inline script (by nonce); no other fetch, no form, no base URL (``responses.page``
    adds ``frame-ancestors *``: the page runs inside the LMS's iframe)."""
    return f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'"


def login_page(*, location: str, target: str, state: str, nonce: str, csp_nonce: str) -> str:
    """The login answer when the platform offers storage: store state and nonce, then go to ``location``."""
    config = page_config(location=location, target=target, state=state, nonce=nonce)
    return _PAGE.format(
        href=html.escape(location, quote=True),
        nonce=html.escape(csp_nonce, quote=True),
        config=script_json(config),
        storage_frame=_STORAGE_FRAME,
    )


def login_response(*, location: str, target: str, state: str, nonce: str) -> Response:
    """The login's 200 answer with :func:`login_page` under its own CSP nonce (one per response)."""
    csp_nonce = responses.csp_nonce()
    body = login_page(location=location, target=target, state=state, nonce=nonce, csp_nonce=csp_nonce)
    return responses.page(200, body, csp=content_security_policy(csp_nonce), framed=True)


# -- the launch: read the state back (lti.get_data) when no cookie came back ------------------------------

_CHECK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Checking your launch</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><p>Checking your launch with your LMS&hellip;</p>
<noscript><p>This launch could not be checked: this browser blocks the tool's cookies and runs no
script. Allow this tool's cookies, or open it in a new window, then launch again from the course.</p></noscript>
<form id="launch" method="post">
{fields}
</form>
<script nonce="{nonce}">
(function () {{
  "use strict";
  var c = {config};
  var form = document.getElementById("launch");
  var done = false;
  function post(value) {{
    if (done) {{ return; }}
    done = true;
    window.removeEventListener("message", answered);
    form.elements["{value_field}"].value = typeof value === "string" ? value : "";
    form.submit();
  }}
  function answered(event) {{
    var data = event.data;
    if (event.origin !== c.origin || !data || typeof data !== "object") {{ return; }}
    if (data.subject !== "lti.get_data.response" || data.message_id !== c.message_id) {{ return; }}
    post(data.error ? "" : data.value);
  }}
{storage_frame}  try {{
    var frame = storage();
    if (!frame) {{ post(""); return; }}
    window.addEventListener("message", answered);
    window.setTimeout(function () {{ post(""); }}, c.timeout_ms);
    frame.postMessage({{subject: "lti.get_data", message_id: c.message_id, key: c.key}}, c.origin);
  }} catch (e) {{
    post("");
  }}
}})();
</script>
</body></html>
"""


def get_data_message(state: str) -> dict[str, str]:
    """The ``lti.get_data`` message for the state the login stored (key ``state_<state>``)."""
    return {"subject": "lti.get_data", "message_id": f"get-state-{secrets.token_urlsafe(12)}", "key": f"state_{state}"}


def launch_check_config(check: oidc.StorageCheckRequired) -> dict[str, Any]:
    """What the launch check page's script gets (as JSON): which frame, which origin, which key."""
    message = get_data_message(check.state)
    return {
        "origin": check.origin,
        "target": check.target,
        "message_id": message["message_id"],
        "key": message["key"],
        "timeout_ms": TIMEOUT_MS,
    }


def launch_check_fields(check: oidc.StorageCheckRequired) -> list[tuple[str, str]]:
    """The second POST's fields: the launch again, the proof, and (filled in by the script) the value read."""
    return [
        ("id_token", check.id_token),
        ("state", check.state),
        (oidc.STORAGE_PROOF_FIELD, check.proof),
        (oidc.STORAGE_VALUE_FIELD, ""),
    ]


def launch_check_csp(nonce: str) -> str:
    """The one inline script by nonce; nothing else fetched; the form posts to us, and its answer may
    redirect to the app or the LMS (see the module docstring)."""
    return f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'self' https:"


def launch_check_page(check: oidc.StorageCheckRequired, *, csp_nonce: str) -> str:
    fields = "\n".join(
        f'<input type="hidden" name="{html.escape(name, quote=True)}" value="{html.escape(value, quote=True)}">'
        for name, value in launch_check_fields(check)
    )
    return _CHECK_PAGE.format(
        fields=fields,
        nonce=html.escape(csp_nonce, quote=True),
        config=script_json(launch_check_config(check)),
        value_field=oidc.STORAGE_VALUE_FIELD,
        storage_frame=_STORAGE_FRAME,
    )


def launch_check_response(check: oidc.StorageCheckRequired) -> Response:
    """The launch's 200 answer when the platform's storage must vouch for the state. ``Referrer-Policy:
    same-origin``: a POST under ``no-referrer`` carries ``Origin: null``, and the check needs ours."""
    csp_nonce = responses.csp_nonce()
    body = launch_check_page(check, csp_nonce=csp_nonce)
    return responses.page(
        200, body, csp=launch_check_csp(csp_nonce), framed=True, headers={"Referrer-Policy": "same-origin"}
    )
