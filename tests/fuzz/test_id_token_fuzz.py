"""Hypothesis against the LTI 1.3 id_token path: arbitrary JWT-shaped strings, headers and claims.

Every input is accepted (only a token signed by the platform key, with the login's state) or refused
with a 4xx GatewayError; nothing else escapes. The storage, registration and JWKS are the unit tests'
fakes (tests/unit/lti13/test_id_token.py), so this runs without AWS.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import given
from hypothesis import strategies as st

from lti_gateway.core import vocabulary as lti
from lti_gateway.core.errors import GatewayError
from lti_gateway.lti13 import id_token
from tests.fuzz.conftest import fuzz
from tests.fuzz.test_lti11_fuzz import TEXT, refused_cleanly
from tests.unit.lti13.test_id_token import OTHER_KEY, PLATFORM_KEY, STATE, World, claims, mint_hs256_with_public_key

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)
CLAIM_NAMES = st.sampled_from(
    [
        "iss",
        "aud",
        "azp",
        "sub",
        "exp",
        "iat",
        "nbf",
        "nonce",
        lti.MESSAGE_TYPE,
        lti.VERSION,
        lti.DEPLOYMENT_ID,
        lti.TARGET_LINK_URI,
        lti.RESOURCE_LINK,
        lti.ROLES,
        lti.CONTEXT,
        lti.CUSTOM,
        lti.DEEP_LINKING_SETTINGS,
        lti.LAUNCH_PRESENTATION,
        lti.LTI1P1,
    ]
)
HEADER_VALUES = {
    "alg": st.sampled_from(["RS256", "none", "HS256", "RS512", "", "rs256"]) | JSON,
    "kid": st.sampled_from(["k1", "k2", ""]) | JSON,
    "typ": JSON,
    "jku": st.just("https://evil.example/jwks"),
    "x5u": st.just("https://evil.example/cert"),
    "crit": JSON,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(header: dict[str, Any], payload: dict[str, Any], key: Any) -> str:
    """RS256 over any header and payload (pyjwt refuses to encode some of the headers fuzzed here)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64(signature)}"


def outcome(token: Any, state: Any = STATE) -> str:
    """'accepted', or the refusal's code (asserting it is a clean 4xx)."""
    try:
        id_token.LaunchValidation(
            token, state, states=(world := World()).states, registrations=world.find, keys=world.keys, now=1_700_000_000
        ).validate()
    except GatewayError as error:
        refused_cleanly(error)
        return error.code
    return "accepted"


@fuzz()
@given(
    token=st.one_of(
        TEXT,
        st.text(alphabet="abcXYZ019-_.=", max_size=300),
        st.lists(st.text(alphabet="abcXYZ019-_", max_size=60), min_size=1, max_size=5).map(".".join),
        st.tuples(JSON, JSON, st.binary(max_size=64)).map(
            lambda t: ".".join([_b64(json.dumps(t[0]).encode()), _b64(json.dumps(t[1]).encode()), _b64(t[2])])
        ),
        st.just("[" * 3000).map(lambda s: _b64(s.encode()) + "." + _b64(b"{}") + ".sig"),
    ),
    state=st.sampled_from([STATE, "", None, "unknown-state"]) | TEXT,
)
def test_any_token_string_is_refused_cleanly(token, state):
    assert outcome(token, state) != "accepted"


@fuzz()
@given(
    overrides=st.dictionaries(CLAIM_NAMES, JSON | st.just(None), max_size=4),
    extra=st.dictionaries(TEXT, JSON, max_size=3),
    header=st.fixed_dictionaries({}, optional=HEADER_VALUES),
    key=st.sampled_from(["platform", "platform", "other", "hs256-with-public-key"]),
)
def test_any_signed_claims_and_headers_are_accepted_or_refused_cleanly(overrides, extra, header, key):
    payload = claims()
    for name, value in overrides.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    payload.update({k: v for k, v in extra.items() if k not in payload})
    if key == "hs256-with-public-key":
        token = mint_hs256_with_public_key(payload)
    else:
        token = sign({"alg": "RS256", "kid": "k1", **header}, payload, PLATFORM_KEY if key == "platform" else OTHER_KEY)
    result = outcome(token)
    if result == "accepted":
        assert key == "platform"  # only the platform's key signs a launch that passes


def test_the_certification_shaped_token_is_accepted():
    """The positive twin: the fuzzers' starting point passes."""
    assert outcome(jwt.encode(claims(), PLATFORM_KEY, "RS256", headers={"kid": "k1"})) == "accepted"
