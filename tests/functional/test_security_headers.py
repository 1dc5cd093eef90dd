"""Security headers on every answer, through the handlers (issue 13, item 15).

Every HTML answer carries a Content-Security-Policy (``default-src 'none'``, ``base-uri 'none'``,
``form-action`` limited, ``frame-ancestors``), ``X-Content-Type-Options: nosniff`` and
``Referrer-Policy: no-referrer`` (the storage check page: ``same-origin``, so its own POST carries
``Origin``). Pages an LMS iframe shows during a login or launch (launch and login error pages, the
storage pages, dynamic registration) may be framed by any LMS (``frame-ancestors *``); every other page
is ``frame-ancestors 'none'`` with ``X-Frame-Options: DENY``. Redirects carry ``no-referrer``; JSON
answers of every route family carry ``nosniff``.

Browser-free check that the pages still work under their policy: every ``<script>`` and ``<style>``
element carries a nonce the policy admits, no event-handler attribute exists, and ``style`` attributes
appear only where ``style-src`` admits ``'unsafe-inline'``.
"""

from __future__ import annotations

import secrets
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from tests.conftest import invoke
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_api import HOST
from tests.support.app_fixtures import *  # noqa: F403 - the lti11_world and lti13 fixtures
from tests.support.app_fixtures import APP, CLIENT_ID
from tests.support.events import vary
from tests.support.stack import load_function


@pytest.fixture
def export_fn(stack):
    module = load_function("export")
    return lambda event: invoke(module, event)


FRAMED = "framed"
UNFRAMED = "unframed"


def policy_of(answer) -> dict[str, str]:
    text = answer.headers["content-security-policy"]
    parts = [p.strip().split(" ", 1) for p in text.split(";") if p.strip()]
    names = [p[0] for p in parts]
    assert len(names) == len(set(names)), f"a directive twice: {text}"
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


class _Inline(HTMLParser):
    """Every inline script and style element, event-handler and style attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.handlers: list[str] = []
        self.style_attributes = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self.elements.append((tag, attributes))
        self.handlers += [name for name in attributes if name.startswith("on")]
        self.style_attributes += "style" in attributes


def admitted(policy: dict[str, str], directive: str) -> set[str]:
    return set(policy.get(directive, policy["default-src"]).split())


def assert_runs_under_its_policy(answer) -> None:
    """What a browser would run of the page under its CSP is all of it (and nothing else)."""
    policy = policy_of(answer)
    page = _Inline()
    page.feed(answer.raw)
    assert page.handlers == [], "inline event handlers never run under a nonce policy"
    for tag, attributes in page.elements:
        assert "src" not in attributes and "href" not in attributes  # nothing is fetched
        nonce = attributes.get("nonce")
        assert nonce, f"<{tag}> without a nonce would not run"
        assert f"'nonce-{nonce}'" in admitted(policy, f"{tag}-src"), f"<{tag} nonce={nonce}> not in {policy}"
        assert len(nonce) >= 16
    if page.style_attributes:
        assert "'unsafe-inline'" in admitted(policy, "style-src")
    assert "'unsafe-inline'" not in admitted(policy, "script-src") and "'unsafe-eval'" not in admitted(
        policy, "script-src"
    )


def assert_page_headers(answer, framing: str, *, referrer: str = "no-referrer") -> dict[str, str]:
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == referrer
    assert answer.headers["cache-control"] == "no-store"
    policy = policy_of(answer)
    assert policy["default-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert "form-action" in policy and "*" not in policy["form-action"].split()
    if framing == FRAMED:
        assert policy["frame-ancestors"] == "*" and "x-frame-options" not in answer.headers
    else:
        assert policy["frame-ancestors"] == "'none'" and answer.headers["x-frame-options"] == "DENY"
    assert_runs_under_its_policy(answer)
    return policy


def assert_json_headers(answer) -> None:
    assert answer.headers["content-type"].startswith("application/json"), answer.headers
    assert answer.headers["x-content-type-options"] == "nosniff"


def assert_redirect_headers(answer) -> None:
    assert answer.status == 302 and answer.headers["location"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["x-content-type-options"] == "nosniff"


# -- HTML pages -------------------------------------------------------------------------------------------


def test_a_refused_lti11_launch_page_may_be_framed_by_the_lms(stack, launch_fn):
    event = vary("launch-lti11-class.json", form={"lti_message_type": "basic-lti-launch-request"})

    answer = launch_fn(event)

    assert 400 <= answer.status < 500 and "<h1>" in answer.raw
    assert_page_headers(answer, FRAMED)


def test_an_unknown_launch_url_is_a_framed_page(stack, launch_fn):
    event = vary("launch-lti11-class.json", form={})
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/lti/nowhere"
    event["routeKey"] = "$default"

    answer = launch_fn(event)

    assert answer.status == 404
    assert_page_headers(answer, FRAMED)


def test_a_refused_login_page_may_be_framed_by_the_lms(stack, org, launch_fn):
    event = vary("launch-lti13-login.json", path_params={"org_id": org.org_id}, query={"login_hint": "u"})

    answer = launch_fn(event)

    assert 400 <= answer.status < 500
    assert_page_headers(answer, FRAMED)


def test_the_platform_storage_login_page_is_framed_and_its_script_runs_by_its_nonce(lti13, launch_fn):
    query = {
        "iss": lti13["lms"].base,
        "login_hint": "u",
        "client_id": CLIENT_ID,
        "target_link_uri": f"https://{HOST}/lti/launch",
        "lti_storage_target": "_parent",
    }
    event = vary("launch-lti13-login.json", path_params={"org_id": lti13["org"].org_id}, query=query)

    answer = launch_fn(event)

    assert answer.status == 200, answer.raw
    policy = assert_page_headers(answer, FRAMED)
    assert policy["form-action"] == "'none'" and policy["script-src"].startswith("'nonce-")


def test_the_storage_check_page_posts_only_to_us_or_on_to_https_and_sends_its_origin():
    from lti_gateway.lti13 import oidc, platform_storage

    check = oidc.StorageCheckRequired(
        id_token="a.b.c", state="s" * 20, proof="p" * 20, target="_parent", origin="https://lms.example.edu"
    )
    answer = platform_storage.launch_check_response(check)

    class Answer:  # the handler surface's lower-case view
        raw = answer.body
        headers = {k.lower(): v for k, v in answer.headers.items()}

    policy = assert_page_headers(Answer, FRAMED, referrer="same-origin")
    assert policy["form-action"] == "'self' https:"


def test_an_unknown_registration_url_is_a_framed_page(stack, platforms_fn):
    token = secrets.token_urlsafe(32)
    event = vary("platforms-register.json", path_params={"token": token})

    answer = platforms_fn(event)

    assert 400 <= answer.status < 500 and token not in answer.raw
    assert_page_headers(answer, FRAMED)


def test_the_registration_done_page_is_framed_and_its_script_and_style_run_by_nonce():
    from lti_gateway.lti13 import dynamic_registration

    registered = dynamic_registration.Registered("p1", "o1", "Moodle", "https://lms.example.edu", "c1", "d1")
    answer = dynamic_registration.success_page(registered)

    class Answer:
        raw = answer.body
        headers = {k.lower(): v for k, v in answer.headers.items()}

    assert_page_headers(Answer, FRAMED)


def test_a_class_that_cannot_be_opened_is_a_page_nothing_may_frame(stack, classes_fn):
    event = vary("classes-open.json", path_params={"class_id": "cls_0000000000000000"})

    answer = classes_fn(event)

    assert answer.status == 404
    assert_page_headers(answer, UNFRAMED)


# -- redirects --------------------------------------------------------------------------------------------


def test_the_launch_redirect_to_the_app_sends_no_referrer(lti11_world, launch_fn):
    url = lti11_world["class"]["launch_url"]
    signed = sign_launch(url, CANVAS, consumer_key=lti11_world["key"], secret=lti11_world["secret"])

    answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))

    assert answer.headers["location"].startswith(APP + "?ltik="), answer.raw
    assert_redirect_headers(answer)


def test_the_login_redirect_to_the_platform_sends_no_referrer(lti13, launch_fn):
    query = {"iss": lti13["lms"].base, "login_hint": "u", "client_id": CLIENT_ID}
    query["target_link_uri"] = f"https://{HOST}/lti/launch"
    event = vary("launch-lti13-login.json", path_params={"org_id": lti13["org"].org_id}, query=query)

    answer = launch_fn(event)

    assert_redirect_headers(answer)


# -- JSON, every route family -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "event_name"),
    [
        ("keys_fn", "keys-list.json"),
        ("keys_fn", "org-get.json"),
        ("keys_fn", "credentials-list.json"),
        ("classes_fn", "classes-list.json"),
        ("platforms_fn", "platforms-list.json"),
        ("platforms_fn", "tool-configuration.json"),
        ("export_fn", "exports-org.json"),
    ],
)
def test_every_owner_api_family_answers_json_nosniff_refused_or_not(request, org, fn, event_name):
    call = request.getfixturevalue(fn)

    refused = call(vary(event_name, api_key="ak_0000000000000000.nope"))
    served = call(vary(event_name, api_key=org.api_key))

    assert refused.status == 401
    assert served.status == 200, served.raw
    assert_json_headers(refused)
    assert served.headers["x-content-type-options"] == "nosniff"  # JSON, or an export's CSV


@pytest.mark.parametrize("event_name", ["token-idtoken.json", "token-memberships.json", "token-score.json"])
def test_the_app_api_answers_json_nosniff(stack, token_fn, event_name):
    answer = token_fn(vary(event_name, headers={"authorization": None}))

    assert answer.status == 401
    assert_json_headers(answer)


def test_the_app_api_served_and_the_deep_linking_form_are_json_nosniff(lti13, token_fn):
    auth = {"authorization": f"LTIK-AUTH-V2 {lti13['api_key']}:{lti13['ltik']}"}

    served = token_fn(vary("token-idtoken.json", headers=auth))
    form = vary("token-idtoken.json", headers=auth, body={"contentItems": []})
    form["routeKey"], form["rawPath"] = "POST /api/deeplinking/form", "/api/deeplinking/form"
    form["requestContext"]["http"].update(method="POST", path="/api/deeplinking/form")
    deep_linking = token_fn(form)

    assert served.status == 200, served.raw
    assert 200 <= deep_linking.status < 500, deep_linking.raw
    for answer in (served, deep_linking):
        assert_json_headers(answer)


def test_public_json_documents_are_nosniff(stack, keys_fn, platforms_fn):
    openapi = vary("org-get.json", headers={"authorization": None})
    openapi["routeKey"], openapi["rawPath"] = "GET /api/openapi.json", "/api/openapi.json"
    openapi["requestContext"]["http"]["path"] = "/api/openapi.json"

    for answer in (keys_fn(openapi), platforms_fn(vary("platforms-jwks.json"))):
        assert answer.status == 200, answer.raw
        assert_json_headers(answer)


def test_the_learnosity_data_api_envelope_is_nosniff(stack, keys_fn):
    answer = keys_fn(vary("learnosity-keys-set.json", form={"security": "{}", "request": "{}", "action": "get"}))

    assert 400 <= answer.status < 500
    assert_json_headers(answer)
