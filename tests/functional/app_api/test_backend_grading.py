"""Grading from a back end with a context's service key (issue 14 §2), LTI 1.1 and LTI 1.3.

LTI 1.1: learners launch through the launch function (OAuth 1.0a signed by the test signer); each
launch records the learner's outcome URL and ``lis_result_sourcedid``; a back end holding the
context's service key then grades any of them through ``POST /api/lineitems/{id}/scores``. The
outcome service is an independent peer (``tests/peers/outcome_service.py``): it recomputes the
``oauth_body_hash`` with hashlib over the bytes received and the OAuth 1.0a HMAC-SHA1 signature with
Authlib (never the gateway's oauthlib), and answers a POX failure to anything that does not verify.
"""

from __future__ import annotations

import time

import boto3
import pytest

from lti_gateway.app_api import line_item_ids
from tests.functional.app_api.test_app_auth import assert_contract_error, launch_items
from tests.peers.lms_params import CANVAS
from tests.peers.outcome_service import OutcomeService
from tests.support.app_api import LTI, SCOPES, lti13_claims, ltik_auth, service_auth, store_lti13_launch, token_event
from tests.support.app_fixtures import *  # noqa: F403
from tests.support.app_fixtures import CLIENT_ID, make_lti11_world

LEARNER = "urn:lti:role:ims/lis/Learner"
SCORE = {"activityProgress": "Completed", "gradingProgress": "FullyGraded", "scoreMaximum": 10}
LINK = dict(CANVAS)["resource_link_id"]
LEARNERS = {"ada": "sd-ada-1", "bob": "sd-bob-2", "cy": "sd-cy-3"}


def learner_params(lms_url: str, user: str, *, sourcedid: str | None = None, link: str = LINK, **extra) -> list:
    """A Canvas learner's launch: their own user id and sourcedid, the outcome service on ``lms_url``."""
    values = {
        "roles": LEARNER,
        "user_id": user,
        "lis_result_sourcedid": sourcedid or LEARNERS[user],
        "lis_outcome_service_url": lms_url,
        "resource_link_id": link,
        **extra,
    }
    params = [(k, values.pop(k) if k in values else v) for k, v in CANVAS]
    return params + list(values.items())


def next_second() -> None:
    """Wait (under a second) until the wall clock is in a later whole second than now."""
    start = int(time.time())
    while int(time.time()) <= start:
        time.sleep(0.02)


def api(token_fn, api_key, method, target, body=None, *, key=None, ltik=None):
    auth = service_auth(api_key, key) if key else ltik_auth(api_key, ltik)
    return token_fn(token_event(method, target, authorization=auth, body=body))


def service_key_of(token_fn, api_key, launched) -> str | None:
    answer = api(token_fn, api_key, "GET", "/api/idtoken", ltik=launched["ltik"])
    assert answer.status == 200, answer.raw
    return answer.body["services"].get("serviceKey")


@pytest.fixture
def lms(lti11_world, insecure_platform_urls):
    with OutcomeService({lti11_world["key"]: lti11_world["secret"]}, set(LEARNERS.values())) as service:
        yield service


@pytest.fixture
def course(lti11_world, lti11_launch, lms, token_fn):
    """Ada and Bob launch, then Cy (a third launch); the back end's key comes from Cy's launch."""
    launched = {user: lti11_launch(learner_params(lms.url, user)) for user in ("ada", "bob", "cy")}
    api_key = lti11_world["org"].api_key
    return {
        **lti11_world,
        "api_key": api_key,
        "launched": launched,
        "sk": service_key_of(token_fn, api_key, launched["cy"]),
    }


def _only_line_item(token_fn, course) -> dict:
    answer = api(token_fn, course["api_key"], "GET", "/api/lineitems", key=course["sk"])
    assert answer.status == 200, answer.raw
    [item] = answer.body["lineItems"]
    return item


# -- the test -------------------------------------------------------------------------------------


def test_a_back_end_grades_both_earlier_learners_after_a_third_launch(course, token_fn, lms, stack):
    # The launches are long gone by the time the nightly job runs: only the outcome records remain.
    table = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"])
    for item in launch_items(stack, "LAUNCH#"):
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    item = _only_line_item(token_fn, course)

    for user, given in (("ada", 8), ("bob", 6.5)):
        answer = api(
            token_fn,
            course["api_key"],
            "POST",
            f"/api/lineitems/{item['id']}/scores",
            {**SCORE, "userId": user, "scoreGiven": given, "comment": f"well done {user}"},
            key=course["sk"],
        )
        assert answer.status == 204, answer.raw

    assert lms.rejections == []  # both signatures and body hashes verified (Authlib, hashlib)
    assert [(r.operation, r.sourcedid, r.score, r.text) for r in lms.received] == [
        ("replaceResult", "sd-ada-1", "0.8", "well done ada"),
        ("replaceResult", "sd-bob-2", "0.65", "well done bob"),
    ]
    for received in lms.received:
        assert f'oauth_consumer_key="{course["key"]}"' in received.authorization
        assert "oauth_body_hash=" in received.authorization
        assert received.path == "/mod/lti/service.php"
    assert "sd-cy-3" not in lms.grades


def test_the_outcome_peer_refuses_a_body_that_does_not_match_its_hash(lms, lti11_world):
    """The peer the test above relies on can fail: a changed body or a wrong secret does not verify."""
    from lti_gateway.lti11 import outcomes

    xml = outcomes.build_request("replaceResult", "sd-ada-1", "m1", score=0.5)
    headers = outcomes.sign_request(lms.url, xml, consumer_key=lti11_world["key"], secret=lti11_world["secret"])
    tampered = xml.replace("0.5", "1.0").encode()

    assert lms.verify(lms.url, headers, tampered) == "oauth_body_hash does not match the body"
    wrong = outcomes.sign_request(lms.url, xml, consumer_key=lti11_world["key"], secret="not-the-secret")
    assert lms.verify(lms.url, wrong, xml.encode()) == "signature does not verify"
    assert lms.verify(lms.url, headers, xml.encode()) is None


# -- the key: one per context, until revoked --------------------------------------------------------------


def test_every_launch_of_the_context_shows_the_same_key(course, token_fn, lti11_launch, lms, stack):
    keys = {service_key_of(token_fn, course["api_key"], launched) for launched in course["launched"].values()}
    other_link = lti11_launch(learner_params(lms.url, "ada", link="another-link"))

    assert keys == {course["sk"]}
    assert service_key_of(token_fn, course["api_key"], other_link) == course["sk"]
    assert len(launch_items(stack, "SERVICEKEY#")) == 1 and len(launch_items(stack, "SERVICESLOT#")) == 1


def test_a_line_item_per_resource_link_with_its_title(course, token_fn, lti11_launch, lms):
    lti11_launch(learner_params(lms.url, "bob", link="quiz-2", resource_link_title="Quiz 2"))

    answer = api(token_fn, course["api_key"], "GET", "/api/lineitems", key=course["sk"])

    items = {i["resourceLinkId"]: i for i in answer.body["lineItems"]}
    assert set(items) == {LINK, "quiz-2"}
    assert items[LINK]["label"] == dict(CANVAS)["resource_link_title"] and items["quiz-2"]["label"] == "Quiz 2"
    assert all(i["id"].startswith("li11_") and i["scoreMaximum"] == 1 for i in items.values())
    # The same id an ltik of that link lists.
    own = api(token_fn, course["api_key"], "GET", "/api/lineitems", ltik=course["launched"]["ada"]["ltik"])
    assert own.body["lineItems"] == [items[LINK]]
    filtered = api(token_fn, course["api_key"], "GET", "/api/lineitems?resourceLinkId=quiz-2", key=course["sk"])
    assert filtered.body["lineItems"] == [items["quiz-2"]]


def test_results_are_read_back_per_learner_and_for_the_link(course, token_fn, lms):
    item_id = _only_line_item(token_fn, course)["id"]
    target = f"/api/lineitems/{item_id}/scores"
    api(token_fn, course["api_key"], "POST", target, {**SCORE, "userId": "bob", "scoreGiven": 5}, key=course["sk"])

    one = api(token_fn, course["api_key"], "GET", f"{target}?userId=bob", key=course["sk"])
    every = api(token_fn, course["api_key"], "GET", target, key=course["sk"])
    nobody = api(token_fn, course["api_key"], "GET", f"{target}?userId=never-launched", key=course["sk"])

    assert one.status == 200, one.raw
    assert one.body["scores"] == [
        {"id": f"{item_id}/results/bob", "userId": "bob", "scoreOf": item_id, "resultMaximum": 1, "resultScore": 0.5}
    ]
    assert {s["userId"]: s.get("resultScore") for s in every.body["scores"]} == {"ada": None, "bob": 0.5, "cy": None}
    assert nobody.body == {"scores": []}
    assert [r.operation for r in lms.received].count("readResult") == 4 and lms.rejections == []


def test_a_revoked_key_stops_and_only_a_later_launch_gets_the_next_one(course, token_fn, lti11_launch, lms):
    old = course["sk"]
    assert api(token_fn, course["api_key"], "DELETE", "/api/servicekey", key=old).status == 204

    item_id = line_item_ids.LTI11_PREFIX + "x" * 22
    assert_contract_error(
        api(token_fn, course["api_key"], "GET", f"/api/lineitems/{item_id}", key=old),
        401,
        "INVALID_SERVICE_AUTH_AUTHORIZATION_HEADER",
    )
    for launched in course["launched"].values():  # launches from before the revocation: no key
        assert service_key_of(token_fn, course["api_key"], launched) is None
    next_second()  # launch times are whole seconds: a launch in the revocation's second counts as before
    new = service_key_of(token_fn, course["api_key"], lti11_launch(learner_params(lms.url, "cy")))

    assert new and new != old
    assert service_key_of(token_fn, course["api_key"], course["launched"]["ada"]) is None
    item = _only_line_item(token_fn, {**course, "sk": new})
    graded = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item['id']}/scores",
        {**SCORE, "userId": "ada", "scoreGiven": 10},
        key=new,
    )
    assert graded.status == 204, graded.raw
    assert lms.grades["sd-ada-1"][0] == "1.0"


# -- refusals: nothing reaches the LMS ---------------------------------------------------------------------


def test_a_learner_who_never_launched_the_link_is_404(course, token_fn, lti11_launch, lms):
    lti11_launch(learner_params(lms.url, "bob", link="quiz-2"))
    items = api(token_fn, course["api_key"], "GET", "/api/lineitems", key=course["sk"]).body["lineItems"]
    quiz2 = next(i["id"] for i in items if i["resourceLinkId"] == "quiz-2")

    for user in ("nobody", "ada"):  # ada launched the first link, never quiz-2
        answer = api(
            token_fn,
            course["api_key"],
            "POST",
            f"/api/lineitems/{quiz2}/scores",
            {**SCORE, "userId": user, "scoreGiven": 1},
            key=course["sk"],
        )
        error = assert_contract_error(answer, 404, "NOT_FOUND")
        assert "never launched this resource link" in error["details"]["description"]
    missing = api(
        token_fn,
        course["api_key"],
        "POST",
        "/api/lineitems/li11_AAAAAAAAAAAAAAAAAAAAAA/scores",
        {**SCORE, "userId": "ada", "scoreGiven": 1},
        key=course["sk"],
    )
    assert_contract_error(missing, 404, "NOT_FOUND")
    assert lms.received == []


def test_a_score_needs_a_user_id_with_a_service_key(course, token_fn, lms):
    item_id = _only_line_item(token_fn, course)["id"]

    answer = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "scoreGiven": 1},
        key=course["sk"],
    )

    error = assert_contract_error(answer, 400, "VALIDATION_ERROR")
    assert {e["field"] for e in error["details"]["errors"]} == {"userId"}
    assert lms.received == []


def test_a_revoked_consumer_key_signs_nothing(course, token_fn, lms):
    from lti_gateway.lti11 import consumer_keys

    item_id = _only_line_item(token_fn, course)["id"]
    consumer_keys.revoke_key(course["principal"], course["key"])
    consumer_keys.clear_cache()

    answer = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "userId": "ada", "scoreGiven": 1},
        key=course["sk"],
    )

    error = assert_contract_error(answer, 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")
    assert "consumer key" in error["details"]["description"]
    assert lms.received == []


def test_another_organisation_can_never_reach_the_records(course, token_fn, make_org, monkeypatch, lms, launch_fn):
    """Another organisation's API key with this key is refused; its own service key and its ltik find
    none of this context's line items or learners."""
    from urllib.parse import urlsplit

    from tests.peers.oauth1_signer import launch_event, sign_launch
    from tests.support.app_api import HOST, ltik_from

    item_id = _only_line_item(token_fn, course)["id"]
    other = make_lti11_world(make_org("Other University"), monkeypatch)
    lms.credentials[other["key"]] = other["secret"]
    url = other["class"]["launch_url"]
    signed = sign_launch(url, learner_params(lms.url, "ada"), consumer_key=other["key"], secret=other["secret"])
    answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))
    assert answer.status == 302, answer.raw
    other_ltik = ltik_from(answer.headers["location"])
    other_api = other["org"].api_key
    other_key = service_key_of(token_fn, other_api, {"ltik": other_ltik})
    assert other_key and other_key != course["sk"]
    score = {**SCORE, "userId": "ada", "scoreGiven": 1}

    assert_contract_error(api(token_fn, other_api, "GET", "/api/lineitems", key=course["sk"]), 401, "INVALID_API_KEY")
    for session in ({"key": other_key}, {"ltik": other_ltik}):
        assert_contract_error(
            api(token_fn, other_api, "POST", f"/api/lineitems/{item_id}/scores", score, **session), 404, "NOT_FOUND"
        )
        assert_contract_error(
            api(token_fn, other_api, "GET", f"/api/lineitems/{item_id}/scores", **session), 404, "NOT_FOUND"
        )
    listed = api(token_fn, other_api, "GET", "/api/lineitems", key=other_key).body["lineItems"]
    assert [i["id"] for i in listed] != [item_id] and len(listed) == 1
    assert lms.received == []


def test_an_ltik_still_grades_its_own_learner_only(course, token_fn, lms):
    ada = course["launched"]["ada"]["ltik"]
    item_id = _only_line_item(token_fn, course)["id"]

    own = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "userId": "ada", "scoreGiven": 3},
        ltik=ada,
    )
    other = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item_id}/scores",
        {**SCORE, "userId": "bob", "scoreGiven": 3},
        ltik=ada,
    )

    assert own.status == 204, own.raw
    assert_contract_error(other, 400, "VALIDATION_ERROR")
    assert [r.sourcedid for r in lms.received] == ["sd-ada-1"]


# -- the launch: the records ride on the context's write ----------------------------------------------------


def test_the_records_are_written_with_the_launch_context_in_one_call(
    lti11_world, lti11_launch, lms, stack, monkeypatch
):
    import botocore.client

    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def counting(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return real(self, operation, params)

    lti11_launch(learner_params(lms.url, "ada"))  # warm: caches, origins
    instructor = [(k, v) for k, v in learner_params(lms.url, "bob") if k != "lis_result_sourcedid"]
    lti11_launch(instructor)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)

    lti11_launch(learner_params(lms.url, "cy"))
    with_records, calls[:] = list(calls), []
    lti11_launch(instructor)
    without = list(calls)

    assert len(with_records) == len(without)
    assert with_records.count("BatchWriteItem") == 1 and "BatchWriteItem" not in without
    records = {i["sk"].split("#")[0]: i for i in launch_items(stack, "OUTCOMES#") if i.get("user_id", "cy") == "cy"}
    learner = records["LEARNER"]
    assert learner["lis_result_sourcedid"] == "sd-cy-3" and learner["lis_outcome_service_url"] == lms.url
    assert learner["org_id"] == lti11_world["org"].org_id and learner["pk"].startswith(f"OUTCOMES#{learner['org_id']}#")
    year = 365 * 24 * 3600
    assert year <= int(learner["expires_at"]) - time.time() <= year + 2 * 24 * 3600
    assert records["LINK"]["resource_link_id"] == LINK


# -- LTI 1.3: one key per context -----------------------------------------------------------------------


def test_a_13_context_key_keeps_working_after_a_newer_launch_of_another_link(lti13, token_fn):
    from tests.peers.advantage_platform import MOODLE_ITEM

    lms = lti13["lms"]
    lms.items[MOODLE_ITEM] = {"label": "Moodle-style item outside the container", "scoreMaximum": 10}
    lms.items[f"{lms.line_items_path}/1"] = {"label": "Quiz", "scoreMaximum": 10}
    first = lti13["launch"](
        ags={"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url(MOODLE_ITEM)}
    )
    key = service_key_of(token_fn, lti13["api_key"], first)
    claims = lti13_claims(
        issuer=lms.base,
        client_id=CLIENT_ID,
        ags={"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url()},
        nrps={"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]},
    )
    claims[LTI + "resource_link"] = {"id": "rl-2", "title": "Quiz"}
    _, newer_ltik = store_lti13_launch(
        lti13["org"].org_id, claims, platform_id=lti13["platform_id"], client_id=CLIENT_ID
    )

    assert service_key_of(token_fn, lti13["api_key"], {"ltik": newer_ltik}) == key
    for item_url in (lms.item_url(MOODLE_ITEM), lms.item_url()):  # both resource links' line items
        answer = api(
            token_fn,
            lti13["api_key"],
            "POST",
            f"/api/lineitems/{line_item_ids.encode(item_url)}/scores",
            {**SCORE, "userId": "user-42", "scoreGiven": 4},
            key=key,
        )
        assert answer.status == 204, answer.raw
    assert api(token_fn, lti13["api_key"], "GET", "/api/memberships", key=key).status == 200
    other_course = lms.item_url("/api/lti/courses/8/line_items/1")
    refused = api(
        token_fn,
        lti13["api_key"],
        "POST",
        f"/api/lineitems/{line_item_ids.encode(other_course)}/scores",
        {**SCORE, "userId": "user-42", "scoreGiven": 4},
        key=key,
    )
    assert_contract_error(refused, 403, "SERVICE_NOT_AVAILABLE_FOR_CONTEXT")
    assert set(lms.scores) == {MOODLE_ITEM, f"{lms.line_items_path}/1"}


def test_a_learner_record_past_its_year_is_not_used_even_before_dynamodb_sweeps_it(course, token_fn, lms, monkeypatch):
    from lti_gateway.core import clock

    item = _only_line_item(token_fn, course)
    later = clock.now() + 400 * 86_400  # past OUTCOME_RECORD_LIFETIME_SECONDS; TTL sweeps lag, moto never sweeps
    monkeypatch.setattr(clock, "now", lambda: later)

    answer = api(
        token_fn,
        course["api_key"],
        "POST",
        f"/api/lineitems/{item['id']}/scores",
        {**SCORE, "userId": "ada", "scoreGiven": 1},
        key=course["sk"],
    )
    assert_contract_error(answer, 404, "NOT_FOUND")
    assert lms.received == []
    listed = api(token_fn, course["api_key"], "GET", "/api/lineitems", key=course["sk"])
    assert listed.status == 200 and listed.body["lineItems"] == []


def test_a_learner_the_lms_no_longer_knows_does_not_hide_the_others(course, token_fn, lti11_launch, lms):
    lti11_launch(learner_params(lms.url, "dan", sourcedid="sd-dan-gone"))  # the LMS refuses this sourcedid
    item_id = _only_line_item(token_fn, course)["id"]

    every = api(token_fn, course["api_key"], "GET", f"/api/lineitems/{item_id}/scores", key=course["sk"])
    too_many = api(token_fn, course["api_key"], "GET", f"/api/lineitems/{item_id}/scores?limit=21", key=course["sk"])

    assert every.status == 200, every.raw
    assert sorted(s["userId"] for s in every.body["scores"]) == ["ada", "bob", "cy"]
    assert_contract_error(too_many, 400, "VALIDATION_ERROR")


def test_one_consumer_key_on_two_lms_sites_keeps_their_learners_apart(course, token_fn, lti11_launch, lms):
    # A second Moodle site with the same consumer key, whose course, link and user ids are the first's.
    with OutcomeService({course["key"]: course["secret"]}, {"sd-ada-site-b"}) as site_b:
        launched = lti11_launch(learner_params(site_b.url, "ada", sourcedid="sd-ada-site-b"))
        key_b = service_key_of(token_fn, course["api_key"], launched)
        assert key_b is not None and key_b != course["sk"]

        for key, given in ((key_b, 3), (course["sk"], 9)):
            [item] = api(token_fn, course["api_key"], "GET", "/api/lineitems", key=key).body["lineItems"]
            answer = api(
                token_fn,
                course["api_key"],
                "POST",
                f"/api/lineitems/{item['id']}/scores",
                {**SCORE, "userId": "ada", "scoreGiven": given},
                key=key,
            )
            assert answer.status == 204, answer.raw

        assert [(r.sourcedid, r.score) for r in site_b.received] == [("sd-ada-site-b", "0.3")]
        assert [(r.sourcedid, r.score) for r in lms.received] == [("sd-ada-1", "0.9")]
        assert site_b.rejections == [] and lms.rejections == []
