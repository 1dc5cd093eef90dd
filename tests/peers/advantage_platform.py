"""A local LTI Advantage platform: OAuth 2 token endpoint, AGS and NRPS on 127.0.0.1 (http.server).

Independent of the gateway's code: client assertions are verified with **joserfc** (the Authlib
team's JOSE library; the gateway signs with pyjwt) against the tool's public JWKS, with the checks of
the 1EdTech Security Framework §4.1 (RS256, ``kid`` known, ``iss`` = ``sub`` = client id, ``aud``,
``exp`` at most 5 minutes after ``iat``, ``jti`` never seen before). Services check the bearer token
and its scope, and the media types of the AGS/NRPS specs. Every request is recorded in ``requests``.

Data: a course with members (NRPS paging by ``limit``/``page`` with a ``Link`` header), a Canvas-like
line items container ``/api/lti/courses/7/line_items`` and one Moodle-style line item whose URL has a
query (``…/lineitem?type_id=1``), results and scores per line item.

Controls: ``expire_tokens()`` (the next service call answers 401 once the token is dropped),
``fail_next(status, body)``, ``token_requests`` (how many grants were made).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.peers.loopback import LoopbackServer, QuietHandler, send_reply

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AGS = "https://purl.imsglobal.org/spec/lti-ags/scope/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
MEDIA = {
    "members": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
    "container": "application/vnd.ims.lis.v2.lineitemcontainer+json",
    "lineitem": "application/vnd.ims.lis.v2.lineitem+json",
    "results": "application/vnd.ims.lis.v2.resultcontainer+json",
    "score": "application/vnd.ims.lis.v1.score+json",
}
COURSE = "/api/lti/courses/7"
LINE_ITEMS = f"{COURSE}/line_items"
MOODLE_ITEM = "/mod/lti/services.php/7/lineitems/3/lineitem"
MOODLE_QUERY = "type_id=1"


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class AdvantagePlatform:
    client_id: str
    jwks: Callable[[], dict[str, Any]]  # the tool's public JWKS
    auth_server: str | None = None  # the audience expected in assertions (default: the token URL)
    members: list[dict[str, Any]] = field(default_factory=list)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> line item (without id)
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # item path -> results
    scores: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # item path -> scores received
    requests: list[Recorded] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    token_requests: int = 0
    expires_in: int = 3600
    # Where the services live (defaults: Canvas-like paths on this peer's own server). ``mounted_on``
    # serves them from another server instead (see :meth:`handle`), e.g. an lti1p3platform peer's.
    line_items_path: str = LINE_ITEMS
    memberships_path: str = f"{COURSE}/names_and_roles"
    token_path: str = "/login/oauth2/token"
    mounted_on: Callable[[], str] | None = None

    def __post_init__(self) -> None:
        self._tokens: dict[str, tuple[float, set[str]]] = {}
        self._jtis: set[str] = set()
        self._failures: list[tuple[int, bytes]] = []
        self._next_item = 100
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None
        if not self.members:
            self.members = [
                {
                    "user_id": f"user-{i}",
                    "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
                    "name": f"Student {i}",
                    "given_name": "Student",
                    "family_name": str(i),
                    "email": f"s{i}@lms.example",
                    "lis_person_sourcedid": f"sis-{i}",
                    "status": "Active",
                }
                for i in range(1, 6)
            ] + [
                {
                    "user_id": "teacher-1",
                    "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
                    "name": "Grace Hopper",
                }
            ]
        if not self.items:
            self.items = {
                f"{self.line_items_path}/1": {
                    "label": "Waves quiz",
                    "scoreMaximum": 10,
                    "resourceLinkId": "rl-1",
                    "tag": "quiz",
                },
                MOODLE_ITEM: {"label": "Moodle activity", "scoreMaximum": 100, "resourceLinkId": "rl-9"},
            }

    # -- lifecycle -----------------------------------------------------------------------------------
    @property
    def base(self) -> str:
        if self.mounted_on is not None:
            return self.mounted_on()
        assert self._server is not None, "enter the context first"
        return self._server.base_url

    @property
    def token_url(self) -> str:
        return f"{self.base}{self.token_path}"

    @property
    def memberships_url(self) -> str:
        return f"{self.base}{self.memberships_path}"

    @property
    def line_items_url(self) -> str:
        return f"{self.base}{self.line_items_path}"

    def item_url(self, path: str | None = None) -> str:
        path = path or f"{self.line_items_path}/1"
        return f"{self.base}{path}" + (f"?{MOODLE_QUERY}" if path == MOODLE_ITEM else "")

    def registration(
        self, name: str, *, issuer: str | None = None, client_id: str | None = None, deployment_ids=("dep-1",)
    ) -> dict[str, Any]:
        """The body of ``POST /api/platforms`` registering this peer (its JWKS, auth and token URLs)."""
        return {
            "url": issuer or self.base,
            "clientId": client_id or self.client_id,
            "name": name,
            "authenticationEndpoint": f"{self.base}/auth",
            "accesstokenEndpoint": self.token_url,
            "authConfig": {"method": "JWK_SET", "key": f"{self.base}/jwks"},
            "deploymentIds": list(deployment_ids),
        }

    def __enter__(self) -> AdvantagePlatform:
        if self.mounted_on is None:
            self._server = LoopbackServer(self.handler_class()).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    # -- controls ------------------------------------------------------------------------------------
    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def fail_next(self, status: int, body: bytes = b'{"error": "boom"}') -> None:
        with self._lock:
            self._failures.append((status, body))

    def service_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path != self.token_path]

    # -- token endpoint ------------------------------------------------------------------------------
    def _grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.token_requests += 1
        if form.get("grant_type") != "client_credentials" or form.get("client_assertion_type") != ASSERTION_TYPE:
            return 400, {"error": "unsupported_grant_type"}
        try:
            token = jwt.decode(
                form.get("client_assertion", ""), KeySet.import_key_set(self.jwks()), algorithms=["RS256"]
            )
        except (JoseError, ValueError) as err:
            self.rejections.append(f"assertion: {err}")
            return 401, {"error": "invalid_client"}
        claims, header = token.claims, token.header
        now = time.time()
        audience = self.auth_server or self.token_url
        aud = claims.get("aud")
        problems = [
            "no kid" if not header.get("kid") else None,
            "iss" if claims.get("iss") != self.client_id else None,
            "sub" if claims.get("sub") != self.client_id else None,
            "aud" if aud != audience and not (isinstance(aud, list) and audience in aud) else None,
            "exp" if not isinstance(claims.get("exp"), int) or claims["exp"] < now else None,
            "lifetime" if claims.get("exp", 0) - claims.get("iat", 0) > 300 else None,
            "jti" if not claims.get("jti") or claims["jti"] in self._jtis else None,
        ]
        problems = [p for p in problems if p]
        if problems:
            self.rejections.append(f"assertion claims: {problems}")
            return 401, {"error": "invalid_client", "error_description": ", ".join(problems)}
        self._jtis.add(claims["jti"])
        access = secrets.token_urlsafe(24)
        scopes = set(form.get("scope", "").split())
        with self._lock:
            self._tokens[access] = (now + self.expires_in, scopes)
        return 200, {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": " ".join(sorted(scopes)),
        }

    def _authorised(self, headers: dict[str, str], *scopes: str) -> bool:
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self._lock:
            found = self._tokens.get(auth[7:])
        return bool(found and found[0] > time.time() and set(scopes) & found[1])

    # -- services ------------------------------------------------------------------------------------
    def _line_item_json(self, path: str) -> dict[str, Any]:
        url = f"{self.base}{path}" + (f"?{MOODLE_QUERY}" if path == MOODLE_ITEM else "")
        return {"id": url, **self.items[path]}

    def _members(self, query: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        members = self.members
        if query.get("role"):
            role = query["role"]
            members = [m for m in members if any(r == role or r.endswith("#" + role) for r in m["roles"])]
        limit = int(query.get("limit") or 100)
        page = int(query.get("page") or 1)
        chunk = members[(page - 1) * limit : page * limit]
        headers = {}
        if page * limit < len(members):
            nxt = {**query, "page": str(page + 1), "limit": str(limit)}
            headers["Link"] = f'<{self.memberships_url}?{urlencode(nxt)}>; rel="next"'
        body = {
            "id": self.memberships_url,
            "context": {"id": "course-7", "label": "PHY", "title": "Physics"},
            "members": chunk,
        }
        return body, headers

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes):
        """(status, content type, JSON body or None, extra headers)."""
        if path == self.token_path and method == "POST":
            status, data = self._grant(dict(parse_qsl(body.decode())))
            return status, "application/json", data, {}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure:
            return failure[0], "application/json", failure[1], {}
        if path == self.memberships_path and method == "GET":
            if not self._authorised(headers, NRPS_SCOPE) or headers.get("accept") != MEDIA["members"]:
                return 401, "application/json", {"error": "unauthorized"}, {}
            data, extra = self._members(query)
            return 200, MEDIA["members"], data, extra
        if path == self.line_items_path:
            if method == "GET":
                if not self._authorised(headers, AGS + "lineitem", AGS + "lineitem.readonly"):
                    return 401, "application/json", {"error": "unauthorized"}, {}
                items = [self._line_item_json(p) for p in self.items if p.startswith(self.line_items_path + "/")]
                for name, key in (
                    ("resource_link_id", "resourceLinkId"),
                    ("tag", "tag"),
                    ("resource_id", "resourceId"),
                ):
                    if query.get(name):
                        items = [i for i in items if i.get(key) == query[name]]
                return 200, MEDIA["container"], items, {"Link": f'<{self.line_items_url}?page=1>; rel="first"'}
            if method == "POST":
                if not self._authorised(headers, AGS + "lineitem") or headers.get("content-type") != MEDIA["lineitem"]:
                    return 401, "application/json", {"error": "unauthorized"}, {}
                data = json.loads(body)
                self._next_item += 1
                new = f"{self.line_items_path}/{self._next_item}"
                self.items[new] = {k: v for k, v in data.items() if k != "id"}
                return 201, MEDIA["lineitem"], self._line_item_json(new), {}
        for suffix in ("/results", "/scores", ""):
            item_path = path[: -len(suffix)] if suffix and path.endswith(suffix) else path
            if (suffix and not path.endswith(suffix)) or item_path not in self.items:
                continue
            if item_path == MOODLE_ITEM and query.get("type_id") != "1":
                return 404, "application/json", {"error": "type_id missing"}, {}
            return self._item_route(method, item_path, suffix, query, headers, body)
        return 404, "application/json", {"error": "not found"}, {}

    def _item_route(self, method, item_path, suffix, query, headers, body):
        unauthorised = (401, "application/json", {"error": "unauthorized"}, {})
        if suffix == "/results" and method == "GET":
            if not self._authorised(headers, AGS + "result.readonly") or headers.get("accept") != MEDIA["results"]:
                return unauthorised
            results = self.results.get(item_path, [])
            if query.get("user_id"):
                results = [r for r in results if r["userId"] == query["user_id"]]
            return 200, MEDIA["results"], results, {}
        if suffix == "/scores" and method == "POST":
            if not self._authorised(headers, AGS + "score") or headers.get("content-type") != MEDIA["score"]:
                return unauthorised
            score = json.loads(body)
            self.scores.setdefault(item_path, []).append(score)
            item_url = self._line_item_json(item_path)["id"]
            self.results.setdefault(item_path, [])
            self.results[item_path] = [r for r in self.results[item_path] if r["userId"] != score["userId"]]
            self.results[item_path].append(
                {
                    "id": f"{self.base}{item_path}/results/{score['userId']}",
                    "scoreOf": item_url,
                    "userId": score["userId"],
                    "resultScore": score.get("scoreGiven"),
                    "resultMaximum": score.get("scoreMaximum"),
                    "comment": score.get("comment"),
                }
            )
            return 204, "application/json", None, {}
        if suffix:
            return 404, "application/json", {"error": "not found"}, {}
        if method == "GET":
            if not self._authorised(headers, AGS + "lineitem", AGS + "lineitem.readonly"):
                return unauthorised
            return 200, MEDIA["lineitem"], self._line_item_json(item_path), {}
        if method == "PUT":
            if not self._authorised(headers, AGS + "lineitem") or headers.get("content-type") != MEDIA["lineitem"]:
                return unauthorised
            data = json.loads(body)
            self.items[item_path] = {k: v for k, v in data.items() if k != "id"}
            return 200, MEDIA["lineitem"], self._line_item_json(item_path), {}
        if method == "DELETE":
            if not self._authorised(headers, AGS + "lineitem"):
                return unauthorised
            del self.items[item_path]
            return 204, "application/json", None, {}
        return 405, "application/json", {"error": "method"}, {}

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        """Answer one request a ``BaseHTTPRequestHandler`` (of this peer, or of the server it is mounted on) read."""
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        parts = urlsplit(request.path)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.requests.append(Recorded(request.command, parts.path, parts.query, headers, body))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            status, media, data, extra = self.handle(request.command, parts.path, query, headers, body)
        except Exception as err:  # a peer reports, it does not crash
            status, media, data, extra = 500, "application/json", {"error": repr(err)}, {}
        payload = data if isinstance(data, bytes) else b"" if data is None else json.dumps(data).encode()
        send_reply(request, status, payload, media, extra)

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(QuietHandler):
            def _serve(self) -> None:
                platform.serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        return Handler


class Recorder:
    """A host the gateway must never call: it records anything that arrives."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        recorder = self

        class Handler(QuietHandler):
            def _serve(self) -> None:
                recorder.hits.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')}")
                self.reply(200, b"{}", "application/json")

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self._server = LoopbackServer(Handler)

    @property
    def base(self) -> str:
        return self._server.base_url

    def __enter__(self) -> Recorder:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
