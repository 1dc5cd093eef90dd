"""The tool's LTI 1.3 RSA keys, one set per organisation: generated once, sealed, published as the
organisation's JWKS, rotated without breaking tokens already signed."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt import PyJWKSet

from lti_gateway.core.errors import Conflict
from lti_gateway.lti13 import tool_keys
from tests.support.events import vary

OWNER = "org_0123456789abcdef"  # the key set these tests use (an organisation id)


def rsa_items(stack, owner: str = OWNER) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"] == f"TOOLKEY#rsa#{owner}"]


def all_rsa_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith("TOOLKEY#rsa")]


def private_pems(stack) -> list[str]:
    """The private keys as PEM, recovered the only way possible: through the sealed values and KMS."""
    from lti_gateway.repositories import deps

    return [
        deps.secret_box().open(i["private_key_sealed"], bound_to=f"tool-rsa:{i['kid']}")
        for i in all_rsa_items(stack)
        if i.get("private_key_sealed")
    ]


def verify_with_jwks(token: str, jwks: dict) -> dict:
    keys = {k.key_id: k for k in PyJWKSet.from_dict(jwks).keys}
    kid = jwt.get_unverified_header(token)["kid"]
    if kid not in keys:
        raise jwt.InvalidKeyError(f"kid {kid} not published")
    return jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience="https://lms.example.edu")


def claims() -> dict:
    now = int(time.time())
    return {"iss": "client-1", "sub": "client-1", "aud": "https://lms.example.edu", "iat": now, "exp": now + 300}


# -- first use --------------------------------------------------------------------------------------


def test_the_key_is_generated_on_first_use_and_kept(stack):
    kid, key = tool_keys.signing_key(OWNER)

    assert key.key_size >= 2048
    tool_keys.reset()  # another container
    again, _ = tool_keys.signing_key(OWNER)
    assert again == kid
    items = rsa_items(stack)
    assert {i["sk"] for i in items} == {"CURRENT", f"KID#{kid}"}
    [key_item] = [i for i in items if i["sk"].startswith("KID#")]
    assert key_item["status"] == "current" and key_item["private_key_sealed"].startswith("v1.")


def test_kid_is_the_rfc7638_thumbprint(stack):
    kid, key = tool_keys.signing_key(OWNER)

    assert kid == tool_keys.thumbprint(key.public_key())
    assert jwt.PyJWK.from_dict(tool_keys.public_jwks(OWNER)["keys"][0]).key_id == kid


def test_concurrent_first_use_agrees_on_one_key(stack):
    def cold_start(_: int) -> str:
        # Each call is a fresh container: nothing cached, all racing to create the first key.
        state = tool_keys._read(OWNER, create=True)
        assert state is not None
        return state.current.kid

    with ThreadPoolExecutor(max_workers=8) as pool:
        kids = list(pool.map(cold_start, range(8)))

    assert len(set(kids)) == 1
    assert len([i for i in rsa_items(stack) if i["sk"].startswith("KID#")]) == 1


def test_the_private_key_is_never_stored_or_answered_in_plain_text(stack, platforms_fn, org):
    tool_keys.signing_key(org.org_id)
    tool_keys.rotate(org.org_id)
    pems = private_pems(stack)
    assert len(pems) == 2
    bodies = [stack_dump(stack)]
    bodies.append(platforms_fn(org_jwks_event(org.org_id)).raw)
    bodies.append(platforms_fn(vary("platforms-rotate-key.json", api_key=org.api_key, body={})).raw)
    for pem in pems:
        body_lines = [line for line in pem.splitlines() if "PRIVATE KEY" not in line]
        secret_part = "".join(body_lines)[:64]
        for text in bodies:
            assert "PRIVATE KEY" not in text
            assert secret_part not in text.replace("\\n", "").replace("\n", "")


def stack_dump(stack) -> str:
    return json.dumps(boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"], default=str)


def org_jwks_event(org_id: str) -> dict:
    """``GET /lti/orgs/{org_id}/jwks.json``: what the organisation's LMSs fetch."""
    event = vary("platforms-jwks.json")
    path = f"/lti/orgs/{org_id}/jwks.json"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /lti/orgs/{org_id}/jwks.json"
    event["pathParameters"] = {"org_id": org_id}
    return event


# -- JWKS -------------------------------------------------------------------------------------------


def test_jwks_is_public_and_cacheable(stack, platforms_fn, org):
    answer = platforms_fn(org_jwks_event(org.org_id))

    assert answer.status == 200
    assert answer.headers["cache-control"] == "public, max-age=300"
    [key] = answer.body["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"] == tool_keys.signing_key(org.org_id)[0]


def test_a_signed_token_verifies_with_the_published_jwks(stack):
    token = tool_keys.sign(claims(), owner=OWNER)

    assert verify_with_jwks(token, tool_keys.public_jwks(OWNER))["sub"] == "client-1"


# -- rotation ---------------------------------------------------------------------------------------


def test_rotation_publishes_current_and_previous(stack):
    old_kid, _ = tool_keys.signing_key(OWNER)

    rotated = tool_keys.rotate(OWNER)

    new_kid, _ = tool_keys.signing_key(OWNER)
    assert new_kid != old_kid
    assert rotated["current"]["kid"] == new_kid and rotated["previous"]["kid"] == old_kid
    assert [k["kid"] for k in tool_keys.public_jwks(OWNER)["keys"]] == [new_kid, old_kid]


def test_a_token_signed_before_rotation_still_verifies(stack):
    before = tool_keys.sign(claims(), owner=OWNER)

    tool_keys.rotate(OWNER)

    after = tool_keys.sign(claims(), owner=OWNER)
    jwks = tool_keys.public_jwks(OWNER)
    assert verify_with_jwks(before, jwks)["sub"] == "client-1"
    assert verify_with_jwks(after, jwks)["sub"] == "client-1"
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]


def test_a_second_rotation_retires_the_oldest_key_and_drops_its_private_half(stack):
    first, _ = tool_keys.signing_key(OWNER)
    token = tool_keys.sign(claims(), owner=OWNER)
    tool_keys.rotate(OWNER)
    tool_keys.rotate(OWNER)

    jwks = tool_keys.public_jwks(OWNER)
    assert first not in [k["kid"] for k in jwks["keys"]] and len(jwks["keys"]) == 2
    with pytest.raises(jwt.InvalidKeyError):
        verify_with_jwks(token, jwks)
    [retired] = [i for i in rsa_items(stack) if i.get("kid") == first and i["sk"].startswith("KID#")]
    assert retired["status"] == "retired" and "private_key_sealed" not in retired


def test_a_warm_container_that_missed_a_rotation_still_signs_verifiable_tokens(stack):
    tool_keys.signing_key(OWNER)  # this container caches the current key
    other_state = dict(tool_keys._cached)
    tool_keys.rotate(OWNER)  # "another container" rotates
    tool_keys._cached.clear()
    tool_keys._cached.update(other_state)  # …this one has not noticed yet

    stale = tool_keys.sign(claims(), owner=OWNER)

    tool_keys._cached.clear()
    assert verify_with_jwks(stale, tool_keys.public_jwks(OWNER))["sub"] == "client-1"


def test_concurrent_rotations_one_wins(stack):
    tool_keys.signing_key(OWNER)
    before = tool_keys._read(OWNER, create=False)
    assert before is not None
    tool_keys.rotate(OWNER)

    # A rotation based on the state read before the first one committed is refused as a whole.
    from lti_gateway.repositories import deps

    with pytest.raises(Conflict) as caught:
        deps.tool_keys_repo().rotate(
            OWNER,
            expected_version=before.version,
            current_kid=before.current.kid,
            previous_kid=None,
            new_key={"kid": "stale", "status": "current", "created_at": "x", "public_key_pem": "x"},
            at="x",
        )
    assert caught.value.code == "concurrent_change"
    assert len([i for i in rsa_items(stack) if i["sk"].startswith("KID#")]) == 2


def test_rotate_api_is_for_owners(stack, platforms_fn, make_org):
    from lti_gateway.admin import orgs

    owner = make_org()
    member_key = orgs.create_credential(orgs.Principal(owner.org_id, owner.credential_id, "owner"), {"role": "member"})[
        "api_key"
    ]
    old_kid, _ = tool_keys.signing_key(owner.org_id)

    refused = platforms_fn(vary("platforms-rotate-key.json", api_key=member_key, body={}))
    anonymous = platforms_fn(vary("platforms-rotate-key.json", headers={"authorization": None}, body={}))
    rotated = platforms_fn(vary("platforms-rotate-key.json", api_key=owner.api_key, body={}))

    assert (refused.status, refused.body["error"]) == (403, "owner_role_required")
    assert anonymous.status == 401
    assert rotated.status == 200 and rotated.body["previous"]["kid"] == old_kid
    assert rotated.body["current"]["kid"] != old_kid


def test_public_pem_matches_the_jwk(stack):
    public = tool_keys.current_public_key(OWNER)

    loaded = serialization.load_pem_public_key(public.pem.encode())
    assert jwt.PyJWK.from_dict(public.jwk).key.public_numbers() == loaded.public_numbers()
