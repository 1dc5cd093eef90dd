"""The launch validation's shortcuts (issue 16): each skips work only where the skipped check cannot fail.

* the walk over every claim string for lone surrogates is skipped for a payload whose bytes cannot
  decode to one (:func:`id_token.surrogate_free`), and runs for every other payload;
* parsed header segments are remembered per container, and a remembered header is checked again on
  every launch (a cached ``alg`` is still refused);
* the verified pass is pyjwt's JWT layer with its options set once per decoder (a sub is required
  unless the platform allows anonymous launches).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from lti_gateway.core import runtime
from lti_gateway.lti13 import id_token
from tests.unit.lti13.test_id_token import (
    CLIENT_ID,
    DELETE,
    OTHER_KEY,
    REGISTRATION,
    STATE,
    World,
    _b64,
    claims,
    mint,
    mint_raw,
    mint_unsigned,
    rejected,
    state_item,
)

# -- surrogate_free: what the bytes can and cannot decode to ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "free"),
    [
        (b'{"name":"Ada Lovelace"}', True),  # ASCII, no escape at all: the usual payload
        (b'{"name":"Ad\\u00e9 \\/ \\n"}', True),  # escapes, none of a surrogate
        ('{"name":"Adé Lovelace ☃"}'.encode(), True),  # raw UTF-8 text (Canvas sends names so)
        (b'{"name":"\\ud800"}', False),  # the escape of a lone surrogate
        (b'{"name":"\\uDFFF"}', False),  # upper-case hex digits too
        (b'{"name":"\\ud83d\\ude00"}', False),  # a valid pair: walked (and accepted), not skipped
        (b'{"name":"\xed\xa0\x80"}', False),  # a UTF-8-encoded surrogate (json decodes with surrogatepass)
        (b'{"name":"\xff"}', False),  # not UTF-8 at all
        ('{"a":"b"}'.encode("utf-16-le"), False),  # NUL bytes: json would read it as UTF-16
        (b'\xef\xbb\xbf{"a":"b"}', True),  # a UTF-8 BOM is valid UTF-8 and holds no surrogate
    ],
)
def test_surrogate_free_answers_false_whenever_json_could_yield_a_lone_surrogate(raw: bytes, free: bool):
    assert id_token.surrogate_free(raw) is free
    if free:  # the claim behind the answer: nothing json.loads makes of these bytes holds a lone surrogate
        assert id_token.ill_formed_claim(json.loads(raw)) is None


def _counting_walks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    walks: list[Any] = []
    walk = id_token.ill_formed_claim

    def counting(claims_: Any) -> Any:
        walks.append(claims_)
        return walk(claims_)

    monkeypatch.setattr(id_token, "ill_formed_claim", counting)
    return walks


def test_a_plain_payload_is_not_walked_and_one_with_a_surrogate_escape_is(monkeypatch: pytest.MonkeyPatch):
    walks = _counting_walks(monkeypatch)

    World().validate(mint(claims()))
    World().validate(mint_raw(json.dumps(claims(name="Adé"), ensure_ascii=False).encode()))
    assert walks == []  # ASCII, or valid UTF-8, without a surrogate escape: the walk is skipped

    World().validate(mint(claims(name="\U0001f600 Ada")))  # json.dumps writes the pair of escapes
    assert len(walks) == 1  # walked, and accepted


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps(claims(name="Ada \ud800")).encode(),  # the escape
        json.dumps(claims(name="Ada \udfff"), ensure_ascii=False).encode("utf-8", "surrogatepass"),  # raw bytes
        json.dumps(claims(custom_note={"k": ["ok", "\ud83d"]}), ensure_ascii=False).encode("utf-16", "surrogatepass"),
    ],
    ids=["escape", "utf-8-encoded surrogate", "utf-16 payload"],
)
def test_a_lone_surrogate_however_encoded_is_still_refused(payload: bytes):
    world = World()

    error = rejected(world, mint_raw(payload))

    assert (error.code, error.status) == ("invalid_claim_text", 400)
    assert world.states.consumed == 0  # the state stays for a valid launch
    World().validate(mint_raw(json.dumps(claims(name="Ada")).encode()))  # the twin


# -- the header cache ----------------------------------------------------------------------------------------


def test_a_remembered_header_is_checked_again_on_every_launch():
    runtime.reset()
    bad = mint_unsigned(claims(), {"alg": "none", "kid": "k1"})

    for _ in range(3):  # cached after the first: refused each time all the same
        assert rejected(World(), bad).code == "alg_not_allowed"
    assert World().validate(mint(claims())).kid == "k1"


def test_a_new_kid_after_a_key_rotation_is_read_from_its_own_header():
    world = World()
    assert world.validate(mint(claims())).kid == "k1"

    world.states.items[STATE] = state_item()
    error = rejected(world, mint(claims(), key=OTHER_KEY, kid="k2"))  # the platform's JWKS has no k2

    assert error.code == "unknown_kid"


def test_the_header_cache_is_bounded_and_forgets_on_reset(monkeypatch: pytest.MonkeyPatch):
    runtime.reset()
    monkeypatch.setattr(id_token._HEADERS, "max_entries", 4)
    for i in range(10):
        token = f"{_b64(json.dumps({'alg': 'RS256', 'kid': f'kid-{i}'}).encode())}.{_b64(b'{}')}.{_b64(b'x')}"
        rejected(World(), token)
    long_header = {"alg": "RS256", "kid": "k" * 200, "x": "y" * 400}
    rejected(World(), f"{_b64(json.dumps(long_header).encode())}.{_b64(b'{}')}.{_b64(b'x')}")

    assert 0 < len(id_token._HEADERS) <= 4
    assert all(len(segment) <= id_token._HEADERS.max_key_length for segment in id_token._HEADERS)
    runtime.reset()
    assert len(id_token._HEADERS) == 0


# -- the decoders' options --------------------------------------------------------------------------------------


def test_sub_is_required_by_the_decoder_unless_the_platform_allows_anonymous_launches():
    anonymous = World(registration=replace(REGISTRATION, allow_anonymous=True))

    assert rejected(World(), mint(claims(sub=DELETE))).code == "missing_sub"
    assert anonymous.validate(mint(claims(sub=DELETE))).subject is None
    assert World().validate(mint(claims())).subject == "user-a1b2c3"


@pytest.mark.parametrize(
    ("aud", "code"),
    [
        ([CLIENT_ID, 7], "invalid_audience"),  # pyjwt refused a list holding a non-string; so do we
        ([CLIENT_ID, None], "invalid_audience"),
        ({"aud": CLIENT_ID}, "invalid_audience"),
        ("", "invalid_audience"),
    ],
)
def test_iss_and_aud_checked_by_us_refuse_what_pyjwt_refused(aud: Any, code: str):
    assert rejected(World(), mint(claims(aud=aud, azp=CLIENT_ID))).code == code
    assert World().validate(mint(claims(aud=[CLIENT_ID, "x"], azp=CLIENT_ID))).client_id == CLIENT_ID  # the twin


def test_an_issuer_that_is_the_states_but_not_the_registrations_is_refused():
    """The registration is found from the state's issuer, so the two agree; should a lookup ever answer
    another, the token's iss must still be the registration's (pyjwt's issuer= check, now ours)."""
    world = World(registration=replace(REGISTRATION, issuer="https://other.example"))
    world.find = lambda issuer, client_id, platform_id="": world.registration  # type: ignore[method-assign]

    assert rejected(world, mint(claims())).code == "invalid_issuer"
