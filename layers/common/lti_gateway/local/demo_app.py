"""A stand-in for the customer's app, served by the local gateway at ``/_demo/app``.

Seeded launches are handed over here with ``?ltik=…``, so a launch from the test LMS (``/_lms/``), a
real LMS or a signer can be followed end to end on one machine. It is what a customer's app does,
from its back end, through the public app API over HTTP (``Authorization: LTIK-AUTH-V2
<API_KEY>:<LTIK>``): it shows the launch (``GET /api/idtoken`` with its ``gateway`` block), the members
and the line items, and offers

- a score (``POST /_demo/app/score`` -> ``POST /api/lineitems/{id}/scores``);
- on a deep-linking launch, units of the class to return to the LMS (``POST /_demo/app/deeplinking``
  -> ``POST /api/deeplinking/form``, whose auto-submitting form the browser then posts to the LMS);
- for an instructor's or administrator's launch, "Open this class in the console"
  (``POST /_demo/app/console`` -> ``POST /api/console-link`` -> 303 to the one-time console link).

The ltik travels in a hidden form field (it is the capability); a POST must also come from one of the
gateway's own pages (its ``Origin``, else ``Referer``, is the gateway's origin). Not part of the stack.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
from collections.abc import Mapping
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from lti_gateway.local.test_lms import Answer, html_page, same_origin

DEMO_APP_PATH = "/_demo/app"
DEMO_SCORE_PATH = f"{DEMO_APP_PATH}/score"
DEMO_DEEP_LINKING_PATH = f"{DEMO_APP_PATH}/deeplinking"
DEMO_CONSOLE_PATH = f"{DEMO_APP_PATH}/console"
DEMO_POST_PATHS = frozenset({DEMO_SCORE_PATH, DEMO_DEEP_LINKING_PATH, DEMO_CONSOLE_PATH})
_STAFF = re.compile(r"(^|[#/:])(Instructor|Administrator)$")
MAX_FORM_BYTES = 64 * 1024
NO_CLASS = "none: this launch named no class"


def demo_app_get(target: str, *, base_url: str | None = None, api_key: str | None = None) -> Answer:
    token = (parse_qs(urlsplit(target).query).get("ltik") or [""])[0]
    return html_page("Demo app", _launch_html(token, base_url, api_key))


def _launch_html(token: str, base_url: str | None, api_key: str | None, notice: str = "", error: str = "") -> str:
    from lti_gateway.app_api import ltik
    from lti_gateway.core.errors import GatewayError

    e = html.escape
    head = "<h1>Demo app: launch received</h1>"
    if notice:
        head += f'<p class="notice" role="status">{e(notice)}</p>'
    if error:
        head += f'<p class="error" role="alert">{e(error)}</p>'
    if not token:
        return (
            head
            + "<p>No <code>ltik</code> in the URL: launch from the LMS (or the test LMS at /_lms/) to get here.</p>"
        )
    try:
        claims = ltik.verify(token)
    except GatewayError as err:
        return head + f"<p>The ltik is not valid: <code>{e(err.code)}</code></p>"
    body = (
        f"<p>Launch <code>{e(claims.launch_id)}</code> of organisation "
        f"<code>{e(claims.org_id)}</code>. Its ltik is valid until {e(utc_time(claims.expires_at))}.</p>"
        f"<p>ltik: <code>{e(token)}</code></p>"
    )
    if base_url and api_key:
        body += _app(base_url, api_key, token)
    body += (
        "<p>A real app's back end exchanges the ltik for the launch (user, roles, context, services) with "
        "<code>Authorization: LTIK-AUTH-V2 &lt;API_KEY&gt;:&lt;LTIK&gt;</code>.</p>"
    )
    return head + body


# -- the app API over HTTP, as a customer's back end calls it -----------------------------------------------


def _call(method: str, url: str, authorization: str, body: Any = None) -> tuple[int, Any]:
    """One API call over HTTP (the local gateway is threaded: calling it from a request is fine)."""
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": authorization}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - our base URL
    try:
        with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            raw = error.read()
        try:
            return error.code, json.loads(raw) if raw else None
        except ValueError:
            return error.code, {"error": "not JSON"}
    except (OSError, ValueError) as error:
        return 0, {"error": type(error).__name__}


def _get(url: str, authorization: str) -> tuple[int, Any]:
    return _call("GET", url, authorization)


def _ltik_auth(api_key: str, token: str) -> str:
    return f"LTIK-AUTH-V2 {api_key}:{token}"


def is_staff(roles: Any) -> bool:
    """An instructor's or administrator's launch (context or institution role, any vocabulary)."""
    return isinstance(roles, list) and any(isinstance(r, str) and _STAFF.search(r) for r in roles)


def _app(base_url: str, api_key: str, token: str) -> str:
    """The launch, its forms, and the raw answers of the app API calls."""
    e = html.escape
    authorization = _ltik_auth(api_key, token)
    status, id_token = _get(f"{base_url}/api/idtoken", authorization)
    if not isinstance(id_token, dict) or status != 200:
        return f"<h2>GET /api/idtoken &rarr; {status}</h2><pre>{e(json.dumps(id_token, indent=2))}</pre>"
    services = id_token.get("services") or {}
    user = id_token.get("user") or {}
    launch = id_token.get("launch") or {}
    gateway = id_token.get("gateway") or {}
    calls: list[tuple[str, int, Any]] = [("GET /api/idtoken", status, id_token)]
    members: list[dict[str, Any]] = []
    if (services.get("namesAndRoles") or {}).get("available"):
        code, answer = _get(f"{base_url}/api/memberships", authorization)
        calls.append(("GET /api/memberships", code, answer))
        if code == 200 and isinstance(answer, dict):
            members = [m for m in answer.get("members") or [] if isinstance(m, dict)]
    line_items: list[dict[str, Any]] = []
    if (services.get("assignmentAndGrades") or {}).get("available") or (services.get("outcomes") or {}).get(
        "available"
    ):
        code, answer = _get(f"{base_url}/api/lineitems", authorization)
        calls.append(("GET /api/lineitems", code, answer))
        if code == 200 and isinstance(answer, dict):
            line_items = [i for i in answer.get("lineItems") or [] if isinstance(i, dict)]
            own = (services.get("assignmentAndGrades") or {}).get("lineItemId")  # this resource link's: first
            line_items.sort(key=lambda i: i.get("id") != own)

    roles = user.get("roles") or []
    deep_linking = bool((services.get("deepLinking") or {}).get("available"))
    parts = [
        '<h2 id="launch-heading">The launch</h2><dl aria-labelledby="launch-heading">',
        f"<dt>User</dt><dd>{e(str(user.get('name') or ''))} (<code>{e(str(user.get('id')))}</code>)</dd>",
        f"<dt>Roles</dt><dd>{e(', '.join(str(r) for r in roles))}</dd>",
        f"<dt>Protocol</dt><dd>{e(protocol(id_token.get('ltiVersion')))}</dd>",
        f"<dt>Message</dt><dd>{e(message_text(launch.get('type'), id_token.get('ltiVersion')))}</dd>",
        f"<dt>Class</dt><dd>{_named(gateway.get('className'), gateway.get('classId'), NO_CLASS)}</dd>",
        f"<dt>Unit</dt><dd>{_unit_text(gateway)}</dd>",
        f"<dt>Launch URL used</dt><dd>{e(_target_text(gateway.get('target')))}</dd></dl>",
    ]
    hidden = f'<input type="hidden" name="ltik" value="{e(token)}">'
    if is_staff(roles) and gateway.get("classId"):
        parts.append(
            f'<form method="post" action="{DEMO_CONSOLE_PATH}" aria-label="Console">{hidden}'
            '<button type="submit">Open this class in the console</button></form>'
        )
    if deep_linking:
        parts.append(_deep_linking_form(base_url, api_key, gateway, hidden))
    elif line_items:  # a deep-linking request is for picking content, not for grading
        parts.append(_score_form(line_items, user, members, hidden))
    for title, code, answer in calls:
        text = json.dumps(answer, indent=2, ensure_ascii=False)
        parts.append(f"<h2>{e(title)} &rarr; {code}</h2><pre>{e(text)}</pre>")
    return "".join(parts)


def utc_time(epoch: Any) -> str:
    """``1796494952`` -> ``2026-12-05 18:22:32 UTC`` (the text as given when it is not a number)."""
    import datetime as dt

    if isinstance(epoch, bool) or not isinstance(epoch, int | float):
        return str(epoch)
    try:
        moment = dt.datetime.fromtimestamp(epoch, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return str(epoch)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def protocol(lti_version: Any) -> str:
    """The protocol of the launch, from the app API's ``ltiVersion`` (LTIAAS's values)."""
    if lti_version == "1.3.0":
        return "LTI 1.3"
    if lti_version == "1.2.0":
        return "LTI 1.1 (the app API says ltiVersion 1.2.0 for every LTI 1.0, 1.1 and 1.2 launch)"
    return f"unknown (ltiVersion {lti_version})"


def message_text(message_type: Any, lti_version: Any) -> str:
    """``LtiResourceLinkRequest (LTI 1.3.0)``; LTI 1.x messages say LTI 1.1, not LTIAAS's ``1.2.0``."""
    if lti_version == "1.2.0":
        return f"{message_type} (LTI 1.1)"
    return f"{message_type} (LTI {lti_version})"


def _named(name: Any, ident: Any, missing: str) -> str:
    e = html.escape
    if not ident:
        return e(missing)
    return f"{e(str(name or ident))} (<code>{e(str(ident))}</code>)"


def _unit_text(gateway: dict[str, Any]) -> str:
    if gateway.get("unitId"):
        return _named(gateway.get("unitName"), gateway.get("unitId"), "")
    if gateway.get("classId"):
        return "none: the whole class (a class launch URL)"
    return "none"


def _target_text(target: Any) -> str:
    return {
        "unit": "a unit launch URL (opens one unit)",
        "class": "a class launch URL (opens the whole class)",
    }.get(str(target), "the organisation's launch URL (no class or unit)")


def _score_form(
    line_items: list[dict[str, Any]], user: dict[str, Any], members: list[dict[str, Any]], hidden: str
) -> str:
    e = html.escape
    items = "".join(
        f'<option value="{e(str(i.get("id")))}">{e(str(i.get("label") or i.get("id")))} '
        f"(max {e(str(i.get('scoreMaximum')))})</option>"
        for i in line_items
    )
    member_ids = [m.get("userId") for m in members if isinstance(m.get("userId"), str)]  # NRPS, camelCased
    user_ids = [str(user.get("id")), *member_ids]
    users = "".join(f'<option value="{e(u)}">{e(u)}</option>' for u in dict.fromkeys(user_ids) if u)
    return (
        f'<form method="post" action="{DEMO_SCORE_PATH}" aria-labelledby="score-heading">'
        f'<h2 id="score-heading">Post a score</h2>{hidden}'
        f'<label for="line_item">Line item</label><select id="line_item" name="line_item">{items}</select>'
        f'<label for="user_id">Learner</label><select id="user_id" name="user_id">{users}</select>'
        '<label for="score_given">Score given</label>'
        '<input id="score_given" name="score_given" type="number" min="0" step="any" value="8" required>'
        '<label for="score_maximum">Score maximum</label>'
        '<input id="score_maximum" name="score_maximum" type="number" min="0" step="any" value="10" required>'
        '<label for="comment">Comment</label><input id="comment" name="comment" type="text" value="Well done">'
        '<button type="submit">Send score</button></form>'
    )


def _deep_linking_form(base_url: str, api_key: str, gateway: dict[str, Any], hidden: str) -> str:
    e = html.escape
    class_id = gateway.get("classId")
    if not class_id:
        return (
            '<h2 id="dl-heading">Deep linking</h2><p>This deep-linking request named no class: launch it '
            "with a class URL as the target link URI to pick its units.</p>"
        )
    status, answer = _get(f"{base_url}/api/classes/{quote(str(class_id), safe='')}/units", f"Bearer {api_key}")
    units = answer.get("units") or [] if status == 200 and isinstance(answer, dict) else []
    boxes = "".join(
        f'<div><input type="checkbox" id="unit-{e(str(u["unit_id"]))}" name="unit_id" value="{e(str(u["unit_id"]))}">'
        f' <label for="unit-{e(str(u["unit_id"]))}" class="inline">{e(str(u.get("name")))}</label></div>'
        for u in units
        if isinstance(u, dict) and u.get("unit_id")
    )
    return (
        f'<form method="post" action="{DEMO_DEEP_LINKING_PATH}" aria-labelledby="dl-heading">'
        f'<h2 id="dl-heading">Pick units to add to the LMS</h2>{hidden}'
        f"<fieldset><legend>Units of {e(str(gateway.get('className')))}</legend>{boxes or 'No units.'}</fieldset>"
        '<button type="submit">Return the selected units to the LMS</button></form>'
    )


# -- POST /_demo/app/* -----------------------------------------------------------------------------------


def demo_app_post(
    path: str, headers: Mapping[str, str], body: bytes, *, base_url: str | None, api_key: str | None
) -> Answer:
    """One of the demo app's forms, posted from its own page (``headers``: lower-case names)."""
    if not base_url or not api_key:
        return html_page(
            "Demo app", "<h1>Demo app</h1><p>No demo organisation (started with --no-seed).</p>", status=404
        )
    if not same_origin(headers, base_url):
        return html_page(
            "Demo app: refused",
            '<h1>Demo app</h1><p class="error" role="alert">Refused: the form must be posted from the demo app\'s '
            "own page (its Origin or Referer is not this gateway).</p>",
            status=403,
        )
    if len(body) > MAX_FORM_BYTES:
        return html_page(
            "Demo app: refused", '<h1>Demo app</h1><p class="error" role="alert">Form too large.</p>', status=413
        )
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = dict(pairs)
    token = form.get("ltik", "")
    if not token:
        return html_page(
            "Demo app: refused",
            '<h1>Demo app</h1><p class="error" role="alert">Refused: the form carries no ltik.</p>',
            status=400,
        )
    authorization = _ltik_auth(api_key, token)
    if path == DEMO_CONSOLE_PATH:
        status, answer = _call("POST", f"{base_url}/api/console-link", authorization, {})
        url = answer.get("url") if isinstance(answer, dict) else None
        if status == 201 and isinstance(url, str) and url.startswith(base_url.rstrip("/") + "/"):
            return 303, [("Location", url), ("Cache-Control", "no-store"), ("Referrer-Policy", "no-referrer")], b""
        return _after(token, base_url, api_key, error=f"POST /api/console-link answered {status}: {_reason(answer)}")
    if path == DEMO_SCORE_PATH:
        return _post_score(form, token, base_url, api_key, authorization)
    unit_ids = [v for k, v in pairs if k == "unit_id"]
    return _post_deep_linking(unit_ids, token, base_url, api_key, authorization)


def _reason(answer: Any) -> str:
    if isinstance(answer, dict):
        details = answer.get("details")
        if isinstance(details, dict) and details.get("message"):
            return str(details["message"])
        if answer.get("error"):
            return str(answer["error"])
    return "no details"


def _after(token: str, base_url: str, api_key: str, *, notice: str = "", error: str = "") -> Answer:
    return html_page("Demo app", _launch_html(token, base_url, api_key, notice=notice, error=error), status=200)


def _number(value: str | None) -> float | None:
    try:
        number = float(value or "")
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _post_score(form: dict[str, str], token: str, base_url: str, api_key: str, authorization: str) -> Answer:
    given, maximum = _number(form.get("score_given")), _number(form.get("score_maximum"))
    line_item, user_id = form.get("line_item", ""), form.get("user_id", "")
    if given is None or maximum is None or not line_item or not user_id:
        return _after(token, base_url, api_key, error="Give a line item, a learner, a score and a maximum.")
    score = {
        "userId": user_id,
        "scoreGiven": given,
        "scoreMaximum": maximum,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
    }
    if form.get("comment"):
        score["comment"] = form["comment"]
    url = f"{base_url}/api/lineitems/{quote(line_item, safe='')}/scores"
    status, answer = _call("POST", url, authorization, score)
    if status == 204:
        return _after(token, base_url, api_key, notice=f"Score {given:g}/{maximum:g} for {user_id} sent: 204.")
    return _after(
        token, base_url, api_key, error=f"POST /api/lineitems/{{id}}/scores answered {status}: {_reason(answer)}"
    )


class _Inline(HTMLParser):
    """The inline scripts and ``style`` attributes of the gateway's deep-linking form.

    The form is embedded exactly as the gateway returned it (as a customer's app would paste it), so
    the page's CSP allows exactly these: each script by its hash, and each ``style`` attribute (the
    gateway's ``style="display: none;"``) by its hash with ``'unsafe-hashes'`` (CSP Level 3: a hash
    then also covers style attributes with that exact text). Nothing else inline is allowed."""

    def __init__(self, page: str):
        super().__init__()
        self.scripts: list[str] = []
        self.style_attributes: list[str] = []
        self._in_script = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.style_attributes.extend(value for name, value in attrs if name == "style" and value is not None)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def _post_deep_linking(unit_ids: list[str], token: str, base_url: str, api_key: str, authorization: str) -> Answer:
    status, id_token = _get(f"{base_url}/api/idtoken", authorization)
    gateway = id_token.get("gateway") if isinstance(id_token, dict) else None
    class_id = gateway.get("classId") if isinstance(gateway, dict) else None
    if status != 200 or not class_id:
        return _after(
            token, base_url, api_key, error=f"This launch names no class (GET /api/idtoken answered {status})."
        )
    code, answer = _get(f"{base_url}/api/classes/{quote(str(class_id), safe='')}/units", f"Bearer {api_key}")
    units = (
        {u.get("unit_id"): u for u in (answer or {}).get("units") or [] if isinstance(u, dict)} if code == 200 else {}
    )
    chosen = [units[u] for u in unit_ids if u in units]
    if not chosen:
        return _after(token, base_url, api_key, error="Pick at least one unit of the class.")
    items = [{"type": "ltiResourceLink", "title": str(u.get("name")), "url": str(u.get("launch_url"))} for u in chosen]
    body = {"contentItems": items, "options": {"message": f"{len(items)} unit(s) added by the demo app"}}
    code, answer = _call("POST", f"{base_url}/api/deeplinking/form", authorization, body)
    form = answer.get("form") if isinstance(answer, dict) else None
    if code != 200 or not isinstance(form, str):
        return _after(token, base_url, api_key, error=f"POST /api/deeplinking/form answered {code}: {_reason(answer)}")
    inline = _Inline(form)
    script_hashes = "".join(f" {_csp_hash(text)}" for text in dict.fromkeys(inline.scripts))
    style_hashes = "".join(f" {_csp_hash(text)}" for text in dict.fromkeys(inline.style_attributes))
    nonce = secrets.token_urlsafe(16)
    page = (
        "<h1>Demo app: returning to the LMS</h1>"
        f'<p role="status">Sending {len(items)} unit(s) back to the LMS…</p>'
        f"{form}"  # the gateway's own form: every value in it HTML-escaped by the gateway
        '<button type="submit" form="ltiaas_dl">Return to the LMS</button>'
    )
    return html_page(
        "Demo app: deep linking",
        page,
        extra_script=script_hashes,
        extra_style=f" 'unsafe-hashes'{style_hashes}" if style_hashes else "",
        nonce=nonce,
    )


def _csp_hash(text: str) -> str:
    """A CSP hash source for an inline script's text or a style attribute's value."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
