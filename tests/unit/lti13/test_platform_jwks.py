"""Platform keys: fetched from the registered JWKS URL only, parsed once per kid, refetched at most once
per 30 s on an unknown kid, the last good set kept when the platform's endpoint fails."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from lti_gateway.core.errors import JwksUnavailable, OutboundRefused
from lti_gateway.core.http_client import HttpResponse
from lti_gateway.lti13 import platform_jwks
from lti_gateway.lti13.platform_jwks import PlatformKeys

KEY_A = rsa.generate_private_key(public_exponent=65537, key_size=2048)
KEY_B = rsa.generate_private_key(public_exponent=65537, key_size=2048)
URL = "https://lms.example.edu/jwks"


def jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    return {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, **extra}


@dataclass(frozen=True)
class Source:
    issuer: str = "https://lms.example.edu"
    jwks_url: str | None = URL
    public_key: str | None = None


class Platform:
    """A JWKS endpoint that can be changed, broken or slowed; counts its requests."""

    def __init__(self, *keys: dict[str, Any]):
        self.keys = list(keys)
        self.failure: BaseException | None = None
        self.status = 200
        self.requests: list[str] = []

    def request(self, method: str, url: str, **_: Any) -> HttpResponse:
        self.requests.append(url)
        if self.failure is not None:
            raise self.failure
        return HttpResponse(self.status, json.dumps({"keys": self.keys}).encode())


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def keys_for(platform: Platform, clock: Clock | None = None) -> PlatformKeys:
    return PlatformKeys(lambda: platform, clock=clock or Clock())


def same_key(a: Any, b: rsa.RSAPrivateKey) -> bool:
    return a.public_numbers() == b.public_key().public_numbers()


def test_a_known_kid_is_served_from_the_cache_without_parsing_or_fetching_again():
    platform = Platform(jwk(KEY_A, "a"))
    keys = keys_for(platform)

    first = keys.key_for(Source(), "a")
    second = keys.key_for(Source(), "a")

    assert same_key(first, KEY_A) and first is second
    assert platform.requests == [URL]


def test_an_unknown_kid_refetches_at_most_once_per_30_seconds():
    platform, clock = Platform(jwk(KEY_A, "a")), Clock()
    keys = keys_for(platform, clock)
    keys.key_for(Source(), "a")

    assert keys.key_for(Source(), "made-up-1") is None
    assert keys.key_for(Source(), "made-up-2") is None
    clock.t += 29
    assert keys.key_for(Source(), "made-up-3") is None
    assert len(platform.requests) == 1  # the first fetch was < 30 s ago
    clock.t += 2
    assert keys.key_for(Source(), "made-up-4") is None
    assert len(platform.requests) == 2


def test_a_rotated_key_is_found_by_one_refetch():
    platform, clock = Platform(jwk(KEY_A, "a")), Clock()
    keys = keys_for(platform, clock)
    keys.key_for(Source(), "a")
    platform.keys = [jwk(KEY_A, "a"), jwk(KEY_B, "b")]
    clock.t += 31

    assert same_key(keys.key_for(Source(), "b"), KEY_B)
    assert same_key(keys.key_for(Source(), "a"), KEY_A)
    assert len(platform.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [OutboundRefused({"reason": "x"}, kind="response_too_large"), TimeoutError("slow"), ConnectionRefusedError()],
)
def test_the_last_good_set_is_kept_when_the_endpoint_fails(failure):
    platform, clock = Platform(jwk(KEY_A, "a")), Clock()
    keys = keys_for(platform, clock)
    keys.key_for(Source(), "a")
    platform.failure = failure
    clock.t += platform_jwks.MAX_AGE_SECONDS + 1  # stale: a refresh is attempted, and fails

    assert same_key(keys.key_for(Source(), "a"), KEY_A)
    assert keys.key_for(Source(), "other") is None
    assert len(platform.requests) == 2


@pytest.mark.parametrize("status", [404, 500])
def test_an_error_answer_keeps_the_last_good_set(status):
    platform, clock = Platform(jwk(KEY_A, "a")), Clock()
    keys = keys_for(platform, clock)
    keys.key_for(Source(), "a")
    platform.status = status
    clock.t += 31

    assert keys.key_for(Source(), "b") is None
    assert same_key(keys.key_for(Source(), "a"), KEY_A)


def test_no_key_set_at_all_is_a_502_and_is_retried_only_after_30_seconds():
    platform, clock = Platform(jwk(KEY_A, "a")), Clock()
    platform.failure = TimeoutError()
    keys = keys_for(platform, clock)

    with pytest.raises(JwksUnavailable) as caught:
        keys.key_for(Source(), "a")
    assert (caught.value.status, caught.value.code) == (502, "jwks_unavailable")
    with pytest.raises(JwksUnavailable):
        keys.key_for(Source(), "a")
    assert len(platform.requests) == 1
    platform.failure = None
    clock.t += 31
    assert same_key(keys.key_for(Source(), "a"), KEY_A)


def test_keys_are_cached_per_issuer_and_url_so_one_registration_cannot_plant_keys_for_another():
    honest, planted = Platform(jwk(KEY_A, "shared-kid")), Platform(jwk(KEY_B, "shared-kid"))
    attacker_url = "https://attacker.example/jwks"

    class Router:
        def request(self, method: str, url: str, **kw: Any) -> HttpResponse:
            return (planted if url == attacker_url else honest).request(method, url, **kw)

    keys = PlatformKeys(Router)
    # Another organisation registered the same issuer with its own JWKS URL, and launched first.
    keys.key_for(Source(jwks_url=attacker_url), "shared-kid")

    assert same_key(keys.key_for(Source(), "shared-kid"), KEY_A)


def test_unusable_keys_in_the_set_are_skipped():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - refused on purpose
    ec_key = ec.generate_private_key(ec.SECP256R1())
    document = {
        "keys": [
            jwk(KEY_A, "rs512", alg="RS512"),
            jwk(KEY_A, "enc", use="enc"),
            jwk(small, "small"),
            {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec"},
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            jwk(KEY_A, ""),
            jwk(KEY_B, "good", alg="RS256", use="sig"),
            "not a key",
        ]
    }
    assert list(platform_jwks.parse_jwks(document)) == ["good"]
    assert platform_jwks.parse_jwks({"keys": "nope"}) == {} == platform_jwks.parse_jwks([])


def test_a_static_pem_key_verifies_any_kid_and_a_static_jwk_its_own():
    pem = (
        KEY_A.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    keys = PlatformKeys(lambda: pytest.fail("a static key is never fetched"))

    assert same_key(keys.key_for(Source(jwks_url=None, public_key=pem), "whatever"), KEY_A)
    static_jwk = json.dumps(jwk(KEY_B, "b1"))
    assert same_key(keys.key_for(Source(jwks_url=None, public_key=static_jwk), "b1"), KEY_B)
    assert keys.key_for(Source(jwks_url=None, public_key=static_jwk), "other") is None
    assert keys.key_for(Source(jwks_url=None, public_key="garbage"), "b1") is None


def test_the_jwks_client_is_https_only_with_a_3_second_timeout_and_a_64_kib_cap():
    client = platform_jwks.safe_http(allow_insecure=False)
    assert (client.timeout, client.max_response_bytes) == (3.0, 64 * 1024)
    with pytest.raises(OutboundRefused):
        client.check_url("http://lms.example.edu/jwks")
    with pytest.raises(OutboundRefused):
        client.check_url("https://127.0.0.1/jwks")
    platform_jwks.safe_http(allow_insecure=True).check_url("http://127.0.0.1:8000/jwks")
