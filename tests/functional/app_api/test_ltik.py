"""The ltik: 24 hours, bound to one launch, signed with the stack's sealed key."""

from __future__ import annotations

import time

import boto3
import jwt
import pytest

from lti_gateway.app_api import ltik
from lti_gateway.core import runtime
from lti_gateway.core.errors import Unauthorized


def test_round_trip(stack):
    token = ltik.issue("launch-1", "org_1")

    claims = ltik.verify(token)

    assert (claims.launch_id, claims.org_id) == ("launch-1", "org_1")
    assert claims.expires_at - claims.issued_at == 86_400


def test_valid_until_24_hours_and_not_one_second_more(stack, monkeypatch):
    issued = time.time()
    token = ltik.issue("launch-1", "org_1", now=issued)

    monkeypatch.setattr(time, "time", lambda: issued + 86_399)
    assert ltik.verify(token).launch_id == "launch-1"
    monkeypatch.setattr(time, "time", lambda: issued + 86_401)
    with pytest.raises(Unauthorized):
        ltik.verify(token)


def test_the_key_is_generated_once_sealed_and_shared_by_containers(stack):
    token = ltik.issue("launch-1", "org_1")
    ltik.reset()  # a new container reads the stored key

    assert ltik.verify(token).launch_id == "launch-1"
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    keys = [i for i in items if i.get("kind") == "tool_key"]
    assert len(keys) == 1 and keys[0]["secret_sealed"].startswith("v1.")


def _forge(claims: dict, key: bytes | str, alg: str = "HS256", kid: str | None = None) -> str:
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


@pytest.mark.parametrize(
    "make",
    [
        lambda good, kid: good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        lambda good, kid: _forge({"sub": "x", "org": "o", "iat": 1, "exp": 4_000_000_000}, b"k" * 32, kid=kid),
        lambda good, kid: _forge({"sub": "x", "org": "o", "iat": 1, "exp": 4_000_000_000}, b"k" * 32, kid="other"),
        lambda good, kid: jwt.encode({"sub": "x", "org": "o", "iat": 1, "exp": 4_000_000_000}, None, algorithm="none"),
        lambda good, kid: "not-a-token",
        lambda good, kid: "a.b.c",
        lambda good, kid: good + "." + "x" * 3000,
        lambda good, kid: "",
    ],
)
def test_forged_tampered_or_malformed_tokens_are_refused(stack, make):
    good = ltik.issue("launch-1", "org_1")
    kid = jwt.get_unverified_header(good)["kid"]

    with pytest.raises(Unauthorized) as raised:
        ltik.verify(make(good, kid))
    assert raised.value.code == "invalid_ltik"


def test_required_claims_are_enforced(stack):
    good = ltik.issue("launch-1", "org_1")
    kid = jwt.get_unverified_header(good)["kid"]
    from lti_gateway.app_api import ltik as module

    secret = module._signing_key().secret
    missing_exp = _forge({"sub": "x", "org": "o", "iat": 1}, secret, kid=kid)
    missing_org = _forge({"sub": "x", "iat": 1, "exp": 4_000_000_000}, secret, kid=kid)
    with_everything = _forge({"sub": "x", "org": "o", "iat": 1, "exp": 4_000_000_000}, secret, kid=kid)

    for token in (missing_exp, missing_org):
        with pytest.raises(Unauthorized):
            ltik.verify(token)
    assert ltik.verify(with_everything).launch_id == "x"  # the positive twin: only the claim differs


# -- the header's kid, remembered per container (issue 16) -------------------------------------------------


def test_a_remembered_header_does_not_outlive_the_key_it_named(stack):
    """The kid of each header segment is remembered; what it is compared with is the current key."""
    old = ltik.issue("launch-1", "org_1")
    assert ltik.verify(old).launch_id == "launch-1"  # its header segment is now remembered
    other = ltik._Key("another-kid", b"s" * 32)
    saved = list(ltik._current)
    ltik._current[:] = [other]
    try:
        with pytest.raises(Unauthorized):
            ltik.verify(old)  # remembered kid, not the current key's
        fresh = ltik.issue("launch-2", "org_1")
        assert ltik.verify(fresh).launch_id == "launch-2"
    finally:
        ltik._current[:] = saved
    assert ltik.verify(old).launch_id == "launch-1"


def test_made_up_headers_are_refused_and_remembered_within_a_bound(stack, monkeypatch):
    good = ltik.issue("launch-1", "org_1")
    secret = ltik._signing_key().secret
    monkeypatch.setattr(ltik._HEADERS, "max_entries", 4)
    for i in range(10):
        with pytest.raises(Unauthorized):
            ltik.verify(_forge({"sub": "x", "org": "o", "iat": 1, "exp": 4_000_000_000}, secret, kid=f"kid-{i}"))

    assert 0 < len(ltik._HEADERS) <= 4
    assert ltik.verify(good).launch_id == "launch-1"
    runtime.reset()
    assert len(ltik._HEADERS) == 0
