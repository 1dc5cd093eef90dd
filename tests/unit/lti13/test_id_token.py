"""The LTI 1.3 id_token validation chain, against the "bad payloads" of the LTI Advantage certification
guide (§6.1.1) and the 1EdTech Security Framework: each is rejected with its own code, and each has a
positive twin that differs from it in one field and is accepted.

Tokens are minted here with pyjwt and cryptography; storage and registrations are fakes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from lti_gateway.core import vocabulary as lti
from lti_gateway.core.errors import GatewayError, IdTokenRejected, PlatformInactive, UnknownPlatform
from lti_gateway.core.http_client import HttpResponse
from lti_gateway.lti13 import id_token
from lti_gateway.lti13.id_token import (
    DEEP_LINKING_SETTINGS,
    DEPLOYMENT_ID,
    LTI1P1,
    MESSAGE_TYPE,
    RESOURCE_LINK,
    ROLES,
    TARGET_LINK_URI,
    VERSION,
    LaunchValidation,
)
from lti_gateway.lti13.platform_jwks import PlatformKeys
from lti_gateway.lti13.platforms import Registration
from lti_gateway.repositories.launch import ConsumedState

NOW = 1_700_000_000
ISS = "https://lms.example.edu"
CLIENT_ID = "tool-client-1"
DEPLOYMENT = "deployment-1"
PLATFORM_ID = "plt_0123456789abcdef"
JWKS_URL = "https://lms.example.edu/.well-known/jwks.json"
STATE = "Zm9vYmFyYmF6cXV4LXN0YXRlLXZhbHVlLTAxMjM0NTY3"
NONCE = "nonce-7f3a9c1e5b"
TARGET = "https://gw.example.com/lti/launch/cls_0123456789abcdef"
DELETE = object()

PLATFORM_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)

REGISTRATION = Registration(
    platform_id=PLATFORM_ID,
    org_id="org_1",
    name="Example LMS",
    issuer=ISS,
    client_id=CLIENT_ID,
    deployment_ids=(DEPLOYMENT, "deployment-2"),
    auth_login_url="https://lms.example.edu/auth",
    auth_token_url="https://lms.example.edu/token",
    jwks_url=JWKS_URL,
    public_key=None,
    auth_server=None,
    active=True,
    allow_anonymous=False,
)


def jwk_of(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


# -- fakes --------------------------------------------------------------------------------------------


class FakeJwksHttp:
    """Serves one JWKS document; records every URL asked for."""

    def __init__(self, *keys: dict[str, Any]):
        self.document: dict[str, Any] = {"keys": list(keys)}
        self.urls: list[str] = []

    def request(self, method: str, url: str, **_: Any) -> HttpResponse:
        self.urls.append(url)
        return HttpResponse(200, json.dumps(self.document).encode())


class FakeStates:
    def __init__(self, items: dict[str, dict[str, Any]] | None = None):
        self.items = dict(items or {})
        self.calls = 0  # reads: the state is read first and consumed only after every check passed
        self.consumed = 0

    def read_state(self, state: str, now: int) -> ConsumedState:
        self.calls += 1
        item = self.items.get(state)
        if item is None:
            return ConsumedState("unknown", None)
        return ConsumedState("expired" if item["expires_at"] <= now else "ok", item)

    def consume_state(self, state: str, now: int) -> ConsumedState:
        self.consumed += 1
        item = self.items.pop(state, None)
        if item is None:
            return ConsumedState("unknown", None)
        return ConsumedState("expired" if item["expires_at"] <= now else "ok", item)


def state_item(**changes: Any) -> dict[str, Any]:
    item = {
        "nonce": NONCE,
        "platform_id": PLATFORM_ID,
        "org_id": "org_1",
        "issuer": ISS,
        "client_id": CLIENT_ID,
        "target_link_uri": TARGET,
        "expires_at": NOW + 600,
    }
    return {**item, **changes}


def claims(**changes: Any) -> dict[str, Any]:
    """A certification-shaped resource link request; ``name=DELETE`` removes a claim."""
    base: dict[str, Any] = {
        "iss": ISS,
        "aud": CLIENT_ID,
        "sub": "user-a1b2c3",
        "exp": NOW + 300,
        "iat": NOW - 5,
        "nonce": NONCE,
        "name": "Ada Lovelace",
        MESSAGE_TYPE: "LtiResourceLinkRequest",
        VERSION: "1.3.0",
        DEPLOYMENT_ID: DEPLOYMENT,
        TARGET_LINK_URI: TARGET,
        RESOURCE_LINK: {"id": "link-1", "title": "Week 1"},
        ROLES: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "course-1", "title": "Physics"},
    }
    for name, value in changes.items():
        name = {
            "message_type": MESSAGE_TYPE,
            "version": VERSION,
            "deployment_id": DEPLOYMENT_ID,
            "target_link_uri": TARGET_LINK_URI,
            "resource_link": RESOURCE_LINK,
            "roles": ROLES,
            "deep_linking_settings": DEEP_LINKING_SETTINGS,
        }.get(name, name)
        if value is DELETE:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def mint(payload: dict[str, Any], *, key: rsa.RSAPrivateKey = PLATFORM_KEY, kid: Any = "k1", **headers: Any) -> str:
    fields = dict(headers)
    if kid is not DELETE:
        fields["kid"] = kid
    return jwt.encode(payload, key, algorithm="RS256", headers=fields)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_unsigned(payload: dict[str, Any], header: dict[str, Any], signature: bytes = b"") -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.{_b64(signature)}"


def mint_raw(payload: bytes, *, key: rsa.RSAPrivateKey = PLATFORM_KEY) -> str:
    """RS256 over any payload bytes, kid k1 (pyjwt refuses to encode some of the payloads tested here)."""
    signing_input = f"{_b64(json.dumps({'alg': 'RS256', 'kid': 'k1'}).encode())}.{_b64(payload)}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()))}"


def mint_hs256_with_public_key(payload: dict[str, Any]) -> str:
    """The classic key-confusion attack: HMAC keyed with the platform's public key PEM."""
    pem = PLATFORM_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    body = _b64(json.dumps(payload).encode())
    signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


class World:
    """One validation's collaborators: a JWKS with kid k1, a state store, a registration lookup."""

    def __init__(self, *, registration: Registration = REGISTRATION, state: dict[str, Any] | None = None):
        self.http = FakeJwksHttp(jwk_of(PLATFORM_KEY, "k1"))
        self.monotonic = 0.0
        self.keys = PlatformKeys(lambda: self.http, clock=lambda: self.monotonic)
        self.states = FakeStates({STATE: state if state is not None else state_item()})
        self.registration = registration
        self.lookups: list[tuple[str, str]] = []

    def find(self, issuer: str, client_id: str, platform_id: str = "") -> Registration:
        self.lookups.append((issuer, client_id))
        if (issuer, client_id) != (self.registration.issuer, self.registration.client_id):
            raise UnknownPlatform("not registered", status=401)
        if not self.registration.active:
            raise PlatformInactive("deactivated")
        return self.registration

    def validate(self, token: str | None, state: str | None = STATE, *, now: int = NOW) -> id_token.ValidatedLaunch:
        return LaunchValidation(
            token, state, states=self.states, registrations=self.find, keys=self.keys, now=now
        ).validate()


def rejected(world: World, token: str | None, **kw: Any) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        world.validate(token, **kw)
    assert isinstance(caught.value, IdTokenRejected), caught.value
    return caught.value


# -- the happy path ---------------------------------------------------------------------------------------


def test_a_certification_shaped_resource_link_launch_is_accepted():
    world = World()

    launch = world.validate(mint(claims()))

    assert launch.message_type == "LtiResourceLinkRequest"
    assert launch.deployment_id == DEPLOYMENT and launch.client_id == CLIENT_ID
    assert launch.registration is REGISTRATION and launch.kid == "k1"
    assert launch.subject == "user-a1b2c3"
    assert launch.state["target_link_uri"] == TARGET
    assert world.states.calls == 1 and world.http.urls == [JWKS_URL]


def test_unknown_claims_and_empty_roles_are_tolerated():
    world = World()
    token = mint(claims(roles=[""], **{"https://canvas.instructure.com/lti/extra": {"a": [1, 2.5]}, "foo": None}))
    assert world.validate(token).claims[ROLES] == [""]
    assert World().validate(mint(claims(roles=[]))).claims[ROLES] == []


def test_a_deep_linking_request_needs_no_target_link_uri():
    settings = {"deep_link_return_url": "https://lms.example.edu/dl/return", "accept_types": ["ltiResourceLink"]}
    token = mint(
        claims(
            message_type="LtiDeepLinkingRequest",
            target_link_uri=DELETE,
            resource_link=DELETE,
            deep_linking_settings=settings,
        )
    )
    assert World().validate(token).message_type == "LtiDeepLinkingRequest"


def test_a_submission_review_request_is_accepted():
    token = mint(claims(message_type="LtiSubmissionReviewRequest", **{lti.FOR_USER: {"user_id": "u2"}}))
    assert World().validate(token).message_type == "LtiSubmissionReviewRequest"


def test_an_anonymous_launch_needs_the_platform_to_allow_it():
    token = mint(claims(sub=DELETE))
    assert rejected(World(), token).code == "missing_sub"
    assert World(registration=replace(REGISTRATION, allow_anonymous=True)).validate(token).subject is None


def test_jku_and_x5u_in_the_header_are_never_fetched():
    world = World()
    world.validate(mint(claims(), jku="https://evil.example/jwks.json", x5u="https://evil.example/cert.pem"))
    assert world.http.urls == [JWKS_URL]


def test_aud_as_a_list_with_azp_is_accepted():
    token = mint(claims(aud=[CLIENT_ID, "another-audience"], azp=CLIENT_ID))
    assert World().validate(token).client_id == CLIENT_ID


# -- each bad payload, with its positive twin ---------------------------------------------------------------

Minter = Callable[[], str]

CASES: dict[str, tuple[Minter, Minter, str]] = {
    # name: (accepted twin, rejected token, code)
    "no kid": (lambda: mint(claims()), lambda: mint(claims(), kid=DELETE), "missing_kid"),
    "unknown kid": (lambda: mint(claims()), lambda: mint(claims(), kid="k-unknown"), "unknown_kid"),
    "bad signature": (
        lambda: mint(claims()),
        lambda: mint(claims(), key=OTHER_KEY),
        "id_token_signature_invalid",
    ),
    "alg none": (
        lambda: mint(claims()),
        lambda: mint_unsigned(claims(), {"alg": "none", "typ": "JWT", "kid": "k1"}),
        "alg_not_allowed",
    ),
    "HS256 signed with the public key": (
        lambda: mint(claims()),
        lambda: mint_hs256_with_public_key(claims()),
        "alg_not_allowed",
    ),
    "wrong version": (
        lambda: mint(claims(version="1.3.0")),
        lambda: mint(claims(version="1.2.0")),
        "unsupported_lti_version",
    ),
    "no version": (lambda: mint(claims()), lambda: mint(claims(version=DELETE)), "missing_version"),
    "invalid message type": (
        lambda: mint(claims(message_type="LtiResourceLinkRequest")),
        lambda: mint(claims(message_type="LtiStartProctoring")),
        "unsupported_message_type",
    ),
    "no message type": (lambda: mint(claims()), lambda: mint(claims(message_type=DELETE)), "missing_message_type"),
    "no roles": (lambda: mint(claims(roles=[""])), lambda: mint(claims(roles=DELETE)), "missing_roles"),
    "roles not a list": (lambda: mint(claims(roles=[])), lambda: mint(claims(roles="Instructor")), "invalid_roles"),
    "no deployment id": (lambda: mint(claims()), lambda: mint(claims(deployment_id=DELETE)), "missing_deployment_id"),
    "no resource link id": (
        lambda: mint(claims(resource_link={"id": "link-1"})),
        lambda: mint(claims(resource_link={"title": "no id"})),
        "missing_resource_link_id",
    ),
    "no sub": (lambda: mint(claims()), lambda: mint(claims(sub=DELETE)), "missing_sub"),
    "no target link uri on a resource link": (
        lambda: mint(
            claims(
                target_link_uri=DELETE,
                message_type="LtiDeepLinkingRequest",
                deep_linking_settings={"deep_link_return_url": "https://lms.example.edu/dl"},
            )
        ),
        lambda: mint(claims(target_link_uri=DELETE)),
        "missing_target_link_uri",
    ),
    "deep linking without settings": (
        lambda: mint(
            claims(
                message_type="LtiDeepLinkingRequest",
                deep_linking_settings={"deep_link_return_url": "https://lms.example.edu/dl"},
            )
        ),
        lambda: mint(claims(message_type="LtiDeepLinkingRequest")),
        "missing_deep_linking_settings",
    ),
    "expired": (lambda: mint(claims(exp=NOW - 30)), lambda: mint(claims(exp=NOW - 61)), "id_token_expired"),
    "iat in the future": (lambda: mint(claims(iat=NOW + 60)), lambda: mint(claims(iat=NOW + 61)), "iat_in_future"),
    "iat too old": (lambda: mint(claims(iat=NOW - 600)), lambda: mint(claims(iat=NOW - 601)), "iat_too_old"),
    "no exp": (lambda: mint(claims()), lambda: mint(claims(exp=DELETE)), "missing_exp"),
    "no iat": (lambda: mint(claims()), lambda: mint(claims(iat=DELETE)), "missing_iat"),
    "exp not a number": (lambda: mint(claims(exp=NOW + 10)), lambda: mint(claims(exp="soon")), "invalid_time_claim"),
    "wrong aud": (lambda: mint(claims(aud=CLIENT_ID)), lambda: mint(claims(aud="another-tool")), "invalid_audience"),
    "aud list without our client id": (
        lambda: mint(claims(aud=[CLIENT_ID, "x"], azp=CLIENT_ID)),
        lambda: mint(claims(aud=["x", "y"], azp=CLIENT_ID)),
        "invalid_audience",
    ),
    "aud list without azp": (
        lambda: mint(claims(aud=[CLIENT_ID, "x"], azp=CLIENT_ID)),
        lambda: mint(claims(aud=[CLIENT_ID, "x"])),
        "missing_azp",
    ),
    "wrong azp": (lambda: mint(claims(azp=CLIENT_ID)), lambda: mint(claims(azp="another-tool")), "invalid_azp"),
    "wrong iss": (lambda: mint(claims(iss=ISS)), lambda: mint(claims(iss="https://evil.example")), "invalid_issuer"),
    "wrong nonce": (lambda: mint(claims(nonce=NONCE)), lambda: mint(claims(nonce="another-nonce")), "invalid_nonce"),
    "no nonce": (lambda: mint(claims()), lambda: mint(claims(nonce=DELETE)), "missing_nonce"),
    "unknown deployment": (
        lambda: mint(claims(deployment_id="deployment-2")),
        lambda: mint(claims(deployment_id="deployment-9")),
        "unknown_deployment",
    ),
    "sub too long": (lambda: mint(claims(sub="u" * 255)), lambda: mint(claims(sub="u" * 256)), "invalid_sub"),
    "oversize token": (
        lambda: mint(claims(padding="x" * 40_000)),
        lambda: mint(claims(padding="x" * 50_000)),
        "id_token_too_large",
    ),
    "not a JWT": (lambda: mint(claims()), lambda: "not-a-jwt", "malformed_id_token"),
    "payload not JSON": (
        lambda: mint(claims()),
        lambda: ".".join((_b64(b'{"alg":"RS256","kid":"k1"}'), _b64(b"not json"), _b64(b"sig"))),
        "malformed_id_token",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_bad_payload_is_rejected_and_its_twin_accepted(case: str):
    accepted, bad, code = CASES[case]

    World().validate(accepted())
    error = rejected(World(), bad())

    assert error.code == code
    assert error.status in (400, 401)


# -- state, platform ------------------------------------------------------------------------------------


def test_a_reused_state_is_rejected():
    world = World()
    token = mint(claims())
    world.validate(token)

    assert rejected(world, token).code == "invalid_state"


def test_an_expired_state_is_rejected_and_its_twin_accepted():
    assert World(state=state_item(expires_at=NOW + 1)).validate(mint(claims()))
    assert rejected(World(state=state_item(expires_at=NOW)), mint(claims())).code == "state_expired"


def test_a_state_that_was_never_issued_is_rejected_without_a_lookup():
    world = World()
    assert rejected(world, mint(claims()), state="not a state!").code == "invalid_state"
    assert world.states.calls == 0
    assert rejected(world, mint(claims()), state="A" * 43).code == "invalid_state"
    assert world.states.calls == 1


def test_a_missing_state_or_token_is_malformed():
    assert rejected(World(), mint(claims()), state=None).code == "missing_state"
    assert rejected(World(), None).code == "missing_id_token"
    assert rejected(World(), "").status == 400


def test_a_state_issued_for_another_platform_is_rejected():
    world = World(state=state_item(platform_id="plt_ffffffffffffffff"))
    assert rejected(world, mint(claims())).code == "state_platform_mismatch"


def test_a_deactivated_platform_is_rejected_and_its_twin_accepted():
    assert World().validate(mint(claims()))
    error = rejected(World(registration=replace(REGISTRATION, active=False)), mint(claims()))
    assert (error.code, error.status) == ("platform_inactive", 401)


def test_a_platform_deleted_between_login_and_launch_is_unknown():
    world = World(registration=replace(REGISTRATION, client_id="a-different-client"))
    assert rejected(world, mint(claims())).code == "unknown_platform"


def test_a_bad_token_leaves_the_state_unspent_and_a_good_one_spends_it():
    world = World()
    rejected(world, mint(claims(), key=OTHER_KEY))
    assert world.states.consumed == 0 and STATE in world.states.items

    assert world.validate(mint(claims()))
    assert world.states.consumed == 1 and rejected(world, mint(claims())).code == "invalid_state"


def test_the_platform_key_is_rotated_between_launches():
    world = World()
    world.validate(mint(claims()))
    world.http.document = {"keys": [jwk_of(OTHER_KEY, "k2")]}  # the platform rotated: k1 withdrawn, k2 new
    world.states.items[STATE] = state_item()
    world.monotonic += 31  # an unknown kid refetches at most once per 30 s

    assert world.validate(mint(claims(), key=OTHER_KEY, kid="k2")).kid == "k2"
    assert world.http.urls == [JWKS_URL, JWKS_URL]


# -- one parse: the verified pass decodes the payload; the state names the registration ----------------------


def test_an_accepted_launch_parses_its_payload_once(monkeypatch: pytest.MonkeyPatch):
    """Only the header is decoded by hand; the payload's JSON is parsed by jwt.decode alone."""
    world, token = World(), mint(claims())
    world.validate(mint(claims()))  # warm: the JWKS is fetched and parsed
    world.states.items[STATE] = state_item()
    parsed: list[Any] = []
    loads = json.loads

    def counting(*args: Any, **kwargs: Any) -> Any:
        parsed.append(value := loads(*args, **kwargs))
        return value

    monkeypatch.setattr(json, "loads", counting)
    world.validate(token)

    assert sum(1 for value in parsed if isinstance(value, dict) and "nonce" in value) == 1


def test_the_registration_is_found_from_the_state_not_from_the_token():
    world = World()
    assert rejected(world, mint(claims(iss="https://evil.example"))).code == "invalid_issuer"
    assert world.lookups == [(ISS, CLIENT_ID)]


@pytest.mark.parametrize(
    ("state", "code"),
    [(state_item(issuer=""), "invalid_issuer"), (state_item(client_id=None), "invalid_audience")],
)
def test_a_state_that_names_no_issuer_or_client_id_is_refused_without_a_lookup(state: dict[str, Any], code: str):
    world = World(state=state)
    assert rejected(world, mint(claims())).code == code
    assert world.lookups == []


# Refused by the verified pass (a forged signature, or a claim pyjwt checks), each keeps the code it had
# when the chain checked iss, aud and azp before the signature; only then does pyjwt's reason count.
FORGED: dict[str, tuple[dict[str, Any], str]] = {
    "wrong iss": ({"iss": "https://evil.example"}, "invalid_issuer"),
    "no iss": ({"iss": DELETE}, "invalid_issuer"),
    "iss not a string": ({"iss": ["https://lms.example.edu"]}, "invalid_issuer"),
    "wrong aud": ({"aud": "another-tool"}, "invalid_audience"),
    "no aud": ({"aud": DELETE}, "invalid_audience"),
    "empty aud": ({"aud": []}, "invalid_audience"),
    "aud list without azp": ({"aud": [CLIENT_ID, "x"]}, "missing_azp"),
    "wrong azp": ({"azp": "another-tool"}, "invalid_azp"),
    "no nonce": ({"nonce": DELETE}, "missing_nonce"),
    "sub not a string": ({"sub": 42}, "invalid_sub"),
}


@pytest.mark.parametrize("case", FORGED)
def test_a_refusal_of_the_verified_pass_keeps_its_code(case: str):
    changes, code = FORGED[case]
    payload = json.dumps(claims(**changes)).encode()
    checked_first = code in ("invalid_issuer", "invalid_audience", "missing_azp", "invalid_azp")

    assert rejected(World(), mint_raw(payload)).code == code
    assert rejected(World(), mint_raw(payload, key=OTHER_KEY)).code == (
        code if checked_first else "id_token_signature_invalid"
    )


@pytest.mark.parametrize("payload", [b"[1, 2]", b'"a string"', b"not json", b"\xff\xfe", b""])
def test_a_signed_payload_that_is_not_a_json_object_is_malformed(payload: bytes):
    world = World()

    error = rejected(world, mint_raw(payload))

    assert (error.code, error.status) == ("malformed_id_token", 400)
    assert world.states.calls == 1  # the state is read: the payload is only decoded by the verified pass
    assert world.states.consumed == 0  # and left for a valid launch (issue 13, item 11)


@pytest.mark.parametrize("tail", ["é", "\udc80", "\u2028"])
def test_a_token_that_is_not_ascii_is_malformed(tail: str):
    world = World()
    assert rejected(world, mint(claims()) + tail).code == "malformed_id_token"
    assert world.states.calls == 0


# -- LTI 1.1 migration claim ------------------------------------------------------------------------------

# The example of the LTI 1.3 migration guide (https://www.imsglobal.org/spec/lti/v1p3/migr).
SPEC_CLAIMS = {
    "nonce": "172we8671fd8z",
    "iat": 1551290796,
    "exp": 1551290856,
    "iss": "https://lmsvendor.com",
    "aud": "PM48OJSfGDTAzAo",
    "sub": "3",
    DEPLOYMENT_ID: "689302",
    LTI1P1: {
        "user_id": "34212",
        "oauth_consumer_key": "179248902",
        "oauth_consumer_key_sign": "lWd54kFo5qU7xshAna6v8BwoBm6tmUjc6GTax6+12ps=",
    },
}


def test_the_lti1p1_base_string_and_signature_match_the_spec_example():
    base = id_token.lti1p1_base_string(SPEC_CLAIMS, "PM48OJSfGDTAzAo")
    assert base == "179248902&689302&https://lmsvendor.com&PM48OJSfGDTAzAo&1551290856&172we8671fd8z"
    assert id_token.lti1p1_sign(base, "my-lti11-secret") == SPEC_CLAIMS[LTI1P1]["oauth_consumer_key_sign"]
    assert id_token.verify_lti1p1_sign(SPEC_CLAIMS, "PM48OJSfGDTAzAo", ("old", "my-lti11-secret"))


def test_the_hex_form_of_the_lti1p1_signature_is_tolerated_and_a_wrong_secret_is_not():
    base = id_token.lti1p1_base_string(SPEC_CLAIMS, "PM48OJSfGDTAzAo")
    hex_sign = hmac.new(b"my-lti11-secret", base.encode(), hashlib.sha256).hexdigest()
    hex_claims = {**SPEC_CLAIMS, LTI1P1: {**SPEC_CLAIMS[LTI1P1], "oauth_consumer_key_sign": hex_sign}}

    assert id_token.verify_lti1p1_sign(hex_claims, "PM48OJSfGDTAzAo", ("my-lti11-secret",))
    assert not id_token.verify_lti1p1_sign(SPEC_CLAIMS, "PM48OJSfGDTAzAo", ("not-the-secret",))
    assert not id_token.verify_lti1p1_sign(SPEC_CLAIMS, "another-client", ("my-lti11-secret",))
    unsigned = {**SPEC_CLAIMS, LTI1P1: {"oauth_consumer_key": "179248902"}}
    assert not id_token.verify_lti1p1_sign(unsigned, "PM48OJSfGDTAzAo", ("my-lti11-secret",))
