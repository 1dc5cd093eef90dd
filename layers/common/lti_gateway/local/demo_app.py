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


def demo_app_page(target: str, *, base_url: str | None = None, api_key: str | None = None) -> str:
    from lti_gateway.app_api import ltik
    from lti_gateway.core.errors import GatewayError

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
            if base_url and api_key:
                body += _app_api_calls(base_url, api_key, token)
    return _PAGE.format(body=body)


def _get(url: str, authorization: str) -> tuple[int, object]:
    """One app API call over HTTP, as an app's back end makes it (the local gateway is threaded)."""
    import json
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": authorization})  # noqa: S310 - our own base URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")
    except (OSError, ValueError) as error:
        return 0, {"error": type(error).__name__}


def _app_api_calls(base_url: str, api_key: str, token: str) -> str:
    """The ID token of the launch, and its members and line items when the launch has those services."""
    import json

    authorization = f"LTIK-AUTH-V2 {api_key}:{token}"
    calls = [("GET /api/idtoken", "/api/idtoken")]
    status, id_token = _get(f"{base_url}/api/idtoken", authorization)
    services = id_token.get("services", {}) if isinstance(id_token, dict) else {}
    if services.get("namesAndRoles", {}).get("available"):
        calls.append(("GET /api/memberships", "/api/memberships"))
    if services.get("assignmentAndGrades", {}).get("available") or services.get("outcomes", {}).get("available"):
        calls.append(("GET /api/lineitems", "/api/lineitems"))
    out = []
    for i, (title, path) in enumerate(calls):
        code, answer = (status, id_token) if i == 0 else _get(f"{base_url}{path}", authorization)
        text = json.dumps(answer, indent=2, ensure_ascii=False)
        out.append(f"<h2>{html.escape(title)} &rarr; {code}</h2><pre>{html.escape(text)}</pre>")
    return "".join(out)
