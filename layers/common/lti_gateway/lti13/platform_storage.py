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

The state stays authoritative server-side (``STATE#{state}``, consumed by one conditional delete), so
the client-side copy is an additional binding only and its absence never fails a launch. For the same
reason the launch does not read it back with ``lti.get_data``: a check that a missing answer must not
fail protects nothing (whoever replays someone else's form post simply does not answer), and a
present, matching answer adds nothing to a state that is unguessable, bound to its nonce and single
use. ``lti.capabilities`` is not sent: ``lti_storage_target`` is itself the platform's statement that
storage is offered and where (Canvas documents either signal as sufficient).

Every value reaches the script as JSON (``<``, ``>``, ``&`` escaped, so no ``</script>`` can end the
block), never concatenated into code; the page has a strict CSP with a per-response nonce for its one
inline script, and a ``<noscript>`` link to the same auth URL.
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response

from lti_gateway.core import responses

TIMEOUT_MS = 2000
PARENT = "_parent"

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
  function storage() {{
    var host = window.parent !== window ? window.parent : window.opener;
    if (!host) {{ return null; }}
    if (c.target === "{parent}") {{ return host; }}
    var frame = host.frames[c.target];
    return frame && typeof frame.postMessage === "function" ? frame : null;
  }}
  try {{
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


def origin(url: str) -> str:
    """The origin a browser computes for ``url`` (scheme, lower-case host, port unless the default)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


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
    """Only the one inline script (by nonce); no other fetch, no form, no base URL. No frame-ancestors:
    the page runs inside the LMS's iframe."""
    return f"default-src 'none'; script-src 'nonce-{nonce}'; base-uri 'none'; form-action 'none'"


def login_page(*, location: str, target: str, state: str, nonce: str, csp_nonce: str) -> str:
    """The login answer when the platform offers storage: store state and nonce, then go to ``location``."""
    config = page_config(location=location, target=target, state=state, nonce=nonce)
    return _PAGE.format(
        href=html.escape(location, quote=True),
        nonce=html.escape(csp_nonce, quote=True),
        config=script_json(config),
        parent=PARENT,
    )


def login_response(*, location: str, target: str, state: str, nonce: str) -> Response:
    """The login's 200 answer with :func:`login_page` under its own CSP nonce (one per response)."""
    csp_nonce = secrets.token_urlsafe(16)
    body = login_page(location=location, target=target, state=state, nonce=nonce, csp_nonce=csp_nonce)
    return responses.page(200, body, csp=content_security_policy(csp_nonce))
