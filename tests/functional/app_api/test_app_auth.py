"""App API authentication (token function on moto): ltik, service key and API key sessions.

Every rejection is a 401 (or 404 for an unknown route) in the LTIAAS contract's shape
``{"status", "error", "details": {"message", ...}}``; each has a twin that succeeds.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import boto3
import jwt
import pytest

from lti_gateway.admin import orgs
from lti_gateway.app_api import ltik
from tests.peers.lms_params import CANVAS
from tests.support.app_api import ltik_auth, service_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403


def assert_contract_error(answer, status: int, message: str) -> dict:
    assert answer.status == status, answer.raw
    body = answer.body
    assert isinstance(body, dict), answer.raw
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert body["details"]["message"] == message, body
    assert answer.headers["content-type"] == "application/json"
    return body


def idtoken(token_fn, authorization, target="/api/idtoken", **kw):
    return token_fn(token_event("GET", target, authorization=authorization, **kw))


def launch_items(stack, prefix: str) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith(prefix)]


# -- ltik sessions --------------------------------------------------------------------------------------


def test_an_ltik_and_the_launch_organisation_api_key_open_the_launch(lti11, token_fn):
    answer = idtoken(token_fn, ltik_auth(lti11["api_key"], lti11["ltik"]))

    assert answer.status == 200, answer.raw
    assert answer.body["user"]["id"] == dict(CANVAS)["user_id"]
    assert answer.headers["cache-control"] == "no-store"


def test_the_python_clients_double_slash_path_is_routed(lti11, token_fn):
    answer = idtoken(token_fn, ltik_auth(lti11["api_key"], lti11["ltik"]), raw_path="//api/idtoken")

    assert answer.status == 200, answer.raw


def test_the_scheme_is_case_insensitive_and_the_v1_header_works(lti11, token_fn):
    lower = idtoken(token_fn, f"ltik-auth-v2 {lti11['api_key']}:{lti11['ltik']}")
    v1 = idtoken(token_fn, f"LTIK-AUTH-V1 Token={lti11['ltik']}, Additional=Bearer {lti11['api_key']}")

    assert lower.status == 200 and v1.status == 200


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "MISSING_AUTHORIZATION_HEADER"),
        ("", "MISSING_AUTHORIZATION_HEADER"),
        ("Basic dXNlcjpwYXNz", "INVALID_AUTHORIZATION_HEADER"),
        ("LTIK-AUTH-V2", "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"),
        ("LTIK-AUTH-V2 only-an-api-key", "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"),
        ("LTIK-AUTH-V2 :token-without-key", "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"),
        ("LTIK-AUTH-V1 Token=abc", "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"),
        ("LTIK-AUTH-V2 " + "a" * 5000 + ":b", "INVALID_AUTHORIZATION_HEADER"),
    ],
)
def test_a_missing_or_malformed_header_is_refused(lti11, token_fn, header, message):
    assert_contract_error(idtoken(token_fn, header), 401, message)


def test_a_wrong_api_key_is_refused(lti11, token_fn):
    credential_id = lti11["api_key"].partition(".")[0]

    for api_key in (f"{credential_id}.wrong-secret", "ak_0000000000000000.x", "garbage", lti11["api_key"] + "x"):
        body = assert_contract_error(idtoken(token_fn, ltik_auth(api_key, lti11["ltik"])), 401, "INVALID_API_KEY")
        assert lti11["ltik"] not in str(body)


def test_a_revoked_api_key_is_refused(lti11, token_fn):
    owner = orgs.Principal(lti11["org"].org_id, lti11["org"].credential_id, "owner")
    member = orgs.create_credential(owner, {"role": "member", "label": "app back end"})
    assert idtoken(token_fn, ltik_auth(member["api_key"], lti11["ltik"])).status == 200

    orgs.revoke_credential(owner, member["credential_id"])  # the same warm container: refused at once

    assert_contract_error(idtoken(token_fn, ltik_auth(member["api_key"], lti11["ltik"])), 401, "INVALID_API_KEY")


def test_an_api_key_of_another_organisation_is_refused(lti11, token_fn, make_org):
    other = make_org("Other University")

    assert_contract_error(idtoken(token_fn, ltik_auth(other.api_key, lti11["ltik"])), 401, "INVALID_API_KEY")


def test_an_expired_ltik_is_refused(lti11, token_fn):
    stale = ltik.issue(lti11["launch_id"], lti11["org"].org_id, now=time.time() - 86_401)

    assert_contract_error(
        idtoken(token_fn, ltik_auth(lti11["api_key"], stale)), 401, "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
    )


def test_a_forged_or_tampered_ltik_is_refused(lti11, token_fn):
    claims = ltik.verify(lti11["ltik"])
    header = jwt.get_unverified_header(lti11["ltik"])
    forged = jwt.encode(
        {"sub": claims.launch_id, "org": claims.org_id, "iat": int(time.time()), "exp": int(time.time()) + 60},
        "not-the-gateway-key-but-32-bytes-long!!",
        algorithm="HS256",
        headers={"kid": header["kid"]},
    )
    head, payload, signature = lti11["ltik"].split(".")
    tampered = f"{head}.{payload[:-2]}AA.{signature}"
    none_alg = jwt.encode({"sub": claims.launch_id, "org": claims.org_id}, None, algorithm="none")

    for token in (forged, tampered, none_alg, "x.y.z", "not-a-jwt"):
        assert_contract_error(
            idtoken(token_fn, ltik_auth(lti11["api_key"], token)), 401, "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
        )


def test_an_ltik_naming_no_stored_launch_is_refused(lti11, token_fn, stack):
    unknown = ltik.issue("no-such-launch", lti11["org"].org_id)
    boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).update_item(
        Key={"pk": f"LAUNCH#{lti11['launch_id']}", "sk": "META"},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": int(time.time()) - 1},
    )

    for token in (unknown, lti11["ltik"]):  # never stored; stored but expired (TTL not swept yet)
        assert_contract_error(
            idtoken(token_fn, ltik_auth(lti11["api_key"], token)), 401, "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
        )


def test_an_ltik_of_another_organisations_launch_is_refused(lti11, token_fn, make_org):
    other = make_org("Other University")
    # A valid ltik naming this launch but claiming the other organisation (e.g. minted by a bug).
    crossed = ltik.issue(lti11["launch_id"], other.org_id)

    assert_contract_error(idtoken(token_fn, ltik_auth(other.api_key, crossed)), 401, "INVALID_API_KEY")


def test_a_bearer_api_key_or_a_service_key_is_not_an_ltik_session(lti11, token_fn):
    key = idtoken(token_fn, ltik_auth(lti11["api_key"], lti11["ltik"])).body["services"]["serviceKey"]

    assert_contract_error(
        idtoken(token_fn, f"Bearer {lti11['api_key']}"), 401, "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
    )
    assert_contract_error(
        idtoken(token_fn, service_auth(lti11["api_key"], key)), 401, "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER"
    )
    assert_contract_error(
        token_fn(token_event("POST", "/api/deeplinking", authorization=service_auth(lti11["api_key"], key), body={})),
        401,
        "INVALID_LTIK_AUTH_AUTHORIZATION_HEADER",
    )


def test_an_ltik_is_not_a_service_session(lti11, token_fn):
    answer = token_fn(
        token_event("DELETE", "/api/servicekey", authorization=ltik_auth(lti11["api_key"], lti11["ltik"]))
    )

    assert_contract_error(answer, 401, "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER")


def test_an_unknown_route_is_a_contract_404(lti11, token_fn):
    answer = token_fn(token_event("GET", "/api/lineitemz", authorization=ltik_auth(lti11["api_key"], lti11["ltik"])))

    assert_contract_error(answer, 404, "NOT_FOUND")


# -- service keys ---------------------------------------------------------------------------------------


def _service_key(token_fn, launched) -> str | None:
    answer = idtoken(token_fn, ltik_auth(launched["api_key"], launched["ltik"]))
    assert answer.status == 200, answer.raw
    return answer.body["services"].get("serviceKey")


def test_a_service_key_is_stored_hashed_without_expiry_and_is_stable_for_its_context(lti11, token_fn, stack):
    key = _service_key(token_fn, lti11)

    assert key and key.startswith("sk_") and len(key) >= 43
    assert _service_key(token_fn, lti11) == key
    [stored] = launch_items(stack, "SERVICEKEY#")
    assert stored["pk"] == "SERVICEKEY#" + __import__("hashlib").sha256(key.encode()).hexdigest()
    assert "expires_at" not in stored
    assert stored["org_id"] == lti11["org"].org_id and stored["launch_id"] == lti11["launch_id"]
    assert stored["context_id"] == dict(CANVAS)["context_id"] and stored["scope"] == "context"
    assert "resource_link_id" not in stored
    everything = str(boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"])
    assert key not in everything


def test_a_service_key_opens_the_services_but_not_the_id_token(lti11, token_fn):
    key = _service_key(token_fn, lti11)

    answer = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(lti11["api_key"], key)))

    assert answer.status == 200, answer.raw
    assert len(answer.body["lineItems"]) == 1


def test_a_service_key_keeps_working_after_the_launch_context_expired(lti11, token_fn, stack):
    key = _service_key(token_fn, lti11)
    boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).delete_item(
        Key={"pk": f"LAUNCH#{lti11['launch_id']}", "sk": "META"}
    )

    answer = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(lti11["api_key"], key)))

    assert answer.status == 200, answer.raw


def test_a_newer_launch_of_the_context_is_shown_the_same_service_key(lti11, lti11_launch, token_fn, stack):
    first = _service_key(token_fn, lti11)
    second_launch = {**lti11, **lti11_launch(lti11["params"])}

    second = _service_key(token_fn, second_launch)

    assert second == first
    ok = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(lti11["api_key"], first)))
    assert ok.status == 200, ok.raw
    assert len(launch_items(stack, "SERVICEKEY#")) == 1
    assert _service_key(token_fn, lti11) == first  # the older launch too


def test_another_resource_link_of_the_context_shares_the_service_key(lti11, lti11_launch, token_fn):
    other_link = [(k, "another-link" if k == "resource_link_id" else v) for k, v in lti11["params"]]
    first = _service_key(token_fn, lti11)
    second = _service_key(token_fn, {**lti11, **lti11_launch(other_link)})

    assert first == second
    answer = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(lti11["api_key"], first)))
    assert answer.status == 200
    assert {i["resourceLinkId"] for i in answer.body["lineItems"]} == {dict(CANVAS)["resource_link_id"], "another-link"}


def test_another_context_gets_its_own_service_key(lti11, lti11_launch, token_fn):
    other_context = [(k, "another-course" if k == "context_id" else v) for k, v in lti11["params"]]

    assert _service_key(token_fn, lti11) != _service_key(token_fn, {**lti11, **lti11_launch(other_context)})


def test_a_revoked_service_key_stops_working_and_is_not_issued_again(lti11, lti11_launch, token_fn):
    key = _service_key(token_fn, lti11)
    auth = service_auth(lti11["api_key"], key)

    assert token_fn(token_event("DELETE", "/api/servicekey", authorization=auth)).status == 204

    assert_contract_error(
        token_fn(token_event("GET", "/api/lineitems", authorization=auth)),
        401,
        "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER",
    )
    assert_contract_error(
        token_fn(token_event("DELETE", "/api/servicekey", authorization=auth)),
        401,
        "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER",
    )
    assert _service_key(token_fn, lti11) is None  # a launch from before the revocation gets none
    start = int(time.time())  # launch times are whole seconds: a launch in the same second counts as before
    while int(time.time()) <= start:
        time.sleep(0.02)
    assert _service_key(token_fn, {**lti11, **lti11_launch(lti11["params"])}) not in (None, key)


def test_a_service_key_with_another_organisations_api_key_is_refused(lti11, token_fn, make_org):
    key = _service_key(token_fn, lti11)
    other = make_org("Other University")

    answer = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(other.api_key, key)))

    assert_contract_error(answer, 401, "INVALID_API_KEY")


@pytest.mark.parametrize("key", ["sk_unknown", "not-a-service-key", "sk_" + "A" * 200])
def test_an_unknown_service_key_is_refused(lti11, token_fn, key):
    answer = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(lti11["api_key"], key)))

    assert_contract_error(answer, 401, "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER")


def test_no_service_key_without_an_outcome_service(lti11_launch, lti11_world, token_fn, stack):
    no_outcomes = [(k, v) for k, v in CANVAS if k not in ("lis_outcome_service_url", "lis_result_sourcedid")]
    launched = lti11_launch(no_outcomes)

    answer = idtoken(token_fn, ltik_auth(lti11_world["org"].api_key, launched["ltik"]))

    assert answer.status == 200
    assert "serviceKey" not in answer.body["services"]
    assert answer.body["services"]["outcomes"] == {"available": False}
    assert launch_items(stack, "SERVICEKEY#") == []


def test_parallel_id_token_reads_of_one_launch_issue_one_key(lti11, token_fn, stack):
    from lti_gateway.app_api import auth as app_auth
    from lti_gateway.app_api import idtoken as app_idtoken

    session = app_auth.authenticate(ltik_auth(lti11["api_key"], lti11["ltik"]), allow=(app_auth.LTIK,))
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: app_idtoken.id_token(session, raw=False)["services"]["serviceKey"], range(16)))

    assert len(set(keys)) == 1
    assert len(launch_items(stack, "SERVICEKEY#")) == 1
    assert len(launch_items(stack, "SERVICESLOT#")) == 1


def test_a_13_service_key_opens_rosters_after_the_ltik_expired(lti13, token_fn, stack):
    key = _service_key(token_fn, lti13)
    boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).delete_item(
        Key={"pk": f"LAUNCH#{lti13['launch_id']}", "sk": "META"}
    )

    answer = token_fn(token_event("GET", "/api/memberships", authorization=service_auth(lti13["api_key"], key)))

    assert answer.status == 200, answer.raw
    assert answer.body["members"]


def test_a_13_launch_without_services_gets_no_service_key(lti13, token_fn):
    launched = {**lti13, **lti13["launch"](ags=None, nrps=None)}

    assert _service_key(token_fn, launched) is None
