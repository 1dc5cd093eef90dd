"""Organisations that do not trust each other share one stack (issue 13, items 1 and 2).

Registrations are tenant-scoped: each organisation has its own login, launch and JWKS URLs; a login is
matched only against the registrations of the organisation its URL names; (issuer, client id) is unique
inside one organisation, not across them; a launch lands only in that organisation's classes. Each
organisation signs with its own keys, so an LMS that trusts one organisation's JWKS never accepts what
another organisation's registration asked for: the roster theft below is refused. Registrations made
before tenant scoping keep working for the organisation that holds them.

Everything goes through the handlers (launch, platforms, token); every refusal also checks that nothing
was stored.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import jwt
import pytest
from jwt import PyJWKSet

from lti_gateway.admin import classes, orgs
from lti_gateway.core import vocabulary as lti
from lti_gateway.lti13 import platforms, tool_keys
from tests.peers.advantage_platform import AdvantagePlatform
from tests.peers.jwks_server import JwksServer
from tests.peers.oauth1_signer import launch_event
from tests.support import launch_state
from tests.support.app_api import SCOPES, lti13_claims, ltik_auth, store_lti13_launch, token_event
from tests.support.browser import Browser
from tests.support.events import vary

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
BASE = f"https://{HOST}"
APP = "https://app.example.com/lti/start"
ISS = "https://canvas.instructure.com"  # hosted Canvas: one issuer for every institution
CLIENT_ID = "10000000000042"  # client ids are not secret: every id_token carries one
DEPLOYMENT = "deployment-1"
AUTH_URL = "https://sso.canvaslms.com/api/lti/authorize_redirect"


def keys_table(stack) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]


def launch_items(stack) -> list[dict[str, Any]]:
    return boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]


def launches(stack) -> list[dict[str, Any]]:
    return [i for i in launch_items(stack) if i["pk"].startswith("LAUNCH#")]


# -- the world: a victim institution and an attacker organisation on one stack ---------------------------


def _org_world(make_org, name: str, jwks_url: str) -> dict[str, Any]:
    org = make_org(name)
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    orgs.update_settings(principal, {"app_launch_url": APP})
    cls = classes.create_class(principal, {"name": f"{name} class"}, base=BASE)
    platform = platforms.create_platform(
        principal,
        {
            "url": ISS,
            "clientId": CLIENT_ID,
            "name": "Canvas",
            "authenticationEndpoint": AUTH_URL,
            "accesstokenEndpoint": "https://sso.canvaslms.com/login/oauth2/token",
            "authConfig": {"method": "JWK_SET", "key": jwks_url},
            "deploymentIds": [DEPLOYMENT],
        },
    )
    return {"org": org, "principal": principal, "class": cls, "platform": platform}


@pytest.fixture
def lms_keys():
    """The victim's LMS (its JWKS) and the attacker's own JWKS: two keys, two loopback servers."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    victim_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with JwksServer() as victim_jwks, JwksServer() as attacker_jwks:
        victim_jwks.publish(victim_key, "v1")
        attacker_jwks.publish(attacker_key, "a1")
        yield {"victim": (victim_key, victim_jwks), "attacker": (attacker_key, attacker_jwks)}


@pytest.fixture
def tenants(stack, make_org, lms_keys, monkeypatch):
    """Two organisations that both registered hosted Canvas with the same client id: the victim (whose
    institution it is) and the attacker (who copied the client id from an id_token)."""
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")  # the JWKS servers are on loopback
    config.settings.cache_clear()
    launch_state.forget()
    victim = _org_world(make_org, "Victim University", lms_keys["victim"][1].url)
    attacker = _org_world(make_org, "Attacker Inc", lms_keys["attacker"][1].url)
    return {"victim": victim, "attacker": attacker}


def org_path(org_id: str, name: str) -> str:
    return f"/lti/orgs/{org_id}/{name}"


def login_event(params: dict[str, str], path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /lti/orgs/{org_id}/login",
        "rawPath": path,
        "rawQueryString": urlencode(params),
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


def login(launch_fn, browser: Browser, path: str, target: str) -> tuple[Any, dict[str, str]]:
    params = {"iss": ISS, "login_hint": "user-7", "target_link_uri": target, "client_id": CLIENT_ID}
    answer = launch_fn(login_event(params, path))
    browser.keep(answer)
    if answer.status != 302:
        return answer, {}
    return answer, {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def id_token(auth: dict[str, str], key, kid: str, target: str) -> str:
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": CLIENT_ID,
        "sub": "student-1",
        "iat": now,
        "exp": now + 300,
        "nonce": auth["nonce"],
        "name": "Student One",
        "email": "student.one@victim.example.edu",
        lti.MESSAGE_TYPE: "LtiResourceLinkRequest",
        lti.VERSION: "1.3.0",
        lti.DEPLOYMENT_ID: DEPLOYMENT,
        lti.TARGET_LINK_URI: target,
        lti.RESOURCE_LINK: {"id": "link-1"},
        lti.ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        lti.CONTEXT: {"id": "course-1"},
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def launch_post(form: dict[str, str], path: str, browser: Browser) -> dict[str, Any]:
    event = launch_event(urlencode(form), host=HOST, raw_path=path)
    event["requestContext"]["http"]["path"] = path
    return browser.carry(event, form.get("state"))


# -- item 1: registrations are the organisation's own ---------------------------------------------------


def test_two_organisations_may_register_the_same_pair_but_one_organisation_only_once(tenants, platforms_fn):
    victim = tenants["victim"]
    assert victim["platform"]["id"] != tenants["attacker"]["platform"]["id"]
    assert victim["platform"]["tenantScoped"] is True

    body = {
        "url": ISS,
        "clientId": CLIENT_ID,
        "name": "Canvas again",
        "authenticationEndpoint": AUTH_URL,
        "accesstokenEndpoint": "https://sso.canvaslms.com/login/oauth2/token",
        "authConfig": {"method": "JWK_SET", "key": "https://sso.canvaslms.com/api/lti/security/jwks"},
    }
    before = keys_table_snapshot(platforms_fn)
    again = platforms_fn(vary("platforms-create.json", api_key=victim["org"].api_key, body=body))

    assert (again.status, again.body["error"]) == (409, "platform_exists"), again.raw
    assert keys_table_snapshot(platforms_fn) == before


def keys_table_snapshot(_fn) -> str:
    import os

    items = boto3.resource("dynamodb").Table(os.environ["KEYS_TABLE"]).scan()["Items"]
    items = [i for i in items if not i["pk"].startswith("APIKEY#")]  # an API key records its last use
    return json.dumps(sorted(items, key=lambda i: (i["pk"], i["sk"])), default=str, sort_keys=True)


def test_the_login_url_names_the_organisation_and_the_launch_lands_only_there(tenants, lms_keys, launch_fn, stack):
    """The victim institution's LMS uses the victim's URLs: the attacker's registration of the very same
    issuer and client id receives nothing of it (no state, no launch, no student's name)."""
    victim, attacker = tenants["victim"], tenants["attacker"]
    browser = Browser()
    target = victim["class"]["launch_url"]
    answer, auth = login(launch_fn, browser, org_path(victim["org"].org_id, "login"), target)

    assert answer.status == 302, answer.raw
    assert auth["redirect_uri"] == f"{BASE}{org_path(victim['org'].org_id, 'launch')}"
    [state] = [i for i in launch_items(stack) if i["pk"].startswith("STATE#")]
    assert (state["org_id"], state["platform_id"]) == (victim["org"].org_id, victim["platform"]["id"])

    key, kid = lms_keys["victim"][0], "v1"
    token = id_token(auth, key, kid, target)
    landed = launch_fn(
        launch_post({"id_token": token, "state": auth["state"]}, auth["redirect_uri"][len(BASE) :], browser)
    )

    assert landed.status == 302 and landed.headers["location"].startswith(APP + "?ltik="), landed.raw
    [context] = launches(stack)
    assert (context["org_id"], context["platform_id"]) == (victim["org"].org_id, victim["platform"]["id"])
    assert all(i.get("org_id") != attacker["org"].org_id for i in launch_items(stack))


def test_the_attackers_login_url_cannot_launch_into_the_victims_class(tenants, lms_keys, launch_fn, stack):
    """A login at the attacker's URL matches the attacker's registration only; a target in the victim's
    class is then another organisation's class: refused, nothing stored."""
    victim, attacker = tenants["victim"], tenants["attacker"]
    browser = Browser()
    target = victim["class"]["launch_url"]
    answer, auth = login(launch_fn, browser, org_path(attacker["org"].org_id, "login"), target)
    assert answer.status == 302, answer.raw
    before = launches(stack)

    token = id_token(auth, lms_keys["attacker"][0], "a1", target)
    refused = launch_fn(
        launch_post({"id_token": token, "state": auth["state"]}, org_path(attacker["org"].org_id, "launch"), browser)
    )

    assert refused.status == 404, refused.raw
    assert "location" not in refused.headers or APP not in refused.headers["location"]
    assert launches(stack) == before == []


def test_a_state_from_one_organisations_login_is_refused_at_anothers_launch_url(tenants, lms_keys, launch_fn, stack):
    victim, attacker = tenants["victim"], tenants["attacker"]
    browser = Browser()
    target = victim["class"]["launch_url"]
    _, auth = login(launch_fn, browser, org_path(victim["org"].org_id, "login"), target)
    token = id_token(auth, lms_keys["victim"][0], "v1", target)

    refused = launch_fn(
        launch_post({"id_token": token, "state": auth["state"]}, org_path(attacker["org"].org_id, "launch"), browser)
    )

    assert refused.status == 401 and "unknown_platform" in refused.raw, refused.raw
    assert launches(stack) == []
    # The right URL still takes it: the refusal consumed nothing.
    accepted = launch_fn(
        launch_post({"id_token": token, "state": auth["state"]}, org_path(victim["org"].org_id, "launch"), browser)
    )
    assert accepted.status == 302, accepted.raw


def test_an_unknown_organisation_in_a_login_url_is_refused(tenants, launch_fn, stack):
    before = launch_items(stack)
    for org_id in ("org_doesnotexist0000", "../../lti/login", "a" * 65, "org%00"):
        answer, _ = login(launch_fn, Browser(), org_path(org_id, "login"), tenants["victim"]["class"]["launch_url"])
        assert 400 <= answer.status < 500, (org_id, answer.raw)
    assert launch_items(stack) == before


def test_the_stack_wide_login_url_does_not_find_tenant_scoped_registrations(tenants, launch_fn, stack):
    """First come, first served is over: the legacy URL names no organisation, so it matches none of the
    registrations made since (only the ones made before, see below)."""
    answer, _ = login(launch_fn, Browser(), "/lti/login", tenants["victim"]["class"]["launch_url"])

    assert answer.status == 400 and "unknown_platform" in answer.raw
    assert [i for i in launch_items(stack) if i["pk"].startswith("STATE#")] == []


# -- registrations made before tenant scoping --------------------------------------------------------


@pytest.fixture
def legacy(tenants, stack, lms_keys):
    """A registration as the previous release stored it: no ``tenant_scoped``, the stack-wide index item
    ``ISS#{issuer}`` / ``CLIENT#{client}``, signing with the stack-wide key set."""
    victim = tenants["victim"]
    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    now = "2026-01-01T00:00:00Z"
    platform_id = "plt_0000000000legacy"
    client_id = "legacy-client"
    item = {
        "pk": f"PLATFORM#{platform_id}",
        "sk": "META",
        "kind": "platform",
        "gsi1pk": f"ORG#{victim['org'].org_id}#PLATFORMS",
        "gsi1sk": f"{now}#{platform_id}",
        "platform_id": platform_id,
        "org_id": victim["org"].org_id,
        "name": "Old Canvas",
        "issuer": ISS,
        "client_id": client_id,
        "deployment_ids": [DEPLOYMENT],
        "auth_login_url": AUTH_URL,
        "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
        "jwks_url": lms_keys["victim"][1].url,
        "active": True,
        "allow_anonymous": False,
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
    table.put_item(Item=item)
    table.put_item(
        Item={
            "pk": f"ISS#{ISS}",
            "sk": f"CLIENT#{client_id}",
            "kind": "platform_index",
            "platform_id": platform_id,
            "org_id": victim["org"].org_id,
        }
    )
    return {"platform_id": platform_id, "client_id": client_id, "org": victim["org"]}


def _legacy_login(
    launch_fn, path: str, legacy: dict, target: str, browser: Browser | None = None
) -> tuple[Any, dict[str, str]]:
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": target, "client_id": legacy["client_id"]}
    answer = launch_fn(login_event(params, path))
    if browser is not None:
        browser.keep(answer)
    if answer.status != 302:
        return answer, {}
    return answer, {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def test_a_legacy_registration_keeps_working_at_the_stack_wide_urls(tenants, legacy, lms_keys, launch_fn, stack):
    target = tenants["victim"]["class"]["launch_url"]
    browser = Browser()
    answer, auth = _legacy_login(launch_fn, "/lti/login", legacy, target, browser)

    assert answer.status == 302, answer.raw
    assert auth["redirect_uri"] == f"{BASE}/lti/launch"  # what its LMS was given
    now = int(time.time())
    claims = {
        "iss": ISS,
        "aud": legacy["client_id"],
        "sub": "student-1",
        "iat": now,
        "exp": now + 300,
        "nonce": auth["nonce"],
        lti.MESSAGE_TYPE: "LtiResourceLinkRequest",
        lti.VERSION: "1.3.0",
        lti.DEPLOYMENT_ID: DEPLOYMENT,
        lti.TARGET_LINK_URI: target,
        lti.RESOURCE_LINK: {"id": "link-1"},
        lti.ROLES: [],
    }
    token = jwt.encode(claims, lms_keys["victim"][0], algorithm="RS256", headers={"kid": "v1"})
    event = launch_event(urlencode({"id_token": token, "state": auth["state"]}), host=HOST, raw_path="/lti/launch")
    event["requestContext"]["http"]["path"] = "/lti/launch"
    landed = launch_fn(browser.carry(event, auth["state"]))

    assert landed.status == 302 and landed.headers["location"].startswith(APP + "?ltik="), landed.raw
    [context] = launches(stack)
    assert (context["org_id"], context["platform_id"]) == (legacy["org"].org_id, legacy["platform_id"])


def test_a_legacy_registration_is_found_at_its_own_organisations_url_and_no_other(tenants, legacy, launch_fn, stack):
    target = tenants["victim"]["class"]["launch_url"]
    own, auth = _legacy_login(launch_fn, org_path(legacy["org"].org_id, "login"), legacy, target)
    other, _ = _legacy_login(launch_fn, org_path(tenants["attacker"]["org"].org_id, "login"), legacy, target)

    assert own.status == 302 and auth["redirect_uri"].endswith(org_path(legacy["org"].org_id, "launch"))
    assert other.status == 400 and "unknown_platform" in other.raw
    states = [i for i in launch_items(stack) if i["pk"].startswith("STATE#")]
    assert [s["platform_id"] for s in states] == [legacy["platform_id"]]


def test_a_legacy_registration_shows_it_is_not_tenant_scoped_and_signs_with_the_stack_wide_set(
    tenants, legacy, platforms_fn
):
    answer = platforms_fn(
        vary("platforms-get.json", api_key=legacy["org"].api_key, path_params={"platform_id": legacy["platform_id"]})
    )

    assert answer.status == 200, answer.raw
    assert answer.body["tenantScoped"] is False
    registration = platforms.registration_of(
        {**answer.body, "platform_id": legacy["platform_id"], "org_id": legacy["org"].org_id}
        | {"issuer": ISS, "client_id": legacy["client_id"], "auth_login_url": AUTH_URL, "auth_token_url": "x"}
    )
    assert registration.key_owner is None
    assert tenants["victim"]["platform"]["tenantScoped"] is True


# -- item 2: each organisation's own keys ------------------------------------------------------------


def org_jwks(platforms_fn, org_id: str):
    event = vary("platforms-jwks.json")
    path = f"/lti/orgs/{org_id}/jwks.json"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /lti/orgs/{org_id}/jwks.json"
    event["pathParameters"] = {"org_id": org_id}
    return platforms_fn(event)


def kids(jwks: dict) -> list[str]:
    return [k["kid"] for k in jwks["keys"]]


def test_each_organisation_publishes_its_own_keys_and_rotates_only_them(tenants, platforms_fn):
    victim, attacker = tenants["victim"]["org"], tenants["attacker"]["org"]
    victim_before = org_jwks(platforms_fn, victim.org_id).body
    attacker_before = org_jwks(platforms_fn, attacker.org_id).body
    assert victim_before["keys"] and attacker_before["keys"]
    assert set(kids(victim_before)).isdisjoint(kids(attacker_before))

    # The attacker rotates twice in a row (which used to retire everyone's key in flight).
    for _ in range(2):
        rotated = platforms_fn(vary("platforms-rotate-key.json", api_key=attacker.api_key, body={}))
        assert rotated.status == 200, rotated.raw

    assert org_jwks(platforms_fn, victim.org_id).body == victim_before
    assert set(kids(org_jwks(platforms_fn, attacker.org_id).body)).isdisjoint(kids(attacker_before))


def test_the_tool_configuration_hands_out_the_organisations_own_urls(tenants, platforms_fn):
    victim = tenants["victim"]["org"]
    answer = platforms_fn(vary("tool-configuration.json", api_key=victim.api_key))

    base = f"{BASE}/lti/orgs/{victim.org_id}"
    assert (answer.body["login_url"], answer.body["jwks_url"]) == (f"{base}/login", f"{base}/jwks.json")
    assert answer.body["redirect_uris"] == [f"{base}/launch"]
    assert answer.body["public_jwk"]["kid"] in kids(org_jwks(platforms_fn, victim.org_id).body)


def test_an_unknown_organisations_jwks_is_404_and_creates_nothing(tenants, platforms_fn, stack):
    before = keys_table(stack)
    for org_id in ("org_doesnotexist0000", "x" * 65, "org$1"):
        answer = org_jwks(platforms_fn, org_id)
        assert answer.status == 404, (org_id, answer.raw)
    assert keys_table(stack) == before


def test_a_new_stack_publishes_no_stack_wide_key(tenants, platforms_fn, stack):
    answer = platforms_fn(vary("platforms-jwks.json"))

    assert (answer.status, answer.body) == (200, {"keys": []})
    assert not [i for i in keys_table(stack) if i["pk"] == "TOOLKEY#rsa"]


def test_the_roster_theft_is_refused(stack, make_org, token_fn, monkeypatch):
    """The attack of issue 13 item 2: the attacker registers its own issuer with the victim's client id
    and token endpoint, then launches with a names-and-roles claim that points at the victim's LMS. The
    client assertion is signed with the attacker's key, which the victim's LMS does not trust: no token,
    no roster. The victim's own launch, through the same code, gets the roster (the test can fail)."""
    from lti_gateway.app_api import platform_services
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")
    config.settings.cache_clear()
    platform_services.outbound_http.cache_clear()
    victim, attacker = make_org("Victim University"), make_org("Attacker Inc")
    victim_client = "victim-client-id"

    # The victim's LMS trusts exactly the JWKS its admin was given: the victim organisation's.
    with AdvantagePlatform(client_id=victim_client, jwks=lambda: tool_keys.public_jwks(victim.org_id)) as lms:
        lms.members = [
            {"user_id": "s-1", "name": "Victim Student", "email": "student@victim.example.edu", "roles": ["Learner"]}
        ]

        def register(org, issuer: str) -> str:
            principal = orgs.Principal(org.org_id, org.credential_id, "owner")
            return platforms.create_platform(
                principal,
                lms.registration("LMS", issuer=issuer, client_id=victim_client),
            )["id"]

        victim_platform = register(victim, lms.base)
        attacker_platform = register(attacker, lms.base)  # same pair, another organisation: allowed now

        def launched(org, platform_id: str) -> str:
            claims = lti13_claims(issuer=lms.base, client_id=victim_client)
            claims[lti.NRPS] = {"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]}
            claims[lti.AGS_ENDPOINT] = {"scope": list(SCOPES), "lineitems": lms.line_items_url}
            _, ltik = store_lti13_launch(org.org_id, claims, platform_id=platform_id, client_id=victim_client)
            return ltik

        def roster(org, ltik: str):
            auth = ltik_auth(org.api_key, ltik)
            return token_fn(token_event("GET", "/api/memberships", authorization=auth))

        stolen = roster(attacker, launched(attacker, attacker_platform))
        assert stolen.status >= 400, stolen.raw
        assert "student@victim.example.edu" not in stolen.raw and "Victim Student" not in stolen.raw
        assert lms.rejections, "the victim's LMS never saw (and refused) the attacker's client assertion"
        assert not [r for r in lms.service_requests() if "names_and_roles" in r.path]

        own = roster(victim, launched(victim, victim_platform))
        assert own.status == 200 and "Victim Student" in own.raw, own.raw


def test_client_assertions_are_signed_with_the_registrations_organisations_key(tenants):
    """Every assertion names its key set by the registration, never by anything a launch sent."""
    from lti_gateway.app_api import platform_tokens

    victim, attacker = tenants["victim"], tenants["attacker"]
    for side in (victim, attacker):
        registration = platforms.registration_of(
            {
                **side["platform"],
                "platform_id": side["platform"]["id"],
                "org_id": side["org"].org_id,
                "issuer": ISS,
                "client_id": CLIENT_ID,
                "auth_login_url": AUTH_URL,
                "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
                "tenant_scoped": True,
            }
        )
        endpoint = platform_tokens.endpoint_for(
            ISS, CLIENT_ID, registration.auth_token_url, key_owner=registration.key_owner
        )
        assertion = platform_tokens.client_assertion(endpoint)
        own = PyJWKSet.from_dict(tool_keys.public_jwks(side["org"].org_id))
        other_org = (attacker if side is victim else victim)["org"].org_id
        other = {k.key_id for k in PyJWKSet.from_dict(tool_keys.public_jwks(other_org)).keys}
        kid = jwt.get_unverified_header(assertion)["kid"]
        assert kid in {k.key_id for k in own.keys} and kid not in other


# -- the scheduled rotation -----------------------------------------------------------------------------


def test_the_scheduled_rotation_rotates_only_sets_that_are_due_and_keeps_the_previous_key(tenants, stack):
    from tests.conftest import FakeContext
    from tests.support.stack import load_function

    victim, attacker = tenants["victim"]["org"].org_id, tenants["attacker"]["org"].org_id
    old_victim = tool_keys.signing_key(victim)[0]
    old_attacker = tool_keys.signing_key(attacker)[0]
    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    table.update_item(  # the victim's key is 100 days old
        Key={"pk": f"TOOLKEY#rsa#{victim}", "sk": "CURRENT"},
        UpdateExpression="SET updated_at = :old",
        ExpressionAttributeValues={":old": "2026-01-01T00:00:00Z"},
    )

    result = load_function("rotation").lambda_handler({"source": "aws.events"}, FakeContext())

    assert result == {"max_age_days": 90, "rotated": 1, "failed": 0}
    tool_keys.reset()
    published_victim = kids(tool_keys.public_jwks(victim))
    assert published_victim[1] == old_victim and published_victim[0] != old_victim  # previous stays published
    assert kids(tool_keys.public_jwks(attacker)) == [old_attacker]


def test_the_scheduled_rotation_also_rotates_an_upgraded_stacks_stack_wide_set(tenants, stack):
    """A stack-wide set created before key sets were listed on gsi1 is found and rotated too."""
    from lti_gateway.repositories import deps

    repo = deps.tool_keys_repo()
    assert repo.create_first(None, tool_keys._new_key_item(), "2026-01-01T00:00:00Z")
    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    table.update_item(  # as the previous release stored it: not listed
        Key={"pk": "TOOLKEY#rsa", "sk": "CURRENT"}, UpdateExpression="REMOVE gsi1pk, gsi1sk"
    )
    before = kids(tool_keys.public_jwks(None))

    outcomes = tool_keys.rotate_due(90)

    assert [o["owner"] for o in outcomes if o.get("rotated")] == [None]
    after = kids(tool_keys.public_jwks(None))
    assert after[1:] == before and after[0] not in before
    assert None in [p["owner"] for p in repo.key_sets()]  # listed from now on
