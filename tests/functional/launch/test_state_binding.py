"""The OIDC state bound to the browser that started the login (issue 13, item 8), and consumed only
after the launch was validated whole (item 11), through the launch function on moto.

Two paths (``lti13/oidc.py``): the login's cookie, sent back with the launch; or, when the cookie does
not come back (third-party cookies blocked) and the platform offered storage, the state read back from
the platform's storage by the launch's check page (``lti.get_data``) and posted again from our origin.
Every refusal is a 400 page, stores no launch and leaves the state for the browser that logged in.

The platform's storage frame is played by this test: the check page's script would post what
``lti.get_data`` answered; the test posts the page's form with that value, as the script would.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest

from lti_gateway.core import vocabulary as lti
from tests.functional.launch import test_lti13_launch as lti13
from tests.functional.launch.test_lti13_launch import (
    APP,
    AUTH_URL,
    BASE,
    CLIENT_ID,
    HOST,
    ISS,
    id_token_for,
    launch_event,
)
from tests.support.browser import Browser

jwks = lti13.jwks  # the fixtures: a platform JWKS on loopback; an organisation, class and platform
world = lti13.world

_SCRIPT = re.compile(r'<script nonce="([^"]+)">(.*?)</script>', re.S)
_FIELD = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


# -- the browser's side --------------------------------------------------------------------------------


def org_of(world) -> str:
    return world["org"].org_id


def login_event(org_id: str, params: dict[str, str]) -> dict[str, Any]:
    path = f"/lti/orgs/{org_id}/login"
    return {
        "version": "2.0",
        "routeKey": "GET /lti/orgs/{org_id}/login",
        "rawPath": path,
        "rawQueryString": urlencode(params),
        "headers": {"host": HOST, "x-forwarded-proto": "https", "user-agent": "Mozilla/5.0"},
        "pathParameters": {"org_id": org_id},
        "requestContext": {
            "domainName": HOST,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "login-request-1",
            "stage": "$default",
            "apiId": "abc123",
        },
        "isBase64Encoded": False,
    }


def launch_path(org_id: str) -> str:
    return f"/lti/orgs/{org_id}/launch"


def post(
    launch_fn,
    org_id: str,
    form: dict[str, str],
    *,
    browser: Browser | None,
    headers: dict[str, str] | None = None,
):
    """A form post to the organisation's launch URL from ``browser`` (None: one with no cookie)."""
    path = launch_path(org_id)
    event = launch_event(urlencode(form), host=HOST, raw_path=path)
    event["requestContext"]["http"]["path"] = path
    event["routeKey"] = "POST /lti/orgs/{org_id}/launch"
    event["pathParameters"] = {"org_id": org_id}
    event["headers"].update(headers or {})
    if browser is not None:
        browser.carry(event, form.get("state"))
    return launch_fn(event)


def login(launch_fn, world, browser: Browser, **extra: str) -> tuple[dict[str, str], Any]:
    """A login in ``browser``; answers the auth request's parameters (with ``_target``) and the answer."""
    target = world["class"]["launch_url"]
    params = {"iss": ISS, "login_hint": "user-7", "target_link_uri": target, "client_id": CLIENT_ID, **extra}
    answer = launch_fn(login_event(org_of(world), params))
    browser.keep(answer)
    if answer.status == 302:
        location = answer.headers["location"]
    else:
        assert answer.status == 200, answer.raw
        [(_, script)] = _SCRIPT.findall(answer.raw)
        location = json.loads(re.search(r"var c = (\{.*?\});\n", script).group(1))["location"]
    assert location.startswith(AUTH_URL + "?")
    auth = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return {**auth, "_target": target}, answer


def launch_form(auth: dict[str, str], **claims: Any) -> dict[str, str]:
    return {"id_token": id_token_for(auth, **claims), "state": auth["state"]}


def table_items(stack, prefix: str) -> list[dict]:
    found = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    return [i for i in found if i["pk"].startswith(prefix)]


def states(stack) -> set[str]:
    return {i["pk"].removeprefix("STATE#") for i in table_items(stack, "STATE#")}


def launched(answer) -> bool:
    return answer.status == 302 and answer.headers["location"].startswith(APP + "?ltik=")


def refused(answer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html") and f"<code>{code}</code>" in answer.raw


def check_page(answer) -> tuple[dict[str, str], dict[str, Any]]:
    """The launch check page's form fields and its script's configuration."""
    assert answer.status == 200, answer.raw
    fields = {name: html.unescape(value) for name, value in _FIELD.findall(answer.raw)}
    [(_, script)] = _SCRIPT.findall(answer.raw)
    return fields, json.loads(re.search(r"var c = (\{.*?\});\n", script).group(1))


SAME_ORIGIN = {"origin": BASE, "sec-fetch-site": "same-origin"}


# -- the cookie path ------------------------------------------------------------------------------------


def test_the_login_sets_a_host_only_cookie_and_the_same_browser_launches_with_it(world, launch_fn, stack):
    browser = Browser()
    auth, answer = login(launch_fn, world, browser)

    [cookie] = answer.cookies
    name = cookie.split("=", 1)[0]
    assert name.startswith("__Host-lti_state_")
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert {"Path=/", "Max-Age=600", "HttpOnly", "Secure", "SameSite=None", "Partitioned"} == set(attributes)
    assert "Domain" not in cookie and auth["state"] not in cookie  # neither the state nor its nonce in it
    [item] = table_items(stack, "STATE#")
    assert item["browser_cookie"] == name and browser.jar[name] not in json.dumps(item, default=str)

    assert launched(post(launch_fn, org_of(world), launch_form(auth), browser=browser))
    assert states(stack) == set() and len(table_items(stack, "LAUNCH#")) == 1


def test_a_cookie_that_does_not_match_is_refused_and_the_state_stays_for_its_own_browser(world, launch_fn, stack):
    own, other = Browser(), Browser()
    auth, _ = login(launch_fn, world, own)
    [(name, value)] = own.jar.items()
    other.jar[name] = value[::-1]  # the right cookie name, another value

    answer = post(launch_fn, org_of(world), launch_form(auth), browser=other)

    refused(answer, 400, "state_not_from_this_browser")
    assert "another browser" in answer.raw
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []
    assert launched(post(launch_fn, org_of(world), launch_form(auth), browser=own))


def test_a_stolen_id_token_and_state_posted_from_another_browser_are_refused(world, launch_fn, stack):
    """The attacker logs in in their own browser and makes the victim's post their id_token and state:
    the victim's browser has a cookie of its own login, none of the attacker's."""
    attacker, victim = Browser(), Browser()
    stolen, _ = login(launch_fn, world, attacker)
    victims_own, _ = login(launch_fn, world, victim)

    answer = post(launch_fn, org_of(world), launch_form(stolen), browser=victim)

    refused(answer, 400, "browser_not_bound")
    assert states(stack) == {stolen["state"], victims_own["state"]} and table_items(stack, "LAUNCH#") == []
    assert launched(post(launch_fn, org_of(world), launch_form(victims_own), browser=victim))


def test_no_cookie_and_no_platform_storage_is_refused_with_a_page_saying_what_to_do(world, launch_fn, stack):
    auth, _ = login(launch_fn, world, Browser())

    answer = post(launch_fn, org_of(world), launch_form(auth), browser=None)

    refused(answer, 400, "browser_not_bound")
    assert "Allow this tool&#x27;s cookies" in answer.raw and "new window" in answer.raw
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []


def test_a_cookie_header_is_read_too(world, launch_fn, stack):
    """API Gateway hands cookies over in ``cookies``; another front door may pass the header."""
    browser = Browser()
    auth, _ = login(launch_fn, world, browser)
    [(name, value)] = browser.jar.items()

    answer = post(launch_fn, org_of(world), launch_form(auth), browser=None, headers={"cookie": f"a=1; {name}={value}"})

    assert launched(answer)


# -- the platform-storage path ----------------------------------------------------------------------------


def storage_login(launch_fn, world) -> tuple[dict[str, str], Browser]:
    browser = Browser()
    auth, answer = login(launch_fn, world, browser, lti_storage_target="post_message_forwarding")
    assert answer.status == 200 and len(answer.cookies) == 1  # the storage page sets the cookie too
    return auth, browser


def test_without_a_cookie_the_launch_reads_the_state_back_from_the_platform_storage(world, launch_fn, stack):
    auth, _ = storage_login(launch_fn, world)

    page = post(launch_fn, org_of(world), launch_form(auth), browser=None)  # third-party cookies blocked

    fields, config = check_page(page)
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []  # nothing spent yet
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "same-origin"
    [(script_nonce, _)] = _SCRIPT.findall(page.raw)
    policy = page.headers["content-security-policy"]
    assert f"script-src 'nonce-{script_nonce}'" in policy and "default-src 'none'" in policy
    assert config["key"] == f"state_{auth['state']}" and config["origin"] == "https://lms.example.edu"
    assert config["target"] == "post_message_forwarding" and config["message_id"].startswith("get-state-")
    assert set(fields) == {"id_token", "state", "lti_storage_proof", "lti_storage_value"}
    assert fields["state"] == auth["state"] and fields["lti_storage_value"] == ""

    # lti.get_data answered the state: the page posts its form again, from our origin.
    answer = post(
        launch_fn, org_of(world), {**fields, "lti_storage_value": auth["state"]}, browser=None, headers=SAME_ORIGIN
    )

    assert launched(answer), answer.raw
    assert states(stack) == set() and len(table_items(stack, "LAUNCH#")) == 1
    replay = post(
        launch_fn, org_of(world), {**fields, "lti_storage_value": auth["state"]}, browser=None, headers=SAME_ORIGIN
    )
    refused(replay, 401, "invalid_state")


@pytest.mark.parametrize("value", ["", "another-state-value-0123456789", "state_"])
def test_a_platform_storage_that_answers_something_else_is_refused(world, launch_fn, stack, value):
    auth, _ = storage_login(launch_fn, world)
    fields, _ = check_page(post(launch_fn, org_of(world), launch_form(auth), browser=None))

    answer = post(launch_fn, org_of(world), {**fields, "lti_storage_value": value}, browser=None, headers=SAME_ORIGIN)

    refused(answer, 400, "state_not_from_this_browser")
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []


@pytest.mark.parametrize(
    ("headers", "proof"),
    [
        ({"origin": "https://evil.example", "sec-fetch-site": "cross-site"}, None),  # a cross-site forged post
        ({"origin": "null", "sec-fetch-site": "cross-site"}, None),  # from a sandboxed frame
        ({"sec-fetch-site": "cross-site"}, None),
        ({}, None),  # neither header: not provably ours
        (SAME_ORIGIN, "not-the-proof"),
        (SAME_ORIGIN, ""),
    ],
)
def test_a_storage_check_not_posted_by_our_page_is_refused(world, launch_fn, stack, headers, proof):
    auth, _ = storage_login(launch_fn, world)
    fields, _ = check_page(post(launch_fn, org_of(world), launch_form(auth), browser=None))
    form = {**fields, "lti_storage_value": auth["state"]}
    if proof is not None:
        form["lti_storage_proof"] = proof

    answer = post(launch_fn, org_of(world), form, browser=None, headers=headers)

    refused(answer, 400, "storage_check_failed")
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []
    # the browser that logged in can still finish it
    ok = post(
        launch_fn, org_of(world), {**fields, "lti_storage_value": auth["state"]}, browser=None, headers=SAME_ORIGIN
    )
    assert launched(ok)


def test_a_stolen_state_of_a_storage_login_is_refused_in_the_victims_browser(world, launch_fn, stack):
    """The victim's browser gets the check page for the attacker's state; the victim's platform storage
    never held it, so the page posts back nothing, and a forged second step is not same-origin."""
    stolen, _ = storage_login(launch_fn, world)
    fields, _ = check_page(post(launch_fn, org_of(world), launch_form(stolen), browser=Browser()))

    nothing = post(launch_fn, org_of(world), fields, browser=Browser(), headers=SAME_ORIGIN)
    forged = post(
        launch_fn,
        org_of(world),
        {**fields, "lti_storage_value": stolen["state"]},
        browser=Browser(),
        headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
    )

    refused(nothing, 400, "state_not_from_this_browser")
    refused(forged, 400, "storage_check_failed")
    assert states(stack) == {stolen["state"]} and table_items(stack, "LAUNCH#") == []


def test_a_cookie_that_comes_back_wins_over_the_platform_storage(world, launch_fn, stack):
    auth, browser = storage_login(launch_fn, world)
    assert launched(post(launch_fn, org_of(world), launch_form(auth), browser=browser))


# -- the state is consumed only after the launch validated whole (item 11) ----------------------------------


@pytest.mark.parametrize(
    "claims",
    [
        {"name": "Ada \ud800 Lovelace"},
        {lti.CUSTOM: {"class_id": "x", "note": ["ok", {"deep": "\udfff"}]}},
        {lti.CUSTOM: {"\ud83d": "a key holding a lone high surrogate"}},
    ],
    ids=["top-level", "nested-value", "nested-key"],
)
def test_a_claim_holding_a_lone_surrogate_is_a_400_and_the_state_stays(world, launch_fn, stack, claims):
    browser = Browser()
    auth, _ = login(launch_fn, world, browser)

    answer = post(launch_fn, org_of(world), launch_form(auth, **claims), browser=browser)

    refused(answer, 400, "invalid_claim_text")
    assert "\ud800" not in answer.raw.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert states(stack) == {auth["state"]} and table_items(stack, "LAUNCH#") == []
    assert launched(post(launch_fn, org_of(world), launch_form(auth), browser=browser))


def test_a_token_refused_for_any_reason_leaves_the_state_for_a_valid_launch(world, launch_fn, stack):
    browser = Browser()
    auth, _ = login(launch_fn, world, browser)

    for bad in ({lti.VERSION: "1.2.0"}, {"nonce": "not-the-nonce"}, {"aud": "another-client"}):
        refused_answer = post(launch_fn, org_of(world), launch_form(auth, **bad), browser=browser)
        assert 400 <= refused_answer.status < 500 and states(stack) == {auth["state"]}

    assert launched(post(launch_fn, org_of(world), launch_form(auth), browser=browser))
    assert states(stack) == set()
