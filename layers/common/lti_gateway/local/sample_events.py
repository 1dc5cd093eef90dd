"""``make events``: the sample events of ``events/``, made live against the running local gateway.

    python -m lti_gateway.local.sample_events [--state-dir .local] [--out .local/events]

``events/*.json`` (committed) are the shapes: one API Gateway HTTP API (payload 2.0) event per route
worth trying, with placeholder ids and keys and a deployed stack's host (the test suite varies them).
This writes, for each of them, the same request made real for the demo organisation of the local
gateway that ``make run`` is serving (``<state dir>/dev-stack.json``), with
:func:`lti_gateway.local.events.http_api_event` (the converter the local gateway itself uses):

- admin API events with the demo owner's API key (``Authorization: Bearer``), on objects made for them
  here through the API (classes, units, consumer keys, a credential, platforms, prefixed
  ``Sample events:``), so a ``DELETE`` never removes something of yours;
- LTI 1.1 launches signed with **oauthlib** with the demo consumer key (valid for the launch window,
  5 minutes by default, and once: the nonce is recorded);
- the LTI 1.3 login, and a launch whose id_token the test LMS (the demo organisation's LTI 1.3
  platform) signed with its key through a real login (valid once, while the login state lives);
- app API events with the ltik of a real LTI 1.3 launch (``LTIK-AUTH-V2``) and its service key
  (``SERVICE-AUTH-V1``); the Learnosity-style call signed with the owner API key's secret.

It also writes ``env.json`` for ``sam local invoke --env-vars``: the tables and KMS key of the local
gateway. The files hold the demo organisation's secrets: they are written readable by the owner alone,
into the (git-ignored) state directory. The local gateway must be running (its test LMS signs the LTI
1.3 launch and serves its JWKS; the functions reach its moto endpoint).
"""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[4]
TEMPLATES = ROOT / "events"
TEMPLATE_FILE = ROOT / "template.yaml"
ENV_FILE = "env.json"
PREFIX = "Sample events:"
FORM = "application/x-www-form-urlencoded"
# Headers http_api_event sets itself (from the host and the source address).
_GENERATED_HEADERS = ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "x-amzn-trace-id", "host")


class GeneratorError(Exception):
    """The local gateway is not there or refused a request the generator needs: the message says which."""


class _Form(HTMLParser):
    """The hidden fields and action of an auto-submit page (the test LMS's id_token form)."""

    def __init__(self, page: str):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""


class Generator:
    """Makes the events for the demo organisation of ``stack`` (a ``dev-stack.json`` dict)."""

    def __init__(self, stack: dict[str, Any], *, templates: Path = TEMPLATES, timeout: float = 30):
        import requests

        from lti_gateway.local import template as tpl

        self.stack = stack
        self.base = stack["base_url"].rstrip("/")
        self.templates = templates
        self.timeout = timeout
        self.http = requests.Session()
        self.bearer = {"Authorization": f"Bearer {stack['api_key']}"}
        self.router = tpl.Router(tpl.routes(tpl.load_template(TEMPLATE_FILE)))
        self.ids: dict[str, str] = {}

    # -- the local gateway over HTTP -------------------------------------------------------------------
    def call(self, method: str, path: str, *, expect: int | tuple[int, ...] = (200, 201), **kwargs: Any) -> Any:
        url = path if path.startswith("http") else f"{self.base}{path}"
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            answer = self.http.request(method, url, **kwargs)
        except OSError as exc:
            raise GeneratorError(
                f"the local gateway at {self.base} does not answer ({exc.__class__.__name__}): start it with "
                "`make run` in another terminal, then run `make events` again"
            ) from None
        expected = (expect,) if isinstance(expect, int) else expect
        if answer.status_code not in expected:
            raise GeneratorError(f"{method} {urlsplit(url).path} answered {answer.status_code}: {answer.text[:300]}")
        return answer

    def api(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        answer = self.call(method, path, json=body, headers=self.bearer)
        return answer.json() if answer.content else {}

    def prepare(self) -> None:
        """The objects the events act on, made through the admin API (never the user's own)."""
        ids = self.ids
        ids["org_id"] = self.stack["org_id"]
        # A class with two units (get, update, open, exports, reorder), one with a unit to delete, one to delete.
        cls = self.api("POST", "/api/classes", {"name": f"{PREFIX} class"})
        ids["class_id"] = cls["class_id"]
        ids["unit_ids"] = [
            self.api("POST", f"/api/classes/{cls['class_id']}/units", {"name": f"{PREFIX} unit {n}"})["unit_id"]
            for n in (1, 2)
        ]
        other = self.api("POST", "/api/classes", {"name": f"{PREFIX} class whose unit is deleted"})
        ids["delete_unit"] = (
            other["class_id"],
            self.api("POST", f"/api/classes/{other['class_id']}/units", {"name": f"{PREFIX} unit to delete"})[
                "unit_id"
            ],
        )
        ids["delete_class"] = self.api("POST", "/api/classes", {"name": f"{PREFIX} class to delete"})["class_id"]
        ids["key"] = self.api("POST", "/api/keys", {"label": f"{PREFIX} key"})["key"]
        ids["revoke_key"] = self.api("POST", "/api/keys", {"label": f"{PREFIX} key to revoke"})["key"]
        ids["credential_id"] = self.api(
            "POST", "/api/credentials", {"role": "member", "label": f"{PREFIX} credential to revoke"}
        )["credential_id"]
        platform = json.loads(self._template("platforms-create.json")["body"])
        ids["platform_id"] = self.api("POST", "/api/platforms", {**platform, "clientId": secrets.token_hex(8)})["id"]
        ids["delete_platform"] = self.api(
            "POST", "/api/platforms", {**platform, "clientId": secrets.token_hex(8), "name": f"{PREFIX} to delete"}
        )["id"]
        registration = self.api("POST", "/api/platforms/registration-url", {"expires_in_seconds": 3600})
        ids["registration_token"] = registration["registration_url"].rstrip("/").rsplit("/", 1)[1]

    # -- LTI ------------------------------------------------------------------------------------------
    def lti13_login(self, target: str) -> str:
        """The login URL the test LMS sends a learner to (a new pending launch at the LMS)."""
        form = {"target": target, "user": "student-1", "role": "learner", "lti_version": "1.3"}
        answer = self.call("POST", "/_lms/launch", data=form, headers={"Origin": self.base}, expect=302)
        return answer.headers["Location"]

    def lti13_launch(self, target: str) -> tuple[str, bytes, dict[str, str]]:
        """A real login (the gateway's state and cookie), then the id_token the test LMS signs for it.
        Answers ``(launch URL, form body, cookies)``: the POST a browser would make next, not made."""
        import requests

        browser = requests.Session()
        login = self.call("GET", self.lti13_login(target), expect=302)
        browser.cookies.update(login.cookies)
        auth = self.call("GET", login.headers["Location"], expect=200)
        form = _Form(auth.text)
        if not form.action or "id_token" not in form.fields:
            raise GeneratorError("the test LMS answered no id_token form")
        cookies = {c.name: c.value for c in login.cookies}
        return form.action, urlencode(form.fields).encode(), cookies

    def ltik(self) -> str:
        """The ltik of a real LTI 1.3 launch (learner, the sample class's first unit)."""
        target = f"{self.ids['class_id']}/{self.ids['unit_ids'][0]}"
        action, body, cookies = self.lti13_launch(target)
        landed = self.call(
            "POST",
            action,
            data=body,
            headers={"Content-Type": FORM, "Origin": self.base},
            cookies=cookies,
            expect=302,
        )
        query = dict(parse_qsl(urlsplit(landed.headers["Location"]).query))
        if "ltik" not in query:
            raise GeneratorError("the LTI 1.3 launch did not hand over an ltik")
        return query["ltik"]

    def lti11_body(self, template: dict[str, Any], url: str) -> bytes:
        from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_BODY, Client

        fields = parse_qsl(_body_text(template), keep_blank_values=True)
        params = [(k, v) for k, v in fields if not k.startswith("oauth_")]
        client = Client(
            self.stack["consumer_key"],
            client_secret=self.stack["consumer_secret"],
            callback_uri=dict(fields).get("oauth_callback"),
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_BODY,
        )
        _uri, _headers, signed = client.sign(url, http_method="POST", body=params, headers={"Content-Type": FORM})
        return signed.encode()

    def learnosity_body(self, template: dict[str, Any]) -> bytes:
        from lti_gateway.lti11.learnosity import expected_signature

        form = dict(parse_qsl(_body_text(template), keep_blank_values=True))
        credential_id, _, secret = self.stack["api_key"].partition(".")
        now = time.time()
        security = {
            "consumer_key": credential_id,
            "domain": json.loads(form["security"]).get("domain", "localhost"),
            "timestamp": time.strftime("%Y%m%d-%H%M", time.gmtime(now)),
            "expires": time.strftime("%Y%m%d-%H%M", time.gmtime(now + 3000)),
        }
        request = json.dumps({"label": f"{PREFIX} Learnosity"}, separators=(",", ":"))
        security["signature"] = expected_signature(secret, security, request, form.get("action", "set"))
        return urlencode({"security": json.dumps(security), "request": request, "action": form["action"]}).encode()

    # -- events -----------------------------------------------------------------------------------------
    def _template(self, name: str) -> dict[str, Any]:
        return json.loads((self.templates / name).read_text(encoding="utf-8"))

    def event(self, name: str, **live: Any) -> dict[str, Any]:
        """``events/<name>`` for the local gateway: ``live`` = target, body, authorization, extra headers."""
        from lti_gateway.local.events import http_api_event, split_target

        template = self._template(name)
        method = template["requestContext"]["http"]["method"]
        target = live.get("target") or _target(template)
        path, _ = split_target(target)
        matched = self.router.match(method, path)
        if matched is None:
            raise GeneratorError(f"{name}: no route of template.yaml for {method} {path}")
        route, params = matched
        headers = {k: v for k, v in template["headers"].items() if k not in _GENERATED_HEADERS}
        if "authorization" in headers:
            headers["authorization"] = live["authorization"]
        headers.update(live.get("headers", {}))
        headers["host"] = urlsplit(self.base).netloc
        cookies = live.get("cookies") or {}
        if cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = live.get("body")
        if body is None:
            body = _body_text(template).encode() if template.get("body") else b""
        return http_api_event(
            method=method,
            target=target,
            headers=list(headers.items()),
            body=body,
            route_key=route.route_key,
            path_parameters=params or None,
        )

    def generate(self) -> dict[str, dict[str, Any]]:
        """Every event of ``events/``, live: ``{file name: event}``."""
        self.prepare()
        ids = self.ids
        api_key = self.stack["api_key"]
        bearer = f"Bearer {api_key}"
        cls, (unit1, unit2) = ids["class_id"], ids["unit_ids"]
        plt = ids["platform_id"]
        ltik = self.ltik()
        idtoken = self.call("GET", "/api/idtoken", headers={"Authorization": f"LTIK-AUTH-V2 {api_key}:{ltik}"}).json()
        service_key = (idtoken.get("services") or {}).get("serviceKey")
        items = self.call("GET", "/api/lineitems", headers={"Authorization": f"LTIK-AUTH-V2 {api_key}:{ltik}"}).json()
        line_items = items.get("lineItems") or []
        if not service_key or not line_items:
            raise GeneratorError("the LTI 1.3 launch has no service key or line item (AGS)")
        line_item = line_items[0]["id"].rstrip("/").rsplit("/", 1)[-1]

        targets: dict[str, str] = {
            "classes-delete.json": f"/api/classes/{ids['delete_class']}",
            "classes-get.json": f"/api/classes/{cls}",
            # The demo class: its LMS URL is set, so an instructor is sent there (a new class answers 409).
            "classes-open.json": f"/classes/{self.stack['class_id']}/open",
            "classes-update.json": f"/api/classes/{cls}",
            "credentials-revoke.json": f"/api/credentials/{ids['credential_id']}",
            "exports-class.json": f"/api/classes/{cls}/lti-settings",
            "exports-unit-config.json": f"/api/classes/{cls}/units/{unit1}/lti-config.xml",
            "keys-get.json": f"/api/keys/{ids['key']}",
            "keys-revoke.json": f"/api/keys/{ids['revoke_key']}",
            "keys-rotate.json": f"/api/keys/{ids['key']}/rotate",
            "platforms-activate.json": f"/api/platforms/{plt}/activate",
            "platforms-deactivate.json": f"/api/platforms/{plt}/deactivate",
            "platforms-delete.json": f"/api/platforms/{ids['delete_platform']}",
            "platforms-get.json": f"/api/platforms/{plt}",
            "platforms-update.json": f"/api/platforms/{plt}",
            "platforms-lti11-bindings-list.json": f"/api/platforms/{plt}/lti11-bindings",
            # No LTI 1.1 -> 1.3 binding is waiting: these answer 404 (a binding needs a 1.1 launch first).
            "platforms-lti11-bindings-approve.json": f"/api/platforms/{plt}/lti11-bindings/lb_{'0' * 32}/approve",
            "platforms-lti11-bindings-reject.json": f"/api/platforms/{plt}/lti11-bindings/lb_{'0' * 32}/reject",
            # Another class than the reordered one: reorder names exactly the class's units.
            "units-create.json": f"/api/classes/{ids['delete_unit'][0]}/units",
            "units-delete.json": "/api/classes/{}/units/{}".format(*ids["delete_unit"]),
            "units-get.json": f"/api/classes/{cls}/units/{unit1}",
            "units-list.json": f"/api/classes/{cls}/units",
            "units-reorder.json": f"/api/classes/{cls}/units/reorder",
            "units-update.json": f"/api/classes/{cls}/units/{unit1}",
            "token-score.json": f"/api/lineitems/{line_item}/scores",
            # The roster of the launch's own NRPS endpoint (a `url` must be on the platform's origin).
            "token-memberships.json": "/api/memberships?limit=50",
        }
        bodies: dict[str, Any] = {
            "keys-create-supplied.json": {"key": f"moodle.consumer-key.{secrets.token_hex(4)}"},
            "platforms-create.json": {"clientId": secrets.token_hex(8), "name": f"{PREFIX} platform"},
            "units-reorder.json": {"unit_ids": [unit2, unit1]},
            # The demo app's URL (the shipped body's would send the demo organisation's launches elsewhere).
            "org-update.json": {"app_launch_url": self.stack["app_launch_url"]},
            "token-score.json": {"userId": "student-1"},
        }
        events: dict[str, dict[str, Any]] = {}
        for path in sorted(self.templates.glob("*.json")):
            name = path.name
            template = self._template(name)
            live: dict[str, Any] = {"authorization": bearer}
            if name in targets:
                query = template.get("rawQueryString")
                live["target"] = targets[name] + (f"?{query}" if query and "?" not in targets[name] else "")
            if name in bodies:
                live["body"] = json.dumps({**json.loads(template["body"]), **bodies[name]}).encode()
            auth = template["headers"].get("authorization", "")
            if auth.startswith("LTIK-AUTH-V2"):
                live["authorization"] = f"LTIK-AUTH-V2 {api_key}:{ltik}"
            elif auth.startswith("SERVICE-AUTH-V1"):
                live["authorization"] = f"SERVICE-AUTH-V1 {api_key}:{service_key}"
            events[name] = self.special(name, template, live)
        return events

    def special(self, name: str, template: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
        """The events whose request is more than a target and a key: launches, login, register, Learnosity."""
        stack, ids = self.stack, self.ids
        if name in ("launch-lti11-class.json", "launch-lti11-unit.json"):
            url = stack["class_launch_url"] if "class" in name else stack["units"][0]["launch_url"]
            live.update(target=urlsplit(url).path, body=self.lti11_body(template, url))
        elif name == "launch-lti13-login.json":
            login = urlsplit(self.lti13_login(f"{ids['class_id']}/{ids['unit_ids'][0]}"))
            live["target"] = f"{login.path}?{login.query}"
        elif name == "launch-lti13.json":
            action, body, cookies = self.lti13_launch(f"{ids['class_id']}/{ids['unit_ids'][0]}")
            live.update(target=urlsplit(action).path, body=body, cookies=cookies, headers={"origin": self.base})
        elif name == "platforms-register.json":
            query = dict(parse_qsl(template.get("rawQueryString") or ""))
            live["target"] = f"/lti/register/{ids['registration_token']}?{urlencode(query)}"
        elif name == "learnosity-keys-set.json":
            live["body"] = self.learnosity_body(template)
        return self.event(name, **live)

    def environment(self) -> dict[str, Any]:
        """``env.json`` for ``sam local invoke --env-vars``: for every function, the variables template.yaml
        declares (``sam local`` sets no others), as the local gateway resolved them: its tables, its KMS
        key, and its moto endpoints (``DYNAMODB_ENDPOINT_URL``, ``KMS_ENDPOINT_URL``, declared empty)."""
        from lti_gateway.local import template as tpl

        globals_ = tpl.load_template(TEMPLATE_FILE).get("Globals", {}).get("Function", {})
        declared = (globals_.get("Environment") or {}).get("Variables") or {}
        values = {
            **(self.stack.get("environment") or {}),
            "DYNAMODB_ENDPOINT_URL": self.stack.get("dynamodb_endpoint_url") or "",
            "KMS_ENDPOINT_URL": self.stack.get("kms_endpoint_url") or "",
        }
        return {"Parameters": {name: str(values[name]) for name in declared if name in values}}


def _target(template: dict[str, Any]) -> str:
    query = template.get("rawQueryString")
    return template["rawPath"] + (f"?{query}" if query else "")


def _body_text(template: dict[str, Any]) -> str:
    body = template.get("body") or ""
    return base64.b64decode(body).decode() if template.get("isBase64Encoded") else body


def write(events: dict[str, dict[str, Any]], environment: dict[str, Any], out: Path) -> list[Path]:
    """Each event and env.json into ``out`` (made if missing), readable by the owner alone."""
    from lti_gateway.local import persistence

    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = []
    for name, content in {**events, ENV_FILE: environment}.items():
        written.append(persistence.write_private_json(out / name, content))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lti_gateway.local.sample_events", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--state-dir", type=Path, default=Path(".local"), help="where make run keeps dev-stack.json")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: <state dir>/events)")
    args = parser.parse_args(argv)
    state = args.state_dir / "dev-stack.json"
    try:
        stack = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(
            f"make events: cannot read {state} ({exc.__class__.__name__}): start the local gateway with `make run`"
            " in another terminal first",
            file=sys.stderr,
        )
        return 2
    if not stack.get("api_key") or not stack.get("consumer_key"):
        print(f"make events: {state} has no demo organisation (started with --no-seed?)", file=sys.stderr)
        return 2
    out = args.out or args.state_dir / "events"
    try:
        generator = Generator(stack)
        events = generator.generate()
    except GeneratorError as exc:
        print(f"make events: {exc}", file=sys.stderr)
        return 2
    write(events, generator.environment(), out)
    print(f"Wrote {len(events)} events and {ENV_FILE} to {out}/ for the demo organisation at {stack['base_url']}.")
    print("LTI 1.1 launches are valid for 5 minutes and once, the LTI 1.3 launch once; `make events` again.")
    print(
        "Try (Docker; the local gateway running):  sam local invoke LaunchFunction "
        f"-e {out}/launch-lti11-class.json --env-vars {out}/{ENV_FILE} --docker-network host"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
