"""LTI 1.3 platform registrations through /api/platforms, and the lookups the login and launch use."""

from __future__ import annotations

import json
from functools import cache

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

from lti_gateway.admin import orgs
from lti_gateway.core import config
from lti_gateway.core.errors import GatewayError, PlatformInactive, UnknownPlatform
from lti_gateway.lti13 import platforms, tool_keys
from tests.support.events import vary
from tests.support.platform_bodies import MOODLE

CANVAS = "https://canvas.instructure.com"


def canvas(client_id: str = "10000000000001", **extra) -> dict:
    return {
        "url": CANVAS,
        "clientId": client_id,
        "name": "Canvas",
        "authenticationEndpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "accesstokenEndpoint": "https://sso.canvaslms.com/login/oauth2/token",
        "authConfig": {"method": "JWK_SET", "key": "https://sso.canvaslms.com/api/lti/security/jwks"},
        "deploymentIds": ["42:8865aa05b4b79b64a91a86042e43af5ea8ae79eb"],
        **extra,
    }


@cache
def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def keys_table(stack):
    return boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])


def platform_items(stack) -> list[dict]:
    items = keys_table(stack).scan()["Items"]
    return [i for i in items if i["pk"].startswith(("PLATFORM#", "ISS#", "ORGISS#"))]


def member_key(org) -> str:
    owner = orgs.Principal(org.org_id, org.credential_id, "owner")
    return orgs.create_credential(owner, {"role": "member"})["api_key"]


def create(platforms_fn, org, body=None, **kw):
    return platforms_fn(vary("platforms-create.json", api_key=kw.pop("api_key", org.api_key), body=body, **kw))


def on(platforms_fn, event: str, org, platform_id: str, *, api_key=None, **kw):
    return platforms_fn(vary(event, api_key=api_key or org.api_key, path_params={"platform_id": platform_id}, **kw))


def listing(platforms_fn, org, query: dict | None = None, **kw):
    return platforms_fn(vary("platforms-list.json", api_key=kw.pop("api_key", org.api_key), query=query or {}, **kw))


@pytest.fixture
def insecure(monkeypatch):
    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")
    config.settings.cache_clear()
    yield
    monkeypatch.delenv("ALLOW_INSECURE_PLATFORM_URLS")
    config.settings.cache_clear()


# -- create and read --------------------------------------------------------------------------------


def test_register_a_platform(platforms_fn, org, stack):
    answer = create(platforms_fn, org, MOODLE)

    assert answer.status == 201, answer.body
    body = answer.body
    assert body["id"].startswith("plt_") and len(body["id"]) == 20
    assert {k: body[k] for k in MOODLE} == MOODLE
    assert body["active"] is True and body["allowAnonymous"] is False and body["version"] == 1
    assert body["publicKey"].startswith("-----BEGIN PUBLIC KEY-----")
    assert "authorizationServer" not in body
    assert answer.headers["cache-control"] == "no-store"
    items = {i["pk"]: i for i in platform_items(stack)}
    assert items[f"PLATFORM#{body['id']}"]["gsi1pk"] == f"ORG#{org.org_id}#PLATFORMS"
    index = items[f"ORGISS#{org.org_id}#{MOODLE['url']}"]  # the pair is unique inside the organisation
    assert (index["sk"], index["platform_id"], index["org_id"]) == (
        f"CLIENT#{MOODLE['clientId']}",
        body["id"],
        org.org_id,
    )


def test_read_and_list(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body

    got = on(platforms_fn, "platforms-get.json", org, created["id"])
    listed = listing(platforms_fn, org)

    assert got.status == 200 and got.body == created
    assert listed.status == 200 and listed.body == {"platforms": [created], "next": None}


def test_list_filters_by_issuer_and_client_id(platforms_fn, org):
    first = create(platforms_fn, org, canvas("1")).body
    second = create(platforms_fn, org, canvas("2")).body
    moodle = create(platforms_fn, org, MOODLE).body

    by_issuer = listing(platforms_fn, org, {"url": CANVAS}).body["platforms"]
    by_client = listing(platforms_fn, org, {"clientId": "2"}).body["platforms"]
    by_both = listing(platforms_fn, org, {"url": CANVAS, "clientId": "1"}).body["platforms"]
    nothing = listing(platforms_fn, org, {"url": "https://other.example"}).body["platforms"]

    assert sorted(p["id"] for p in by_issuer) == sorted([first["id"], second["id"]])
    assert [p["id"] for p in by_client] == [second["id"]]
    assert [p["id"] for p in by_both] == [first["id"]]
    assert nothing == []
    assert moodle["id"] not in [p["id"] for p in by_issuer]


def test_list_pages(platforms_fn, org):
    ids = [create(platforms_fn, org, canvas(str(i))).body["id"] for i in range(3)]

    page1 = listing(platforms_fn, org, {"limit": "2"}).body
    page2 = listing(platforms_fn, org, {"limit": "2", "next": page1["next"]}).body
    bad = listing(platforms_fn, org, {"next": "not-a-token"})

    # Oldest first; platforms created within the same second are ordered by id.
    assert sorted(p["id"] for p in page1["platforms"] + page2["platforms"]) == sorted(ids)
    assert len(page1["platforms"]) == 2
    assert page2["next"] is None
    assert (bad.status, bad.body["error"]) == (400, "invalid_page_token")


def test_static_keys_are_accepted(platforms_fn, org):
    jwk = RSAAlgorithm.to_jwk(rsa_key().public_key(), as_dict=True)
    with_jwk = create(platforms_fn, org, {**MOODLE, "authConfig": {"method": "JWK_KEY", "key": jwk}})
    with_pem = create(
        platforms_fn, org, {**canvas(), "authConfig": {"method": "RSA_KEY", "key": public_pem(rsa_key())}}
    )

    assert with_jwk.status == 201 and with_jwk.body["authConfig"]["method"] == "JWK_KEY"
    assert json.loads(with_jwk.body["authConfig"]["key"])["n"] == jwk["n"]
    assert with_pem.status == 201 and with_pem.body["authConfig"]["method"] == "RSA_KEY"
    registration = platforms.find_for_login(CANVAS, "10000000000001", org.org_id)
    assert registration.jwks_url is None and registration.public_key == public_pem(rsa_key()).strip()


def test_optional_fields(platforms_fn, org):
    body = {**MOODLE, "authorizationServer": "https://moodle.example.edu/token-aud", "allowAnonymous": True}
    answer = create(platforms_fn, org, {**body, "active": False, "deploymentIds": []})

    assert answer.status == 201
    assert answer.body["authorizationServer"] == "https://moodle.example.edu/token-aud"
    assert answer.body["allowAnonymous"] is True and answer.body["active"] is False
    assert answer.body["deploymentIds"] == []


# -- validation -------------------------------------------------------------------------------------

MOODLE_WITHOUT = {name: {k: v for k, v in MOODLE.items() if k != name} for name in platforms.REQUIRED}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        *[(MOODLE_WITHOUT[name], name) for name in platforms.REQUIRED],
        ({**MOODLE, "url": "http://moodle.example.edu"}, "url"),
        ({**MOODLE, "url": "moodle.example.edu"}, "url"),
        ({**MOODLE, "url": "https://moodle.example.edu/?x=1"}, "url"),
        ({**MOODLE, "url": "https://moodle.example.edu/#frag"}, "url"),
        ({**MOODLE, "url": "https://user:pw@moodle.example.edu"}, "url"),
        ({**MOODLE, "url": "https://127.0.0.1"}, "url"),
        ({**MOODLE, "url": "https://localhost:8443"}, "url"),
        ({**MOODLE, "url": "https://10.0.0.5"}, "url"),
        ({**MOODLE, "url": "https://moodle.example.edu/" + "x" * 1100}, "url"),
        ({**MOODLE, "url": 42}, "url"),
        ({**MOODLE, "authenticationEndpoint": "ftp://moodle.example.edu/auth"}, "authenticationEndpoint"),
        ({**MOODLE, "accesstokenEndpoint": "https://moodle.example.edu/tok en"}, "accesstokenEndpoint"),
        ({**MOODLE, "accesstokenEndpoint": "https://[::1]/token"}, "accesstokenEndpoint"),
        ({**MOODLE, "clientId": ""}, "clientId"),
        ({**MOODLE, "clientId": " padded "}, "clientId"),
        ({**MOODLE, "clientId": "c" * 256}, "clientId"),
        ({**MOODLE, "clientId": 12345}, "clientId"),
        ({**MOODLE, "name": "n" * 201}, "name"),
        ({**MOODLE, "name": "   "}, "name"),
        ({**MOODLE, "name": "bad\nname"}, "name"),
        ({**MOODLE, "deploymentIds": "1"}, "deploymentIds"),
        ({**MOODLE, "deploymentIds": [""]}, "deploymentIds[0]"),
        ({**MOODLE, "deploymentIds": ["1", 2]}, "deploymentIds[1]"),
        ({**MOODLE, "deploymentIds": ["d" * 256]}, "deploymentIds[0]"),
        ({**MOODLE, "deploymentIds": [str(i) for i in range(101)]}, "deploymentIds"),
        ({**MOODLE, "allowAnonymous": "yes"}, "allowAnonymous"),
        ({**MOODLE, "active": 1}, "active"),
        ({**MOODLE, "authorizationServer": ""}, "authorizationServer"),
        ({**MOODLE, "authConfig": "https://moodle.example.edu/certs"}, "authConfig"),
        ({**MOODLE, "authConfig": {"method": "X509", "key": "x"}}, "authConfig.method"),
        ({**MOODLE, "authConfig": {"method": "JWK_SET", "key": "http://moodle.example.edu/certs"}}, "authConfig.key"),
        ({**MOODLE, "authConfig": {"method": "JWK_SET", "key": "https://moodle/c", "x": 1}}, "authConfig.x"),
        ({**MOODLE, "authConfig": {"method": "JWK_KEY", "key": "not json"}}, "authConfig.key"),
        ({**MOODLE, "authConfig": {"method": "JWK_KEY", "key": {"kty": "EC", "x": "a"}}}, "authConfig.key"),
        (
            {**MOODLE, "authConfig": {"method": "JWK_KEY", "key": {"kty": "RSA", "n": "!!", "e": "AQAB"}}},
            "authConfig.key",
        ),
        ({**MOODLE, "authConfig": {"method": "RSA_KEY", "key": "-----BEGIN PUBLIC KEY-----\nxx\n"}}, "authConfig.key"),
        ({**MOODLE, "colour": "blue"}, "colour"),
    ],
)
def test_invalid_registrations_are_refused_and_store_nothing(platforms_fn, org, stack, body, field):
    answer = create(platforms_fn, org, body)

    assert answer.status == 400, answer.body
    assert answer.body["error"] == "validation_failed"
    assert field in answer.body["details"]
    assert platform_items(stack) == []


def test_weak_private_and_non_rsa_keys_are_refused(platforms_fn, org, stack):
    small = rsa_key(1024)
    private_jwk = json.loads(RSAAlgorithm.to_jwk(rsa_key()))  # includes d, p, q…
    private_pem = (
        rsa_key()
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    ec_pem = public_pem(ec.generate_private_key(ec.SECP256R1()))
    for method, key in (
        ("RSA_KEY", public_pem(small)),
        ("JWK_KEY", RSAAlgorithm.to_jwk(small.public_key(), as_dict=True)),
        ("JWK_KEY", private_jwk),
        ("RSA_KEY", private_pem),
        ("RSA_KEY", ec_pem),
    ):
        answer = create(platforms_fn, org, {**MOODLE, "authConfig": {"method": method, "key": key}})
        assert (answer.status, answer.body["error"]) == (400, "validation_failed"), (method, answer.body)
        assert "authConfig.key" in answer.body["details"]
        assert "PRIVATE" not in answer.raw
    assert platform_items(stack) == []


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "error"),
    [
        ("{not json", "application/json", 400, "invalid_json"),
        ("[1]", "application/json", 400, "invalid_json"),
        (json.dumps(MOODLE), "text/plain", 415, "unsupported_media_type"),
        (json.dumps({**MOODLE, "name": "x" * 20_000}), "application/json", 413, "body_too_large"),
    ],
)
def test_malformed_bodies_are_refused(platforms_fn, org, stack, raw, content_type, status, error):
    answer = create(platforms_fn, org, raw_body=raw, headers={"content-type": content_type})

    assert (answer.status, answer.body["error"]) == (status, error)
    assert platform_items(stack) == []


def test_local_urls_only_in_insecure_local_mode(platforms_fn, org, insecure):
    local = {
        **MOODLE,
        "url": "http://127.0.0.1:8123",
        "authenticationEndpoint": "http://127.0.0.1:8123/auth",
        "accesstokenEndpoint": "http://localhost:8123/token",
        "authConfig": {"method": "JWK_SET", "key": "http://127.0.0.1:8123/jwks"},
    }
    assert create(platforms_fn, org, local).status == 201


# -- uniqueness -------------------------------------------------------------------------------------


def test_an_issuer_and_client_id_are_registered_once_per_organisation(platforms_fn, make_org, stack):
    """Unique inside one organisation, not across them: another organisation registering the same pair
    (hosted Canvas: one issuer; client ids are not secret) takes nothing from the first."""
    first, second = make_org("First"), make_org("Second")
    mine = create(platforms_fn, first, MOODLE)
    assert mine.status == 201

    before = platform_items(stack)
    again = create(platforms_fn, first, {**MOODLE, "name": "Again"})
    assert (again.status, again.body["error"]) == (409, "platform_exists")
    assert sorted(map(str, platform_items(stack))) == sorted(map(str, before))

    elsewhere = create(platforms_fn, second, MOODLE)
    assert elsewhere.status == 201
    assert len(platform_items(stack)) == 4  # two platforms, two index items (one per organisation)
    found = platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], first.org_id)
    assert found.platform_id == mine.body["id"]
    found = platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], second.org_id)
    assert found.platform_id == elsewhere.body["id"]


def test_one_issuer_many_client_ids(platforms_fn, make_org):
    first, second = make_org("First"), make_org("Second")

    a = create(platforms_fn, first, canvas("10000000000001"))
    b = create(platforms_fn, second, canvas("10000000000002"))

    assert a.status == b.status == 201
    assert platforms.find_for_login(CANVAS, "10000000000001", first.org_id).org_id == first.org_id
    assert platforms.find_for_login(CANVAS, "10000000000002", second.org_id).org_id == second.org_id
    with pytest.raises(UnknownPlatform):  # each organisation's login URL finds its own registrations only
        platforms.find_for_login(CANVAS, "10000000000002", first.org_id)


# -- update, activate, delete -----------------------------------------------------------------------


def test_update_replaces_the_fields_sent(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body

    answer = on(
        platforms_fn,
        "platforms-update.json",
        org,
        created["id"],
        body={"deploymentIds": ["1", "2"], "name": "Renamed", "authorizationServer": "aud-x"},
    )

    assert answer.status == 200, answer.body
    assert answer.body["deploymentIds"] == ["1", "2"] and answer.body["name"] == "Renamed"
    assert answer.body["version"] == 2 and answer.body["url"] == MOODLE["url"]
    assert platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id).deployment_ids == ("1", "2")
    cleared = on(platforms_fn, "platforms-update.json", org, created["id"], body={"authorizationServer": None})
    assert "authorizationServer" not in cleared.body


def test_what_was_read_can_be_put_back(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body

    answer = on(platforms_fn, "platforms-update.json", org, created["id"], body={**created, "name": "Changed"})

    assert answer.status == 200 and answer.body["name"] == "Changed" and answer.body["version"] == 2


def test_update_with_a_stale_version_is_a_conflict(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body
    on(platforms_fn, "platforms-update.json", org, created["id"], body={"name": "First change"})

    stale = on(platforms_fn, "platforms-update.json", org, created["id"], body={"name": "Lost", "version": 1})

    assert (stale.status, stale.body["error"]) == (409, "concurrent_change")
    assert on(platforms_fn, "platforms-get.json", org, created["id"]).body["name"] == "First change"


def test_a_concurrent_change_between_read_and_write_is_not_lost(platforms_fn, org, stack):
    created = create(platforms_fn, org, MOODLE).body
    from lti_gateway.repositories import deps

    before = deps.platforms_repo().get_platform(created["id"], consistent=True)
    on(platforms_fn, "platforms-update.json", org, created["id"], body={"name": "Winner"})

    with pytest.raises(GatewayError) as caught:
        deps.platforms_repo().replace_platform(before, {**before, "name": "Loser", "version": 2})
    assert caught.value.code == "concurrent_change"
    assert on(platforms_fn, "platforms-get.json", org, created["id"]).body["name"] == "Winner"


def test_changing_the_client_id_moves_the_index(platforms_fn, org, stack):
    created = create(platforms_fn, org, MOODLE).body

    moved = on(platforms_fn, "platforms-update.json", org, created["id"], body={"clientId": "new-client"})

    assert moved.status == 200 and moved.body["clientId"] == "new-client"
    assert platforms.find_for_login(MOODLE["url"], "new-client", org.org_id).platform_id == created["id"]
    with pytest.raises(UnknownPlatform):
        platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id)
    assert create(platforms_fn, org, MOODLE).status == 201  # the old pair is free again


def test_moving_onto_a_taken_pair_is_refused_and_changes_nothing(platforms_fn, org, stack):
    a = create(platforms_fn, org, canvas("1")).body
    create(platforms_fn, org, canvas("2"))
    before = platform_items(stack)

    answer = on(platforms_fn, "platforms-update.json", org, a["id"], body={"clientId": "2"})

    assert (answer.status, answer.body["error"]) == (409, "platform_exists")
    assert sorted(map(str, platform_items(stack))) == sorted(map(str, before))


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 400, "nothing_to_update"),
        ({"id": "plt_x"}, 400, "nothing_to_update"),
        ({"url": "http://insecure.example"}, 400, "validation_failed"),
        ({"version": "1", "name": "x"}, 400, "validation_failed"),
        ({"colour": "blue"}, 400, "validation_failed"),
    ],
)
def test_invalid_updates_change_nothing(platforms_fn, org, stack, body, status, error):
    created = create(platforms_fn, org, MOODLE).body
    before = platform_items(stack)

    answer = on(platforms_fn, "platforms-update.json", org, created["id"], body=body)

    assert (answer.status, answer.body["error"]) == (status, error)
    assert sorted(map(str, platform_items(stack))) == sorted(map(str, before))


def test_deactivate_and_activate(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body

    off = on(platforms_fn, "platforms-deactivate.json", org, created["id"])
    with pytest.raises(PlatformInactive) as caught:
        platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id)
    back = on(platforms_fn, "platforms-activate.json", org, created["id"])

    assert off.status == 200 and off.body["active"] is False and off.body["version"] == 2
    assert (caught.value.status, caught.value.code) == (403, "platform_inactive")
    assert back.status == 200 and back.body["active"] is True
    assert platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id).active is True


def test_delete_removes_the_platform_and_frees_the_pair(platforms_fn, org, stack):
    created = create(platforms_fn, org, MOODLE).body

    deleted = on(platforms_fn, "platforms-delete.json", org, created["id"])

    assert deleted.status == 200 and deleted.body["deleted"] is True and deleted.body["id"] == created["id"]
    assert platform_items(stack) == []
    assert on(platforms_fn, "platforms-get.json", org, created["id"]).status == 404
    assert on(platforms_fn, "platforms-delete.json", org, created["id"]).status == 404
    assert create(platforms_fn, org, MOODLE).status == 201


# -- who may -----------------------------------------------------------------------------------------

EVENTS_BY_ID = (
    ("platforms-get.json", None),
    ("platforms-update.json", {"name": "Mine now"}),
    ("platforms-delete.json", None),
    ("platforms-activate.json", None),
    ("platforms-deactivate.json", None),
)


@pytest.mark.parametrize(("event", "body"), EVENTS_BY_ID)
def test_another_organisations_platform_is_not_found(platforms_fn, make_org, stack, event, body):
    owner, other = make_org("Owner"), make_org("Other")
    created = create(platforms_fn, owner, MOODLE).body
    before = platform_items(stack)

    kwargs = {"body": body} if body is not None else {}
    answer = on(platforms_fn, event, other, created["id"], **kwargs)

    assert (answer.status, answer.body["error"]) == (404, "not_found")
    assert MOODLE["clientId"] not in answer.raw
    assert sorted(map(str, platform_items(stack))) == sorted(map(str, before))
    assert listing(platforms_fn, other).body["platforms"] == []


@pytest.mark.parametrize("platform_id", ["plt_ffffffffffffffff", "nope", "x" * 300])
def test_unknown_platform_ids_are_not_found(platforms_fn, org, platform_id):
    answer = on(platforms_fn, "platforms-get.json", org, platform_id)

    assert (answer.status, answer.body["error"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("event", "body", "with_id"),
    [
        ("platforms-create.json", MOODLE, False),
        ("platforms-list.json", ..., False),
        ("platforms-registration-url.json", {}, False),
        ("tool-configuration.json", ..., False),
        ("tool-configuration-canvas.json", ..., False),
        ("platforms-rotate-key.json", {}, False),
        *[(event, body if body is not None else ..., True) for event, body in EVENTS_BY_ID],
    ],
)
def test_members_may_not_manage_platforms(platforms_fn, org, stack, event, body, with_id):
    created = create(platforms_fn, org, canvas()).body
    before = platform_items(stack)
    kwargs = {"path_params": {"platform_id": created["id"]}} if with_id else {}

    answer = platforms_fn(vary(event, api_key=member_key(org), body=body, **kwargs))

    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")
    assert sorted(map(str, platform_items(stack))) == sorted(map(str, before))


def test_no_api_key_no_access(platforms_fn, stack):
    answer = platforms_fn(vary("platforms-list.json", headers={"authorization": None}))

    assert (answer.status, answer.body["error"]) == (401, "missing_credentials")


# -- lookups for the OIDC login and the launch ------------------------------------------------------


def test_find_for_login_by_issuer_and_client_id(platforms_fn, org):
    created = create(platforms_fn, org, MOODLE).body

    found = platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id)

    assert found == platforms.Registration(
        platform_id=created["id"],
        org_id=org.org_id,
        name=MOODLE["name"],
        issuer=MOODLE["url"],
        client_id=MOODLE["clientId"],
        deployment_ids=("1",),
        auth_login_url=MOODLE["authenticationEndpoint"],
        auth_token_url=MOODLE["accesstokenEndpoint"],
        jwks_url=MOODLE["authConfig"]["key"],
        public_key=None,
        auth_server=None,
        active=True,
        allow_anonymous=False,
        key_owner=org.org_id,  # signs with its organisation's own keys
    )


def test_find_for_login_by_issuer_alone_when_it_has_one_client(platforms_fn, org):
    create(platforms_fn, org, MOODLE)

    assert platforms.find_for_login(MOODLE["url"], None, org.org_id).client_id == MOODLE["clientId"]
    assert platforms.find_for_login(MOODLE["url"], "", org.org_id).client_id == MOODLE["clientId"]


def test_find_for_login_needs_the_client_id_when_the_issuer_has_several(platforms_fn, org):
    create(platforms_fn, org, canvas("1"))
    create(platforms_fn, org, canvas("2"))

    with pytest.raises(GatewayError) as caught:
        platforms.find_for_login(CANVAS, None, org.org_id)

    assert (caught.value.status, caught.value.code) == (400, "client_id_required")
    assert platforms.find_for_login(CANVAS, "2", org.org_id).client_id == "2"


@pytest.mark.parametrize(
    ("issuer", "client_id"),
    [
        ("https://unknown.example", None),
        ("https://unknown.example", "1"),
        (MOODLE["url"], "other-client"),
        ("", None),
        ("x" * 5000, None),
        (None, None),
        (MOODLE["url"], "c" * 300),
    ],
)
def test_find_for_login_unknown(platforms_fn, org, issuer, client_id):
    create(platforms_fn, org, MOODLE)

    with pytest.raises(UnknownPlatform) as caught:
        platforms.find_for_login(issuer, client_id, org.org_id)

    assert (caught.value.status, caught.value.code) == (400, "unknown_platform")


@pytest.mark.parametrize(
    ("issuer", "client_id"),
    [("https://unknown.example", "1"), (MOODLE["url"], "other"), (MOODLE["url"], ""), ("", "x")],
)
def test_find_for_launch_unknown(platforms_fn, org, issuer, client_id):
    created = create(platforms_fn, org, MOODLE).body

    with pytest.raises(UnknownPlatform) as caught:
        platforms.find_for_launch(issuer, client_id, created["id"])

    assert (caught.value.status, caught.value.code) == (401, "unknown_platform")


def test_find_for_launch_is_the_platform_the_login_state_names_in_its_organisation(platforms_fn, make_org):
    first, second = make_org("First"), make_org("Second")
    mine = create(platforms_fn, first, MOODLE).body
    create(platforms_fn, second, MOODLE)

    found = platforms.find_for_launch(MOODLE["url"], MOODLE["clientId"], mine["id"])
    assert (found.platform_id, found.org_id) == (mine["id"], first.org_id)
    assert platforms.find_for_launch(MOODLE["url"], MOODLE["clientId"], mine["id"], first.org_id) == found
    for platform_id, org_id in ((mine["id"], second.org_id), ("plt_0000000000000000", None), ("", None)):
        with pytest.raises(UnknownPlatform):
            platforms.find_for_launch(MOODLE["url"], MOODLE["clientId"], platform_id, org_id)


def test_inactive_platforms_are_refused_at_login(platforms_fn, org):
    created = create(platforms_fn, org, {**MOODLE, "active": False}).body

    for client_id in (MOODLE["clientId"], None):
        with pytest.raises(PlatformInactive):
            platforms.find_for_login(MOODLE["url"], client_id, org.org_id)
    on(platforms_fn, "platforms-activate.json", org, created["id"])
    assert platforms.find_for_login(MOODLE["url"], None, org.org_id).active


def test_launch_lookups_are_cached_per_container_and_logins_never(platforms_fn, org, stack, monkeypatch):
    created = create(platforms_fn, org, MOODLE).body
    platforms.find_for_launch(MOODLE["url"], MOODLE["clientId"], created["id"])
    from lti_gateway.repositories import deps

    calls = []
    repo = deps.platforms_repo()
    real = repo.get_platform
    monkeypatch.setattr(repo, "get_platform", lambda *a, **k: calls.append(a) or real(*a, **k))

    found = platforms.find_for_launch(MOODLE["url"], MOODLE["clientId"], created["id"])
    assert found.client_id == MOODLE["clientId"] and calls == []
    # A login reads the registration every time: a deactivation stops new logins at once.
    on(platforms_fn, "platforms-deactivate.json", org, created["id"])
    with pytest.raises(PlatformInactive):
        platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id)
    assert calls


def test_a_platform_registered_after_a_miss_is_found_at_once(platforms_fn, org):
    with pytest.raises(UnknownPlatform):
        platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id)

    create(platforms_fn, org, MOODLE)

    assert platforms.find_for_login(MOODLE["url"], MOODLE["clientId"], org.org_id).name == MOODLE["name"]


# -- the tool's configuration for LMS administrators --------------------------------------------------


def test_tool_configuration(platforms_fn, org):
    answer = platforms_fn(vary("tool-configuration.json", api_key=org.api_key))

    base = "https://abc123.execute-api.us-east-1.amazonaws.com"
    assert answer.status == 200
    assert answer.body["login_url"] == f"{base}/lti/orgs/{org.org_id}/login"
    assert answer.body["redirect_uris"] == [f"{base}/lti/orgs/{org.org_id}/launch"]
    assert answer.body["jwks_url"] == f"{base}/lti/orgs/{org.org_id}/jwks.json"
    assert answer.body["public_jwk"]["kid"] == tool_keys.signing_key(org.org_id)[0]


def test_canvas_configuration_with_and_without_an_inline_key(platforms_fn, org):
    by_url = platforms_fn(vary("tool-configuration-canvas.json", api_key=org.api_key, query={}))
    inline = platforms_fn(vary("tool-configuration-canvas.json", api_key=org.api_key, query={"inline_jwk": "true"}))
    bad = platforms_fn(vary("tool-configuration-canvas.json", api_key=org.api_key, query={"inline_jwk": "maybe"}))

    assert by_url.status == 200 and by_url.body["public_jwk_url"].endswith(f"/lti/orgs/{org.org_id}/jwks.json")
    assert inline.status == 200 and inline.body["public_jwk"]["alg"] == "RS256"
    assert inline.body["public_jwk"]["use"] == "sig" and "d" not in inline.body["public_jwk"]
    assert (bad.status, bad.body["error"]) == (400, "validation_failed")


def test_parallel_registrations_of_one_pair_store_exactly_one(make_org, stack):
    from concurrent.futures import ThreadPoolExecutor

    owners = [orgs.Principal(o.org_id, o.credential_id, "owner") for o in (make_org("A"), make_org("B"))]
    platforms.create_platform(owners[0], canvas("warm-up"))  # the tool key exists before the race

    def attempt(i: int) -> str:
        try:
            platforms.create_platform(owners[i % 2], canvas("raced"))
        except GatewayError as error:
            return error.code
        return "created"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert outcomes.count("created") == 2  # exactly one in each organisation
    assert set(outcomes) - {"created"} <= {"platform_exists", "concurrent_change"}
    raced = [i for i in platform_items(stack) if i.get("client_id") == "raced" or i["sk"] == "CLIENT#raced"]
    assert len(raced) == 4  # per organisation: one platform, one index item
    assert {i["org_id"] for i in raced} == {o.org_id for o in owners}
