"""Hard gate (issue #7): a warm container creates no client, session or key object.

Each test serves one request of a kind (the container's first: clients, repositories, keys and
caches are made then), then counts what a second request of the same kind creates: boto3/botocore
clients and sessions, and key objects (PEM/DER/JWK parsing, pyjwt parsing a text key, RSA key
generation). The answer must be zero — anything else costs milliseconds on every warm request.
"""

from __future__ import annotations

from lti_gateway.admin import classes, orgs
from tests.functional.launch.test_lti13_launch import id_token_for, launch_post, login
from tests.support.app_api import ltik_auth, token_event
from tests.support.events import vary


def test_an_lti11_launch(lti11_world, lti11_launch, creations):
    lti11_launch()
    with creations() as made:
        lti11_launch()
    assert made == []


def test_an_lti13_login_and_launch(world, launch_fn, creations):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    assert launch_fn(launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]}))

    with creations() as made:
        auth = login(launch_fn, target)
        token = id_token_for({**auth, "_target": target})  # the platform's side: signing is not ours
    assert made == []
    with creations() as made:
        answer = launch_fn(launch_post({"id_token": token, "state": auth["state"]}))
    assert answer.status == 302, answer.raw
    assert made == []


def test_an_ltik_call_of_an_lti11_launch_with_services(lti11_world, lti11_launch, token_fn, creations):
    launched = lti11_launch()
    event = token_event("GET", "/api/idtoken", authorization=ltik_auth(lti11_world["org"].api_key, launched["ltik"]))
    assert token_fn(event).status == 200

    with creations() as made:
        answer = token_fn(event)
    assert answer.status == 200
    assert made == []


def test_an_lti13_service_call_signs_with_the_cached_tool_key(lti13, token_fn, creations):
    """Names and Roles: a platform access token (client assertion signed with the tool's key), cached."""
    event = token_event("GET", "/api/memberships", authorization=ltik_auth(lti13["api_key"], lti13["ltik"]))
    assert token_fn(event).status == 200
    later = lti13["launch"]()  # another launch of the same platform: same token, same key
    event = token_event("GET", "/api/memberships", authorization=ltik_auth(lti13["api_key"], later["ltik"]))

    with creations() as made:
        answer = token_fn(event)
    assert answer.status == 200, answer.raw
    assert made == []


def test_an_export(org, export_fn, creations):
    owner = orgs.Principal(org.org_id, org.credential_id, "owner")
    cls = classes.create_class(owner, {"name": "Physics 101"}, base="https://gw.example")
    classes.create_unit(owner, cls["class_id"], {"name": "Waves"}, base="https://gw.example")
    event = vary("exports-class.json", api_key=org.api_key, path_params={"class_id": cls["class_id"]})
    assert export_fn(event).status == 200

    with creations() as made:
        assert export_fn(event).status == 200
    assert made == []


def test_the_keys_api_and_the_tool_jwks(org, keys_fn, platforms_fn, creations):
    org_event = vary("org-get.json", api_key=org.api_key)
    jwks_event = vary("platforms-jwks.json")
    assert keys_fn(org_event).status == 200
    assert platforms_fn(jwks_event).status == 200

    with creations() as made:
        assert keys_fn(org_event).status == 200
        assert platforms_fn(jwks_event).status == 200
    assert made == []


def test_the_counters_do_see_a_client_and_a_key_being_made(stack, creations):
    """The gate's own check: what it must catch, it catches."""
    import boto3
    from cryptography.hazmat.primitives.asymmetric import rsa

    from lti_gateway.lti13 import platform_jwks

    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n"
        "4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
        "+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\n"
        "kd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n"
        "0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\n"
        "cKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\n"
        "mwIDAQAB\n"
        "-----END PUBLIC KEY-----\n"
    )
    with creations() as made:
        boto3.client("dynamodb", region_name="us-east-1")
        platform_jwks.parse_static_key(pem)
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "client:dynamodb" in made and "key:load_pem_public_key" in made and "key:generate" in made
