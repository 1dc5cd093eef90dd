"""A stand-in for the customer's app, served by the local gateway at ``/_demo/app``.

Seeded launches are handed over here with ``?ltik=…``, so a launch from a real LMS (or a signer) can be
followed end to end on one machine. It shows what the app receives; it is not part of the stack.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

DEMO_APP_PATH = "/_demo/app"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Demo app</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all}}</style></head>
<body><h1>Demo app: launch received</h1>
{body}
<p>A real app's back end exchanges the ltik for the launch (user, roles, context, services) with
<code>Authorization: LTIK-AUTH-V2 &lt;API_KEY&gt;:&lt;LTIK&gt;</code>.</p>
</body></html>
"""


def demo_app_page(target: str) -> str:
    from lti_gateway import ltik
    from lti_gateway.errors import GatewayError

    token = (parse_qs(urlsplit(target).query).get("ltik") or [""])[0]
    if not token:
        body = "<p>No <code>ltik</code> in the URL: launch from the LMS to get here.</p>"
    else:
        try:
            claims = ltik.verify(token)
        except GatewayError as error:
            body = f"<p>The ltik is not valid: <code>{html.escape(error.code)}</code></p>"
        else:
            body = (
                f"<p>Launch <code>{html.escape(claims.launch_id)}</code> of organisation "
                f"<code>{html.escape(claims.org_id)}</code>, valid until epoch {claims.expires_at}.</p>"
                f"<p>ltik: <code>{html.escape(token)}</code></p>"
            )
    return _PAGE.format(body=body)
