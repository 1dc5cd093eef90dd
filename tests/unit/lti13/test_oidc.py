"""The OIDC login initiation: what is checked, what is stored, where the browser is sent."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from lti_gateway.core.errors import GatewayError, UnknownPlatform
from lti_gateway.lti13 import oidc, platform_storage
from lti_gateway.lti13.platforms import Registration

BASE = "https://gw.example.com"
NOW = 1_700_000_000
REG = Registration(
    platform_id="plt_0123456789abcdef",
    org_id="org_1",
    name="Canvas",
    issuer="https://canvas.instructure.com",
    client_id="10000000000001",
    deployment_ids=("1:abc",),
    auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect?x=1",
    auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
    jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
    public_key=None,
    auth_server=None,
    active=True,
    allow_anonymous=False,
)


class States:
    def __init__(self) -> None:
        self.items: dict[str, tuple[dict[str, Any], int]] = {}

    def put_state(self, state: str, item: dict[str, Any], *, expires_at: int) -> None:
        assert state not in self.items
        self.items[state] = (item, expires_at)


def find(issuer: str, client_id: str | None) -> Registration:
    if issuer != REG.issuer or client_id not in (None, REG.client_id):
        raise UnknownPlatform("not registered")
    return REG


def params(**changes: str | None) -> dict[str, str]:
    base = {
        "iss": REG.issuer,
        "login_hint": "535fa085f22b4655f48cd5a36a9215f64c062838",
        "target_link_uri": f"{BASE}/lti/launch/cls_0123456789abcdef",
        "lti_message_hint": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ2ZXJpZmllciI6IjEifQ.c2ln",
        "client_id": REG.client_id,
        "lti_deployment_id": "1:abc",
        "canvas_region": "us-east-1",
        "canvas_environment": "prod",
    }
    for name, value in changes.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def login(p: dict[str, str], states: States | None = None, bases=(BASE,), registration=None) -> oidc.LoginRedirect:
    lookup = (lambda i, c: registration) if registration else find
    return oidc.login(p, bases=bases, find_registration=lookup, states=states or States(), now=NOW)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def test_a_canvas_login_redirects_to_the_platform_with_every_oidc_parameter():
    states = States()

    redirect = login(params(), states)

    assert redirect.location.startswith("https://sso.canvaslms.com/api/lti/authorize_redirect?")
    sent = query(redirect.location)
    assert sent["scope"] == "openid" and sent["response_type"] == "id_token"
    assert sent["response_mode"] == "form_post" and sent["prompt"] == "none"
    assert sent["client_id"] == REG.client_id
    assert sent["redirect_uri"] == f"{BASE}/lti/launch"
    assert sent["login_hint"] == params()["login_hint"]
    assert sent["lti_message_hint"] == params()["lti_message_hint"]  # a JWT, untouched
    assert sent["x"] == "1"  # the registered URL's own query is kept
    assert sent["canvas_region"] == "us-east-1" and sent["canvas_environment"] == "prod"
    assert sent["state"] == redirect.state
    item, expires_at = states.items[redirect.state]
    assert sent["nonce"] == item["nonce"] and sent["nonce"] != sent["state"]
    assert expires_at == NOW + 600
    assert item["platform_id"] == REG.platform_id and item["org_id"] == "org_1"
    assert item["issuer"] == REG.issuer and item["client_id"] == REG.client_id
    assert item["target_link_uri"] == params()["target_link_uri"]


def test_state_and_nonce_have_at_least_128_bits_and_are_fresh_each_time():
    seen = set()
    for _ in range(50):
        sent = query(login(params()).location)
        assert len(sent["state"]) >= 22 and len(sent["nonce"]) >= 22  # ≥ 128 bits of base64url
        seen |= {sent["state"], sent["nonce"]}
    assert len(seen) == 100


def test_lti_storage_target_is_not_passed_on_but_asks_for_the_storage_page():
    states = States()
    redirect = login(params(lti_storage_target="post_message_forwarding"), states)

    sent = query(redirect.location)
    assert "lti_storage_target" not in sent and sent["state"] == redirect.state
    assert redirect.storage_target == "post_message_forwarding"
    assert redirect.nonce == sent["nonce"] == states.items[redirect.state][0]["nonce"]


@pytest.mark.parametrize("target", [None, "", "   "])
def test_without_a_storage_target_the_login_is_a_plain_redirect(target):
    assert login(params(lti_storage_target=target)).storage_target is None


def test_the_client_id_may_be_omitted_and_so_may_the_message_hint():
    sent = query(login(params(client_id=None, lti_message_hint=None, lti_deployment_id=None)).location)
    assert sent["client_id"] == REG.client_id and "lti_message_hint" not in sent


def test_an_extra_parameter_never_overrides_an_oidc_one():
    hostile = params(redirect_uri="https://evil.example/steal", response_mode="query", prompt="login", nonce="x")
    hostile |= {"claims": "{}", "scope_extra": "fine", "Weird-Name": "dropped"}

    pairs = parse_qsl(urlsplit(login(hostile).location).query)
    sent = dict(pairs)

    assert sent["redirect_uri"] == f"{BASE}/lti/launch"
    assert sent["response_mode"] == "form_post" and sent["prompt"] == "none" and sent["nonce"] != "x"
    assert "claims" not in sent and "Weird-Name" not in sent and sent["scope_extra"] == "fine"
    assert len([k for k, _ in pairs if k == "redirect_uri"]) == 1


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE}/lti/launch",
        f"{BASE}/lti/launch/",
        f"{BASE}/lti/launch/cls_0123456789abcdef/unt_0123456789abcdef",
        f"{BASE}:443/lti/launch?x=1",
        "HTTPS://GW.EXAMPLE.COM/lti/launch",
    ],
)
def test_launch_urls_of_this_gateway_are_accepted_as_targets(target):
    assert login(params(target_link_uri=target)).state


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/lti/launch",
        "http://gw.example.com/lti/launch",
        "https://gw.example.com:8443/lti/launch",
        "https://gw.example.com/api/keys",
        "https://gw.example.com/lti/launchpad",
        "https://gw.example.com/lti/launch/a/b/c",
        "https://user@gw.example.com/lti/launch",
        "https://gw.example.com/lti/launch#frag",
        "javascript:alert(1)",
        "https://[::1/lti/launch",
    ],
)
def test_a_target_link_uri_elsewhere_is_refused(target):
    states = States()
    with pytest.raises(GatewayError) as caught:
        login(params(target_link_uri=target), states)
    assert (caught.value.status, caught.value.code) == (400, "invalid_target_link_uri")
    assert states.items == {}


def test_a_base_with_a_path_prefix():
    assert oidc.launch_target("https://x.example/prod/lti/launch/cls_1", ["https://x.example/prod"]) == (
        "https://x.example/prod",
        "cls_1",
        None,
    )
    assert oidc.launch_target("https://x.example/lti/launch/cls_1", ["https://x.example/prod"]) is None


@pytest.mark.parametrize("missing", ["iss", "login_hint", "target_link_uri"])
def test_a_required_parameter_missing_is_a_400_and_stores_nothing(missing):
    states = States()
    with pytest.raises(GatewayError) as caught:
        login(params(**{missing: None}), states)
    assert (caught.value.status, caught.value.code) == (400, "missing_login_parameter")
    assert states.items == {}


def test_an_unknown_platform_or_deployment_is_refused():
    with pytest.raises(GatewayError) as caught:
        login(params(iss="https://unknown.example"))
    assert caught.value.code == "unknown_platform"
    with pytest.raises(GatewayError) as caught:
        login(params(lti_deployment_id="9:zzz"))
    assert caught.value.code == "unknown_deployment"


def test_a_repeated_login_parameter_is_refused_and_repeated_extras_keep_the_first():
    with pytest.raises(GatewayError) as caught:
        oidc.login_params([("iss", "a"), ("iss", "b")])
    assert caught.value.code == "duplicate_login_parameter"
    assert oidc.login_params([("x", "1"), ("x", "2")]) == {"x": "1"}


def test_oversized_parameters_are_refused():
    with pytest.raises(GatewayError) as caught:
        login(params(login_hint="h" * 5000))
    assert caught.value.code == "invalid_login_parameter"


def test_an_auth_login_url_that_is_not_http_is_never_redirected_to():
    with pytest.raises(GatewayError):
        login(params(), registration=replace(REG, auth_login_url="javascript:alert(1)"))


# -- LTI client-side postMessage storage (lti_storage_target) -------------------------------------------

_SCRIPT = re.compile(r"<script nonce=\"([^\"]+)\">(.*?)</script>", re.S)


def storage_page(target: str, csp_nonce: str = "csp-nonce-1") -> tuple[oidc.LoginRedirect, str]:
    redirect = login(params(lti_storage_target=target))
    page = platform_storage.login_page(
        location=redirect.location,
        target=redirect.storage_target or "",
        state=redirect.state,
        nonce=redirect.nonce,
        csp_nonce=csp_nonce,
    )
    return redirect, page


def script_config(page: str) -> dict[str, Any]:
    [(_, script)] = _SCRIPT.findall(page)
    return json.loads(re.search(r"var c = (\{.*?\});\n", script).group(1))


def test_the_storage_page_puts_state_and_nonce_then_goes_where_the_redirect_would():
    redirect, page = storage_page("post_message_forwarding")

    config = script_config(page)
    assert config["location"] == redirect.location  # the very URL the 302 would carry
    assert config["origin"] == "https://sso.canvaslms.com"  # the OIDC auth URL's origin, not '*'
    assert config["target"] == "post_message_forwarding"
    assert config["timeout_ms"] == platform_storage.TIMEOUT_MS <= 3000
    state, nonce = redirect.state, redirect.nonce
    assert [(m["subject"], m["key"], m["value"]) for m in config["messages"]] == [
        ("lti.put_data", f"state_{state}", state),
        ("lti.put_data", f"nonce_{nonce}", nonce),
    ]
    ids = [m["message_id"] for m in config["messages"]]
    assert len(set(ids)) == 2 and all(ids)
    # The script posts to that origin only, accepts answers from it only, and always continues.
    script = _SCRIPT.findall(page)[0][1]
    assert "postMessage(message, c.origin)" in script and "event.origin !== c.origin" in script
    assert '"lti.put_data.response"' in script and "setTimeout(go, c.timeout_ms)" in script
    assert "window.parent" in script and "window.opener" in script
    assert "'*'" not in script and '"*"' not in script


def test_the_storage_page_has_one_nonced_script_and_a_link_for_browsers_without_scripts():
    redirect, page = storage_page("_parent", csp_nonce="n0nce-ABC_123")

    assert [n for n, _ in _SCRIPT.findall(page)] == ["n0nce-ABC_123"]
    assert page.count("<script") == 1 and page.count("</script>") == 1
    assert f'<a href="{html.escape(redirect.location, quote=True)}">' in page
    policy = platform_storage.content_security_policy("n0nce-ABC_123")
    assert "default-src 'none'" in policy and "script-src 'nonce-n0nce-ABC_123'" in policy
    assert "unsafe-inline" not in policy and "base-uri 'none'" in policy and "frame-ancestors" not in policy


@pytest.mark.parametrize(
    "target",
    [
        "</script><script>alert(1)</script>",
        "'; alert(1); //",
        '"; alert(1); //',
        "<!--<script>",
        "x\u2028y\u2029z",
        '\\"};alert(1);//',
        "&lt;&amp;",
    ],
)
def test_a_hostile_storage_target_stays_data(target):
    _, page = storage_page(target)

    assert page.count("<script") == 1 and page.count("</script>") == 1 and "<!--" not in page
    assert script_config(page)["target"] == target  # decoded back exactly: it never became code


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://sso.canvaslms.com/api/lti/authorize_redirect?x=1", "https://sso.canvaslms.com"),
        ("HTTPS://LMS.Example.EDU:443/auth", "https://lms.example.edu"),
        ("https://lms.example.edu:8443/auth", "https://lms.example.edu:8443"),
        ("http://127.0.0.1:8080/auth", "http://127.0.0.1:8080"),
        ("http://[::1]:80/auth", "http://[::1]"),
    ],
)
def test_the_target_origin_is_the_one_a_browser_computes(url, origin):
    assert platform_storage.origin(url) == origin


# The page's script, run by node against a fake window (skipped where node is not installed).

_HARNESS = r"""
const vm = require("vm");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const log = [];
const queue = [];
let listeners = [];
const timers = [];
const win = {
  addEventListener(type, fn) { if (type === "message") listeners.push(fn); },
  removeEventListener(type, fn) { listeners = listeners.filter((f) => f !== fn); },
  setTimeout(fn, ms) { timers.push([fn, ms]); return timers.length; },
  location: { replace(url) { log.push(["navigate", url]); } },
};
win.window = win;
function deliver(data, origin) { for (const fn of listeners.slice()) fn({ data, origin }); }
function post(message, targetOrigin) {
  log.push(["post", message.subject, message.key, targetOrigin]);
  const answer = input.answer;
  if (!answer) return;
  const data = { subject: "lti.put_data.response", message_id: message.message_id };
  if (answer.error) data.error = { code: "bad_request", message: "no" };
  if (answer.wrong_id) data.message_id = "someone-else";
  for (let i = 0; i < (answer.times || 1); i++) queue.push(() => deliver(data, answer.origin));
}
const frame = { postMessage: post };
const host = {
  postMessage: post,
  frames: new Proxy({}, {
    get(_, name) {
      if (name === input.frame) return frame;
      if (input.cross_origin) throw new Error("SecurityError: cross-origin access");
      return undefined;
    },
  }),
};
win.parent = input.framed ? host : win;
win.opener = input.opener ? host : null;
vm.runInNewContext(input.script, { window: win });
while (queue.length) queue.shift()();
log.push(["timers", timers.map((t) => t[1])]);
for (const [fn] of timers) { log.push(["timeout"]); fn(); }
process.stdout.write(JSON.stringify(log));
"""


NODE = shutil.which("node") or "node"


def run_page(page: str, **scenario: Any) -> list[list[Any]]:
    [(_, script)] = _SCRIPT.findall(page)
    answer = subprocess.run(  # noqa: S603 -- our own harness and page
        [NODE, "-e", _HARNESS],
        input=json.dumps({"script": script, **scenario}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(answer.stdout)


needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
AUTH_ORIGIN = "https://sso.canvaslms.com"


@needs_node
def test_the_script_stores_both_values_and_continues_once_the_platform_answered():
    redirect, page = storage_page("post_message_forwarding")

    log = run_page(page, framed=True, frame="post_message_forwarding", answer={"origin": AUTH_ORIGIN})

    assert log[:2] == [
        ["post", "lti.put_data", f"state_{redirect.state}", AUTH_ORIGIN],
        ["post", "lti.put_data", f"nonce_{redirect.nonce}", AUTH_ORIGIN],
    ]
    assert log[2] == ["navigate", redirect.location]  # before any timeout
    assert [entry for entry in log if entry[0] == "navigate"] == [["navigate", redirect.location]]  # once


@needs_node
@pytest.mark.parametrize(
    "answer",
    [
        None,  # the platform never answers
        {"origin": "https://evil.example"},  # someone else answers: ignored
        {"origin": AUTH_ORIGIN, "wrong_id": True},  # an answer to another message: ignored
    ],
)
def test_without_a_proper_answer_the_script_continues_after_the_timeout(answer):
    redirect, page = storage_page("post_message_forwarding")

    log = run_page(page, framed=True, frame="post_message_forwarding", answer=answer)

    assert [e[0] for e in log] == ["post", "post", "timers", "timeout", "navigate"]
    assert log[2] == ["timers", [platform_storage.TIMEOUT_MS]] and log[-1] == ["navigate", redirect.location]


@needs_node
def test_an_error_answer_still_continues_at_once():
    _, page = storage_page("post_message_forwarding")

    log = run_page(page, framed=True, frame="post_message_forwarding", answer={"origin": AUTH_ORIGIN, "error": True})

    assert [e[0] for e in log[:3]] == ["post", "post", "navigate"]


@needs_node
def test_parent_means_the_embedding_window_and_an_opener_serves_when_not_framed():
    _, page = storage_page("_parent")
    framed = run_page(page, framed=True, frame="unused", answer={"origin": AUTH_ORIGIN})
    opened = run_page(page, framed=False, opener=True, frame="unused", answer={"origin": AUTH_ORIGIN})

    for log in (framed, opened):
        assert [e[0] for e in log[:3]] == ["post", "post", "navigate"]


@needs_node
@pytest.mark.parametrize(
    "scenario",
    [
        {"framed": False, "opener": False, "frame": "post_message_forwarding"},  # top level, no opener
        {"framed": True, "frame": "another-frame"},  # no such frame
        {"framed": True, "frame": "another-frame", "cross_origin": True},  # the lookup throws
    ],
)
def test_with_no_storage_frame_the_script_goes_straight_on(scenario):
    redirect, page = storage_page("post_message_forwarding")

    log = run_page(page, **scenario)

    assert log[0] == ["navigate", redirect.location] and not [e for e in log if e[0] == "post"]


@needs_node
def test_a_hostile_target_is_only_ever_a_frame_name():
    target = "</script><script>window.location.replace('https://evil.example')</script>"
    redirect, page = storage_page(target)

    log = run_page(page, framed=True, frame=target, answer={"origin": AUTH_ORIGIN})

    assert [e for e in log if e[0] == "navigate"] == [["navigate", redirect.location]]


# -- the state bound to the browser (issue 13, item 8) -----------------------------------------------------


def sha256(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()


def test_the_login_binds_the_state_to_a_host_only_cookie_whose_hash_alone_is_stored():
    states = States()
    redirect = login(params(), states)

    cookie = redirect.cookie
    assert cookie is not None and cookie.name == "__Host-lti_state_" + sha256(redirect.state)[:16]
    assert len(cookie.value) >= 43 and cookie.value not in (redirect.state, redirect.nonce)
    assert str(cookie).split("; ")[1:] == [
        "Path=/",
        f"Max-Age={oidc.STATE_LIFETIME_SECONDS}",
        "HttpOnly",
        "Secure",
        "SameSite=None",
        "Partitioned",
    ]
    item, _ = states.items[redirect.state]
    assert item["browser_cookie"] == cookie.name and item["browser_binding"] == sha256(cookie.value)
    assert cookie.value not in json.dumps(item) and "storage_proof" not in item  # no storage offered
    assert login(params()).cookie.value != cookie.value  # fresh per login


def test_on_plain_http_the_cookie_has_no_host_prefix_and_is_lax():
    http_base = "http://127.0.0.1:3000"
    redirect = login(params(target_link_uri=f"{http_base}/lti/launch"), bases=(http_base,))

    assert redirect.cookie.name.startswith("lti_state_")
    assert str(redirect.cookie).split("; ")[1:] == ["Path=/", "Max-Age=600", "HttpOnly", "SameSite=Lax"]


def test_a_storage_login_remembers_the_frame_the_origin_and_a_one_time_proof():
    states = States()
    redirect = login(params(lti_storage_target="post_message_forwarding"), states)

    item, _ = states.items[redirect.state]
    assert item["storage_target"] == "post_message_forwarding" and item["storage_origin"] == AUTH_ORIGIN
    assert len(item["storage_proof"]) >= 43 and item["storage_proof"] not in redirect.location


STATE = "s" * 43
BINDING = "b" * 43
OURS = "https://gw.example.com"


def state_record(**changes: Any) -> dict[str, Any]:
    item = {"browser_cookie": f"__Host-lti_state_{sha256(STATE)[:16]}", "browser_binding": sha256(BINDING)}
    return {**item, **changes}


def storage_record() -> dict[str, Any]:
    return state_record(storage_target="_parent", storage_origin=AUTH_ORIGIN, storage_proof="p" * 43)


def outcome(event: dict[str, Any], values: dict[str, str], item: dict[str, Any]) -> str:
    """'accepted', 'storage_check_required', or the refusal's code (always a 400)."""
    try:
        oidc.browser_check(event, {"state": STATE, "id_token": "a.b.c", **values}, [OURS])(item)
    except oidc.StorageCheckRequired:
        return "storage_check_required"
    except GatewayError as error:
        assert error.status == 400
        return error.code
    return "accepted"


NAME = f"__Host-lti_state_{sha256(STATE)[:16]}"


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"cookies": [f"{NAME}={BINDING}"]}, "accepted"),
        ({"cookies": ["other=1", f"{NAME}={BINDING}"]}, "accepted"),
        ({"headers": {"cookie": f"x=1; {NAME}={BINDING}"}}, "accepted"),
        ({"headers": {"Cookie": f'{NAME}="{BINDING}"'}}, "accepted"),
        ({"cookies": [f"{NAME}={BINDING[:-1]}"]}, "state_not_from_this_browser"),
        ({"cookies": [f"{NAME}="]}, "state_not_from_this_browser"),
        ({"cookies": [f"lti_state_{sha256(STATE)[:16]}={BINDING}"]}, "browser_not_bound"),  # no __Host-
        ({"cookies": [f"__Host-lti_state_{sha256('x' * 43)[:16]}={BINDING}"]}, "browser_not_bound"),
        ({}, "browser_not_bound"),
        ({"cookies": "not a list", "headers": None}, "browser_not_bound"),
    ],
)
def test_the_cookie_decides_when_it_comes_back(event, expected):
    assert outcome(event, {}, state_record()) == expected


def test_a_state_item_from_before_the_binding_is_refused():
    assert outcome({"cookies": [f"{NAME}={BINDING}"]}, {}, {}) == "browser_not_bound"


def test_without_a_cookie_a_storage_login_asks_the_platform_storage_and_carries_no_secret_in_the_exception():
    values = {"id_token": "header.payload.signature"}
    with pytest.raises(oidc.StorageCheckRequired) as caught:
        oidc.browser_check({}, {"state": STATE, **values}, [OURS])(storage_record())

    check = caught.value
    assert (check.state, check.target, check.origin, check.proof) == (STATE, "_parent", AUTH_ORIGIN, "p" * 43)
    assert check.id_token == values["id_token"] and check.args == () and "header" not in repr(check)


SAME_SITE = {"headers": {"origin": OURS, "sec-fetch-site": "same-origin"}}


@pytest.mark.parametrize(
    ("event", "values", "expected"),
    [
        (SAME_SITE, {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43}, "accepted"),
        (
            {"headers": {"sec-fetch-site": "same-origin"}},
            {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43},
            "accepted",
        ),
        ({"headers": {"origin": OURS}}, {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43}, "accepted"),
        (SAME_SITE, {"lti_storage_value": "", "lti_storage_proof": "p" * 43}, "state_not_from_this_browser"),
        (SAME_SITE, {"lti_storage_value": STATE + "x", "lti_storage_proof": "p" * 43}, "state_not_from_this_browser"),
        (SAME_SITE, {"lti_storage_value": STATE, "lti_storage_proof": "q" * 43}, "storage_check_failed"),
        (SAME_SITE, {"lti_storage_value": STATE, "lti_storage_proof": ""}, "storage_check_failed"),
        (
            {"headers": {"origin": "https://evil.example", "sec-fetch-site": "same-origin"}},
            {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43},
            "storage_check_failed",
        ),
        (
            {"headers": {"origin": "null", "sec-fetch-site": "cross-site"}},
            {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43},
            "storage_check_failed",
        ),
        ({"headers": {}}, {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43}, "storage_check_failed"),
    ],
)
def test_the_platform_storage_answer_must_be_the_state_posted_by_our_page(event, values, expected):
    assert outcome(event, values, storage_record()) == expected


def test_a_proof_posted_for_a_login_without_storage_is_refused():
    values = {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43}
    assert outcome(SAME_SITE, values, state_record()) == "browser_not_bound"


def test_a_mismatched_cookie_is_refused_even_when_the_platform_storage_would_vouch():
    values = {"lti_storage_value": STATE, "lti_storage_proof": "p" * 43}
    event = {**SAME_SITE, "cookies": [f"{NAME}=wrong"]}
    assert outcome(event, values, storage_record()) == "state_not_from_this_browser"


# -- the launch check page ------------------------------------------------------------------------------------

_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def check_of(**changes: str) -> oidc.StorageCheckRequired:
    values = {"id_token": "h.p.s", "state": STATE, "target": "_parent", "origin": AUTH_ORIGIN, "proof": "p" * 43}
    return oidc.StorageCheckRequired(**{**values, **changes})


def test_the_check_page_posts_the_launch_again_with_the_proof_and_an_empty_value():
    page = platform_storage.launch_check_page(check_of(), csp_nonce="n1")

    fields = dict(_FIELD.findall(page))
    assert fields == {"id_token": "h.p.s", "state": STATE, "lti_storage_proof": "p" * 43, "lti_storage_value": ""}
    assert '<form id="launch" method="post">' in page and "action=" not in page  # back to the same URL
    [(nonce, _)] = _SCRIPT.findall(page)
    assert nonce == "n1"
    config = platform_storage.launch_check_config(check_of())
    assert config["key"] == f"state_{STATE}" and config["origin"] == AUTH_ORIGIN


@pytest.mark.parametrize("hostile", ['"><script>alert(1)</script>', "</script><!--", "a\u2028b"])
def test_hostile_values_stay_data_on_the_check_page(hostile):
    page = platform_storage.launch_check_page(check_of(id_token=hostile, target=hostile), csp_nonce="n1")

    assert page.count("<script") == 1 and page.count("</script>") == 1 and "<!--" not in page
    assert html.unescape(dict(_FIELD.findall(page))["id_token"]) == hostile


def test_the_check_page_answer_sends_origin_and_keeps_scripts_to_its_nonce():
    answer = platform_storage.launch_check_response(check_of())

    assert answer.status_code == 200 and answer.headers["Referrer-Policy"] == "same-origin"
    policy = answer.headers["Content-Security-Policy"]
    [(nonce, _)] = _SCRIPT.findall(answer.body)
    assert policy == (
        f"default-src 'none'; base-uri 'none'; form-action 'self' https:; script-src 'nonce-{nonce}'; frame-ancestors *"
    )


_CHECK_HARNESS = r"""
const vm = require("vm");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const log = [];
const queue = [];
let listeners = [];
const timers = [];
const field = { value: "" };
const form = { elements: { lti_storage_value: field }, submit() { log.push(["submit", field.value]); } };
const win = {
  addEventListener(type, fn) { if (type === "message") listeners.push(fn); },
  removeEventListener(type, fn) { listeners = listeners.filter((f) => f !== fn); },
  setTimeout(fn, ms) { timers.push([fn, ms]); return timers.length; },
};
win.window = win;
const doc = { getElementById(id) { return id === "launch" ? form : null; } };
function deliver(data, origin) { for (const fn of listeners.slice()) fn({ data, origin }); }
function post(message, targetOrigin) {
  log.push(["post", message.subject, message.key, targetOrigin]);
  const answer = input.answer;
  if (!answer) return;
  const data = { subject: "lti.get_data.response", message_id: message.message_id, key: message.key };
  data.value = answer.value;
  if (answer.error) { delete data.value; data.error = { code: "bad_request", message: "no" }; }
  if (answer.wrong_id) data.message_id = "someone-else";
  queue.push(() => deliver(data, answer.origin));
  queue.push(() => deliver(data, answer.origin));  // a second answer changes nothing
}
const frame = { postMessage: post };
const host = { postMessage: post, frames: { [input.frame]: frame } };
win.parent = input.framed ? host : win;
win.opener = null;
vm.runInNewContext(input.script, { window: win, document: doc });
while (queue.length) queue.shift()();
for (const [fn] of timers) { log.push(["timeout"]); fn(); }
process.stdout.write(JSON.stringify(log));
"""


def run_check_page(**scenario: Any) -> list[list[Any]]:
    page = platform_storage.launch_check_page(check_of(target="post_message_forwarding"), csp_nonce="n1")
    [(_, script)] = _SCRIPT.findall(page)
    answer = subprocess.run(  # noqa: S603 -- our own harness and page
        [NODE, "-e", _CHECK_HARNESS],
        input=json.dumps({"script": script, **scenario}),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(answer.stdout)


@needs_node
def test_the_check_page_reads_the_state_and_posts_what_the_platform_answered_once():
    log = run_check_page(framed=True, frame="post_message_forwarding", answer={"origin": AUTH_ORIGIN, "value": STATE})

    assert log[0] == ["post", "lti.get_data", f"state_{STATE}", AUTH_ORIGIN]
    assert [e for e in log if e[0] == "submit"] == [["submit", STATE]]  # once, before any timeout


@needs_node
@pytest.mark.parametrize(
    ("scenario", "submitted"),
    [
        (
            {"framed": True, "frame": "post_message_forwarding", "answer": {"origin": AUTH_ORIGIN, "value": "other"}},
            "other",
        ),
        (
            {
                "framed": True,
                "frame": "post_message_forwarding",
                "answer": {"origin": "https://evil.example", "value": STATE},
            },
            "",
        ),
        (
            {
                "framed": True,
                "frame": "post_message_forwarding",
                "answer": {"origin": AUTH_ORIGIN, "value": STATE, "wrong_id": True},
            },
            "",
        ),
        ({"framed": True, "frame": "post_message_forwarding", "answer": {"origin": AUTH_ORIGIN, "error": True}}, ""),
        ({"framed": True, "frame": "post_message_forwarding", "answer": None}, ""),
        ({"framed": True, "frame": "another-frame"}, ""),
        ({"framed": False, "frame": "post_message_forwarding"}, ""),
    ],
)
def test_the_check_page_posts_an_empty_value_unless_the_platform_itself_answered(scenario, submitted):
    log = run_check_page(**scenario)

    assert [e for e in log if e[0] == "submit"] == [["submit", submitted]]
