"""LTI 1.3 on a custom domain: dynamic registration sends the platform the organisation's URLs on the
domain and its tool name, description and icon, whatever host the LMS opened the registration URL on;
launches keep arriving on either host (an LMS set up before the move still uses the execute-api URL)."""

from __future__ import annotations

import copy

import pytest

from lti_gateway.core import clock, runtime, urls
from lti_gateway.core.vocabulary import LTI_TOOL_CONFIGURATION
from lti_gateway.repositories import deps
from tests.peers.registration_platform import RegistrationPlatform
from tests.support.events import load_event, vary

EXECUTE_API = "abc123.execute-api.us-east-1.amazonaws.com"  # the sample events' domainName
DOMAIN = "lti.example.edu"
PUBLIC = f"https://{DOMAIN}"
ICON = "https://cdn.example.edu/acme.png"


@pytest.fixture(autouse=True)
def _custom_domain(stack, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("LAUNCH_BASE_URL", raising=False)
    monkeypatch.setenv("PUBLIC_DOMAIN_NAME", DOMAIN)
    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")  # the test LMS runs on loopback over http
    for name in ("TOOL_NAME", "TOOL_DESCRIPTION", "TOOL_ICON_URL"):
        monkeypatch.delenv(name, raising=False)
    runtime.reset()
    yield
    runtime.reset()


@pytest.fixture
def lms():
    platform = RegistrationPlatform().start()
    yield platform
    platform.stop()


def register(platforms_fn, org, lms) -> dict:
    created = platforms_fn(vary("platforms-registration-url.json", api_key=org.api_key, body={}))
    assert created.status == 201, created.raw
    url = created.body["registration_url"]
    assert url.startswith(f"{PUBLIC}/lti/register/")
    event = vary(
        "platforms-register.json",
        path_params={"token": url.rsplit("/", 1)[1]},
        query={"openid_configuration": lms.config_url, "registration_token": lms.registration_token},
    )
    assert event["requestContext"]["domainName"] == EXECUTE_API  # the LMS used the execute-api host
    answer = platforms_fn(event)
    assert answer.status == 200, answer.raw
    assert lms.rejections == []
    [payload] = lms.registrations
    return payload


def test_registration_sends_the_organisations_urls_on_the_domain(platforms_fn, org, lms):
    payload = register(platforms_fn, org, lms)
    assert payload["initiate_login_uri"] == f"{PUBLIC}/lti/orgs/{org.org_id}/login"
    assert payload["redirect_uris"] == [f"{PUBLIC}/lti/orgs/{org.org_id}/launch"]
    assert payload["jwks_uri"] == f"{PUBLIC}/lti/orgs/{org.org_id}/jwks.json"
    tool = payload[LTI_TOOL_CONFIGURATION]
    assert tool["domain"] == DOMAIN
    assert tool["target_link_uri"] == f"{PUBLIC}/lti/orgs/{org.org_id}/launch"
    assert {m["target_link_uri"] for m in tool["messages"]} == {f"{PUBLIC}/lti/orgs/{org.org_id}/launch"}
    assert EXECUTE_API not in repr(payload)
    # No organisation settings: the stack's defaults, no icon.
    assert payload["client_name"] == "LTI Gateway"
    assert "logo_uri" not in payload
    assert {m["label"] for m in tool["messages"]} == {"LTI Gateway"}


def test_registration_sends_the_organisations_tool_name_description_and_icon(platforms_fn, org, lms):
    deps.keys_repo().update_organisation_settings(
        org.org_id,
        {"tool_name": "Acme Labs", "tool_description": "Acme's virtual labs.", "tool_icon_url": ICON},
        clock.iso(clock.now()),
    )
    payload = register(platforms_fn, org, lms)
    tool = payload[LTI_TOOL_CONFIGURATION]
    assert payload["client_name"] == "Acme Labs"
    assert payload["logo_uri"] == ICON
    assert tool["description"] == "Acme's virtual labs."
    assert {m["label"] for m in tool["messages"]} == {"Acme Labs"}
    assert {m["icon_uri"] for m in tool["messages"]} == {ICON}


def test_registration_with_the_stack_default(platforms_fn, org, lms, monkeypatch):
    monkeypatch.setenv("TOOL_NAME", "State University Labs")
    monkeypatch.setenv("TOOL_ICON_URL", "https://cdn.example.edu/labs.png")
    runtime.reset()
    payload = register(platforms_fn, org, lms)
    assert payload["client_name"] == "State University Labs"
    assert payload["logo_uri"] == "https://cdn.example.edu/labs.png"


# -- launches on either host -------------------------------------------------------------------------


def _arriving_on(host: str) -> dict:
    event = copy.deepcopy(load_event("launch-lti13.json"))
    event["requestContext"]["domainName"] = host
    event["headers"]["host"] = host
    return event


def test_launches_are_accepted_on_the_domain_and_on_the_host_they_arrive_on():
    """A target link URI on the domain (what is handed out now) and one on the execute-api host (what an
    LMS registered before the move still sends) both name this gateway."""
    on_execute_api = urls.launch_bases(_arriving_on(EXECUTE_API))
    assert on_execute_api[0] == PUBLIC
    assert f"https://{EXECUTE_API}" in on_execute_api
    assert urls.launch_bases(_arriving_on(DOMAIN)) == [PUBLIC]


def test_a_launch_base_url_is_still_accepted(monkeypatch):
    monkeypatch.setenv("LAUNCH_BASE_URL", "https://gateway.example.edu/lti")
    runtime.reset()
    assert urls.launch_bases(_arriving_on(DOMAIN)) == [PUBLIC, "https://gateway.example.edu/lti"]


def test_another_host_is_never_a_launch_base():
    """Only the host the request arrived on joins: a launch naming some other host is not ours."""
    bases = urls.launch_bases(_arriving_on(EXECUTE_API))
    assert all(b in (PUBLIC, f"https://{EXECUTE_API}") for b in bases)
    assert urls.launch_bases(_arriving_on("not a host")) == [PUBLIC]


def test_handed_out_urls_never_use_the_request_host():
    assert urls.event_base_url(_arriving_on(EXECUTE_API)) == PUBLIC
