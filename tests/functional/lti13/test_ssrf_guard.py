"""The SSRF guard end to end, on the local gateway started with the deployed stack's rules.

``ALLOW_INSECURE_PLATFORM_URLS=false`` in the environment wins over the local gateway's default (which
allows http and loopback for its test platforms), so the rules AWS applies can be tried locally: a
platform registered through ``POST /api/platforms`` whose JWKS (or any other) URL is on an address that
is not globally routable — IPv6 transition forms of loopback and private addresses included — is a 400
naming the problem, and so is a dynamic registration whose OpenID configuration URL is; nothing stored
changes (the three tables compared before and after, a single-use registration URL stays unspent).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlencode

import boto3
import pytest
import requests

from tests.support.local_gateway import local_gateway

# The gateway's own endpoints, never ones left in the developer's shell (as tests/e2e/conftest.py).
TABLES = ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE")

# Each form of an address that is not globally routable, and what the refusal must say about it.
FORBIDDEN = [
    ("https://[::ffff:127.0.0.1]/jwks", "IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("https://[::127.0.0.1]/jwks", "IPv4-compatible form of 127.0.0.1, a loopback address"),
    ("https://[64:ff9b::7f00:1]/jwks", "NAT64 form of 127.0.0.1, a loopback address"),
    ("https://[64:ff9b:1::7f00:1]/jwks", "NAT64 form of 127.0.0.1, a loopback address"),
    ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data", "NAT64 form of 169.254.169.254, a link-local address"),
    ("https://[2002:7f00:1::]/jwks", "6to4 form of 127.0.0.1, a loopback address"),
    ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/jwks", "Teredo form of 127.0.0.1, a loopback address"),
    ("https://[::ffff:10.0.0.1]/jwks", "IPv4-mapped form of 10.0.0.1, a private address"),
    ("https://127.0.0.1/jwks", "127.0.0.1 is a loopback address"),
    ("https://[::1]/jwks", "::1 is a loopback address"),
    ("https://localhost/jwks", "localhost is a loopback name"),
    ("https://2130706433/jwks", "127.0.0.1 is a loopback address"),
    ("https://10.0.0.1/jwks", "10.0.0.1 is a private address"),
    ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("https://[fe80::1]/jwks", "fe80::1 is a link-local address"),
    ("https://[fd00:ec2::254]/jwks", "fd00:ec2::254 is a private address"),
    ("https://100.64.0.1/jwks", "100.64.0.1 is a shared (carrier-grade NAT) address"),
    ("https://0.0.0.0/jwks", "0.0.0.0 is the unspecified address"),
    ("https://224.0.0.1/jwks", "224.0.0.1 is a multicast address"),
    ("https://[ff02::1]/jwks", "ff02::1 is a multicast address"),
]

PLATFORM = {
    "url": "https://lms.example.edu",
    "clientId": "ssrf-client",
    "name": "SSRF guard LMS",
    "authenticationEndpoint": "https://lms.example.edu/auth",
    "accesstokenEndpoint": "https://lms.example.edu/token",
    "authConfig": {"method": "JWK_SET", "key": "https://lms.example.edu/jwks"},
    "deploymentIds": ["1"],
}


@pytest.fixture(scope="module")
def gateway():
    with local_gateway(quiet=True, environment={"ALLOW_INSECURE_PLATFORM_URLS": "false"}) as gw:
        yield gw


@pytest.fixture
def snapshot(gateway):
    """Every item of the three tables, to compare before and after a refused request."""
    dynamodb = boto3.resource(
        "dynamodb", endpoint_url=os.environ.get("DYNAMODB_ENDPOINT_URL") or os.environ["AWS_ENDPOINT_URL"]
    )

    def take() -> dict[str, list[dict]]:
        out = {}
        for name in TABLES:
            table = dynamodb.Table(os.environ[name])
            items, kwargs = [], {}
            while True:
                page = table.scan(**kwargs)
                items += page["Items"]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            # When the owner's API key was last used is bookkeeping of the call, not something it stored.
            out[name] = sorted(({k: v for k, v in i.items() if k != "last_used_at"} for i in items), key=repr)
        return out

    return take


def changed(before: dict[str, list[dict]], after: dict[str, list[dict]]) -> dict[str, tuple[list, list]]:
    """Per table, ``(items gone, items new or changed)``; empty when nothing stored changed."""
    out = {}
    for name in TABLES:
        gone = [i for i in before[name] if i not in after[name]]
        new = [i for i in after[name] if i not in before[name]]
        if gone or new:
            out[name] = (gone, new)
    return out


def api(gateway, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {gateway.api_key}", **kwargs.pop("headers", {})}
    return requests.request(method, f"{gateway.base_url}{path}", headers=headers, timeout=10, **kwargs)


def platforms_listed(gateway) -> list[dict]:
    answer = api(gateway, "GET", "/api/platforms")
    assert answer.status_code == 200, answer.text
    return answer.json()["platforms"]


def registration_url(gateway) -> str:
    answer = api(gateway, "POST", "/api/platforms/registration-url", json={})
    assert answer.status_code == 201, answer.text
    return answer.json()["registration_url"]


# -- the flag -------------------------------------------------------------------------------------------


def test_an_explicit_false_in_the_environment_wins_over_the_local_default(gateway, snapshot):
    before = snapshot()
    loopback = {**PLATFORM, "authConfig": {"method": "JWK_SET", "key": "http://127.0.0.1:8000/jwks"}}

    answer = api(gateway, "POST", "/api/platforms", json=loopback)

    assert os.environ["ALLOW_INSECURE_PLATFORM_URLS"] == "false"
    assert answer.status_code == 400, answer.text  # the local default (true) would store it: 201
    assert "https" in answer.json()["details"]["authConfig.key"]
    assert changed(before, snapshot()) == {}


def test_a_public_https_platform_is_still_registered(gateway):
    body = {**PLATFORM, "clientId": "ssrf-public"}

    answer = api(gateway, "POST", "/api/platforms", json=body)

    assert answer.status_code == 201, answer.text
    assert answer.json()["authConfig"] == body["authConfig"]
    assert answer.json()["id"] in [p["id"] for p in platforms_listed(gateway)]
    assert api(gateway, "DELETE", f"/api/platforms/{answer.json()['id']}").status_code in (200, 204)


# -- POST /api/platforms ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "named"), FORBIDDEN)
def test_a_jwks_url_on_an_address_that_is_not_public_is_refused(gateway, snapshot, url, named):
    before = snapshot()
    body = {**PLATFORM, "authConfig": {"method": "JWK_SET", "key": url}}

    answer = api(gateway, "POST", "/api/platforms", json=body)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "validation_failed"
    message = answer.json()["details"]["authConfig.key"]
    assert message.startswith("must be on a public host") and named in message
    assert changed(before, snapshot()) == {}
    assert all(p["authConfig"].get("key") != url for p in platforms_listed(gateway))


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ("url", "NAT64 form of 127.0.0.1"),
        ("authenticationEndpoint", "IPv4-mapped form of 127.0.0.1"),
        ("accesstokenEndpoint", "6to4 form of 127.0.0.1"),
    ],
)
def test_the_other_platform_urls_are_guarded_too(gateway, snapshot, field, named):
    forms = {
        "NAT64 form of 127.0.0.1": "https://[64:ff9b::7f00:1]",
        "IPv4-mapped form of 127.0.0.1": "https://[::ffff:127.0.0.1]/auth",
        "6to4 form of 127.0.0.1": "https://[2002:7f00:1::]/token",
    }
    before = snapshot()

    answer = api(gateway, "POST", "/api/platforms", json={**PLATFORM, field: forms[named]})

    assert answer.status_code == 400, answer.text
    assert named in answer.json()["details"][field]
    assert changed(before, snapshot()) == {}


# -- dynamic registration -----------------------------------------------------------------------------------


def open_registration(gateway, url: str, openid_configuration: str) -> requests.Response:
    query = urlencode({"openid_configuration": openid_configuration, "registration_token": "reg-token"})
    return requests.get(f"{url}?{query}", timeout=10)


@pytest.mark.parametrize(("url", "named"), FORBIDDEN)
def test_a_dynamic_registration_from_an_address_that_is_not_public_is_refused(gateway, snapshot, url, named):
    single_use = registration_url(gateway)
    before = snapshot()
    config_url = url.rsplit("/", 1)[0] + "/.well-known/openid-configuration"

    answer = open_registration(gateway, single_use, config_url)

    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert "openid_configuration: " in answer.text  # the field, then the problem:
    assert named in answer.text
    assert "postMessage" not in answer.text
    assert changed(before, snapshot()) == {}  # nothing stored, and the single-use URL is not spent


def test_a_dynamic_registration_from_a_name_that_resolves_to_loopback_is_refused(gateway, snapshot, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "lms.rebind.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)  # the local gateway runs in this process
    single_use = registration_url(gateway)
    before = snapshot()

    answer = open_registration(gateway, single_use, "https://lms.rebind.example/.well-known/openid-configuration")

    assert answer.status_code == 400, answer.text
    assert "<code>url_not_allowed</code>" in answer.text
    assert "host lms.rebind.example resolves to an address that is not public" in answer.text
    assert "127.0.0.1" not in answer.text  # what a name resolves to is not echoed
    assert changed(before, snapshot()) == {}
