"""LTI 1.3 dispatch through the launch function: OIDC login → state stored → id_token posted → 302 with an
ltik, on moto, with the platform's JWKS served on loopback.

The platform side is minted here with pyjwt (the e2e test drives a real platform library instead).
Every rejection is a 4xx HTML page and stores nothing.
"""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_gateway.admin import classes, orgs
from lti_gateway.app_api import ltik
from lti_gateway.core import http
from lti_gateway.core import vocabulary as lti
from lti_gateway.core.errors import GatewayError
from lti_gateway.launch import dispatch
from lti_gateway.lti11 import consumer_keys
from lti_gateway.lti13 import id_token, lti11_bindings, platforms
from lti_gateway.lti13 import launch as lti13_launch
from lti_gateway.repositories import aws
from tests.peers.jwks_server import JwksServer
from tests.peers.oauth1_signer import launch_event
from tests.support import launch_state
from tests.support.browser import BROWSER, Browser
from tests.support.events import vary

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
BASE = f"https://{HOST}"
APP = "https://app.example.com/lti/start"
ISS = "https://lms.example.edu"
CLIENT_ID = "tool-client-42"
DEPLOYMENT = "deployment-1"
AUTH_URL = "https://lms.example.edu/mod/lti/auth.php"
KEY_1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
AGS = {
    "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
    "lineitems": "https://lms.example.edu/api/lti/courses/1/line_items",
}
NRPS = {
    "context_memberships_url": "https://lms.example.edu/api/lti/courses/1/names_and_roles",
    "service_versions": ["2.0"],
}


@pytest.fixture
def jwks():
    with JwksServer() as server:
        server.publish(KEY_1, "k1")
        yield server


@pytest.fixture
def world(stack, org, jwks, monkeypatch):
    """An organisation with an app launch URL, a class with a unit, and a registered LTI 1.3 platform."""
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")  # the JWKS is on loopback, over http
    config.settings.cache_clear()
    launch_state.forget()
    TENANT["org_id"] = org.org_id
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    orgs.update_settings(principal, {"app_launch_url": APP})
    cls = classes.create_class(principal, {"name": "Physics 101"}, base=BASE)
    unit = classes.create_unit(principal, cls["class_id"], {"name": "Waves"}, base=BASE)
    platform = platforms.create_platform(
        principal,
        {
            "url": ISS,
            "clientId": CLIENT_ID,
            "name": "Example Moodle",
            "authenticationEndpoint": AUTH_URL,
            "accesstokenEndpoint": "https://lms.example.edu/mod/lti/token.php",
            "authConfig": {"method": "JWK_SET", "key": jwks.url},
            "deploymentIds": [DEPLOYMENT],
        },
    )
    return {"org": org, "principal": principal, "class": cls, "unit": unit, "platform": platform}


# -- the platform's side ------------------------------------------------------------------------------


# The organisation of the world fixture: its login and launch URLs are what its LMS was given.
TENANT: dict[str, str] = {}


def org_path(name: str) -> str:
    """``/lti/orgs/{org_id}/login`` or ``…/launch`` of the world's organisation."""
    return f"/lti/orgs/{TENANT['org_id']}/{name}"


def login_event(params: dict[str, str], *, method: str = "GET", path: str | None = None) -> dict[str, Any]:
    query = urlencode(params)
    path = path or org_path("login")
    if method == "POST":
        event = launch_event(query, host=HOST, raw_path=path)
        event["requestContext"]["http"]["path"] = path
        event["routeKey"] = "POST /lti/orgs/{org_id}/login"
        return event
    return {
        "version": "2.0",
        "routeKey": "GET /lti/orgs/{org_id}/login",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": HOST, "x-forwarded-proto": "https", "user-agent": "Mozilla/5.0"},
        "requestContext": {
            "domainName": HOST,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "login-request-1",
            "stage": "$default",
            "apiId": "abc123",
        },
        "isBase64Encoded": False,
    }


def launch_post(form: dict[str, str], path: str | None = None, *, browser: Browser | None = BROWSER) -> dict[str, Any]:
    """The platform's form post, from ``browser`` (by default the one that logged in: it carries the
    login's cookie); ``browser=None`` for a post that carries no cookie."""
    path = path or org_path("launch")
    event = launch_event(urlencode(form), host=HOST, raw_path=path)
    event["requestContext"]["http"]["path"] = path
    return browser.carry(event, form.get("state")) if browser is not None else event


def login(launch_fn, target: str, **extra: str) -> dict[str, str]:
    """Start a login like the platform would; answers the auth request's parameters."""
    params = {"iss": ISS, "login_hint": "user-7", "target_link_uri": target, "client_id": CLIENT_ID, **extra}
    answer = launch_fn(login_event(params))
    assert answer.status == 302, answer.raw
    assert answer.headers["location"].startswith(AUTH_URL + "?")
    BROWSER.keep(answer)  # the state's cookie, sent back by launch_post
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def id_token_for(auth: dict[str, str], *, key=KEY_1, kid="k1", **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": ISS,
        "aud": CLIENT_ID,
        "sub": "user-7",
        "iat": now,
        "exp": now + 300,
        "nonce": auth["nonce"],
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.edu",
        lti.MESSAGE_TYPE: "LtiResourceLinkRequest",
        lti.VERSION: "1.3.0",
        lti.DEPLOYMENT_ID: DEPLOYMENT,
        lti.TARGET_LINK_URI: claims.pop("target", None) or auth.get("_target"),
        lti.RESOURCE_LINK: {"id": "link-1", "title": "Week 1"},
        lti.ROLES: [INSTRUCTOR],
        lti.CONTEXT: {"id": "course-1", "label": "PHYS101", "title": "Physics"},
        lti.TOOL_PLATFORM: {"guid": "moodle-1", "product_family_code": "moodle"},
        lti.LAUNCH_PRESENTATION: {"return_url": "https://lms.example.edu/course/1", "document_target": "iframe"},
        lti.CUSTOM: {"canvas_course_id": "1234"},
        lti.AGS_ENDPOINT: AGS,
        lti.NRPS: NRPS,
        "https://lms.example.edu/claim/unknown": {"tolerated": [1, 2.5, None]},
    }
    for name, value in claims.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def full_launch(launch_fn, target: str, **claims: Any):
    auth = login(launch_fn, target)
    token = id_token_for({**auth, "_target": target}, **claims)
    return launch_fn(launch_post({"id_token": token, "state": auth["state"]})), auth


def items(stack, prefix: str) -> list[dict]:
    found = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    return [i for i in found if i["pk"].startswith(prefix)]


def ltik_of(answer) -> ltik.LtikClaims:
    return ltik.verify(parse_qs(urlsplit(answer.headers["location"]).query)["ltik"][0])


# -- login ---------------------------------------------------------------------------------------------


def test_the_login_stores_state_and_nonce_server_side_and_binds_it_to_the_browser(world, launch_fn, stack):
    params = {
        "iss": ISS,
        "login_hint": "user-7",
        "target_link_uri": world["class"]["launch_url"],
        "lti_message_hint": "hint-1",
        "canvas_region": "eu-west-1",
    }
    answer = launch_fn(login_event(params))

    assert answer.status == 302 and "set-cookie" not in answer.headers  # HTTP API v2: in ``cookies``
    [cookie] = answer.cookies
    assert cookie.startswith("__Host-lti_state_") and "; Path=/; Max-Age=600; HttpOnly; Secure; SameSite=None" in cookie
    sent = parse_qs(urlsplit(answer.headers["location"]).query)
    assert sent["redirect_uri"] == [f"{BASE}/lti/orgs/{world['org'].org_id}/launch"] and sent["client_id"] == [
        CLIENT_ID
    ]
    assert sent["lti_message_hint"] == ["hint-1"] and sent["canvas_region"] == ["eu-west-1"]
    [state] = items(stack, "STATE#")
    assert state["pk"] == f"STATE#{sent['state'][0]}" and state["nonce"] == sent["nonce"][0]
    assert state["platform_id"] == world["platform"]["id"] and state["org_id"] == world["org"].org_id
    assert int(state["expires_at"]) - time.time() == pytest.approx(600, abs=30)


def test_a_login_may_be_posted(world, launch_fn):
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": f"{BASE}/lti/launch", "client_id": CLIENT_ID}
    answer = launch_fn(login_event(params, method="POST"))
    assert answer.status == 302 and answer.headers["location"].startswith(AUTH_URL)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"iss": "https://unknown.example"}, 400, "unknown_platform"),
        ({"target_link_uri": "https://evil.example/lti/launch"}, 400, "invalid_target_link_uri"),
        ({"login_hint": ""}, 400, "missing_login_parameter"),
        ({"lti_deployment_id": "not-registered"}, 400, "unknown_deployment"),
    ],
)
def test_a_bad_login_gets_a_page_and_stores_nothing(world, launch_fn, stack, change, status, code):
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": world["class"]["launch_url"], **change}
    answer = launch_fn(login_event(params))

    assert answer.status == status and code in answer.raw
    assert answer.headers["content-type"].startswith("text/html") and "Reference:" in answer.raw
    assert items(stack, "STATE#") == []


# -- launch ------------------------------------------------------------------------------------------


def test_a_launch_into_a_class_reaches_the_app_with_an_ltik_and_stores_the_claims(world, launch_fn, stack):
    answer, auth = full_launch(launch_fn, world["class"]["launch_url"])

    assert answer.status == 302, answer.raw
    assert answer.headers["location"].startswith(APP + "?ltik=")
    claims = ltik_of(answer)
    assert claims.org_id == world["org"].org_id
    [stored] = items(stack, "LAUNCH#")
    assert stored["pk"] == f"LAUNCH#{claims.launch_id}"
    assert stored["lti_version_family"] == "1.3" and stored["message_type"] == "LtiResourceLinkRequest"
    assert stored["class_id"] == world["class"]["class_id"] and "unit_id" not in stored
    assert stored["platform_id"] == world["platform"]["id"]
    assert (stored["issuer"], stored["client_id"], stored["deployment_id"]) == (ISS, CLIENT_ID, DEPLOYMENT)
    assert stored["user_id"] == "user-7" and stored["full_name"] == "Ada Lovelace"
    assert stored["user"]["email"] == "ada@example.edu" and stored["roles"] == [INSTRUCTOR]
    assert stored["is_instructor"] is True and stored["is_learner"] is False
    assert stored["context"]["id"] == "course-1" and stored["context_id"] == "course-1"
    assert stored["resource_link"]["id"] == "link-1" and stored["resource_link_id"] == "link-1"
    assert stored["tool_platform"]["product_family_code"] == "moodle"
    assert stored["launch_presentation"]["document_target"] == "iframe"
    assert stored["custom"] == {"canvas_course_id": "1234"}
    assert stored["ags_endpoint"]["lineitems"] == AGS["lineitems"] and stored["nrps"] == NRPS
    raw = json.loads(stored["id_token_claims"])
    assert raw["nonce"] == auth["nonce"] and raw["https://lms.example.edu/claim/unknown"]["tolerated"][1] == 2.5
    assert int(stored["expires_at"]) - time.time() == pytest.approx(86_400, abs=30)
    assert items(stack, "STATE#") == []  # consumed


def test_the_lms_context_is_recorded_on_the_class_with_the_issuer_as_source(world, launch_fn):
    assert full_launch(launch_fn, world["class"]["launch_url"])[0].status == 302

    read = classes.get_class(world["principal"], world["class"]["class_id"], base=BASE)
    assert read["lms_context_ids"] == ["course-1"]
    assert read["lms_contexts"][0]["source"] == ISS


def test_a_unit_target_link_uri_launches_the_unit(world, launch_fn, stack):
    answer, _ = full_launch(launch_fn, world["unit"]["launch_url"])

    assert answer.status == 302, answer.raw
    [stored] = items(stack, "LAUNCH#")
    assert stored["unit_id"] == world["unit"]["unit_id"]


def test_the_class_may_come_from_a_custom_parameter(world, launch_fn, stack):
    custom = {"class_id": world["class"]["class_id"], "unit_id": world["unit"]["unit_id"]}
    answer, _ = full_launch(launch_fn, f"{BASE}/lti/launch", **{lti.CUSTOM: custom})

    assert answer.status == 302, answer.raw
    [stored] = items(stack, "LAUNCH#")
    assert (stored["class_id"], stored["unit_id"]) == (world["class"]["class_id"], world["unit"]["unit_id"])


def test_a_resource_link_naming_no_class_gets_a_clear_page(world, launch_fn, stack):
    answer, _ = full_launch(launch_fn, f"{BASE}/lti/launch", **{lti.LAUNCH_PRESENTATION: {}})
    assert answer.status == 404 and "no_class_in_launch" in answer.raw
    assert items(stack, "LAUNCH#") == []


def test_a_deep_linking_request_without_a_class_goes_to_the_organisation_app(world, launch_fn, stack):
    settings = {"deep_link_return_url": "https://lms.example.edu/dl/return", "accept_types": ["ltiResourceLink"]}
    answer, _ = full_launch(
        launch_fn,
        f"{BASE}/lti/launch",
        **{
            lti.MESSAGE_TYPE: "LtiDeepLinkingRequest",
            lti.TARGET_LINK_URI: None,
            lti.RESOURCE_LINK: None,
            lti.DEEP_LINKING_SETTINGS: settings,
        },
    )

    assert answer.status == 302, answer.raw
    assert answer.headers["location"].startswith(APP + "?ltik=")
    [stored] = items(stack, "LAUNCH#")
    assert stored["message_type"] == "LtiDeepLinkingRequest" and "class_id" not in stored
    assert stored["deep_linking_settings"] == settings


def test_an_id_token_posted_to_the_class_url_is_an_lti13_launch_when_the_urls_agree(world, launch_fn, stack):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    token = id_token_for({**auth, "_target": target})

    answer = launch_fn(launch_post({"id_token": token, "state": auth["state"]}, urlsplit(target).path))
    assert answer.status == 302, answer.raw

    auth = login(launch_fn, target)
    token = id_token_for({**auth, "_target": target})
    other = launch_fn(
        launch_post({"id_token": token, "state": auth["state"]}, urlsplit(world["unit"]["launch_url"]).path)
    )
    assert other.status == 302  # verified, so the user is sent back to the platform with the reason
    assert other.headers["location"].startswith("https://lms.example.edu/course/1?lti_errormsg=")
    assert len(items(stack, "LAUNCH#")) == 1


def test_odd_but_signed_claim_values_are_stored_not_a_500(world, launch_fn, stack):
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(40):
        deep = {"d": deep}
    odd = {"": "empty name", "nan": float("nan"), "inf": float("inf"), "big": 10**40, "tiny": 1e-200, "deep": deep}
    answer, _ = full_launch(launch_fn, world["class"]["launch_url"], **{lti.CUSTOM: {"odd": odd}})

    assert answer.status == 302, answer.raw
    [stored] = items(stack, "LAUNCH#")
    assert stored["custom"]["odd"]["big"] == str(10**40) and stored["custom"]["odd"]["nan"] == "nan"
    assert "" not in stored["custom"]["odd"]


# -- rejected ------------------------------------------------------------------------------------------


def test_a_replayed_state_is_refused_and_nothing_more_is_stored(world, launch_fn, stack):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    event = launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})
    assert launch_fn(event).status == 302

    replay = launch_fn(event)

    assert replay.status == 401 and "invalid_state" in replay.raw
    assert replay.headers["content-type"].startswith("text/html") and "Reference:" in replay.raw
    assert len(items(stack, "LAUNCH#")) == 1


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "another-tool"}, "invalid_audience"),
        ({lti.DEPLOYMENT_ID: "unknown-deployment"}, "unknown_deployment"),
        ({"nonce": "not-the-nonce"}, "invalid_nonce"),
        ({lti.MESSAGE_TYPE: "LtiStartProctoring"}, "unsupported_message_type"),
    ],
)
def test_a_bad_id_token_gets_a_page_and_stores_nothing(world, launch_fn, stack, claims, code):
    answer, _ = full_launch(launch_fn, world["class"]["launch_url"], **claims)

    assert 400 <= answer.status < 500 and code in answer.raw
    assert answer.headers["content-type"].startswith("text/html") and "Traceback" not in answer.raw
    assert items(stack, "LAUNCH#") == []


def test_a_platform_error_instead_of_an_id_token_gets_a_clear_page(world, launch_fn, stack):
    auth = login(launch_fn, world["class"]["launch_url"])
    answer = launch_fn(launch_post({"error": "login_required", "state": auth["state"]}))
    assert answer.status == 401 and "login_required" in answer.raw
    assert items(stack, "LAUNCH#") == []


def test_a_post_to_the_redirect_uri_without_an_id_token_is_refused(world, launch_fn):
    answer = launch_fn(launch_post({"foo": "bar"}))
    assert answer.status == 400 and "missing_id_token" in answer.raw


@pytest.mark.parametrize("path", [None, "/lti/launch"])
def test_an_lti11_launch_sent_to_the_lti13_redirect_url_is_told_where_lti11_goes(world, launch_fn, stack, path):
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import sign_launch

    key = consumer_keys.create_consumer_key(world["org"].org_id)
    url = BASE + (path or org_path("launch"))
    signed = sign_launch(url, CANVAS, consumer_key=key["key"], secret=key["secret"])
    answer = launch_fn(launch_post(dict(signed.params), path or org_path("launch"), browser=None))

    assert answer.status == 400 and "lti11_launch_to_lti13_url" in answer.raw
    assert items(stack, "LAUNCH#") == []


def test_a_deactivated_platform_cannot_log_in_or_finish_a_launch(world, launch_fn, stack):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    platforms.set_active(world["principal"], world["platform"]["id"], False)

    answer = launch_fn(launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]}))
    assert answer.status == 401 and "platform_inactive" in answer.raw

    params = {"iss": ISS, "login_hint": "u", "target_link_uri": target, "client_id": CLIENT_ID}
    assert "platform_inactive" in launch_fn(login_event(params)).raw
    assert items(stack, "LAUNCH#") == []


def test_lti_disabled_on_the_class_sends_the_user_back_to_the_platform(world, launch_fn, stack):
    classes.update_class(world["principal"], world["class"]["class_id"], {"lti_enabled": False}, base=BASE)
    launch_state.forget()

    answer, _ = full_launch(launch_fn, world["class"]["launch_url"])

    assert answer.status == 302
    assert answer.headers["location"].startswith("https://lms.example.edu/course/1?lti_errormsg=")
    assert items(stack, "LAUNCH#") == []


# -- platform key rotation -----------------------------------------------------------------------------


def test_the_platform_rotates_its_key_between_launches(world, launch_fn, jwks, monkeypatch):
    target = world["class"]["launch_url"]
    assert full_launch(launch_fn, target)[0].status == 302
    assert jwks.requests == 1
    assert full_launch(launch_fn, target)[0].status == 302
    assert jwks.requests == 1  # warm: the key is cached

    jwks.publish(KEY_2, "k2", replace=True)
    later = time.monotonic() + 31  # the last fetch is older than the refetch interval
    monkeypatch.setattr(lti13_launch.platform_keys, "_clock", lambda: later)
    answer, _ = full_launch(launch_fn, target, key=KEY_2, kid="k2")

    assert answer.status == 302, answer.raw
    assert jwks.requests == 2  # one refetch for the unknown kid


def test_an_unknown_kid_is_refused_without_refetching_within_30_seconds(world, launch_fn, jwks, stack):
    target = world["class"]["launch_url"]
    assert full_launch(launch_fn, target)[0].status == 302

    answer, _ = full_launch(launch_fn, target, key=KEY_2, kid="made-up")

    assert answer.status == 401 and "unknown_kid" in answer.raw
    assert jwks.requests == 1
    assert len(items(stack, "LAUNCH#")) == 1


def test_an_unreachable_jwks_is_a_502_page(world, launch_fn, jwks, stack):
    jwks.status = 500
    answer, _ = full_launch(launch_fn, world["class"]["launch_url"])
    assert answer.status == 502 and "jwks_unavailable" in answer.raw
    assert items(stack, "LAUNCH#") == []


# -- LTI 1.1 migration ---------------------------------------------------------------------------------


def _lti1p1(world, *, key: str, secret: str, auth: dict[str, str], exp: int) -> dict[str, Any]:
    base = f"{key}&{DEPLOYMENT}&{ISS}&{CLIENT_ID}&{exp}&{auth['nonce']}"
    return {
        "user_id": "legacy-7",
        "oauth_consumer_key": key,
        "oauth_consumer_key_sign": id_token.lti1p1_sign(base, secret),
    }


def test_a_verified_lti1p1_claim_binds_the_launch_to_the_lti11_consumer_key(world, launch_fn, stack):
    created = consumer_keys.create_consumer_key(world["org"].org_id, label="Old Moodle")
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    exp = int(time.time()) + 300
    claim = _lti1p1(world, key=created["key"], secret=created["secret"], auth=auth, exp=exp)
    token = id_token_for({**auth, "_target": target}, exp=exp, **{lti.LTI1P1: claim})

    assert launch_fn(launch_post({"id_token": token, "state": auth["state"]})).status == 302

    [stored] = items(stack, "LAUNCH#")
    assert stored["lti11_consumer_key"] == created["key"] and stored["lti1p1_verified"] is True
    assert stored["lti1p1"]["user_id"] == "legacy-7"


@pytest.mark.parametrize("variant", ["wrong secret", "another organisation's key", "no signature"])
def test_an_unverifiable_lti1p1_claim_is_stored_unbound(world, launch_fn, stack, make_org, variant):
    owner = make_org("Other University").org_id if variant == "another organisation's key" else world["org"].org_id
    created = consumer_keys.create_consumer_key(owner)
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    exp = int(time.time()) + 300
    secret = "not-the-secret" if variant == "wrong secret" else created["secret"]
    claim = _lti1p1(world, key=created["key"], secret=secret, auth=auth, exp=exp)
    if variant == "no signature":
        claim.pop("oauth_consumer_key_sign")
    token = id_token_for({**auth, "_target": target}, exp=exp, **{lti.LTI1P1: claim})

    assert launch_fn(launch_post({"id_token": token, "state": auth["state"]})).status == 302

    [stored] = items(stack, "LAUNCH#")
    assert "lti11_consumer_key" not in stored and stored["lti1p1_verified"] is False
    assert stored["lti1p1"]["oauth_consumer_key"] == created["key"]


# -- budget and races --------------------------------------------------------------------------------------


def test_a_warm_launch_makes_four_dynamodb_calls(world, launch_fn):
    target = world["class"]["launch_url"]
    assert full_launch(launch_fn, target)[0].status == 302  # warms registrations, keys, class, ltik key
    auth = login(launch_fn, target)
    event = launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    for client in (aws.dynamodb().meta.client, aws.dynamodb_client()):
        client.meta.events.register("before-call.dynamodb", count)
    answer = launch_fn(event)

    assert answer.status == 302
    # Read the state, consume it once valid, read the class (consistent: issue 13 item 12), store.
    assert calls == ["GetItem", "DeleteItem", "GetItem", "PutItem"], calls


def test_twenty_parallel_launches_with_the_same_state_let_exactly_one_through(world, launch_fn, stack):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    event = launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})
    params = http.form_pairs(event)

    def attempt(_: int) -> str:
        try:
            dispatch.lti13_launch(event, params)
        except GatewayError as error:
            return error.code
        return "accepted"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert outcomes.count("accepted") == 1
    assert set(outcomes) - {"accepted"} == {"invalid_state"}
    assert len(items(stack, "LAUNCH#")) == 1


def test_launches_emit_metrics_by_outcome_and_reason(world, launch_fn, capsys):
    full_launch(launch_fn, world["class"]["launch_url"])
    full_launch(launch_fn, world["class"]["launch_url"], nonce="wrong")

    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [(b["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], b.get("reason")) for b in blobs]
    assert ("LaunchAccepted", None) in metrics
    assert ("LaunchRejected", "invalid_nonce") in metrics


def test_the_sample_events_parse_and_are_answered(stack, org, launch_fn):
    """events/launch-lti13*.json (for `sam local invoke -e`): a Moodle login and an id_token post."""
    from tests.support.events import load_event

    def for_this_org(name: str) -> dict[str, Any]:  # the events name a placeholder organisation
        return json.loads(json.dumps(load_event(name)).replace("org_0123456789abcdef", org.org_id))

    assert "unknown_platform" in launch_fn(for_this_org("launch-lti13-login.json")).raw
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    platforms.create_platform(principal, json.loads(load_event("platforms-create.json")["body"]))

    login_answer = launch_fn(for_this_org("launch-lti13-login.json"))
    assert login_answer.status == 302
    assert login_answer.headers["location"].startswith("https://moodle.example.edu/mod/lti/auth.php?")
    launch_answer = launch_fn(for_this_org("launch-lti13.json"))
    assert launch_answer.status == 401 and "invalid_state" in launch_answer.raw


# -- LTI client-side postMessage storage (lti_storage_target) ---------------------------------------------

_SCRIPT = re.compile(r"<script nonce=\"([^\"]+)\">(.*?)</script>", re.S)


def storage_config(page: str) -> dict[str, Any]:
    [(_, script)] = _SCRIPT.findall(page)
    return json.loads(re.search(r"var c = (\{.*?\});\n", script).group(1))


def test_a_login_with_a_storage_target_answers_the_storage_page_and_the_launch_needs_nothing_of_it(
    world, launch_fn, stack
):
    target = world["class"]["launch_url"]
    params = {
        "iss": ISS,
        "login_hint": "user-7",
        "target_link_uri": target,
        "client_id": CLIENT_ID,
        "lti_storage_target": "post_message_forwarding",
    }
    answer = launch_fn(login_event(params))
    BROWSER.keep(answer)  # the storage page sets the state's cookie too

    assert answer.status == 200 and "location" not in answer.headers and len(answer.cookies) == 1
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    policy = answer.headers["content-security-policy"]
    [(script_nonce, _)] = _SCRIPT.findall(answer.raw)
    assert f"script-src 'nonce-{script_nonce}'" in policy and "default-src 'none'" in policy
    assert len(script_nonce) >= 16
    config = storage_config(answer.raw)
    assert config["location"].startswith(AUTH_URL + "?") and config["origin"] == "https://lms.example.edu"
    assert config["target"] == "post_message_forwarding"
    auth = {k: v[0] for k, v in parse_qs(urlsplit(config["location"]).query).items()}
    assert "lti_storage_target" not in auth and auth["redirect_uri"] == f"{BASE}/lti/orgs/{world['org'].org_id}/launch"
    [state] = items(stack, "STATE#")  # server-side, as without client storage
    assert state["pk"] == f"STATE#{auth['state']}" and state["nonce"] == auth["nonce"]
    assert [m["key"] for m in config["messages"]] == [f"state_{auth['state']}", f"nonce_{auth['nonce']}"]

    # The platform posts back; the cookie came back too, so the platform's storage is not asked
    # (tests/functional/launch/test_state_binding.py drives the launch without it).
    token = id_token_for({**auth, "_target": target})
    form = {"id_token": token, "state": auth["state"], "lti_storage_target": "post_message_forwarding"}
    launched = launch_fn(launch_post(form))
    assert launched.status == 302 and launched.headers["location"].startswith(APP + "?ltik=")
    assert launch_fn(launch_post(form)).status == 401  # and it is still single use


def test_each_storage_page_gets_its_own_csp_nonce(world, launch_fn):
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": f"{BASE}/lti/launch", "lti_storage_target": "_parent"}
    nonces = set()
    for _ in range(3):
        answer = launch_fn(login_event(params))
        [(script_nonce, _)] = _SCRIPT.findall(answer.raw)
        assert f"'nonce-{script_nonce}'" in answer.headers["content-security-policy"]
        nonces.add(script_nonce)
    assert len(nonces) == 3


@pytest.mark.parametrize(
    "target", ["</script><script>alert(document.domain)</script>", "'\";alert(1)//", "<!--", "a\u2028b"]
)
def test_a_hostile_storage_target_is_rendered_inert(world, launch_fn, target):
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": f"{BASE}/lti/launch", "lti_storage_target": target}
    answer = launch_fn(login_event(params, method="POST"))

    assert answer.status == 200
    assert answer.raw.count("<script") == 1 and answer.raw.count("</script>") == 1 and "<!--" not in answer.raw
    assert storage_config(answer.raw)["target"] == target


def test_a_refused_login_with_a_storage_target_is_the_usual_error_page(world, launch_fn, stack):
    params = {"iss": "https://unknown.example", "login_hint": "u", "target_link_uri": f"{BASE}/lti/launch"}
    answer = launch_fn(login_event({**params, "lti_storage_target": "_parent"}))

    assert answer.status == 400 and "unknown_platform" in answer.raw and "<script" not in answer.raw
    assert items(stack, "STATE#") == []


# -- owner-approved LTI 1.1 -> 1.3 bindings -----------------------------------------------------------------


def binding_items(stack) -> list[dict]:
    found = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    return [i for i in found if i["pk"].startswith("LTI1P1BIND#")]


def unsigned_launch(launch_fn, world, key: str, *, sign: str | None = None, deployment: str = DEPLOYMENT):
    """A launch whose lti1p1 claim names ``key`` with no signature (Canvas, Blackboard), or a wrong one."""
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    claim = {"user_id": "legacy-7", "oauth_consumer_key": key}
    if sign is not None:
        claim["oauth_consumer_key_sign"] = sign
    token = id_token_for({**auth, "_target": target}, **{lti.LTI1P1: claim, lti.DEPLOYMENT_ID: deployment})
    answer = launch_fn(launch_post({"id_token": token, "state": auth["state"]}))
    assert answer.status == 302 and answer.headers["location"].startswith(APP + "?ltik=")
    launch_id = ltik_of(answer).launch_id
    return next(i for i in items(world["stack"], "LAUNCH#") if i["pk"] == f"LAUNCH#{launch_id}")


def bindings_call(platforms_fn, api_key: str, platform_id: str, binding_id: str | None = None, action: str = ""):
    if binding_id is None:
        event = vary("platforms-lti11-bindings-list.json", api_key=api_key, path_params={"platform_id": platform_id})
        event["rawQueryString"], event["queryStringParameters"] = "", None
        return platforms_fn(event)
    return platforms_fn(
        vary(
            f"platforms-lti11-bindings-{action}.json",
            api_key=api_key,
            path_params={"platform_id": platform_id, "binding_id": binding_id},
        )
    )


@pytest.fixture
def migrating(world, stack):
    """The world, with an LTI 1.1 consumer key of the organisation that a course migrates from."""
    world["stack"] = stack
    world["key"] = consumer_keys.create_consumer_key(world["org"].org_id, label="Old Canvas")
    return world


def test_an_unsigned_lti1p1_claim_records_one_pending_binding_and_binds_nothing(migrating, launch_fn, stack):
    key = migrating["key"]["key"]
    first = unsigned_launch(launch_fn, migrating, key)
    launch_state.forget()  # a cold container: the second launch reads the table again
    second = unsigned_launch(launch_fn, migrating, key)

    [binding] = binding_items(stack)
    assert binding["pk"] == f"LTI1P1BIND#{migrating['platform']['id']}"
    assert binding["sk"] == lti11_bindings.binding_id(DEPLOYMENT, key)
    assert (binding["status"], binding["reason"], binding["consumer_key"]) == ("pending", "signature_missing", key)
    assert binding["deployment_id"] == DEPLOYMENT and binding["org_id"] == migrating["org"].org_id
    for stored in (first, second):
        assert "lti11_consumer_key" not in stored and stored["lti1p1_verified"] is False
        assert stored["lti1p1_binding"] == "pending"


def test_an_approved_binding_binds_the_next_launches_and_a_rejected_one_never(
    migrating, launch_fn, platforms_fn, stack
):
    key, org, platform_id = migrating["key"]["key"], migrating["org"], migrating["platform"]["id"]
    unsigned_launch(launch_fn, migrating, key, sign="not-a-valid-signature")

    listed = bindings_call(platforms_fn, org.api_key, platform_id)
    assert listed.status == 200, listed.raw
    [pending] = listed.body["bindings"]
    assert pending["status"] == "pending" and pending["reason"] == "signature_mismatch"
    assert (pending["consumerKey"], pending["deploymentId"], pending["platformId"]) == (key, DEPLOYMENT, platform_id)

    approved = bindings_call(platforms_fn, org.api_key, platform_id, pending["id"], "approve")
    assert approved.status == 200 and approved.body["status"] == "approved", approved.raw
    assert approved.body["decidedBy"] == org.credential_id and approved.body["decidedAt"]
    stored = unsigned_launch(launch_fn, migrating, key)
    assert stored["lti11_consumer_key"] == key and stored["lti1p1_binding"] == "approved"
    assert stored["lti1p1_verified"] is False  # bound by approval, not by a signature
    again = bindings_call(platforms_fn, org.api_key, platform_id, pending["id"], "approve")
    assert (again.status, again.body["error"]) == (409, "already_approved")

    rejected = bindings_call(platforms_fn, org.api_key, platform_id, pending["id"], "reject")
    assert rejected.status == 200 and rejected.body["status"] == "rejected"
    for _ in range(2):
        stored = unsigned_launch(launch_fn, migrating, key)
        assert "lti11_consumer_key" not in stored and stored["lti1p1_binding"] == "rejected"
        launch_state.forget()
    [binding] = binding_items(stack)
    assert binding["status"] == "rejected"  # a launch never overwrites a decision


def test_a_binding_is_per_deployment(migrating, launch_fn, platforms_fn, stack):
    key, org, platform_id = migrating["key"]["key"], migrating["org"], migrating["platform"]["id"]
    platforms.update_platform(migrating["principal"], platform_id, {"deploymentIds": [DEPLOYMENT, "deployment-2"]})
    unsigned_launch(launch_fn, migrating, key)
    bindings_call(platforms_fn, org.api_key, platform_id, lti11_bindings.binding_id(DEPLOYMENT, key), "approve")

    other = unsigned_launch(launch_fn, migrating, key, deployment="deployment-2")

    assert "lti11_consumer_key" not in other and other["lti1p1_binding"] == "pending"
    assert sorted(b["deployment_id"] for b in binding_items(stack)) == [DEPLOYMENT, "deployment-2"]

    def page(query: dict[str, str]) -> Any:
        path = {"platform_id": platform_id}
        return platforms_fn(
            vary("platforms-lti11-bindings-list.json", api_key=org.api_key, path_params=path, query=query)
        )

    first = page({"limit": "1"}).body
    second = page({"limit": "1", "next": first["next"]}).body
    seen = [b["deploymentId"] for b in first["bindings"] + second["bindings"]]
    assert sorted(seen) == [DEPLOYMENT, "deployment-2"]
    assert page({"next": "bm90LWEtdG9rZW4"}).status == 400  # a token of no page of this platform


def test_another_organisations_key_is_never_offered_and_cannot_be_approved(
    migrating, launch_fn, platforms_fn, stack, make_org
):
    foreign = consumer_keys.create_consumer_key(make_org("Other University").org_id)["key"]
    org, platform_id = migrating["org"], migrating["platform"]["id"]

    stored = unsigned_launch(launch_fn, migrating, foreign)

    assert "lti11_consumer_key" not in stored and "lti1p1_binding" not in stored
    assert binding_items(stack) == []
    guessed = lti11_bindings.binding_id(DEPLOYMENT, foreign)
    answer = bindings_call(platforms_fn, org.api_key, platform_id, guessed, "approve")
    assert (answer.status, answer.body["error"]) == (404, "not_found")

    # Even an item naming it (written by no launch) is refused, and would not bind a launch.
    boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).put_item(
        Item={
            "pk": f"LTI1P1BIND#{platform_id}",
            "sk": guessed,
            "kind": "lti11_binding",
            "binding_id": guessed,
            "platform_id": platform_id,
            "org_id": org.org_id,
            "deployment_id": DEPLOYMENT,
            "consumer_key": foreign,
            "consumer_key_org_id": "org_someone_else",
            "status": "pending",
            "first_seen_at": "2026-01-01T00:00:00Z",
            "version": 1,
        }
    )
    answer = bindings_call(platforms_fn, org.api_key, platform_id, guessed, "approve")
    assert (answer.status, answer.body["error"]) == (400, "consumer_key_not_in_organisation")
    boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).update_item(
        Key={"pk": f"LTI1P1BIND#{platform_id}", "sk": guessed},
        UpdateExpression="SET #s = :a",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":a": "approved"},
    )
    launch_state.forget()
    assert "lti11_consumer_key" not in unsigned_launch(launch_fn, migrating, foreign)


def test_members_may_not_and_other_organisations_cannot_see_bindings(
    migrating, launch_fn, platforms_fn, stack, make_org
):
    key, platform_id = migrating["key"]["key"], migrating["platform"]["id"]
    unsigned_launch(launch_fn, migrating, key)
    binding = lti11_bindings.binding_id(DEPLOYMENT, key)
    member = orgs.create_credential(migrating["principal"], {"role": "member"})["api_key"]
    other = make_org("Other University")

    for call in (
        lambda k: bindings_call(platforms_fn, k, platform_id),
        lambda k: bindings_call(platforms_fn, k, platform_id, binding, "approve"),
        lambda k: bindings_call(platforms_fn, k, platform_id, binding, "reject"),
    ):
        assert call(member).status == 403
        denied = call(other.api_key)
        assert (denied.status, denied.body["error"]) == (404, "not_found") and key not in denied.raw
    [item] = binding_items(stack)
    assert item["status"] == "pending"


def test_a_verified_signature_needs_no_approval_and_records_no_binding(migrating, launch_fn, stack):
    created = migrating["key"]
    target = migrating["class"]["launch_url"]
    auth = login(launch_fn, target)
    exp = int(time.time()) + 300
    claim = _lti1p1(migrating, key=created["key"], secret=created["secret"], auth=auth, exp=exp)
    token = id_token_for({**auth, "_target": target}, exp=exp, **{lti.LTI1P1: claim})

    assert launch_fn(launch_post({"id_token": token, "state": auth["state"]})).status == 302

    [stored] = items(stack, "LAUNCH#")
    assert stored["lti11_consumer_key"] == created["key"] and stored["lti1p1_verified"] is True
    assert "lti1p1_binding" not in stored and binding_items(stack) == []


def test_listing_filters_by_status_and_unknown_ids_are_not_found(migrating, launch_fn, platforms_fn):
    key, org, platform_id = migrating["key"]["key"], migrating["org"], migrating["platform"]["id"]
    unsigned_launch(launch_fn, migrating, key)

    def listed(status: str) -> Any:
        event = vary(
            "platforms-lti11-bindings-list.json",
            api_key=org.api_key,
            path_params={"platform_id": platform_id},
            query={"status": status},
        )
        return platforms_fn(event)

    assert len(listed("pending").body["bindings"]) == 1 and listed("approved").body["bindings"] == []
    assert listed("bogus").status == 400
    for bad in ("lb_" + "0" * 32, "nope", "x" * 300):
        answer = bindings_call(platforms_fn, org.api_key, platform_id, bad, "approve")
        assert (answer.status, answer.body["error"]) == (404, "not_found")


def test_a_warm_launch_with_a_pending_binding_reads_key_and_binding_once_each(migrating, launch_fn):
    key = migrating["key"]["key"]
    unsigned_launch(launch_fn, migrating, key)  # warms what a container may keep (registration, JWKS, org)
    target = migrating["class"]["launch_url"]
    auth = login(launch_fn, target)
    claim = {"oauth_consumer_key": key}
    event = launch_post(
        {"id_token": id_token_for({**auth, "_target": target}, **{lti.LTI1P1: claim}), "state": auth["state"]}
    )
    calls: list[str] = []

    def count(event_name: str, **_: Any) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    for client in (aws.dynamodb().meta.client, aws.dynamodb_client()):
        client.meta.events.register("before-call.dynamodb", count)
    assert launch_fn(event).status == 302
    # The state (read, consumed), then the class, the consumer key and the binding, each read consistent
    # on every launch (issue 13 item 12: a rejection or a revocation counts from the next launch), then
    # the launch context.
    assert calls == ["GetItem", "DeleteItem", "GetItem", "GetItem", "GetItem", "PutItem"], calls


# -- what the app learns: the gateway's side of the launch ---------------------------------------------


def _gateway_of(token_fn, world, answer) -> dict:
    from tests.support.app_api import ltik_auth, token_event

    token = parse_qs(urlsplit(answer.headers["location"]).query)["ltik"][0]
    reply = token_fn(token_event("GET", "/api/idtoken", authorization=ltik_auth(world["org"].api_key, token)))
    assert reply.status == 200, reply.raw
    return reply.body["gateway"]


def test_the_app_learns_the_unit_an_lti13_launch_named_without_parsing_the_target(world, launch_fn, token_fn):
    answer, _ = full_launch(launch_fn, world["unit"]["launch_url"])
    assert answer.status == 302, answer.raw

    assert _gateway_of(token_fn, world, answer) == {
        "orgId": world["org"].org_id,
        "classId": world["class"]["class_id"],
        "className": "Physics 101",
        "unitId": world["unit"]["unit_id"],
        "unitName": "Waves",
        "target": "unit",
        "launchUrl": world["unit"]["launch_url"],
    }


def test_a_deep_linking_request_naming_no_class_says_so(world, launch_fn, token_fn):
    settings = {"deep_link_return_url": "https://lms.example.edu/dl/return", "accept_types": ["ltiResourceLink"]}
    answer, _ = full_launch(
        launch_fn,
        f"{BASE}/lti/launch",
        **{
            lti.MESSAGE_TYPE: "LtiDeepLinkingRequest",
            lti.TARGET_LINK_URI: None,
            lti.RESOURCE_LINK: None,
            lti.DEEP_LINKING_SETTINGS: settings,
        },
    )
    assert answer.status == 302, answer.raw

    gateway = _gateway_of(token_fn, world, answer)
    assert gateway["orgId"] == world["org"].org_id
    assert gateway["classId"] is None and gateway["unitId"] is None and gateway["target"] is None
    assert gateway["launchUrl"].startswith("https://") and "/launch" in gateway["launchUrl"]


def test_a_verified_launch_refused_at_another_organisations_class_is_recorded_for_its_own(
    world, launch_fn, keys_fn, make_org
):
    from tests.functional.admin.test_launch_errors_api import lookup_event

    other = make_org("Other University")
    owner = orgs.Principal(other.org_id, other.credential_id, "owner")
    target = classes.create_class(owner, {"name": "Their class"}, base=BASE)["launch_url"]
    auth = login(launch_fn, target)
    token = id_token_for({**auth, "_target": target}, sub="user-7")
    event = launch_post({"id_token": token, "state": auth["state"]}, urlsplit(target).path)
    event["requestContext"]["requestId"] = reference = "Planted1234567="

    answer = launch_fn(event)  # verified, so back to the LMS with lti_errormsg
    assert answer.status == 302 and "lti_errormsg=" in answer.headers["location"]
    theirs = keys_fn(lookup_event(reference, other.api_key))
    ours = keys_fn(lookup_event(reference, world["org"].api_key))
    assert theirs.status == 404  # nothing planted in the class's organisation
    assert ours.status == 200, ours.raw
    record = ours.body
    assert (record["code"], record["verified"]) == ("class_not_in_organisation", True)
    assert (record["platform_id"], record["issuer"], record["client_id"]) == (world["platform"]["id"], ISS, CLIENT_ID)
    assert record["lms"]["context_id"] == "course-1" and record["lms"]["user_id"] == "user-7"
