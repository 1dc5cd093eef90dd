"""LTI Dynamic Registration 1.0 against a local LMS (tests/peers/registration_platform.py)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time

import boto3
import pytest

from lti_gateway.admin import orgs, tool_config
from lti_gateway.core import config
from lti_gateway.core.errors import GatewayError
from lti_gateway.lti13 import dynamic_registration, platforms
from tests.peers.registration_platform import RegistrationPlatform
from tests.support.events import vary

BASE = "https://abc123.execute-api.us-east-1.amazonaws.com"  # the sample events' domainName


@pytest.fixture
def lms():
    platform = RegistrationPlatform().start()
    yield platform
    platform.stop()


@pytest.fixture
def insecure(monkeypatch):
    """Local mode (what `make run` sets): http and loopback platforms are allowed."""
    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


@pytest.fixture
def production(monkeypatch):
    monkeypatch.delenv("ALLOW_INSECURE_PLATFORM_URLS", raising=False)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def new_registration_url(platforms_fn, org, body: dict | None = None) -> str:
    answer = platforms_fn(vary("platforms-registration-url.json", api_key=org.api_key, body=body or {}))
    assert answer.status == 201, answer.body
    return answer.body["registration_url"]


def open_from_lms(platforms_fn, url: str, query: dict[str, str]):
    token = url.rsplit("/", 1)[1]
    return platforms_fn(vary("platforms-register.json", path_params={"token": token}, query=query))


def lms_query(lms: RegistrationPlatform, **extra: str) -> dict[str, str]:
    query = {"openid_configuration": lms.config_url}
    if lms.registration_token:
        query["registration_token"] = lms.registration_token
    return {**query, **extra}


def stored_platforms(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith(("PLATFORM#", "ISS#"))]


def registration_url_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith("REGURL#")]


def assert_refused(answer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert f"<code>{code}</code>" in answer.raw
    assert "postMessage" not in answer.raw


# -- the registration URL ---------------------------------------------------------------------------


def test_an_owner_gets_a_registration_url_stored_only_as_a_hash(platforms_fn, org, stack):
    url = new_registration_url(platforms_fn, org)

    assert url.startswith(f"{BASE}/lti/register/")
    token = url.rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    [item] = registration_url_items(stack)
    assert item["pk"] == f"REGURL#{hashlib.sha256(token.encode()).hexdigest()}"
    assert item["org_id"] == org.org_id and item["reusable"] is False
    assert int(item["expires_at"]) - time.time() == pytest.approx(7 * 24 * 3600, abs=60)
    assert token not in json.dumps(registration_url_items(stack), default=str)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_in_seconds": 10}, "expires_in_seconds"),
        ({"expires_in_seconds": 31 * 24 * 3600}, "expires_in_seconds"),
        ({"expires_in_seconds": "3600"}, "expires_in_seconds"),
        ({"reusable": "yes"}, "reusable"),
        ({"org_id": "org_other"}, "org_id"),
    ],
)
def test_invalid_registration_url_requests(platforms_fn, org, stack, body, field):
    answer = platforms_fn(vary("platforms-registration-url.json", api_key=org.api_key, body=body))

    assert (answer.status, answer.body["error"]) == (400, "validation_failed")
    assert field in answer.body["details"]
    assert registration_url_items(stack) == []


def test_members_cannot_get_a_registration_url(platforms_fn, org, stack):
    member = orgs.create_credential(orgs.Principal(org.org_id, org.credential_id, "owner"), {"role": "member"})

    answer = platforms_fn(vary("platforms-registration-url.json", api_key=member["api_key"], body={}))

    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")
    assert registration_url_items(stack) == []


# -- the happy path ---------------------------------------------------------------------------------


def test_dynamic_registration_stores_the_platform_and_closes_the_window(platforms_fn, org, stack, lms, insecure):
    url = new_registration_url(platforms_fn, org)

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert answer.status == 200, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert "(window.opener || window.parent).postMessage({subject: 'org.imsglobal.lti.close'}, '*')" in answer.raw
    nonce = re.search(r"<script nonce=\"([^\"]+)\">", answer.raw)[1]
    assert f"script-src 'nonce-{nonce}'" in answer.headers["content-security-policy"]
    assert lms.rejections == []
    # The platform received our configuration, from the one module that builds it, with its token.
    [payload] = lms.registrations
    assert payload == tool_config.registration_request(BASE, org.org_id, product_family_code="moodle")
    # The registering organisation's own URLs and JWKS (never the stack-wide ones).
    assert payload["initiate_login_uri"] == f"{BASE}/lti/orgs/{org.org_id}/login"
    assert payload["redirect_uris"] == [f"{BASE}/lti/orgs/{org.org_id}/launch"]
    assert payload["jwks_uri"] == f"{BASE}/lti/orgs/{org.org_id}/jwks.json"
    assert set(payload["scope"].split()) == set(tool_config.SCOPES)
    for method, _, headers, _ in lms.requests:
        assert headers["authorization"] == f"Bearer {lms.registration_token}", method
    # …and the gateway stored what it answered, as an active platform of the URL's organisation.
    registration = platforms.find_for_login(lms.origin, "client-1", org.org_id)
    assert registration.org_id == org.org_id and registration.active
    assert registration.deployment_ids == ("deployment-1",)
    assert registration.jwks_url == lms.origin + "/api/lti/security/jwks"
    assert registration.auth_login_url == lms.origin + "/api/lti/authorize_redirect"
    assert registration.auth_token_url == lms.origin + "/login/oauth2/token"
    assert registration.name == "moodle (127.0.0.1)"
    # The registration token of the LMS is never echoed.
    assert lms.registration_token not in answer.raw


def test_a_single_use_url_is_spent(platforms_fn, org, stack, lms, insecure):
    url = new_registration_url(platforms_fn, org)
    assert open_from_lms(platforms_fn, url, lms_query(lms)).status == 200

    again = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_refused(again, 404, "registration_url_unknown")
    assert registration_url_items(stack) == []
    assert len(lms.registrations) == 1


def test_a_reusable_url_registers_several_platforms(platforms_fn, org, stack, lms, insecure):
    url = new_registration_url(platforms_fn, org, {"reusable": True})

    first = open_from_lms(platforms_fn, url, lms_query(lms))
    second = open_from_lms(platforms_fn, url, lms_query(lms))

    assert first.status == second.status == 200
    assert platforms.find_for_login(lms.origin, "client-1", org.org_id).org_id == org.org_id
    assert platforms.find_for_login(lms.origin, "client-2", org.org_id).org_id == org.org_id
    assert len(registration_url_items(stack)) == 1


def test_canvas_gets_deep_linking_placements(platforms_fn, org, stack, insecure):
    canvas = RegistrationPlatform(product="canvas").start()
    try:
        url = new_registration_url(platforms_fn, org)
        assert open_from_lms(platforms_fn, url, lms_query(canvas)).status == 200
    finally:
        canvas.stop()
    [payload] = canvas.registrations
    messages = payload["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]
    [deep] = [m for m in messages if m["type"] == "LtiDeepLinkingRequest"]
    assert deep["placements"] == ["link_selection", "assignment_selection"]


def test_without_a_registration_token(platforms_fn, org, stack, insecure):
    lms = RegistrationPlatform(registration_token=None).start()
    try:
        answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))
    finally:
        lms.stop()

    assert answer.status == 200
    assert all("authorization" not in headers for _, _, headers, _ in lms.requests)


# -- refusals: nothing stored, a clear page ----------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        ("A" * 43, 404, "registration_url_unknown"),
        ("not-a-token", 404, "registration_url_unknown"),
        ("x" * 500, 404, "registration_url_unknown"),
    ],
)
def test_bad_registration_urls(platforms_fn, org, stack, lms, insecure, token, status, code):
    answer = open_from_lms(platforms_fn, f"{BASE}/lti/register/{token}", lms_query(lms))

    assert_refused(answer, status, code)
    assert lms.requests == [] and stored_platforms(stack) == []


def test_an_expired_registration_url(platforms_fn, org, stack, lms, insecure, monkeypatch):
    url = new_registration_url(platforms_fn, org, {"expires_in_seconds": 300})
    later = time.time() + 301
    monkeypatch.setattr(time, "time", lambda: later)

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_refused(answer, 410, "registration_url_expired")
    assert lms.requests == [] and stored_platforms(stack) == []


def test_missing_openid_configuration(platforms_fn, org, stack, insecure):
    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), {})

    assert_refused(answer, 400, "missing_openid_configuration")
    assert stored_platforms(stack) == []


def test_the_issuer_must_be_on_the_configuration_urls_origin(platforms_fn, org, stack, lms, insecure):
    lms.config_overrides = {"issuer": "https://canvas.instructure.com"}

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))

    assert_refused(answer, 400, "issuer_mismatch")
    assert lms.registrations == [] and [r for r in lms.requests if r[0] == "POST"] == []
    assert stored_platforms(stack) == []


def test_production_refuses_plain_http(platforms_fn, org, stack, lms, production):
    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))

    assert_refused(answer, 400, "validation_failed")
    assert "https" in answer.raw
    assert lms.requests == [] and stored_platforms(stack) == []


def test_production_refuses_private_addresses(platforms_fn, org, stack, lms, production):
    port = lms.origin.rsplit(":", 1)[1]
    query = lms_query(lms, openid_configuration=f"https://127.0.0.1:{port}/api/lti/security/openid-configuration")

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), query)

    assert_refused(answer, 400, "validation_failed")
    assert lms.requests == [] and stored_platforms(stack) == []


def test_production_refuses_names_that_resolve_to_private_addresses(
    platforms_fn, org, stack, lms, production, monkeypatch
):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "lms.example.edu":
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    query = lms_query(lms, openid_configuration="https://lms.example.edu/api/lti/security/openid-configuration")

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), query)

    assert_refused(answer, 400, "url_not_allowed")
    assert lms.requests == [] and stored_platforms(stack) == []


@pytest.mark.parametrize(
    ("mode", "overrides", "status", "code"),
    [
        ("huge_config", {}, 502, "response_too_large"),
        ("garbage_config", {}, 502, "invalid_openid_configuration"),
        ("config_500", {}, 502, "openid_configuration_unavailable"),
        (None, {"registration_endpoint": None}, 502, "invalid_openid_configuration"),
        (None, {"jwks_uri": "ftp://x.example/jwks"}, 502, "invalid_openid_configuration"),
        (None, {"token_endpoint_auth_methods_supported": ["client_secret_basic"]}, 502, "unsupported_platform"),
        ("register_400", {}, 502, "registration_rejected"),
        ("register_500", {}, 502, "registration_rejected"),
        ("no_client_id", {}, 502, "invalid_registration_response"),
    ],
)
def test_platform_failures_are_clear_pages(platforms_fn, org, stack, lms, insecure, mode, overrides, status, code):
    lms.mode = mode
    lms.config_overrides = overrides
    url = new_registration_url(platforms_fn, org)

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_refused(answer, status, code)
    assert stored_platforms(stack) == []
    assert len(registration_url_items(stack)) == 1  # not spent: the admin can try again
    assert lms.registration_token not in answer.raw


def test_registration_rejected_names_the_platforms_status(platforms_fn, org, stack, lms, insecure):
    lms.mode = "register_400"

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))

    assert "HTTP 400" in answer.raw


def test_a_platform_that_does_not_answer_in_time(platforms_fn, org, stack, lms, insecure, monkeypatch):
    monkeypatch.setattr(dynamic_registration, "TIMEOUT_SECONDS", 0.3)
    lms.mode, lms.slow_seconds = "slow", 1.0

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))

    assert_refused(answer, 504, "upstream_timeout")
    assert stored_platforms(stack) == []


def test_an_unreachable_platform(platforms_fn, org, stack, insecure):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: nothing listens there

    answer = open_from_lms(
        platforms_fn,
        new_registration_url(platforms_fn, org),
        {"openid_configuration": f"http://127.0.0.1:{port}/openid-configuration"},
    )

    assert_refused(answer, 502, "upstream_unreachable")


def test_a_pair_already_registered_in_the_organisation_is_refused(platforms_fn, make_org, stack, lms, insecure):
    first, second = make_org("First"), make_org("Second")
    assert open_from_lms(platforms_fn, new_registration_url(platforms_fn, first), lms_query(lms)).status == 200
    lms.client_ids = iter(["client-1", "client-1"])  # the LMS hands out the same client id again

    answer = open_from_lms(platforms_fn, new_registration_url(platforms_fn, first), lms_query(lms))
    elsewhere = open_from_lms(platforms_fn, new_registration_url(platforms_fn, second), lms_query(lms))

    assert_refused(answer, 409, "platform_exists")
    assert elsewhere.status == 200, elsewhere.raw  # unique inside one organisation, not across them
    assert platforms.find_for_login(lms.origin, "client-1", first.org_id).org_id == first.org_id
    assert platforms.find_for_login(lms.origin, "client-1", second.org_id).org_id == second.org_id


def test_nothing_secret_in_the_logs(platforms_fn, org, stack, lms, insecure, logs):
    url = new_registration_url(platforms_fn, org)
    token = url.rsplit("/", 1)[1]

    open_from_lms(platforms_fn, url, lms_query(lms))
    lms.mode = "register_500"
    open_from_lms(platforms_fn, new_registration_url(platforms_fn, org), lms_query(lms))

    text = logs.getvalue()
    assert "platform registered dynamically" in text and "dynamic registration refused" in text
    assert token not in text and lms.registration_token not in text


def test_a_single_use_url_opened_twice_at_once_registers_one_platform(platforms_fn, org, stack, lms, insecure):
    from concurrent.futures import ThreadPoolExecutor

    token = new_registration_url(platforms_fn, org).rsplit("/", 1)[1]

    def attempt(_: int) -> str:
        try:
            dynamic_registration.register(token, lms_query(lms), base=BASE)
        except GatewayError as error:
            return error.code
        return "registered"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(attempt, range(6)))

    assert outcomes.count("registered") == 1
    assert set(outcomes) - {"registered"} <= {"registration_url_unknown", "concurrent_change"}
    assert len([i for i in stored_platforms(stack) if i["pk"].startswith("PLATFORM#")]) == 1
