"""A test LMS served by the local gateway at ``/_lms/`` (loopback, in memory, never deployed).

It launches into the gateway exactly as an LMS would, so the gateway can be tried with no LMS:

- **LTI 1.1**: a form signed by **oauthlib** (OAuth 1.0a HMAC-SHA1, parameters in the body) with the
  demo consumer key, posted to a class or unit launch URL; ``lis_outcome_service_url`` is this LMS's
  own Basic Outcomes service ``/_lms/outcomes``, which verifies the request with oauthlib's
  ``SignatureOnlyEndpoint`` (plus ``oauth_body_hash`` against the bytes received) and stores the grade.
  The gateway answers ``ContentItemSelectionRequest`` with ``content_item_not_supported``: deep linking
  is LTI 1.3 only.
- **LTI 1.3**: the platform side is **lti1p3platform**'s (third-party login initiation, the
  authentication request check, the id_token signed with this LMS's RSA key, its JWKS at
  ``/_lms/jwks``). Services: ``/_lms/token`` (client credentials with a JWT client assertion verified
  with **pyjwt** against the tool's JWKS URL), AGS line items, results and scores under ``/_lms/ags/``,
  NRPS memberships under ``/_lms/nrps/``, and the deep-linking return URL ``/_lms/deeplinking/return``
  (the tool's response JWT verified with pyjwt; the content items recorded).

The LMS is registered as an LTI 1.3 platform of the demo organisation when the local gateway seeds it
(as an owner would, :func:`lti_gateway.lti13.platforms.create_platform`). Its page shows a grade book,
the roster and the deep-linking items received. Routing uses the local gateway's own router.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

LMS_PATH = "/_lms"
FORM = "application/x-www-form-urlencoded"
LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCOPES = frozenset({AGS + "lineitem", AGS + "lineitem.readonly", AGS + "result.readonly", AGS + "score", NRPS_SCOPE})
MEDIA = {
    "members": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
    "container": "application/vnd.ims.lis.v2.lineitemcontainer+json",
    "lineitem": "application/vnd.ims.lis.v2.lineitem+json",
    "results": "application/vnd.ims.lis.v2.resultcontainer+json",
    "score": "application/vnd.ims.lis.v1.score+json",
}
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
MESSAGE_TYPE = "https://purl.imsglobal.org/spec/lti/claim/message_type"
DEPLOYMENT_ID = "https://purl.imsglobal.org/spec/lti/claim/deployment_id"
TOKEN_SECONDS = 3600
OUTCOME_WINDOW_SECONDS = 600
MAX_SHOWN = 200  # rows of each table on the page

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class LmsUser:
    """A made-up user of the test LMS (no personal data)."""

    id: str
    name: str
    given: str
    family: str
    email: str


USERS = (
    LmsUser("student-1", "Alex Student", "Alex", "Student", "alex.student@example.invalid"),
    LmsUser("student-2", "Blake Student", "Blake", "Student", "blake.student@example.invalid"),
    LmsUser("teacher-1", "Casey Teacher", "Casey", "Teacher", "casey.teacher@example.invalid"),
    LmsUser("admin-1", "Drew Admin", "Drew", "Admin", "drew.admin@example.invalid"),
)


@dataclass(frozen=True)
class Role:
    """A role choice: its label, LTI 1.1 ``roles`` value and LTI 1.3 roles claim."""

    label: str
    lti11: str
    lti13: tuple[str, ...]


ROLES = {
    "learner": Role("Learner", "Learner", (f"{LIS}membership#Learner",)),
    "instructor": Role("Instructor", "Instructor", (f"{LIS}membership#Instructor",)),
    "teaching_assistant": Role(
        "Teaching assistant",
        "urn:lti:role:ims/lis/TeachingAssistant",
        (f"{LIS}membership/Instructor#TeachingAssistant",),
    ),
    "instructor_administrator": Role(
        "Instructor and administrator (several roles)",
        "Instructor,urn:lti:instrole:ims/lis/Administrator",
        (f"{LIS}membership#Instructor", f"{LIS}institution/person#Administrator"),
    ),
    "mentor": Role("Mentor", "Mentor", (f"{LIS}membership#Mentor",)),
    "administrator": Role(
        "Administrator (institution)",
        "urn:lti:instrole:ims/lis/Administrator",
        (f"{LIS}institution/person#Administrator",),
    ),
}
DEFAULT_ROLE = {"student-1": "learner", "student-2": "learner", "teacher-1": "instructor", "admin-1": "administrator"}


@dataclass(frozen=True)
class Target:
    """A class or unit of the demo organisation, as the LMS places it (one LMS course per class)."""

    key: str  # class_id or class_id/unit_id
    class_id: str
    class_name: str
    unit_id: str | None
    unit_name: str | None
    launch_url: str

    @property
    def label(self) -> str:
        return f"{self.class_name} > {self.unit_name}" if self.unit_id else f"{self.class_name} (whole class)"

    @property
    def context_id(self) -> str:
        return f"course-{self.class_id}"

    @property
    def resource_link_id(self) -> str:
        return f"link-{self.unit_id or self.class_id}"

    @property
    def title(self) -> str:
        return self.unit_name or self.class_name


@dataclass
class Pending13:
    target: Target
    user: LmsUser
    role: Role
    deep_linking: bool
    created: float = field(default_factory=time.time)


class LmsRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _page_headers(nonce: str, *, extra_script: str = "", extra_style: str = "") -> list[tuple[str, str]]:
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}'{extra_script}; style-src 'nonce-{nonce}'{extra_style}; "
        "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
    )
    return [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        # same-origin, not no-referrer: a form post then carries the page's real Origin (with
        # no-referrer browsers send "Origin: null"), which the POST handlers check.
        ("Referrer-Policy", "same-origin"),
        ("Content-Security-Policy", csp),
    ]


STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "code{background:#f3f3f3;padding:.1rem .3rem;word-break:break-all}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;"
    "text-align:left;vertical-align:top}label{display:block;margin-top:.75rem;font-weight:600}"
    "label.inline{display:inline;font-weight:normal}"
    "fieldset{margin-top:.75rem}button{margin-top:1rem;font-size:1rem;padding:.4rem 1rem}"
    ".notice{background:#eef6ee;border:1px solid #8b8;padding:.5rem}.error{background:#fbeeee;"
    "border:1px solid #c88;padding:.5rem}"
)


def html_page(
    title: str,
    body: str,
    *,
    extra_script: str = "",
    extra_style: str = "",
    status: int = 200,
    nonce: str | None = None,
) -> Answer:
    """A whole page: ``body`` is already escaped HTML; the CSP allows only this page's nonce.

    ``extra_script`` / ``extra_style``: more CSP sources (e.g. ``" 'sha256-…'"``) for a piece of HTML
    the page embeds as it was handed over (the gateway's deep-linking form)."""
    nonce = nonce or secrets.token_urlsafe(16)
    page = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style nonce="{nonce}">{STYLE}</style></head><body>{body}</body></html>\n'
    )
    return status, _page_headers(nonce, extra_script=extra_script, extra_style=extra_style), page.encode()


def auto_submit_page(title: str, action: str, fields: list[tuple[str, str]], *, button: str) -> Answer:
    """The page a browser submits at once (a nonce'd script), with a visible button as the fallback."""
    nonce = secrets.token_urlsafe(16)
    inputs = "".join(f'<input type="hidden" name="{html.escape(n)}" value="{html.escape(v)}">' for n, v in fields)
    body = (
        f"<h1>{html.escape(title)}</h1>"
        f'<form id="autosubmit" method="post" action="{html.escape(action)}">{inputs}'
        f'<button type="submit">{html.escape(button)}</button></form>'
        f'<script nonce="{nonce}">document.getElementById("autosubmit").submit()</script>'
    )
    return html_page(title, body, nonce=nonce)


def json_answer(status: int, body: Any, media: str = "application/json", extra=()) -> Answer:
    headers = [("Content-Type", media), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"), *extra]
    return status, headers, b"" if body is None else json.dumps(body).encode()


def same_origin(headers: Mapping[str, str], base_url: str) -> bool:
    """A browser's POST from one of our own pages: its Origin (else Referer) is the gateway's origin."""
    own = _origin(base_url)
    origin = headers.get("origin")
    if origin is not None:
        return origin != "null" and _origin(origin) == own
    referer = headers.get("referer")
    return bool(referer) and _origin(referer) == own


def _origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


# -- oauthlib's server side, for the outcome service ---------------------------------------------------


def _request_validator(lms: LocalLms):
    from oauthlib.oauth1 import RequestValidator

    class OutcomeValidator(RequestValidator):
        enforce_ssl = False  # loopback http
        timestamp_lifetime = OUTCOME_WINDOW_SECONDS
        safe_characters = frozenset(chr(c) for c in range(33, 127))
        client_key_length = (1, 255)
        nonce_length = (1, 255)
        dummy_client = "dummy-client"

        def get_client_secret(self, client_key, request):
            return lms.consumer_secret if client_key == lms.consumer_key else "dummy-secret"

        def validate_client_key(self, client_key, request):
            return client_key == lms.consumer_key

        def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, **kwargs):
            with lms.lock:
                seen = (client_key, nonce) in lms.outcome_nonces
                lms.outcome_nonces.add((client_key, nonce))
            return not seen

    return OutcomeValidator()


# -- the LMS -----------------------------------------------------------------------------------------------


class LocalLms:
    """The test LMS of one :class:`~lti_gateway.local.server.LocalGateway` (all state in memory)."""

    def __init__(
        self,
        *,
        base_url: str,
        org_id: str,
        org_name: str,
        consumer_key: str,
        consumer_secret: str,
        list_targets: Callable[[], list[Target]],
        client_id: str = "test-lms",
        deployment_id: str = "test-lms-deployment-1",
    ):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        from lti_gateway.local import template as tpl

        self.base_url = base_url.rstrip("/")
        self.org_id = org_id
        self.org_name = org_name
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.list_targets = list_targets
        self.client_id = client_id
        self.deployment_id = deployment_id
        self.platform_id: str | None = None
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        self.lock = threading.Lock()
        self.pending: dict[str, Pending13] = {}
        self.dl_requests: dict[str, tuple[Target, str]] = {}
        self.sourcedids: dict[str, tuple[Target, str]] = {}
        self.outcome_nonces: set[tuple[str, str]] = set()
        self.jtis: set[str] = set()
        self.tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self.line_items: dict[str, dict[str, dict[str, Any]]] = {}  # context -> item id -> line item
        self.results: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}  # (context, item) -> user -> result
        self.grades11: dict[tuple[str, str, str], dict[str, Any]] = {}  # (context, link, user) -> grade
        self.roster: dict[str, dict[str, tuple[str, ...]]] = {}  # context -> user -> LTI 1.3 roles
        self.deep_links: list[dict[str, Any]] = []
        self.refusals: list[str] = []
        self._next_item = 0
        R = tpl.Route  # the local gateway's own router, not a new one
        self.router = tpl.Router(
            [
                R("GET", "/_lms/", "page"),
                R("POST", "/_lms/launch", "launch"),
                R("GET", "/_lms/auth", "auth"),
                R("POST", "/_lms/auth", "auth"),
                R("GET", "/_lms/jwks", "jwks"),
                R("POST", "/_lms/token", "token"),
                R("POST", "/_lms/outcomes", "outcomes"),
                R("GET", "/_lms/return", "lms_return"),
                R("POST", "/_lms/deeplinking/return", "deep_link_return"),
                R("GET", "/_lms/nrps/{context}/memberships", "memberships"),
                R("GET", "/_lms/ags/{context}/lineitems", "list_items"),
                R("POST", "/_lms/ags/{context}/lineitems", "create_item"),
                R("GET", "/_lms/ags/{context}/lineitems/{item}", "get_item"),
                R("PUT", "/_lms/ags/{context}/lineitems/{item}", "put_item"),
                R("DELETE", "/_lms/ags/{context}/lineitems/{item}", "delete_item"),
                R("GET", "/_lms/ags/{context}/lineitems/{item}/results", "results"),
                R("POST", "/_lms/ags/{context}/lineitems/{item}/scores", "scores"),
            ]
        )

    # -- URLs -----------------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        return f"{self.base_url}{LMS_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    @property
    def tool_login_url(self) -> str:
        return f"{self.base_url}/lti/orgs/{self.org_id}/login"

    @property
    def tool_launch_url(self) -> str:
        return f"{self.base_url}/lti/orgs/{self.org_id}/launch"

    @property
    def tool_jwks_url(self) -> str:
        return f"{self.base_url}/lti/orgs/{self.org_id}/jwks.json"

    def registration_body(self) -> dict[str, Any]:
        """This LMS as ``POST /api/platforms`` (and ``platforms.create_platform``) wants it."""
        return {
            "url": self.issuer,
            "clientId": self.client_id,
            "name": "Test LMS (local gateway)",
            "authenticationEndpoint": f"{self.issuer}/auth",
            "accesstokenEndpoint": self.token_url,
            "authConfig": {"method": "JWK_SET", "key": f"{self.issuer}/jwks"},
            "deploymentIds": [self.deployment_id],
        }

    # -- HTTP -----------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, query: str, headers: Mapping[str, str], body: bytes) -> Answer:
        """One request under ``/_lms``: ``headers`` with lower-case names."""
        if raw_path == LMS_PATH:
            return 308, [("Location", f"{LMS_PATH}/"), ("Cache-Control", "no-store")], b""
        matched = self.router.match("GET" if method == "HEAD" else method, raw_path)
        if matched is None:
            return json_answer(404, {"error": "not_found", "details": f"the test LMS has no {method} {raw_path}"})
        route, params = matched
        handler = getattr(self, f"_{route.function_id}")
        try:
            return handler(params=params, query=query, headers=headers, body=body)
        except LmsRefused as refused:
            with self.lock:
                self.refusals.append(refused.message)
            if route.function_id in ("page", "launch", "auth", "deep_link_return", "lms_return"):
                return html_page(
                    "Test LMS: refused",
                    f'<h1>Test LMS</h1><p class="error" role="alert">{html.escape(refused.message)}</p>'
                    f'<p><a href="{LMS_PATH}/">Back to the test LMS</a></p>',
                    status=refused.status,
                )
            return json_answer(refused.status, {"error": refused.message})

    # -- the page -------------------------------------------------------------------------------------
    def _page(self, **_: Any) -> Answer:
        return html_page("Test LMS", self.render())

    def render(self, notice: str | None = None, error: str | None = None) -> str:
        e = html.escape
        targets = self.list_targets()
        courses = {t.context_id: t.class_name for t in targets}
        options = "".join(f'<option value="{e(t.key)}">{e(t.label)}</option>' for t in targets)
        users = "".join(f'<option value="{e(u.id)}">{e(u.name)} ({e(u.id)})</option>' for u in USERS)
        roles = "".join(f'<option value="{e(k)}">{e(r.label)}</option>' for k, r in ROLES.items())
        parts = [
            "<h1>Test LMS</h1>",
            f'<p class="notice" role="status">{e(notice)}</p>' if notice else "",
            f'<p class="error" role="alert">{e(error)}</p>' if error else "",
            f"<p>A stand-in LMS on this machine for organisation <strong>{e(self.org_name)}</strong> "
            f"(<code>{e(self.org_id)}</code>). LTI 1.1 launches are signed with consumer key "
            f"<code>{e(self.consumer_key)}</code>; for LTI 1.3 it is registered as platform "
            f"<code>{e(self.issuer)}</code>, client id <code>{e(self.client_id)}</code>, deployment "
            f"<code>{e(self.deployment_id)}</code>. Users are made up.</p>",
            f'<form method="post" action="{LMS_PATH}/launch" aria-labelledby="launch-heading">',
            '<h2 id="launch-heading">Launch the tool</h2>',
            f'<label for="target">Class or unit</label><select id="target" name="target">{options}</select>',
            f'<label for="user">User</label><select id="user" name="user">{users}</select>',
            f'<label for="role">Role</label><select id="role" name="role">{roles}</select>',
            "<fieldset><legend>LTI version</legend>"
            '<input type="radio" id="lti11" name="lti_version" value="1.1" checked> '
            '<label for="lti11" class="inline">LTI 1.1</label> '
            '<input type="radio" id="lti13" name="lti_version" value="1.3"> '
            '<label for="lti13" class="inline">LTI 1.3</label>'
            "</fieldset>",
            "<fieldset><legend>Message</legend>"
            '<input type="radio" id="resource_link" name="message" value="resource_link" checked> '
            '<label for="resource_link" class="inline">Resource link launch</label> '
            '<input type="radio" id="deep_linking" name="message" value="deep_linking"> '
            '<label for="deep_linking" class="inline">Deep linking (LTI 1.3 only)</label>'
            "<p>Deep linking is LTI 1.3 only: the gateway does not support LTI 1.1 "
            "<code>ContentItemSelectionRequest</code>.</p></fieldset>",
            '<button type="submit">Launch</button></form>',
            self._gradebook_html(courses),
            self._roster_html(targets),
            self._deep_links_html(courses),
        ]
        return "".join(parts)

    def _gradebook_html(self, courses: Mapping[str, str]) -> str:
        """One row per grade. "As sent" is what the protocol carries (LTI 1.1 outcomes: a fraction 0..1;
        LTI 1.3 AGS: score given / maximum); "Score" is the same grade in one form for both protocols:
        the fraction, with "given / maximum" after it when the LMS knows them (LTI 1.3 only)."""
        e = html.escape
        with self.lock:
            rows = [
                (
                    "LTI 1.1",
                    ctx,
                    g["title"],
                    user,
                    g["score"],
                    fraction_text(g["score"], 1),
                    g.get("comment") or "",
                    g["at"],
                )
                for (ctx, _link, user), g in self.grades11.items()
            ]
            for (ctx, item_id), by_user in self.results.items():
                item = self.line_items.get(ctx, {}).get(item_id, {})
                for user, r in by_user.items():
                    given, maximum = r.get("scoreGiven"), r.get("scoreMaximum")
                    sent = "" if given is None else f"{_number_text(given)} / {_number_text(maximum)}"
                    fraction = fraction_text(given, maximum)
                    score = f"{fraction} ({sent})" if fraction else sent
                    rows.append(
                        ("LTI 1.3", ctx, item.get("label", item_id), user, sent, score, r.get("comment") or "", r["at"])
                    )
        rows = rows[-MAX_SHOWN:]
        body = (
            "".join(
                "<tr>"
                + "".join(
                    self._course_cell(courses, str(cell)) if i == 1 else f"<td>{e(str(cell))}</td>"
                    for i, cell in enumerate(row)
                )
                + "</tr>"
                for row in rows
            )
            or '<tr><td colspan="8">No grades received yet.</td></tr>'
        )
        return (
            '<h2 id="gradebook-heading">Grade book</h2>'
            "<p>Each grade is shown as sent (LTI 1.1 outcomes carry a fraction from 0 to 1, LTI 1.3 the score "
            "given and its maximum) and, under Score, the same way for both protocols: the fraction, then "
            "score given / maximum when the LMS received them. Times are in UTC.</p>"
            '<table aria-labelledby="gradebook-heading"><thead><tr>'
            "<th>Protocol</th><th>Course</th><th>Resource link / line item</th><th>User</th><th>As sent</th>"
            f"<th>Score</th><th>Comment</th><th>Received (UTC)</th></tr></thead><tbody>{body}</tbody></table>"
        )

    @staticmethod
    def _course_cell(courses: Mapping[str, str], context_id: str) -> str:
        """The course by its class name when the class is known, its LMS context id after it."""
        e = html.escape
        name = courses.get(context_id)
        if name is None:
            return f"<td><code>{e(context_id)}</code></td>"
        return f"<td>{e(name)}<br><small>LMS course id {e(context_id)}</small></td>"

    def _roster_html(self, targets: list[Target]) -> str:
        e = html.escape
        courses = {t.context_id: t.class_name for t in targets if t.unit_id is None}
        rows = []
        for ctx, name in courses.items():
            for user_id, roles in self.members(ctx).items():
                user = next((u for u in USERS if u.id == user_id), None)
                rows.append(
                    f"<tr><td>{e(name)} (<code>{e(ctx)}</code>)</td><td>{e(user.name if user else user_id)}</td>"
                    f"<td>{e(user_id)}</td><td>{e(', '.join(r.rsplit('#', 1)[-1] for r in roles))}</td></tr>"
                )
        return (
            '<h2 id="roster-heading">Roster</h2><table aria-labelledby="roster-heading"><thead><tr>'
            "<th>Course</th><th>Name</th><th>User id</th><th>Roles</th></tr></thead>"
            f"<tbody>{''.join(rows[:MAX_SHOWN])}</tbody></table>"
        )

    def _deep_links_html(self, courses: Mapping[str, str]) -> str:
        e = html.escape
        with self.lock:
            received = list(self.deep_links[-MAX_SHOWN:])
        rows = []
        for entry in received:
            for item in entry["items"]:
                rows.append(
                    f"<tr>{self._course_cell(courses, entry['course'])}<td>{e(entry['user'])}</td>"
                    f"<td>{e(str(item.get('type')))}</td>"
                    f"<td>{e(str(item.get('title', '')))}</td><td><code>{e(str(item.get('url', '')))}</code></td>"
                    f"<td>{e(entry['at'])}</td></tr>"
                )
            if not entry["items"]:
                rows.append(
                    f"<tr>{self._course_cell(courses, entry['course'])}<td>{e(entry['user'])}</td>"
                    '<td colspan="4">(no items)</td></tr>'
                )
        body = "".join(rows) or '<tr><td colspan="6">No deep-linking items received yet.</td></tr>'
        return (
            '<h2 id="deep-links-heading">Deep-linking items received</h2>'
            '<table aria-labelledby="deep-links-heading"><thead><tr><th>Course</th><th>User</th><th>Type</th>'
            f"<th>Title</th><th>URL</th><th>Received (UTC)</th></tr></thead><tbody>{body}</tbody></table>"
        )

    # -- roster ---------------------------------------------------------------------------------------
    def members(self, context_id: str) -> dict[str, tuple[str, ...]]:
        with self.lock:
            roster = self.roster.setdefault(context_id, {u.id: ROLES[DEFAULT_ROLE[u.id]].lti13 for u in USERS})
            return dict(roster)

    def _enrol(self, context_id: str, user: LmsUser, role: Role) -> None:
        self.members(context_id)
        with self.lock:
            self.roster[context_id][user.id] = role.lti13

    # -- launching ------------------------------------------------------------------------------------
    def _launch(self, *, headers: Mapping[str, str], body: bytes, **_: Any) -> Answer:
        if not same_origin(headers, self.base_url):
            raise LmsRefused(403, "Launch refused: the form must be posted from the test LMS page (Origin).")
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        target = next((t for t in self.list_targets() if t.key == form.get("target")), None)
        user = next((u for u in USERS if u.id == form.get("user")), None)
        role = ROLES.get(form.get("role", ""))
        version, message = form.get("lti_version"), form.get("message", "resource_link")
        if target is None or user is None or role is None:
            raise LmsRefused(400, "Pick a class or unit, a user and a role.")
        if version not in ("1.1", "1.3") or message not in ("resource_link", "deep_linking"):
            raise LmsRefused(400, "Pick LTI 1.1 or LTI 1.3 and a resource link or deep-linking launch.")
        self._enrol(target.context_id, user, role)
        if version == "1.1":
            if message == "deep_linking":
                raise LmsRefused(
                    400,
                    "Deep linking over LTI 1.1 (ContentItemSelectionRequest) is not supported by the gateway: "
                    "choose LTI 1.3.",
                )
            return self._launch_11(target, user, role)
        if self.platform_id is None:
            raise LmsRefused(
                409,
                "LTI 1.3 is off: this local gateway runs with ALLOW_INSECURE_PLATFORM_URLS=false (the deployed "
                "stack's rules), so the test LMS, on http://127.0.0.1, could not be registered as a platform.",
            )
        return self._launch_13(target, user, role, deep_linking=message == "deep_linking")

    def lti11_params(self, target: Target, user: LmsUser, role: Role) -> list[tuple[str, str]]:
        params = [
            ("lti_message_type", "basic-lti-launch-request"),
            ("lti_version", "LTI-1p0"),
            ("resource_link_id", target.resource_link_id),
            ("resource_link_title", target.title),
            ("context_id", target.context_id),
            ("context_label", target.class_name[:20]),
            ("context_title", target.class_name),
            ("context_type", "CourseOffering"),
            ("user_id", user.id),
            ("roles", role.lti11),
            ("lis_person_name_full", user.name),
            ("lis_person_name_given", user.given),
            ("lis_person_name_family", user.family),
            ("lis_person_contact_email_primary", user.email),
            ("lis_outcome_service_url", f"{self.issuer}/outcomes"),
            ("launch_presentation_document_target", "window"),
            ("launch_presentation_locale", "en"),
            ("launch_presentation_return_url", f"{self.issuer}/return"),
            ("tool_consumer_info_product_family_code", "lti-gateway-test-lms"),
            ("tool_consumer_info_version", "1"),
            ("tool_consumer_instance_guid", "test-lms.local"),
            ("tool_consumer_instance_name", "Test LMS (local gateway)"),
            ("custom_test_lms", "true"),
        ]
        if "Learner" in role.lti11:
            sourcedid = f"{target.context_id}:{target.resource_link_id}:{user.id}:{secrets.token_hex(8)}"
            with self.lock:
                self.sourcedids[sourcedid] = (target, user.id)
            params.append(("lis_result_sourcedid", sourcedid))
        return params

    def _launch_11(self, target: Target, user: LmsUser, role: Role) -> Answer:
        from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_BODY, Client

        client = Client(
            self.consumer_key,
            client_secret=self.consumer_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_BODY,
        )
        _uri, _headers, signed = client.sign(
            target.launch_url,
            http_method="POST",
            body=self.lti11_params(target, user, role),
            headers={"Content-Type": FORM},
        )
        fields = parse_qsl(signed, keep_blank_values=True)
        return auto_submit_page("Launching (LTI 1.1)…", target.launch_url, fields, button="Continue to the tool")

    def _launch_13(self, target: Target, user: LmsUser, role: Role, *, deep_linking: bool) -> Answer:
        from lti1p3platform.oidc_login import OIDCLoginAbstract

        class Login(OIDCLoginAbstract):
            def set_lti_message_hint(self, **kwargs: Any) -> None:
                self._lti_message_hint = kwargs["hint"]

            def get_redirect(self, url: str) -> str:
                return url

        hint = secrets.token_urlsafe(18)
        with self.lock:
            now = time.time()
            self.pending = {k: p for k, p in self.pending.items() if now - p.created < 600}
            self.pending[hint] = Pending13(target, user, role, deep_linking)
        registration = self._registration(target.launch_url).set_oidc_login_url(self.tool_login_url)
        login = Login(None, _config(registration))
        login.set_lti_message_hint(hint=hint)
        login.set_launch_url(target.launch_url)
        url = str(login.initiate_login(user.id))
        return 302, [("Location", url), ("Cache-Control", "no-store")], b""

    def _registration(self, launch_url: str | None = None):
        from lti1p3platform.registration import Registration

        registration = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_platform_private_key(self.private_pem)
            .set_platform_public_key(self.public_pem)
        )
        if launch_url:
            registration.set_launch_url(launch_url).set_deeplink_launch_url(launch_url)
        return registration

    def _jwks(self, **_: Any) -> Answer:
        return json_answer(200, {"keys": self._registration().get_jwks()})

    def _auth(self, *, query: str, body: bytes, **_: Any) -> Answer:
        """The OIDC authorization endpoint: lti1p3platform checks the tool's request and signs the id_token."""
        params = dict(parse_qsl(query or body.decode("utf-8", "replace"), keep_blank_values=True))
        with self.lock:
            pending = self.pending.pop(params.get("lti_message_hint", ""), None)
        if pending is None or params.get("login_hint") != pending.user.id:
            raise LmsRefused(400, "Unknown or already used login: start the launch again from the test LMS.")
        for name, expected in (
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
            ("client_id", self.client_id),
            ("redirect_uri", self.tool_launch_url),
        ):
            if params.get(name) != expected:
                raise LmsRefused(400, f"The tool's authentication request is not acceptable: {name}.")
        launch = _launch_message(self, pending, params)
        try:
            launch_data = launch.launch_data()
        except Exception as exc:  # the library refused the tool's authentication request
            raise LmsRefused(400, f"The tool's authentication request was refused ({type(exc).__name__}).") from None
        fields = [("id_token", launch_data["id_token"]), ("state", launch_data["state"])]
        return auto_submit_page("Launching (LTI 1.3)…", self.tool_launch_url, fields, button="Continue to the tool")

    def line_item_for(self, target: Target) -> str:
        """The line item of a resource link (created at its first launch, as Canvas does for assignments)."""
        with self.lock:
            items = self.line_items.setdefault(target.context_id, {})
            for item_id, item in items.items():
                if item.get("resourceLinkId") == target.resource_link_id:
                    return self._item_url(target.context_id, item_id)
            self._next_item += 1
            item_id = str(self._next_item)
            items[item_id] = {"label": target.title, "scoreMaximum": 100, "resourceLinkId": target.resource_link_id}
            return self._item_url(target.context_id, item_id)

    def _container_url(self, context_id: str) -> str:
        return f"{self.issuer}/ags/{context_id}/lineitems"

    def _item_url(self, context_id: str, item_id: str) -> str:
        return f"{self._container_url(context_id)}/{item_id}"

    # -- the LTI 1.3 token endpoint and services ---------------------------------------------------------
    def _token(self, *, body: bytes, **_: Any) -> Answer:
        import jwt

        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return json_answer(400, {"error": "unsupported_grant_type"})
        assertion = form.get("client_assertion", "")
        try:
            signing_key = jwt.PyJWKClient(self.tool_jwks_url, cache_keys=False, timeout=5).get_signing_key_from_jwt(
                assertion
            )
            claims = jwt.decode(
                assertion,
                signing_key.key,
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_id,
                options={"require": ["exp", "iat", "iss", "sub", "aud", "jti"]},
                leeway=5,
            )
        except (jwt.PyJWTError, ValueError) as err:
            with self.lock:
                self.refusals.append(f"client assertion: {type(err).__name__}")
            return json_answer(401, {"error": "invalid_client", "error_description": type(err).__name__})
        if claims.get("sub") != self.client_id or claims["exp"] - claims["iat"] > 300:
            return json_answer(401, {"error": "invalid_client", "error_description": "sub or lifetime"})
        with self.lock:
            if claims["jti"] in self.jtis:
                return json_answer(401, {"error": "invalid_client", "error_description": "jti replayed"})
            self.jtis.add(claims["jti"])
            scopes = frozenset(form.get("scope", "").split()) & SCOPES
            access = secrets.token_urlsafe(32)
            self.tokens[access] = (time.time() + TOKEN_SECONDS, scopes)
        return json_answer(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "scope": " ".join(sorted(scopes)),
            },
        )

    def _authorise(self, headers: Mapping[str, str], *scopes: str) -> None:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        with self.lock:
            found = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if not found or found[0] < time.time():
            raise LmsRefused(401, "invalid or expired access token")
        if not set(scopes) & found[1]:
            raise LmsRefused(403, "the access token lacks the scope")

    def _memberships(self, *, params: dict[str, str], query: str, headers: Mapping[str, str], **_: Any) -> Answer:
        self._authorise(headers, NRPS_SCOPE)
        context_id = params["context"]
        target = next((t for t in self.list_targets() if t.context_id == context_id and t.unit_id is None), None)
        if target is None:
            raise LmsRefused(404, "no such course")
        role_filter = dict(parse_qsl(query)).get("role")
        members = []
        for user_id, roles in self.members(context_id).items():
            if role_filter and not any(r == role_filter or r.endswith("#" + role_filter) for r in roles):
                continue
            user = next(u for u in USERS if u.id == user_id)
            members.append(
                {
                    "user_id": user.id,
                    "roles": list(roles),
                    "name": user.name,
                    "given_name": user.given,
                    "family_name": user.family,
                    "email": user.email,
                    "status": "Active",
                }
            )
        answer = {
            "id": f"{self.issuer}/nrps/{context_id}/memberships",
            "context": {"id": context_id, "label": target.class_name[:20], "title": target.class_name},
            "members": members,
        }
        return json_answer(200, answer, MEDIA["members"])

    def _item_json(self, context_id: str, item_id: str) -> dict[str, Any]:
        return {"id": self._item_url(context_id, item_id), **self.line_items[context_id][item_id]}

    def _list_items(self, *, params: dict[str, str], query: str, headers: Mapping[str, str], **_: Any) -> Answer:
        self._authorise(headers, AGS + "lineitem", AGS + "lineitem.readonly")
        ctx = params["context"]
        filters = dict(parse_qsl(query))
        with self.lock:
            items = [self._item_json(ctx, i) for i in self.line_items.get(ctx, {})]
        for name, key in (("resource_link_id", "resourceLinkId"), ("tag", "tag"), ("resource_id", "resourceId")):
            if filters.get(name):
                items = [i for i in items if i.get(key) == filters[name]]
        return json_answer(200, items, MEDIA["container"])

    def _line_item_body(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
        except ValueError:
            raise LmsRefused(400, "the line item is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("label"), str) or not data["label"].strip():
            raise LmsRefused(400, "label is required")
        maximum = data.get("scoreMaximum")
        if isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0:
            raise LmsRefused(400, "scoreMaximum must be a number > 0")
        keep = ("label", "scoreMaximum", "resourceLinkId", "resourceId", "tag", "startDateTime", "endDateTime")
        return {k: data[k] for k in keep if k in data}

    def _create_item(self, *, params: dict[str, str], headers: Mapping[str, str], body: bytes, **_: Any) -> Answer:
        self._authorise(headers, AGS + "lineitem")
        ctx = params["context"]
        item = self._line_item_body(body)
        with self.lock:
            self._next_item += 1
            item_id = str(self._next_item)
            self.line_items.setdefault(ctx, {})[item_id] = item
            answer = self._item_json(ctx, item_id)
        return json_answer(201, answer, MEDIA["lineitem"])

    def _existing(self, params: dict[str, str]) -> tuple[str, str]:
        ctx, item_id = params["context"], params["item"]
        with self.lock:
            if item_id not in self.line_items.get(ctx, {}):
                raise LmsRefused(404, "no such line item")
        return ctx, item_id

    def _get_item(self, *, params: dict[str, str], headers: Mapping[str, str], **_: Any) -> Answer:
        self._authorise(headers, AGS + "lineitem", AGS + "lineitem.readonly")
        ctx, item_id = self._existing(params)
        with self.lock:
            return json_answer(200, self._item_json(ctx, item_id), MEDIA["lineitem"])

    def _put_item(self, *, params: dict[str, str], headers: Mapping[str, str], body: bytes, **_: Any) -> Answer:
        self._authorise(headers, AGS + "lineitem")
        ctx, item_id = self._existing(params)
        item = self._line_item_body(body)
        with self.lock:
            self.line_items[ctx][item_id] = item
            return json_answer(200, self._item_json(ctx, item_id), MEDIA["lineitem"])

    def _delete_item(self, *, params: dict[str, str], headers: Mapping[str, str], **_: Any) -> Answer:
        self._authorise(headers, AGS + "lineitem")
        ctx, item_id = self._existing(params)
        with self.lock:
            self.line_items[ctx].pop(item_id, None)
            self.results.pop((ctx, item_id), None)
        return 204, [("Cache-Control", "no-store")], b""

    def _results(self, *, params: dict[str, str], query: str, headers: Mapping[str, str], **_: Any) -> Answer:
        self._authorise(headers, AGS + "result.readonly")
        ctx, item_id = self._existing(params)
        user_filter = dict(parse_qsl(query)).get("user_id")
        item_url = self._item_url(ctx, item_id)
        with self.lock:
            stored = dict(self.results.get((ctx, item_id), {}))
        results = [
            {
                "id": f"{item_url}/results/{user}",
                "scoreOf": item_url,
                "userId": user,
                "resultScore": r.get("scoreGiven"),
                "resultMaximum": r.get("scoreMaximum"),
                "comment": r.get("comment"),
            }
            for user, r in stored.items()
            if not user_filter or user == user_filter
        ]
        return json_answer(200, results, MEDIA["results"])

    def _scores(self, *, params: dict[str, str], headers: Mapping[str, str], body: bytes, **_: Any) -> Answer:
        self._authorise(headers, AGS + "score")
        ctx, item_id = self._existing(params)
        if headers.get("content-type", "").split(";")[0].strip() != MEDIA["score"]:
            raise LmsRefused(415, f"a score is {MEDIA['score']}")
        try:
            score = json.loads(body)
        except ValueError:
            raise LmsRefused(400, "the score is not JSON") from None
        if not isinstance(score, dict) or not isinstance(score.get("userId"), str) or not score["userId"]:
            raise LmsRefused(400, "userId is required")
        for name in ("activityProgress", "gradingProgress", "timestamp"):
            if not isinstance(score.get(name), str):
                raise LmsRefused(400, f"{name} is required")
        given, maximum = score.get("scoreGiven"), score.get("scoreMaximum")
        if given is not None and (isinstance(given, bool) or not isinstance(given, int | float)):
            raise LmsRefused(400, "scoreGiven must be a number")
        if given is not None and (isinstance(maximum, bool) or not isinstance(maximum, int | float) or maximum <= 0):
            raise LmsRefused(400, "scoreMaximum must be a number > 0 with scoreGiven")
        with self.lock:
            self.results.setdefault((ctx, item_id), {})[score["userId"]] = {
                **{
                    k: score.get(k)
                    for k in ("scoreGiven", "scoreMaximum", "comment", "activityProgress", "gradingProgress")
                },
                "at": _now(),
            }
        return 204, [("Cache-Control", "no-store")], b""

    # -- deep linking -------------------------------------------------------------------------------------
    def _deep_link_return(self, *, body: bytes, **_: Any) -> Answer:
        import jwt

        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        token = form.get("JWT", "")
        try:
            signing_key = jwt.PyJWKClient(self.tool_jwks_url, cache_keys=False, timeout=5).get_signing_key_from_jwt(
                token
            )
            claims = jwt.decode(
                token,
                signing_key.key,
                algorithms=["RS256"],
                audience=self.issuer,
                issuer=self.client_id,
                options={"require": ["exp", "iat", "iss", "aud", "nonce"]},
                leeway=5,
            )
        except (jwt.PyJWTError, ValueError) as err:
            raise LmsRefused(401, f"The tool's deep-linking response does not verify ({type(err).__name__}).") from None
        if claims.get(MESSAGE_TYPE) != "LtiDeepLinkingResponse" or claims.get(DEPLOYMENT_ID) != self.deployment_id:
            raise LmsRefused(400, "Not a deep-linking response of this deployment.")
        data = claims.get(DL_CLAIM + "data")
        request_id = data.get("request") if isinstance(data, dict) else None
        with self.lock:
            request = self.dl_requests.pop(request_id, None) if isinstance(request_id, str) else None
        if request is None:
            raise LmsRefused(400, "Unknown or already answered deep-linking request.")
        target, user_id = request
        items = claims.get(DL_CLAIM + "content_items") or []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise LmsRefused(400, "content_items must be a list of objects.")
        with self.lock:
            self.deep_links.append({"course": target.context_id, "user": user_id, "items": items, "at": _now()})
        message = claims.get(DL_CLAIM + "msg") or f"{len(items)} item(s) received from the tool."
        return html_page("Test LMS", self.render(notice=f"Deep linking: {message}"))

    def deep_link_request(self, target: Target, user_id: str) -> str:
        request_id = secrets.token_urlsafe(12)
        with self.lock:
            self.dl_requests[request_id] = (target, user_id)
        return request_id

    def _lms_return(self, *, query: str, **_: Any) -> Answer:
        """The tool sent the browser back: ``lti_errormsg`` is a refusal (an error box), ``lti_msg`` news."""
        params = dict(parse_qsl(query))
        error = params.get("lti_errormsg")
        if error:
            return html_page("Test LMS: the tool refused the launch", self.render(error=f"The tool says: {error}"))
        return html_page("Test LMS", self.render(notice=params.get("lti_msg") or "Back from the tool."))

    # -- LTI 1.1 Basic Outcomes ---------------------------------------------------------------------------
    def _outcomes(self, *, query: str, headers: Mapping[str, str], body: bytes, **_: Any) -> Answer:
        from oauthlib.oauth1 import SignatureOnlyEndpoint

        from lti_gateway.lti11 import outcomes

        uri = f"{self.issuer}/outcomes" + (f"?{query}" if query else "")
        content_type = headers.get("content-type", "")
        if content_type.split(";")[0].strip() != "application/xml":
            return self._pox(415, "failure", "Content-Type must be application/xml", "", "replaceResult")
        endpoint = SignatureOnlyEndpoint(_request_validator(self))
        valid, request = endpoint.validate_request(
            uri,
            http_method="POST",
            body=body.decode("utf-8", "replace"),
            headers={"Authorization": headers.get("authorization", ""), "Content-Type": content_type},
        )
        claimed = dict(request.oauth_params).get("oauth_body_hash", "") if request is not None else ""
        expected = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324 - the spec's hash
        if not valid or not hmac.compare_digest(claimed, expected):
            reason = "signature does not verify" if not valid else "oauth_body_hash does not match the body"
            with self.lock:
                self.refusals.append(f"outcomes: {reason}")
            return self._pox(401, "failure", f"Refused: {reason}", "", "replaceResult")
        try:
            root = outcomes._parse_xml(body)
        except Exception:
            return self._pox(400, "failure", "not acceptable XML", "", "replaceResult")
        pox_body = outcomes._find(root, "imsx_POXBody")
        operation_el = next(iter(pox_body), None) if pox_body is not None else None
        message_id = outcomes._text(root, "imsx_messageIdentifier") or ""
        if operation_el is None:
            return self._pox(400, "failure", "no operation", message_id, "replaceResult")
        operation = outcomes._local(operation_el.tag).removesuffix("Request")
        sourcedid = outcomes._text(root, "sourcedId") or ""
        with self.lock:
            known = self.sourcedids.get(sourcedid)
        if known is None:
            return self._pox(200, "failure", "sourcedid not found", message_id, operation)
        target, user_id = known
        key = (target.context_id, target.resource_link_id, user_id)
        if operation == "replaceResult":
            raw = outcomes._text(root, "resultScore", "textString")
            try:
                score = float(raw or "")
            except ValueError:
                score = -1.0
            if not 0.0 <= score <= 1.0:
                return self._pox(200, "failure", "score must be 0.0 to 1.0", message_id, operation)
            with self.lock:
                self.grades11[key] = {
                    "score": raw,
                    "comment": outcomes._text(root, "resultData", "text"),
                    "title": target.title,
                    "at": _now(),
                }
            return self._pox(200, "success", f"Score for {user_id} is now {raw}", message_id, operation)
        if operation == "readResult":
            with self.lock:
                grade = self.grades11.get(key)
            return self._pox(200, "success", "Result read", message_id, operation, score=(grade or {}).get("score", ""))
        if operation == "deleteResult":
            with self.lock:
                self.grades11.pop(key, None)
            return self._pox(200, "success", "Result deleted", message_id, operation)
        return self._pox(200, "unsupported", f"{operation} is not supported", message_id, operation)

    def _pox(
        self,
        status: int,
        code_major: str,
        description: str,
        message_ref: str,
        operation: str,
        *,
        score: str | None = None,
    ) -> Answer:
        def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
            child = ET.SubElement(parent, f"{{{POX_NS}}}{tag}")
            if text is not None:
                child.text = text
            return child

        envelope = ET.Element(f"{{{POX_NS}}}imsx_POXEnvelopeResponse")
        info = sub(sub(envelope, "imsx_POXHeader"), "imsx_POXResponseHeaderInfo")
        sub(info, "imsx_version", "V1.0")
        sub(info, "imsx_messageIdentifier", f"lms-{time.monotonic_ns()}")
        status_info = sub(info, "imsx_statusInfo")
        sub(status_info, "imsx_codeMajor", code_major)
        sub(status_info, "imsx_severity", "status")
        sub(status_info, "imsx_description", description)
        sub(status_info, "imsx_messageRefIdentifier", message_ref)
        response = sub(sub(envelope, "imsx_POXBody"), f"{operation}Response")
        if score is not None:
            result_score = sub(sub(response, "result"), "resultScore")
            sub(result_score, "language", "en")
            sub(result_score, "textString", score)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
            envelope, encoding="unicode", default_namespace=POX_NS
        )
        return status, [("Content-Type", "application/xml"), ("Cache-Control", "no-store")], text.encode()


# -- lti1p3platform's ports ------------------------------------------------------------------------------


def _config(registration):
    from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract

    class Config(LTI1P3PlatformConfAbstract):
        def init_platform_config(self, **kwargs: Any) -> None:
            self._registration = kwargs["registration"]

        def get_registration_by_params(self, **kwargs: Any):
            return self._registration

    return Config(registration=registration)


def _launch_message(lms: LocalLms, pending: Pending13, params: dict[str, str]):
    """lti1p3platform's message launch for one pending launch and the tool's authentication request."""
    from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
    from lti1p3platform.request import Request

    class AuthRequest(Request):
        def build_metadata(self, request: Any):
            return {
                "method": "GET",
                "get_data": dict(request),
                "form_data": {},
                "headers": {},
                "content_type": None,
                "path": f"{LMS_PATH}/auth",
                "json": None,
            }

    class Launch(LTIAdvantageMessageLaunchAbstract):
        def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return launch_data

        def launch_data(self) -> dict[str, Any]:
            return self.lti_launch()

    target, user = pending.target, pending.user
    launch = Launch(AuthRequest(params), _config(lms._registration(target.launch_url)))
    launch.set_launch_url(target.launch_url)
    launch.set_user_data(user.id, list(pending.role.lti13), user.name, user.email)
    launch.set_extra_claims({"given_name": user.given, "family_name": user.family})
    launch.set_resource_link_claim(target.resource_link_id, title=target.title)
    launch.set_launch_presentation_claim("window", f"{lms.issuer}/return")
    launch.set_launch_context_claim(
        target.context_id, [f"{LIS}course#CourseOffering"], target.class_name, target.class_name[:20]
    )
    launch.set_nrps(f"{lms.issuer}/nrps/{target.context_id}/memberships")
    if pending.deep_linking:
        launch.set_ags(lms._container_url(target.context_id))
        request_id = lms.deep_link_request(target, user.id)
        launch.set_dl(
            f"{lms.issuer}/deeplinking/return",
            title="Pick units for the test LMS",
            accept_types={"ltiResourceLink", "link"},
            extra_data={"request": request_id},
        )
    else:
        launch.set_ags(lms._container_url(target.context_id), lms.line_item_for(target))
    return launch


def _now() -> str:
    """When something was received, in UTC and saying so (the page is read from anywhere)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def fraction_text(given: Any, maximum: Any) -> str:
    """A score as the fraction of its maximum, the way both protocols can show it: ``0.875``."""
    try:
        value = float(given) / float(maximum)
    except (TypeError, ValueError, ZeroDivisionError):
        return ""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value == value else ""


def _number_text(value: Any) -> str:
    """``7.0`` -> ``7``, ``9.5`` -> ``9.5`` (scores as a person writes them)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
