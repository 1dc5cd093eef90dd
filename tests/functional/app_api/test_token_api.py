"""The app API (token function on moto) against independent peers: the official client's response
models, LTI 1.1 outcomes (Authlib-verified outcome service), LTI 1.3 AGS/NRPS/token endpoint
(joserfc-verified fake platform on loopback), deep linking.

Nothing is ever sent to a host outside the context's own service origins (``Recorder`` counts it).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from ltiaas.resources.deep_linking.types import DeepLinkingForm, DeepLinkingFormComponents
from ltiaas.resources.idtoken.types import IdToken, RawIdToken, RawOauthPayload
from ltiaas.resources.lineitems.types import LineItemContainer, LineItemWithId
from ltiaas.resources.memberships.types import MembershipContainer
from ltiaas.resources.scores.types import ResultContainer
from ltiaas.utils.validation import validate

from lti_gateway.app_api import line_item_ids
from tests.functional.app_api.test_app_auth import assert_contract_error
from tests.peers.advantage_platform import LINE_ITEMS, MOODLE_ITEM, Recorder
from tests.peers.lms_params import CANVAS
from tests.support.app_api import LTI, SCOPES, ltik_auth, service_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403
from tests.support.app_fixtures import SOURCEDID, USER_ID

SCORE = {
    "userId": "user-1",
    "activityProgress": "Completed",
    "gradingProgress": "FullyGraded",
    "scoreGiven": 7.5,
    "scoreMaximum": 10.0,
    "comment": None,
}


def call(token_fn, launched, method, target, body=None, *, raw_path=None, service_key=None):
    auth = (
        service_auth(launched["api_key"], service_key)
        if service_key
        else ltik_auth(launched["api_key"], launched["ltik"])
    )
    return token_fn(token_event(method, target, authorization=auth, body=body, raw_path=raw_path))


def twice(value: str) -> str:
    """What the official clients put on the wire for ``url``/``role``: quote(), then form-encoded."""
    return quote(quote(value, safe="/"), safe="")


# -- GET /api/idtoken: LTI 1.1 -------------------------------------------------------------------------


def test_the_11_id_token_passes_the_official_clients_model(lti11, token_fn):
    answer = call(token_fn, lti11, "GET", "/api/idtoken")

    token = validate(IdToken, answer.body)
    assert token.lti_version.value == "1.2.0"
    assert token.launch.type.value == "basic-lti-launch-request"
    body = answer.body
    assert body["user"]["id"] == USER_ID and body["user"]["name"] == "Ada Lovelace"
    assert body["platform"]["consumerKey"] == lti11["key"]
    assert body["platform"]["productFamilyCode"] == "canvas"
    assert body["launch"]["context"]["id"] == dict(CANVAS)["context_id"]
    assert body["launch"]["resourceLink"] == {"id": dict(CANVAS)["resource_link_id"], "title": "Unit 3: Waves"}
    assert body["launch"]["custom"] == {
        "canvas_api_domain": "canvas.example.edu",
        "canvas_course_id": "1234",
        "canvas_user_id": "5678",
    }
    assert body["launch"]["presentation"]["documentTarget"] == "iframe"
    assert body["services"]["outcomes"] == {"available": True}
    for service in ("deepLinking", "assignmentAndGrades", "namesAndRoles"):
        assert body["services"][service] == {"available": False}


@pytest.mark.parametrize("raw", ["true", "True", "1"])
def test_the_raw_11_id_token_is_the_signed_parameters_as_strings(lti11, token_fn, raw):
    answer = call(token_fn, lti11, "GET", f"/api/idtoken?raw={raw}")

    validate(RawOauthPayload, answer.body)
    assert "oauth_signature" not in answer.body
    assert answer.body["ltiVersion"] == "1.2.0"
    assert answer.body["oauth_consumer_key"] == lti11["key"]
    assert answer.body["lis_result_sourcedid"] == SOURCEDID
    # The LMS's parameters as strings; the gateway's own side of the launch is the one object.
    assert all(isinstance(v, str) for k, v in answer.body.items() if k != "gateway")
    assert answer.body["gateway"]["orgId"] == lti11["org"].org_id


# -- GET /api/idtoken: LTI 1.3 -------------------------------------------------------------------------


def test_the_13_id_token_follows_the_mapping_table(lti13, token_fn):
    answer = call(token_fn, lti13, "GET", "/api/idtoken")

    token = validate(IdToken, answer.body)
    assert token.lti_version.value == "1.3.0"
    body = answer.body
    assert body["user"] == {
        "id": "user-42",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        "name": "Grace Hopper",
        "email": "grace@lms.example",
        "givenName": "Grace",
        "familyName": "Hopper",
    }
    assert body["platform"]["id"] == lti13["platform_id"]
    assert body["platform"]["url"] == lti13["lms"].base
    assert body["platform"]["clientId"] == "client-abc" and body["platform"]["deploymentId"] == "dep-1"
    assert body["platform"]["productFamilyCode"] == "moodle"
    assert body["launch"]["type"] == "LtiResourceLinkRequest"
    assert body["launch"]["presentation"] == {"documentTarget": "iframe", "returnUrl": "https://lms.example/return"}
    assert body["launch"]["custom"] == {"unit": "waves", "attempts": 3, "flag": 1, "ratio": "0.5"}
    services = body["services"]
    assert services["outcomes"] == {"available": False}
    assert services["namesAndRoles"] == {"available": True}
    assert services["assignmentAndGrades"]["available"] is True
    assert line_item_ids.decode(services["assignmentAndGrades"]["lineItemId"]) == lti13["lms"].item_url()
    assert services["deepLinking"] == {"available": False}
    assert services["serviceKey"].startswith("sk_")


def test_the_raw_13_id_token_has_a_string_aud_and_no_null_custom_values(lti13, token_fn):
    answer = call(token_fn, lti13, "GET", "/api/idtoken?raw=True")

    validate(RawIdToken, answer.body)
    assert answer.body["aud"] == "client-abc"
    assert answer.body["ltiVersion"] == "1.3.0"
    assert "nothing" not in answer.body[LTI + "custom"]
    assert answer.body[LTI + "lis"] == {"person_sourcedid": "sis-42"}
    assert answer.body["nonce"] == lti13["claims"]["nonce"]


def test_a_deep_linking_launch_reports_its_settings(lti13, token_fn):
    settings = {
        "deep_link_return_url": "https://lms.example/dl/return",
        "accept_types": ["ltiResourceLink", "html"],
        "accept_presentation_document_targets": ["iframe"],
        "accept_multiple": True,
    }
    launched = {**lti13, **lti13["launch"](message_type="LtiDeepLinkingRequest", deep_linking=settings)}

    answer = call(token_fn, launched, "GET", "/api/idtoken")

    validate(IdToken, answer.body)
    assert answer.body["services"]["deepLinking"] == {
        "available": True,
        "acceptTypes": ["ltiResourceLink", "html"],
        "acceptPresentationDocumentTargets": ["iframe"],
        "acceptMultiple": True,
    }


# -- LTI 1.1 outcomes behind the line items API ----------------------------------------------------------


def test_the_11_launch_lists_one_synthetic_line_item(lti11, token_fn):
    answer = call(token_fn, lti11, "GET", "/api/lineitems")

    container = validate(LineItemContainer, answer.body)
    [item] = container.line_items
    assert item.id.startswith("li11_") and item.score_maximum == 1
    assert item.resource_link_id == dict(CANVAS)["resource_link_id"]
    assert call(token_fn, lti11, "GET", f"/api/lineitems/{item.id}").body == answer.body["lineItems"][0]
    assert call(token_fn, lti11, "GET", "/api/lineitems?tag=x").body == {"lineItems": []}


def test_a_score_becomes_a_signed_replace_result_and_reads_back(lti11, token_fn, outcome_lms):
    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]

    posted = call(
        token_fn,
        lti11,
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "userId": USER_ID, "comment": "Well done"},
    )

    assert posted.status == 204 and posted.raw == ""
    assert outcome_lms.rejections == []
    [received] = outcome_lms.received
    assert received.operation == "replaceResult" and received.sourcedid == SOURCEDID
    assert received.score == "0.75" and received.text == "Well done"
    read = call(token_fn, lti11, "GET", f"/api/lineitems/{item_id}/scores")
    results = validate(ResultContainer, read.body)
    assert results.scores[0].user_id == USER_ID and read.body["scores"][0]["resultScore"] == 0.75
    assert read.body["scores"][0]["scoreOf"] == item_id
    assert call(token_fn, lti11, "GET", f"/api/lineitems/{item_id}/scores?user_id=someone-else").body == {"scores": []}


def test_a_service_key_grades_an_11_launch_too(lti11, token_fn, outcome_lms):
    key = call(token_fn, lti11, "GET", "/api/idtoken").body["services"]["serviceKey"]
    item_id = call(token_fn, lti11, "GET", "/api/lineitems", service_key=key).body["lineItems"][0]["id"]

    posted = call(
        token_fn, lti11, "POST", f"/api/lineitems/{item_id}/scores", SCORE | {"userId": USER_ID}, service_key=key
    )

    assert posted.status == 204, posted.raw
    assert outcome_lms.grades[SOURCEDID][0] == "0.75"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SCORE, "userId": "someone-else"}, "userId"),
        ({**SCORE, "userId": USER_ID, "scoreGiven": None}, "scoreGiven"),
        ({**SCORE, "userId": USER_ID, "scoreGiven": 11}, "scoreGiven"),
        ({**SCORE, "userId": USER_ID, "activityProgress": "Initiated"}, "activityProgress"),
        ({**SCORE, "userId": USER_ID, "gradingProgress": None}, "gradingProgress"),
        ({**SCORE, "userId": USER_ID, "scoreGiven": "7"}, "scoreGiven"),
        ({**SCORE, "userId": USER_ID, "scoreMaximum": 0}, "scoreMaximum"),
        ({**SCORE, "userId": USER_ID, "comment": 5}, "comment"),
    ],
)
def test_an_invalid_11_score_is_a_validation_error_and_sends_nothing(lti11, token_fn, outcome_lms, body, field):
    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]

    answer = call(token_fn, lti11, "POST", f"/api/lineitems/{item_id}/scores", body)

    error = assert_contract_error(answer, 400, "VALIDATION_ERROR")
    assert field in {e["field"] for e in error["details"]["errors"]}
    assert outcome_lms.received == []


@pytest.mark.parametrize("mode", ["http500", "unsupported", "garbage", "doctype"])
def test_an_outcome_service_failure_is_a_502_external_error(lti11, token_fn, outcome_lms, mode):
    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]
    outcome_lms.mode = mode

    answer = call(token_fn, lti11, "POST", f"/api/lineitems/{item_id}/scores", {**SCORE, "userId": USER_ID})

    error = assert_contract_error(answer, 502, "PLATFORM_REQUEST_FAILED")
    assert error["details"]["externalError"] is True
    assert error["details"]["externalUrl"] == outcome_lms.url
    assert lti11["secret"] not in answer.raw


def test_what_an_11_launch_cannot_do_is_403(lti11, token_fn):
    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]

    for method, target, body in (
        ("POST", "/api/lineitems", {"label": "x", "scoreMaximum": 1}),
        ("PUT", f"/api/lineitems/{item_id}", {"label": "x", "scoreMaximum": 1}),
        ("DELETE", f"/api/lineitems/{item_id}", None),
        ("GET", "/api/memberships", None),
    ):
        assert_contract_error(call(token_fn, lti11, method, target, body), 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")
    assert_contract_error(call(token_fn, lti11, "GET", "/api/lineitems/li11_other"), 404, "NOT_FOUND")


def test_an_11_launch_without_an_outcome_service_has_no_line_items(lti11_launch, lti11_world, token_fn):
    no_outcomes = [(k, v) for k, v in CANVAS if k not in ("lis_outcome_service_url", "lis_result_sourcedid")]
    launched = {**lti11_launch(no_outcomes), "api_key": lti11_world["org"].api_key}

    assert_contract_error(call(token_fn, launched, "GET", "/api/lineitems"), 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")


def test_a_revoked_consumer_key_cannot_sign_outcomes(lti11, token_fn, outcome_lms):
    from lti_gateway.lti11 import consumer_keys

    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]
    consumer_keys.revoke_key(lti11["principal"], lti11["key"])
    consumer_keys.clear_cache()

    answer = call(token_fn, lti11, "POST", f"/api/lineitems/{item_id}/scores", {**SCORE, "userId": USER_ID})

    assert_contract_error(answer, 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")
    assert outcome_lms.received == []


# -- LTI 1.3: Names and Roles ------------------------------------------------------------------------------


def test_memberships_are_camel_cased_and_paged_through_the_link_header(lti13, token_fn):
    first = call(token_fn, lti13, "GET", "/api/memberships?limit=4")

    page = validate(MembershipContainer, first.body)
    assert len(page.members) == 4 and first.body["context"]["id"] == "course-7"
    member = first.body["members"][0]
    assert member == {
        "userId": "user-1",
        "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        "name": "Student 1",
        "givenName": "Student",
        "familyName": "1",
        "email": "s1@lms.example",
        "lisPersonSourcedId": "sis-1",
        "status": "Active",
    }
    second = call(token_fn, lti13, "GET", f"/api/memberships?url={twice(first.body['next'])}")
    assert second.status == 200, second.raw
    assert [m["userId"] for m in second.body["members"]] == ["user-5", "teacher-1"]
    assert "next" not in second.body


def test_a_role_filter_arrives_encoded_twice(lti13, token_fn):
    role = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"

    answer = call(token_fn, lti13, "GET", f"/api/memberships?role={twice(role)}")

    assert [m["userId"] for m in answer.body["members"]] == ["teacher-1"]
    [request] = [r for r in lti13["lms"].service_requests() if "names_and_roles" in r.path]
    assert f"role={quote(role, safe='')}" in request.query


def test_the_platform_token_is_fetched_once_cached_sealed_and_refreshed_on_a_401(lti13, token_fn, stack):
    lms = lti13["lms"]
    for _ in range(3):
        assert call(token_fn, lti13, "GET", "/api/memberships").status == 200
    assert lms.token_requests == 1 and lms.rejections == []
    [cached] = [
        i
        for i in boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
        if i["pk"].startswith("PLATFORMTOKEN#")
    ]
    assert "token_sealed" in cached and "access_token" not in str(cached)
    issued = [r.headers["authorization"][7:] for r in lms.service_requests()]
    assert all(token not in str(cached) for token in issued)

    lms.expire_tokens()
    assert call(token_fn, lti13, "GET", "/api/memberships").status == 200
    assert lms.token_requests == 2


def test_a_token_from_another_container_is_reused(lti13, token_fn):
    from lti_gateway.app_api import platform_tokens

    assert call(token_fn, lti13, "GET", "/api/memberships").status == 200
    platform_tokens.clear_cache()  # a cold container: memory empty, the launch table still has it

    assert call(token_fn, lti13, "GET", "/api/memberships").status == 200
    assert lti13["lms"].token_requests == 1


def test_a_context_without_names_and_roles_gets_403(lti13, token_fn):
    launched = {**lti13, **lti13["launch"](nrps=None)}

    assert_contract_error(call(token_fn, launched, "GET", "/api/memberships"), 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")
    assert lti13["lms"].requests == []


# -- LTI 1.3: Assignment and Grades ------------------------------------------------------------------------


def test_the_line_item_cycle(lti13, token_fn):
    lms = lti13["lms"]
    listed = call(token_fn, lti13, "GET", "/api/lineitems?resourceLinkId=true")
    validate(LineItemContainer, listed.body)
    assert [i["label"] for i in listed.body["lineItems"]] == ["Waves quiz"]
    assert listed.body["first"].endswith("page=1")

    created = call(
        token_fn,
        lti13,
        "POST",
        "/api/lineitems",
        {"label": "Essay", "scoreMaximum": 20, "resourceLinkId": "rl-1", "tag": "essay", "startDateTime": None},
    )
    assert created.status == 201, created.raw
    item = validate(LineItemWithId, created.body)
    assert item.id.startswith("li_") and "/" not in item.id and "%" not in item.id
    stored = lms.items[line_item_ids.decode(item.id).removeprefix(lms.base)]
    assert stored == {"label": "Essay", "scoreMaximum": 20, "resourceLinkId": "rl-1", "tag": "essay"}

    assert call(token_fn, lti13, "GET", f"/api/lineitems/{item.id}").body["label"] == "Essay"
    updated = call(token_fn, lti13, "PUT", f"/api/lineitems/{item.id}", {"label": "Essay 2", "scoreMaximum": 25})
    assert updated.status == 200 and updated.body["label"] == "Essay 2" and updated.body["id"] == item.id
    deleted = call(token_fn, lti13, "DELETE", f"/api/lineitems/{item.id}")
    assert deleted.status == 204
    assert line_item_ids.decode(item.id).removeprefix(lms.base) not in lms.items


def test_scores_get_a_server_timestamp_and_a_fetched_maximum(lti13, token_fn):
    lms = lti13["lms"]
    item_id = line_item_ids.encode(lms.item_url())

    posted = call(
        token_fn,
        lti13,
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "scoreMaximum": None, "timestamp": "1999-01-01T00:00:00Z"},
    )

    assert posted.status == 204, posted.raw
    [score] = lms.scores[f"{LINE_ITEMS}/1"]
    assert score["scoreMaximum"] == 10 and score["scoreGiven"] == 7.5
    assert score["timestamp"].endswith("Z") and score["timestamp"] != "1999-01-01T00:00:00Z"
    assert "comment" not in score
    results = call(token_fn, lti13, "GET", f"/api/lineitems/{item_id}/scores?user_id=user-1")
    container = validate(ResultContainer, results.body)
    assert container.scores[0].user_id == "user-1" and results.body["scores"][0]["scoreOf"] == item_id


@pytest.mark.parametrize("encoding", ["opaque", "python-client", "node-sdk"])
def test_a_moodle_line_item_url_with_a_query_works_in_every_encoding(lti13, token_fn, encoding):
    lms = lti13["lms"]
    url = lms.item_url(MOODLE_ITEM)
    moodle_ags = {"scope": list(SCOPES), "lineitems": f"{lms.base}/mod/lti/services.php/7/lineitems?type_id=1"}
    lti13 = {**lti13, **lti13["launch"](ags={**moodle_ags, "lineitem": url})}  # a Moodle course 7 launch
    path_id = {
        "opaque": line_item_ids.encode(url),
        "python-client": quote(url),  # quote() keeps "/": https%3A//... and %3Ftype_id%3D1
        "node-sdk": quote(url, safe=""),  # encodeURIComponent
    }[encoding]

    item = call(token_fn, lti13, "GET", f"/api/lineitems/{path_id}")
    score = call(token_fn, lti13, "POST", f"/api/lineitems/{path_id}/scores", SCORE)

    assert item.status == 200, item.raw
    assert item.body["label"] == "Moodle activity" and item.body["id"] == line_item_ids.encode(url)
    assert score.status == 204, score.raw
    assert lms.scores[MOODLE_ITEM][0]["userId"] == "user-1"


def test_a_foreign_url_or_line_item_is_refused_and_nothing_is_sent_there(lti13, token_fn):
    with Recorder() as foreign:
        evil = f"{foreign.base}/steal"
        for target, method in (
            (f"/api/memberships?url={twice(evil)}", "GET"),
            (f"/api/lineitems?url={twice(evil)}", "GET"),
            (f"/api/lineitems/{line_item_ids.encode(evil)}", "GET"),
            (f"/api/lineitems/{quote(evil)}/scores", "POST"),
            (f"/api/lineitems/{line_item_ids.encode(lti13['lms'].item_url())}/scores?url={twice(evil)}", "GET"),
            (f"/api/lineitems/{quote('ftp://x/1')}", "GET"),
        ):
            answer = call(token_fn, lti13, method, target, SCORE if method == "POST" else None)
            assert answer.status in (400, 404), (target, answer.raw)
            if answer.status == 400:
                assert_contract_error(answer, 400, "INVALID_URL_PARAMETER")
        assert foreign.hits == []
    assert lti13["lms"].service_requests() == []


def test_a_token_url_is_only_ever_the_registrations(lti13, token_fn):
    call(token_fn, lti13, "GET", "/api/lineitems")

    hosts = {f"{r.method} {r.path}" for r in lti13["lms"].requests}
    assert "POST /login/oauth2/token" in hosts


@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, 502), (503, 502), (404, 404), (400, 400), (403, 403), (302, 502)],
)
def test_an_lms_failure_is_reported_with_the_external_body(lti13, token_fn, status, expected):
    lti13["lms"].fail_next(status, b'{"errors": [{"message": "line item is closed"}]}')  # services only
    item_id = line_item_ids.encode(lti13["lms"].item_url())

    answer = call(token_fn, lti13, "POST", f"/api/lineitems/{item_id}/scores", SCORE)

    error = assert_contract_error(answer, expected, "PLATFORM_REQUEST_FAILED")
    assert error["details"]["externalError"] is True
    assert error["details"]["externalUrl"].startswith(lti13["lms"].item_url().split("?")[0])
    assert "line item is closed" in error["details"]["bodyReceived"]


def test_a_refused_client_assertion_is_a_502_with_the_token_endpoints_answer(lti13, token_fn):
    lti13["lms"].client_id = "someone-else"  # the platform now expects another client id

    answer = call(token_fn, lti13, "GET", "/api/memberships")

    error = assert_contract_error(answer, 502, "PLATFORM_REQUEST_FAILED")
    assert error["details"]["externalUrl"] == lti13["lms"].token_url
    assert "invalid_client" in error["details"]["bodyReceived"]


def test_a_deactivated_platform_is_refused(lti13, token_fn):
    from lti_gateway.admin import orgs
    from lti_gateway.app_api import platform_services
    from lti_gateway.lti13 import platforms

    owner = orgs.Principal(lti13["org"].org_id, lti13["org"].credential_id, "owner")
    platforms.set_active(owner, lti13["platform_id"], False)
    platform_services.clear_cache()

    assert_contract_error(call(token_fn, lti13, "GET", "/api/memberships"), 401, "UNREGISTERED_OR_INACTIVE_PLATFORM")
    assert lti13["lms"].requests == []


def test_scopes_the_platform_did_not_grant_are_403(lti13, token_fn):
    read_only = {
        "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"],
        "lineitems": lti13["lms"].line_items_url,
    }
    launched = {**lti13, **lti13["launch"](ags=read_only)}
    item_id = line_item_ids.encode(lti13["lms"].item_url())

    assert call(token_fn, launched, "GET", "/api/lineitems").status == 200
    for method, target, body in (
        ("POST", "/api/lineitems", {"label": "x", "scoreMaximum": 1}),
        ("POST", f"/api/lineitems/{item_id}/scores", SCORE),
        ("GET", f"/api/lineitems/{item_id}/scores", None),
        ("DELETE", f"/api/lineitems/{item_id}", None),
    ):
        assert_contract_error(call(token_fn, launched, method, target, body), 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"label": "", "scoreMaximum": 10}', "VALIDATION_ERROR"),
        ('{"label": "x", "scoreMaximum": 0}', "VALIDATION_ERROR"),
        ('{"label": "x", "scoreMaximum": true}', "VALIDATION_ERROR"),
        ('{"label": "x"', "VALIDATION_ERROR"),
        ('["label"]', "VALIDATION_ERROR"),
        ('{"label": "x", "scoreMaximum": 1, "gradesReleased": "yes"}', "VALIDATION_ERROR"),
    ],
)
def test_a_malformed_line_item_is_400(lti13, token_fn, raw, message):
    auth = ltik_auth(lti13["api_key"], lti13["ltik"])

    answer = token_fn(token_event("POST", "/api/lineitems", authorization=auth, raw_body=raw))

    assert_contract_error(answer, 400, message)
    assert lti13["lms"].service_requests() == []


def test_a_huge_body_is_413_in_the_contract_shape(lti13, token_fn):
    auth = ltik_auth(lti13["api_key"], lti13["ltik"])

    answer = token_fn(
        token_event("POST", "/api/lineitems", authorization=auth, body={"label": "x" * 70_000, "scoreMaximum": 1})
    )

    assert_contract_error(answer, 413, "BODY_TOO_LARGE")


def test_a_service_key_session_grades_a_13_context(lti13, token_fn):
    key = call(token_fn, lti13, "GET", "/api/idtoken").body["services"]["serviceKey"]
    item_id = line_item_ids.encode(lti13["lms"].item_url())

    answer = call(token_fn, lti13, "POST", f"/api/lineitems/{item_id}/scores", SCORE, service_key=key)

    assert answer.status == 204, answer.raw


# -- deep linking ---------------------------------------------------------------------------------------------


@pytest.fixture
def dl_launch(lti13):
    settings = {
        "deep_link_return_url": "https://lms.example/dl/return?x=1&y=<2>",
        "accept_types": ["ltiResourceLink", "html", "link"],
        "accept_multiple": True,
        "data": "opaque-platform-data",
    }
    return {**lti13, **lti13["launch"](message_type="LtiDeepLinkingRequest", deep_linking=settings)}


def _decode(message: str) -> tuple[dict, dict]:
    from lti_gateway.lti13 import tool_keys
    from lti_gateway.repositories import deps

    published = [k for s in deps.tool_keys_repo().key_sets() for k in tool_keys.public_jwks(s["owner"])["keys"]]
    token = jose_jwt.decode(message, KeySet.import_key_set({"keys": published}), algorithms=["RS256"])
    return token.header, token.claims


ITEMS = [
    {
        "type": "ltiResourceLink",
        "title": "Waves",
        "url": None,
        "custom": {"unit": "waves"},
        "line_item": {"label": "Waves", "score_maximum": 10, "resource_id": "r1", "grades_released": True},
        "window": {"target_name": "w", "window_features": None},
    },
    {"type": "html", "html": "<p>Hi</p>", "title": None},
    {"type": "image", "url": "https://img.example/x.png"},
]


def test_a_deep_linking_response_is_signed_for_the_platform(dl_launch, token_fn):
    answer = call(
        token_fn,
        dl_launch,
        "POST",
        "/api/deeplinking",
        {"contentItems": ITEMS, "options": {"message": "Added", "log": None, "errMessage": None, "errLog": None}},
    )

    assert answer.status == 200, answer.raw
    validate(DeepLinkingFormComponents, answer.body)
    assert answer.body["target"] == "https://lms.example/dl/return?x=1&y=<2>"
    header, claims = _decode(answer.body["message"])
    assert header["alg"] == "RS256" and header["kid"]
    assert claims["iss"] == "client-abc" and claims["aud"] == dl_launch["lms"].base
    assert claims["exp"] - claims["iat"] == 300 and claims["nonce"]
    assert claims[LTI + "deployment_id"] == "dep-1"
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse" and claims[LTI + "version"] == "1.3.0"
    dl = "https://purl.imsglobal.org/spec/lti-dl/claim/"
    assert claims[dl + "data"] == "opaque-platform-data"
    assert claims[dl + "msg"] == "Added" and dl + "errormsg" not in claims
    items = claims[dl + "content_items"]
    assert [i["type"] for i in items] == ["ltiResourceLink", "html"]  # image is not accepted
    assert items[0] == {
        "type": "ltiResourceLink",
        "title": "Waves",
        "custom": {"unit": "waves"},
        "lineItem": {"label": "Waves", "scoreMaximum": 10, "resourceId": "r1", "gradesReleased": True},
        "window": {"targetName": "w"},
    }


def test_the_deep_linking_form_is_html_escaped(dl_launch, token_fn):
    answer = call(token_fn, dl_launch, "POST", "/api/deeplinking/form", {"contentItems": ITEMS[:1], "options": {}})

    form = validate(DeepLinkingForm, answer.body).form
    assert 'action="https://lms.example/dl/return?x=1&amp;y=&lt;2&gt;"' in form
    assert '<input type="hidden" name="JWT" value="ey' in form
    assert form.endswith('<script>document.getElementById("ltiaas_dl").submit()</script>')


def test_one_item_when_the_platform_accepts_one(lti13, token_fn):
    settings = {"deep_link_return_url": "https://lms.example/dl", "accept_types": ["html"], "accept_multiple": False}
    launched = {**lti13, **lti13["launch"](message_type="LtiDeepLinkingRequest", deep_linking=settings)}
    two = [{"type": "html", "html": "a"}, {"type": "html", "html": "b"}]

    answer = call(token_fn, launched, "POST", "/api/deeplinking", {"contentItems": two})

    items = _decode(answer.body["message"])[1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert items == [{"type": "html", "html": "a"}]


def test_deep_linking_needs_a_deep_linking_launch(lti13, lti11, token_fn):
    for launched in (lti13, lti11):
        for target in ("/api/deeplinking", "/api/deeplinking/form"):
            answer = call(token_fn, launched, "POST", target, {"contentItems": []})
            assert_contract_error(answer, 400, "MISSING_DEEP_LINK_SETTINGS")


@pytest.mark.parametrize(
    "body",
    [
        {"contentItems": "nope"},
        {"contentItems": [{"type": "video"}]},
        {"contentItems": [{"title": "no type"}]},
        {"contentItems": [], "options": {"message": "ok", "errMessage": "no"}},
        {"contentItems": [], "options": {"message": 5}},
    ],
)
def test_malformed_deep_linking_bodies_are_400(dl_launch, token_fn, body):
    assert_contract_error(call(token_fn, dl_launch, "POST", "/api/deeplinking", body), 400, "VALIDATION_ERROR")


def test_error_bodies_never_carry_the_api_key_or_ltik(lti13, token_fn):
    answers = [
        call(token_fn, lti13, "GET", f"/api/lineitems/{quote('https://evil.example/x')}"),
        call(token_fn, lti13, "POST", "/api/lineitems", {"label": ""}),
        call(token_fn, {**lti13, "ltik": lti13["ltik"] + "x"}, "GET", "/api/idtoken"),
    ]

    for answer in answers:
        assert 400 <= answer.status < 500
        text = json.dumps(answer.body)
        assert lti13["api_key"] not in text and lti13["ltik"] not in text


def test_the_sample_events_run(lti11, token_fn, outcome_lms):
    """``events/token-*.json`` (for ``sam local invoke -e``) with this test's credentials swapped in."""
    from tests.support.events import vary

    auth = ltik_auth(lti11["api_key"], lti11["ltik"])
    raw = token_fn(vary("token-idtoken.json", headers={"authorization": auth}))
    assert raw.status == 200 and raw.body["ltiVersion"] == "1.2.0" and "oauth_consumer_key" in raw.body

    key = call(token_fn, lti11, "GET", "/api/idtoken").body["services"]["serviceKey"]
    item_id = call(token_fn, lti11, "GET", "/api/lineitems").body["lineItems"][0]["id"]
    event = vary("token-score.json", headers={"authorization": service_auth(lti11["api_key"], key)})
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/lineitems/{item_id}/scores"
    event["body"] = json.dumps({**json.loads(event["body"]), "userId": USER_ID})
    assert token_fn(event).status == 204
    assert outcome_lms.grades[SOURCEDID][0] == "0.8"
