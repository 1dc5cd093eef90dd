"""Hypothesis against the LTI 1.1 launch parsing and OAuth 1.0a verification (pure, no AWS).

Any input is either accepted or refused with a GatewayError of status 4xx (an HTML page with that
status in the launch function); nothing else may escape — an escaping exception is a 500. And the
security property: a signed launch changed in any one parameter is never accepted.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import assume, given
from hypothesis import strategies as st

from lti_gateway.core import http, responses
from lti_gateway.core.errors import GatewayError
from lti_gateway.lti11 import oauth1_launch
from lti_gateway.lti11.oauth1_launch import ConsumerSecrets, InMemoryNonceStore
from tests.fuzz.conftest import fuzz
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import sign_launch

KEY = "fuzz-consumer-key-0001"
SECRET = "fuzz-consumer-secret-0001"
URL = "https://gw.example.com/lti/launch/cls_0123456789abcdef"
NOW = 1_800_000_000

# Text that exercises parsers: any Unicode, control characters, percent signs, separators.
TEXT = st.text(max_size=40) | st.sampled_from(["", "%", "%zz", "%00", "&", "=", "+", "²", "١٢", "\u0000", "a" * 300])
OAUTH_NAMES = [
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_version",
    "oauth_callback",
    "oauth_token",
    "oauth_body_hash",
]
LTI_NAMES = [k for k, _ in CANVAS] + ["lti_message_type", "lti_version", "resource_link_id", "roles", "user_id"]
NAMES = st.sampled_from(OAUTH_NAMES + LTI_NAMES) | TEXT


def refused_cleanly(error: GatewayError) -> None:
    assert 400 <= error.status < 500, (error.status, error.code)
    assert isinstance(error.code, str) and error.code
    json.dumps(responses.error_body(error))  # the details serialise (they end up in a page or a JSON body)


def lookup(key: str) -> ConsumerSecrets:
    return ConsumerSecrets.active(SECRET) if key == KEY else ConsumerSecrets.unknown()


def verify(url: str, params: list[tuple[str, str]], store: Any = None) -> Any:
    return oauth1_launch.verify_launch(
        "POST", url, params, lookup_secret=lookup, nonce_store=store or InMemoryNonceStore(lambda: NOW), now=NOW
    )


# -- the form body ---------------------------------------------------------------------------------------

CONTENT_TYPES = (
    st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-Urlencoded;charset=latin-1",
            'application/x-www-form-urlencoded; charset="utf8"; boundary=x',
            "multipart/form-data",
            "application/json",
            "",
            ";;;",
        ]
    )
    | TEXT
)


@st.composite
def form_events(draw) -> dict[str, Any]:
    pairs = draw(st.lists(st.tuples(NAMES, TEXT), max_size=12))
    kind = draw(st.sampled_from(["encoded", "raw-text", "binary-b64", "junk-b64", "not-a-string"]))
    encoded = urlencode(pairs, quote_via=quote)
    if kind == "encoded":
        body: Any = encoded
    elif kind == "raw-text":
        body = draw(st.text(max_size=200))
    elif kind == "binary-b64":
        body = base64.b64encode(draw(st.binary(max_size=200)) + encoded.encode()).decode()
    elif kind == "junk-b64":
        body = draw(st.text(alphabet="ABCDabcd0123+/=-_ \n", max_size=60))
    else:
        body = draw(st.one_of(st.integers(), st.binary(max_size=20), st.lists(st.integers(), max_size=3)))
    b64 = draw(st.one_of(st.booleans(), st.none(), st.sampled_from(["true", "false", 0, 1])))
    if b64 is True and kind == "encoded":
        body = base64.b64encode(encoded.encode()).decode()
    headers = {}
    if draw(st.booleans()):
        headers[draw(st.sampled_from(["content-type", "Content-Type", "CONTENT-TYPE"]))] = draw(CONTENT_TYPES)
    headers.update(draw(st.dictionaries(TEXT, TEXT, max_size=3)))
    return {"headers": headers, "body": body, "isBase64Encoded": b64}


@fuzz()
@given(event=form_events())
def test_any_form_body_parses_or_is_a_4xx(event):
    try:
        params = http.form_pairs(event)
    except GatewayError as error:
        refused_cleanly(error)
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params)


# -- the URL the LMS signed ----------------------------------------------------------------------------------


# Mostly well-formed values (so the later checks are reached), sometimes anything.
PORTS = st.one_of(*[st.sampled_from(["443", "8443", "²", "١٢", "0", "65536", "80,443", "", " 443"])] * 3, TEXT)
HOSTS = st.one_of(*[st.sampled_from(["gw.example.com", "GW.Example.com", "[::1]", "127.0.0.1", "x.example"])] * 3, TEXT)


@st.composite
def forwarding_headers(draw) -> dict[str, str]:
    headers = {}
    if draw(st.integers(0, 4)):
        host = draw(HOSTS)
        if draw(st.booleans()):
            host += ":" + draw(PORTS)
        headers["host"] = host
    if draw(st.booleans()):
        headers["x-forwarded-proto"] = draw(st.sampled_from(["https", "HTTP", "https,http", "ftp", ""]) | TEXT)
    if draw(st.integers(0, 2)):
        headers["x-forwarded-port"] = draw(PORTS)
    return headers


@fuzz()
@given(headers=forwarding_headers(), raw_path=st.sampled_from(["/lti/launch/x", "/", "x"]) | TEXT, raw_query=TEXT)
def test_any_forwarding_headers_give_a_url_or_a_4xx(headers, raw_path, raw_query):
    event = {"headers": headers, "rawPath": raw_path, "rawQueryString": raw_query, "requestContext": {}}
    try:
        url = http.public_url(event)
    except GatewayError as error:
        refused_cleanly(error)
        return
    assert url.startswith(("http://", "https://"))


# -- OAuth 1.0a verification ------------------------------------------------------------------------------


def _signed(nonce: str = "fuzz-nonce-0001") -> list[tuple[str, str]]:
    return sign_launch(URL, CANVAS, consumer_key=KEY, secret=SECRET, nonce=nonce, timestamp=NOW).params


SIGNED = _signed()


@fuzz()
@given(
    params=st.lists(st.tuples(NAMES, TEXT), max_size=16),
    keep=st.lists(st.sampled_from([k for k, _ in SIGNED]), max_size=len(SIGNED), unique=True),
    url=st.sampled_from([URL, URL + "?a=1", "https://gw.example.com:0/x", "ftp://x/y", "https://[::1/x"]) | TEXT,
)
def test_any_launch_parameters_verify_or_are_a_4xx(params, keep, url):
    """Random parameters, mixed with some of a real signed launch's (so the later checks are reached)."""
    mixed = [(k, v) for k, v in SIGNED if k in keep] + params
    try:
        verified = verify(url, mixed)
    except GatewayError as error:
        refused_cleanly(error)
        return
    assert verified.consumer_key == KEY  # only a launch signed with the real secret gets here


@fuzz()
@given(
    position=st.integers(min_value=0, max_value=len(SIGNED) - 1),
    value=TEXT,
    action=st.sampled_from(["change", "drop", "duplicate", "add"]),
    name=NAMES,
)
def test_a_signed_launch_changed_in_one_parameter_is_never_accepted(position, value, action, name):
    params = _signed()
    key, old = params[position]
    if action == "change":
        assume(value != old)
        params[position] = (key, value)
    elif action == "drop":
        del params[position]
    elif action == "duplicate":
        params.insert(position, (key, old if key.startswith("oauth_") else value))
    else:
        assume(name not in {k for k, _ in params} or name == "")
        params.append((name, value))
    try:
        verify(URL, params)
    except GatewayError as error:
        refused_cleanly(error)
        return
    raise AssertionError(f"accepted after {action} of {key!r}")


def test_the_unchanged_signed_launch_is_accepted():
    """The positive twin of the property above."""
    assert verify(URL, _signed()).consumer_key == KEY
