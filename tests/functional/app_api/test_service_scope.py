"""Service calls stay inside their launch (issue 13, item 9).

An ltik or a service key of a launch in course A (``/api/lti/courses/7/…`` on the fake LMS) may call
only what that launch's context named: its NRPS memberships URL, its AGS line items container and the
line items under it, its own line item. Course B (``/api/lti/courses/8/…``) lives on the same LMS
host, so the origin check alone would let it through: every way a URL or id enters the API (``url``
on memberships, line items and scores; a line item id, opaque or raw, in the path) is refused with
403 ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT`` and the LMS receives nothing, not even a token request.
The same calls inside course A still work.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from lti_gateway.app_api import line_item_ids
from tests.functional.app_api.test_app_auth import assert_contract_error
from tests.peers.advantage_platform import MOODLE_ITEM
from tests.support.app_api import SCOPES, ltik_auth, service_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403
from tests.support.app_fixtures import USER_ID

FORBIDDEN = "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"
COURSE_B = "/api/lti/courses/8"
B_ITEM = f"{COURSE_B}/line_items/5"
MOODLE_A_ITEMS = "/mod/lti/services.php/7/lineitems"
MOODLE_B_ITEM = "/mod/lti/services.php/8/lineitems/4/lineitem"
SCORE = {"userId": "user-1", "activityProgress": "Completed", "gradingProgress": "FullyGraded", "scoreGiven": 1}


def twice(value: str) -> str:
    """What the official clients put on the wire for ``url``: quote(), then form-encoded."""
    return quote(quote(value, safe="/"), safe="")


@pytest.fixture
def world(lti13, token_fn):
    """The course A launch, with a line item of course B stored on the same LMS (a GET of it would
    answer 200 if the gateway sent one) and the launch's service key."""
    lms = lti13["lms"]
    lms.items[B_ITEM] = {"label": "Course B exam", "scoreMaximum": 50, "resourceLinkId": "rl-b"}
    lms.items[MOODLE_B_ITEM] = {"label": "Course B Moodle", "scoreMaximum": 10}
    idtoken = token_fn(token_event("GET", "/api/idtoken", authorization=ltik_auth(lti13["api_key"], lti13["ltik"])))
    assert idtoken.status == 200, idtoken.raw
    return {**lti13, "service_key": idtoken.body["services"]["serviceKey"]}


def send(token_fn, launched, method, target, body=None, *, session="ltik"):
    if session == "service":
        auth = service_auth(launched["api_key"], launched["service_key"])
    else:
        auth = ltik_auth(launched["api_key"], launched["ltik"])
    return token_fn(token_event(method, target, authorization=auth, body=body))


def refused_without_a_request(token_fn, launched, method, target, body=None, *, session="ltik") -> dict:
    lms = launched["lms"]
    before = len(lms.requests)

    answer = send(token_fn, launched, method, target, body, session=session)

    error = assert_contract_error(answer, 403, FORBIDDEN)
    assert "outside this launch's context" in error["details"]["description"]
    assert lms.requests[before:] == [], f"{method} {target} reached the LMS"
    return error


def course_b_calls(lms) -> list[tuple[str, str, dict | None]]:
    """Every way a course B URL or line item id enters the app API."""
    b_item = f"{lms.base}{B_ITEM}"
    a_item = line_item_ids.encode(lms.item_url())
    return [
        ("GET", f"/api/lineitems?url={twice(f'{lms.base}{COURSE_B}/line_items')}", None),
        ("GET", f"/api/lineitems?url={twice(f'{lms.base}{COURSE_B}/line_items?page=2')}", None),
        ("GET", f"/api/lineitems/{line_item_ids.encode(b_item)}", None),
        ("GET", f"/api/lineitems/{quote(b_item)}", None),  # the Python client's raw URL
        ("GET", f"/api/lineitems/{quote(b_item, safe='')}", None),  # the Node SDK's
        ("PUT", f"/api/lineitems/{line_item_ids.encode(b_item)}", {"label": "mine now", "scoreMaximum": 1}),
        ("DELETE", f"/api/lineitems/{line_item_ids.encode(b_item)}", None),
        ("POST", f"/api/lineitems/{line_item_ids.encode(b_item)}/scores", SCORE),
        ("GET", f"/api/lineitems/{line_item_ids.encode(b_item)}/scores", None),
        ("GET", f"/api/lineitems/{a_item}/scores?url={twice(b_item + '/results')}", None),
        ("GET", f"/api/lineitems/{line_item_ids.encode(lms.base + MOODLE_B_ITEM + '?type_id=1')}", None),
        ("GET", f"/api/memberships?url={twice(f'{lms.base}{COURSE_B}/names_and_roles')}", None),
        ("GET", f"/api/memberships?url={twice(f'{lms.base}{COURSE_B}/names_and_roles?page=2')}", None),
    ]


# -- another course on the same LMS ---------------------------------------------------------------------


@pytest.mark.parametrize("session", ["ltik", "service"])
def test_course_b_is_refused_every_way_a_url_enters_and_the_lms_hears_nothing(world, token_fn, session):
    lms = world["lms"]
    calls = course_b_calls(lms)

    for method, target, body in calls:
        refused_without_a_request(token_fn, world, method, target, body, session=session)

    assert lms.requests == []  # not even a token request
    assert lms.items[B_ITEM]["label"] == "Course B exam" and B_ITEM in lms.items
    assert B_ITEM not in lms.scores


@pytest.mark.parametrize("session", ["ltik", "service"])
def test_the_same_calls_inside_course_a_still_work(world, token_fn, session):
    lms = world["lms"]
    a_item = lms.item_url()

    listed = send(
        token_fn, world, "GET", f"/api/lineitems?url={twice(lms.line_items_url + '?page=1')}", session=session
    )
    got = send(token_fn, world, "GET", f"/api/lineitems/{quote(a_item)}", session=session)
    scored = send(
        token_fn, world, "POST", f"/api/lineitems/{line_item_ids.encode(a_item)}/scores", SCORE, session=session
    )
    results = send(
        token_fn,
        world,
        "GET",
        f"/api/lineitems/{line_item_ids.encode(a_item)}/scores?url={twice(a_item + '/results?user_id=user-1')}",
        session=session,
    )
    members = send(token_fn, world, "GET", "/api/memberships?limit=4", session=session)
    page_two = send(token_fn, world, "GET", f"/api/memberships?url={twice(members.body['next'])}", session=session)

    assert listed.status == 200 and [i["label"] for i in listed.body["lineItems"]] == ["Waves quiz"], listed.raw
    assert got.status == 200 and got.body["label"] == "Waves quiz", got.raw
    assert scored.status == 204, scored.raw
    assert results.status == 200 and [s["userId"] for s in results.body["scores"]] == ["user-1"], results.raw
    assert members.status == 200 and len(members.body["members"]) == 4, members.raw
    assert page_two.status == 200 and [m["userId"] for m in page_two.body["members"]] == ["user-5", "teacher-1"]


def test_a_line_item_the_lms_created_in_course_a_is_inside_it(world, token_fn):
    created = send(token_fn, world, "POST", "/api/lineitems", {"label": "Essay", "scoreMaximum": 20})
    assert created.status == 201, created.raw
    item = created.body["id"]

    assert send(token_fn, world, "GET", f"/api/lineitems/{item}").body["label"] == "Essay"
    assert send(token_fn, world, "POST", f"/api/lineitems/{item}/scores", SCORE).status == 204
    assert (
        send(token_fn, world, "PUT", f"/api/lineitems/{item}", {"label": "Essay 2", "scoreMaximum": 20}).status == 200
    )
    assert send(token_fn, world, "DELETE", f"/api/lineitems/{item}").status == 204


# -- tricks that would leave the container once the LMS normalises the path -------------------------------


@pytest.mark.parametrize(
    "suffix",
    [
        "/../../8/line_items/5",
        "/%2e%2e/%2E%2E/8/line_items/5",
        "/..;/..;/8/line_items/5",
        "/1/..%2F..%2F..%2F8%2Fline_items%2F5",
        "/1%5C..%5C..%5C..%5C8",
        "//5",
        "/",
    ],
)
def test_a_path_that_climbs_out_of_the_container_is_refused(world, token_fn, suffix):
    url = world["lms"].line_items_url + suffix

    refused_without_a_request(token_fn, world, "GET", f"/api/lineitems/{line_item_ids.encode(url)}")


def test_one_service_s_url_does_not_open_the_other(world, token_fn):
    lms = world["lms"]

    refused_without_a_request(token_fn, world, "GET", f"/api/memberships?url={twice(lms.line_items_url)}")
    refused_without_a_request(token_fn, world, "GET", f"/api/lineitems?url={twice(lms.memberships_url)}")
    refused_without_a_request(token_fn, world, "GET", f"/api/lineitems/{line_item_ids.encode(lms.memberships_url)}")
    refused_without_a_request(
        token_fn, world, "GET", f"/api/memberships?url={twice(lms.memberships_url + '/../../8/names_and_roles')}"
    )


def test_another_origin_is_still_the_400_of_the_contract(world, token_fn):
    answer = send(token_fn, world, "GET", f"/api/memberships?url={twice('https://lms.example.org/x')}")

    assert_contract_error(answer, 400, "INVALID_URL_PARAMETER")
    assert world["lms"].requests == []


# -- Moodle's layout: the container's type_id query is part of the context ---------------------------------


@pytest.fixture
def moodle(world):
    lms = world["lms"]
    ags = {
        "scope": list(SCOPES),
        "lineitems": f"{lms.base}{MOODLE_A_ITEMS}?type_id=1",
        "lineitem": lms.item_url(MOODLE_ITEM),  # …/7/lineitems/3/lineitem?type_id=1
    }
    return {**world, **world["launch"](ags=ags)}


def test_a_moodle_line_item_under_its_container_works_in_course_a_only(moodle, token_fn):
    lms = moodle["lms"]
    own = lms.item_url(MOODLE_ITEM)

    got = send(token_fn, moodle, "GET", f"/api/lineitems/{quote(own)}")
    scored = send(token_fn, moodle, "POST", f"/api/lineitems/{line_item_ids.encode(own)}/scores", SCORE)

    assert got.status == 200 and got.body["label"] == "Moodle activity", got.raw
    assert scored.status == 204, scored.raw
    for url in (
        f"{lms.base}{MOODLE_B_ITEM}?type_id=1",  # course 8
        f"{lms.base}{MOODLE_ITEM}?type_id=2",  # another tool type's view of it
        f"{lms.base}{MOODLE_ITEM}",  # the container's type_id dropped
        f"{lms.base}{MOODLE_ITEM}?type_id=1&type_id=2",
    ):
        refused_without_a_request(token_fn, moodle, "GET", f"/api/lineitems/{line_item_ids.encode(url)}")


# -- a launch that named only its own line item ------------------------------------------------------------


def test_a_launch_without_a_container_opens_only_its_own_line_item(world, token_fn):
    lms = world["lms"]
    launched = {**world, **world["launch"](ags={"scope": list(SCOPES), "lineitem": lms.item_url()})}
    own = line_item_ids.encode(lms.item_url())
    sibling = f"{lms.line_items_url}/2"
    lms.items[sibling.removeprefix(lms.base)] = {"label": "Another column", "scoreMaximum": 5}

    assert send(token_fn, launched, "GET", "/api/lineitems").body["lineItems"][0]["label"] == "Waves quiz"
    assert send(token_fn, launched, "POST", f"/api/lineitems/{own}/scores", SCORE).status == 204
    assert send(token_fn, launched, "GET", f"/api/lineitems/{own}/scores").status == 200
    refused_without_a_request(token_fn, launched, "GET", f"/api/lineitems/{line_item_ids.encode(sibling)}")
    refused_without_a_request(token_fn, launched, "GET", f"/api/lineitems?url={twice(lms.line_items_url)}")


# -- LTI 1.1: only the stored outcome service URL ----------------------------------------------------------


def test_an_11_launch_calls_only_its_own_outcome_service(lti11, token_fn, outcome_lms):
    other = outcome_lms.url.rsplit("/", 1)[0] + "/other-course/outcomes"
    auth = ltik_auth(lti11["api_key"], lti11["ltik"])

    for target in (
        f"/api/lineitems/{line_item_ids.encode(other)}/scores",
        f"/api/lineitems/{quote(other)}/scores",
    ):
        answer = token_fn(token_event("POST", target, authorization=auth, body={**SCORE, "userId": USER_ID}))
        assert_contract_error(answer, 404, "NOT_FOUND")
    assert outcome_lms.received == []


def test_the_outcome_service_gate_refuses_any_other_url():
    from lti_gateway.app_api import platform_services
    from lti_gateway.app_api.launch_context import ServiceContext
    from lti_gateway.core.errors import ApiError

    ctx = ServiceContext(
        family="1.1", org_id="org", launch_id="l", outcome_url="https://lms.example/outcomes", sourcedid="s"
    )

    assert platform_services.check_url(ctx, "https://lms.example/outcomes", "outcomes") == ctx.outcome_url
    for url in ("https://lms.example/outcomes?course=8", "https://lms.example/other", "https://evil.example/outcomes"):
        with pytest.raises(ApiError) as refused:
            platform_services.check_url(ctx, url, "outcomes")
        assert refused.value.status == 403
