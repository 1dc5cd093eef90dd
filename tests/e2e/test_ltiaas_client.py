"""The official LTIAAS Python client (PyPI ``ltiaas`` 0.0.4), unchanged, against `make run`'s gateway.

The client hard-codes ``https://{domain}``; it is pointed at the local gateway the way
``ltiaas-api.md`` §2.7 (a) says: ``client._request_handler.base_url = gateway.base_url``. It still
sends every path with a leading ``//``, quotes ``url``/``role`` twice and line item ids with ``quote()``.

- LTI 1.1: a launch signed by an independent signer (Authlib) into the demo class, grades through a
  local Basic Outcomes service (Authlib-verified).
- LTI 1.3: a launch from an independent platform (``lti1p3platform`` on loopback) whose server also
  serves a token endpoint, AGS and NRPS (``tests/peers/advantage_platform.py``, client assertions
  verified with joserfc against the gateway's published JWKS).
"""

from __future__ import annotations

from contextlib import redirect_stdout
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from ltiaas import LTIAASLaunch
from ltiaas.exceptions.api_error import APIError
from ltiaas.exceptions.invalid_session_error import InvalidSessionError
from ltiaas.resources.deep_linking.types import LTIResourceLinkContentItem
from ltiaas.resources.lineitems.types import LineItem
from ltiaas.resources.scores.enums import ActivityProgress, GradingProgress
from ltiaas.resources.scores.types import Score

from tests.peers.advantage_lms import AdvantageLms
from tests.peers.advantage_platform import MOODLE_ITEM
from tests.peers.lms_params import CANVAS
from tests.peers.lti13_platform import INSTRUCTOR, AutoSubmitForm, Course, PendingLaunch, User
from tests.peers.oauth1_signer import FORM, sign_launch
from tests.peers.outcome_service import OutcomeService

SOURCEDID = dict(CANVAS)["lis_result_sourcedid"]
USER_ID = dict(CANVAS)["user_id"]
COURSE = Course("course-42", "Physics", "PHYS101")
TEACHER = User("teacher-1", (INSTRUCTOR,), "Grace Hopper", "grace@example.edu")


def client(gateway, *, ltik: str | None = None, service_key: str | None = None, api_key: str | None = None):
    launch = LTIAASLaunch(
        domain="gateway.invalid", api_key=api_key or gateway.api_key, ltik=ltik, service_key=service_key
    )
    launch._request_handler.base_url = gateway.base_url  # §2.7 (a): the client hard-codes https://
    return launch


def quietly(call, *args, **kwargs):
    """``get_scores`` prints the raw response (a client bug): keep the test output clean."""
    with redirect_stdout(StringIO()):
        return call(*args, **kwargs)


# -- LTI 1.1 -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcome_service(gateway):
    with OutcomeService({gateway.consumer_key: gateway.consumer_secret}, {SOURCEDID}) as service:
        yield service


@pytest.fixture(scope="module")
def lti11_ltik(gateway, outcome_service) -> str:
    params = [(k, outcome_service.url if k == "lis_outcome_service_url" else v) for k, v in CANVAS]
    signed = sign_launch(
        gateway.stack["class_launch_url"], params, consumer_key=gateway.consumer_key, secret=gateway.consumer_secret
    )
    answer = requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=10
    )
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ltik"][0]


def test_the_client_reads_an_11_id_token(gateway, lti11_ltik):
    token = client(gateway, ltik=lti11_ltik).get_id_token()

    assert token.lti_version.value == "1.2.0"
    assert token.user.id == USER_ID
    assert token.launch.type.value == "basic-lti-launch-request"
    assert token.platform.consumer_key == gateway.consumer_key
    assert token.services.outcomes == {"available": True}
    assert token.services.service_key.startswith("sk_")


def test_the_client_reads_the_raw_11_launch(gateway, lti11_ltik):
    raw = client(gateway, ltik=lti11_ltik).get_raw_id_token()

    assert type(raw).__name__ == "RawOauthPayload"
    assert raw.lis_result_sourcedid == SOURCEDID and raw.lti_message_type == "basic-lti-launch-request"


def test_the_client_grades_an_11_launch_through_outcomes(gateway, lti11_ltik, outcome_service):
    app = client(gateway, ltik=lti11_ltik)
    [line_item] = app.get_line_items().line_items

    app.submit_score(
        line_item.id,
        Score(
            user_id=USER_ID,
            activity_progress=ActivityProgress.COMPLETED,
            grading_progress=GradingProgress.FULLY_GRADED,
            score_given=8,
            score_maximum=10,
            comment="Good work",
        ),
    )

    assert outcome_service.rejections == []
    assert outcome_service.grades[SOURCEDID] == ("0.8", "Good work")
    scores = quietly(app.get_scores, line_item.id).scores
    assert scores[0].user_id == USER_ID and scores[0].result_score == 0.8


def test_a_service_key_grades_after_the_launch(gateway, lti11_ltik, outcome_service):
    key = client(gateway, ltik=lti11_ltik).get_id_token().services.service_key
    cron = client(gateway, service_key=key)
    [line_item] = cron.get_line_items().line_items

    cron.submit_score(
        line_item.id,
        Score(
            user_id=USER_ID,
            activity_progress=ActivityProgress.COMPLETED,
            grading_progress=GradingProgress.FULLY_GRADED,
            score_given=1,
            score_maximum=4,
        ),
    )

    assert outcome_service.grades[SOURCEDID][0] == "0.25"
    with pytest.raises(InvalidSessionError):
        cron.get_id_token()  # the client itself knows the id token needs an ltik


def test_the_client_reports_a_wrong_api_key_as_a_401(gateway, lti11_ltik):
    with pytest.raises(APIError) as raised:
        client(gateway, ltik=lti11_ltik, api_key="ak_0000000000000000.wrong").get_id_token()

    assert raised.value.response.status == 401
    assert raised.value.response.details.message == "INVALID_API_KEY"


def test_the_client_reports_an_11_launch_without_rosters_as_a_403(gateway, lti11_ltik):
    with pytest.raises(APIError) as raised:
        client(gateway, ltik=lti11_ltik).get_memberships()

    assert raised.value.response.status == 403
    assert raised.value.response.details.message == "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"


# -- LTI 1.3 -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lms(gateway):
    jwks_url = f"{gateway.base_url}/lti/orgs/{gateway.org_id}/jwks.json"  # the demo organisation's keys
    with AdvantageLms(jwks_url, context_id=COURSE.id, deployment_id="deployment-1") as platform:
        answer = requests.post(
            f"{gateway.base_url}/api/platforms",
            json=platform.registration_body(),
            headers={"Authorization": f"Bearer {gateway.api_key}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        yield platform


def launch_13(gateway, lms: AdvantageLms, *, deep_linking: bool = False) -> str:
    """A browser's OIDC round trip (platform login URL → the organisation's login URL → platform /auth →
    its launch URL)."""
    target = f"{gateway.base_url}/lti/launch" if deep_linking else gateway.stack["class_launch_url"]
    login = f"{gateway.base_url}/lti/orgs/{gateway.org_id}/login"
    browser = requests.Session()
    start = lms.login_url(login, PendingLaunch(target, TEACHER, COURSE, deep_linking=deep_linking))
    to_platform = browser.get(start, allow_redirects=False, timeout=10)
    assert to_platform.status_code == 302, to_platform.text
    form = AutoSubmitForm(browser.get(to_platform.headers["Location"], allow_redirects=False, timeout=10).text)
    answer = browser.post(form.action, data=form.fields, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ltik"][0]


@pytest.fixture(scope="module")
def lti13_ltik(gateway, lms) -> str:
    return launch_13(gateway, lms)


def test_the_client_reads_a_13_id_token(gateway, lms, lti13_ltik):
    app = client(gateway, ltik=lti13_ltik)

    token = app.get_id_token()
    raw = app.get_raw_id_token()

    assert token.lti_version.value == "1.3.0"
    assert token.user.id == "teacher-1" and token.platform.client_id == lms.client_id
    assert token.services.names_and_roles["available"] is True
    assert token.services.assignment_and_grades["available"] is True
    assert token.services.service_key.startswith("sk_")
    assert type(raw).__name__ == "RawIdToken" and raw.aud == lms.client_id


def test_the_client_pages_through_memberships_and_filters_by_role(gateway, lms, lti13_ltik):
    app = client(gateway, ltik=lti13_ltik)

    first = app.get_memberships(limit=4)
    rest = app.get_memberships(url=first.next)
    teachers = app.get_memberships(role="http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor")

    assert len(first.members) == 4 and first.next
    assert [m.user_id for m in rest.members] == ["user-5", "teacher-1"] and rest.next is None
    assert [m.user_id for m in teachers.members] == ["teacher-1"]
    assert lms.services.rejections == []


def test_the_client_runs_the_whole_line_item_and_score_cycle(gateway, lms, lti13_ltik):
    app = client(gateway, ltik=lti13_ltik)

    created = app.create_line_item(LineItem(label="Essay", score_maximum=20, resource_link_id="resource-link-1"))
    assert created.id.startswith("li_") and created.label == "Essay"
    assert created.id in [i.id for i in app.get_line_items().line_items]
    assert app.get_line_item(created.id).score_maximum == 20
    updated = app.update_line_item(created.id, LineItem(label="Essay (final)", score_maximum=25))
    assert updated.label == "Essay (final)" and updated.id == created.id

    app.submit_score(
        created.id,
        Score(
            user_id="user-2",
            activity_progress=ActivityProgress.COMPLETED,
            grading_progress=GradingProgress.FULLY_GRADED,
            score_given=20,
            score_maximum=25,
        ),
    )
    scores = quietly(app.get_scores, created.id, user_id="user-2").scores
    assert scores[0].user_id == "user-2" and scores[0].result_score == 20 and scores[0].score_of == created.id

    app.delete_line_item(created.id)
    assert created.id not in [i.id for i in app.get_line_items().line_items]


def test_the_client_uses_a_raw_moodle_line_item_url_as_its_id(gateway, lms, lti13_ltik):
    app = client(gateway, ltik=lti13_ltik)
    path = f"/api/contexts/{COURSE.id}/lineitems/3/lineitem"  # Moodle-shaped, under this launch's container
    lms.services.items[path] = {"label": "Moodle activity", "scoreMaximum": 100}
    moodle_url = f"{lms.services.base}{path}?type_id=1"

    item = app.get_line_item(moodle_url)
    app.submit_score(
        moodle_url,
        Score(user_id="user-3", activity_progress=ActivityProgress.SUBMITTED, grading_progress=GradingProgress.PENDING),
    )

    assert item.label == "Moodle activity"
    assert lms.services.scores[path][-1]["userId"] == "user-3"
    with pytest.raises(APIError) as raised:  # the same LMS, another course: outside this launch
        app.get_line_item(lms.services.item_url(MOODLE_ITEM))
    assert raised.value.response.status == 403
    assert raised.value.response.details.message == "SERVICE_NOT_AVAILABLE_FOR_CONTEXT"


def test_a_13_service_key_works_like_a_cron_job(gateway, lms, lti13_ltik):
    key = client(gateway, ltik=lti13_ltik).get_id_token().services.service_key

    members = client(gateway, service_key=key).get_memberships()

    assert {m.user_id for m in members.members} >= {"teacher-1"}


def test_the_client_refuses_a_foreign_url_with_the_contract_error(gateway, lms, lti13_ltik):
    with pytest.raises(APIError) as raised:
        client(gateway, ltik=lti13_ltik).get_memberships(url="https://attacker.example/steal")

    assert raised.value.response.status == 400
    assert raised.value.response.details.message == "INVALID_URL_PARAMETER"


def test_the_client_builds_a_deep_linking_form(gateway, lms):
    app = client(gateway, ltik=launch_13(gateway, lms, deep_linking=True))
    item = LTIResourceLinkContentItem(title="Unit 1", custom={"unit": "1"})

    form = app.build_deep_linking_form([item], message="Added Unit 1").form
    parts = app.build_deep_linking_form_components([item])

    assert f'action="{lms.issuer}/deep-link-return"' in form and 'name="JWT"' in form
    assert parts.target == f"{lms.issuer}/deep-link-return" and parts.message.count(".") == 2


# -- the demo app of `make run` ----------------------------------------------------------------------------


def test_the_demo_app_shows_the_id_token_members_and_line_items(gateway, lti11_ltik, lms, lti13_ltik):
    for token, expected in ((lti11_ltik, "GET /api/lineitems"), (lti13_ltik, "GET /api/memberships")):
        page = requests.get(f"{gateway.stack['app_launch_url']}?ltik={token}", timeout=10)

        assert page.status_code == 200
        assert "GET /api/idtoken &rarr; 200" in page.text and "ltiVersion" in page.text
        assert f"{expected} &rarr; 200" in page.text
