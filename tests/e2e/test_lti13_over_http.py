"""A real, independent LTI 1.3 platform (``lti1p3platform`` from PyPI) launches into `make run`'s gateway.

The platform serves its JWKS and its authorization endpoint on loopback and is registered through the
gateway's own API (``POST /api/platforms``). A "browser" (requests, no redirects followed blindly)
does the OIDC round trip: the platform's login URL → the organisation's ``/lti/orgs/{org_id}/login`` → 302 to the
platform's ``/auth``, which validates the gateway's authentication request and answers the
auto-submitting form → posted to its ``/lti/orgs/{org_id}/launch`` → 302 to the demo app with an ltik.
"""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from lti_gateway.app_api import ltik
from lti_gateway.repositories import deps
from tests.peers.lti13_platform import (
    ADMIN,
    INSTRUCTOR,
    LEARNER,
    MENTOR,
    AutoSubmitForm,
    Course,
    Lti13Platform,
    PendingLaunch,
    User,
)

TEACHER = User("teacher-1", (INSTRUCTOR,), "Grace Hopper", "grace@example.edu")
STUDENT = User("student-1", (LEARNER,), "Alan Turing", "alan@example.edu")
COURSE = Course("course-42", "Physics", "PHYS101")


@pytest.fixture(scope="module")
def platform(gateway):
    with Lti13Platform(deployment_id="deployment-1", name="lti1p3platform on loopback") as lms:
        answer = requests.post(
            f"{gateway.base_url}/api/platforms",
            json=lms.registration_body(),
            headers={"Authorization": f"Bearer {gateway.api_key}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        yield lms


def _login_url(gateway) -> str:
    return f"{gateway.base_url}/lti/orgs/{gateway.org_id}/login"  # the demo organisation's own login URL


def browse(gateway, platform: Lti13Platform, launch: PendingLaunch) -> requests.Response:
    """What a browser does, one hop at a time; answers the gateway's answer to the form post."""
    browser = requests.Session()
    start = platform.login_url(_login_url(gateway), launch)

    to_platform = browser.get(start, allow_redirects=False, timeout=10)
    assert to_platform.status_code == 302, to_platform.text
    assert to_platform.headers["Location"].startswith(platform.auth_url + "?")

    form_page = browser.get(to_platform.headers["Location"], allow_redirects=False, timeout=10)
    assert form_page.status_code == 200, form_page.text  # the platform accepted our authentication request
    form = AutoSubmitForm(form_page.text)
    launch_url = f"{gateway.base_url}/lti/orgs/{gateway.org_id}/launch"
    assert form.action == launch_url and set(form.fields) == {"id_token", "state"}

    return browser.post(form.action, data=form.fields, allow_redirects=False, timeout=10)


def reaches_the_demo_app(gateway, answer: requests.Response) -> dict:
    """The launch landed on the demo app with a valid ltik; answers the stored launch context."""
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(gateway.stack["app_launch_url"] + "?ltik=")
    claims = ltik.verify(parse_qs(urlsplit(location).query)["ltik"][0])
    assert claims.org_id == gateway.org_id
    page = requests.get(location, timeout=10)
    assert page.status_code == 200 and "launch received" in page.text
    context = deps.launch_repo().get_launch_context(claims.launch_id, now=int(time.time()))
    assert context is not None and context["lti_version_family"] == "1.3"
    return context


def test_an_instructor_launches_into_the_demo_class(gateway, platform):
    answer = browse(gateway, platform, PendingLaunch(gateway.stack["class_launch_url"], TEACHER, COURSE))

    context = reaches_the_demo_app(gateway, answer)
    assert context["class_id"] == gateway.stack["class_id"]
    assert context["user_id"] == "teacher-1" and context["is_instructor"] is True
    assert context["context_id"] == "course-42" and context["resource_link_id"] == "resource-link-1"
    assert context["issuer"] == platform.issuer and context["client_id"] == platform.client_id
    assert context["deployment_id"] == "deployment-1"
    assert context["nrps"]["context_memberships_url"].startswith(platform.issuer)
    assert context["ags_endpoint"]["lineitems"].startswith(platform.issuer)
    assert context["kid"] == platform.kid
    sent = platform.auth_requests[-1]
    launch_url = f"{gateway.base_url}/lti/orgs/{gateway.org_id}/launch"
    assert sent["redirect_uri"] == launch_url and sent["client_id"] == platform.client_id


def test_a_student_launches_into_a_unit(gateway, platform):
    unit = gateway.stack["units"][0]
    answer = browse(gateway, platform, PendingLaunch(unit["launch_url"], STUDENT, COURSE))

    context = reaches_the_demo_app(gateway, answer)
    assert context["unit_id"] == unit["unit_id"]
    assert context["is_learner"] is True and context["is_instructor"] is False
    assert context["user"]["email"] == "alan@example.edu"


def test_a_user_with_several_roles(gateway, platform):
    mentor = User("mentor-1", (INSTRUCTOR, MENTOR, ADMIN), "Ada Lovelace")
    answer = browse(gateway, platform, PendingLaunch(gateway.stack["class_launch_url"], mentor, COURSE))

    context = reaches_the_demo_app(gateway, answer)
    assert context["roles"] == [INSTRUCTOR, MENTOR, ADMIN]


def test_a_launch_without_a_course_context(gateway, platform):
    answer = browse(gateway, platform, PendingLaunch(gateway.stack["class_launch_url"], STUDENT, None))

    context = reaches_the_demo_app(gateway, answer)
    assert "context_id" not in context and "context" not in context


def test_a_deep_linking_request_reaches_the_app(gateway, platform):
    launch = PendingLaunch(f"{gateway.base_url}/lti/launch", TEACHER, COURSE, deep_linking=True)

    context = reaches_the_demo_app(gateway, browse(gateway, platform, launch))
    assert context["message_type"] == "LtiDeepLinkingRequest" and "class_id" not in context
    assert context["deep_linking_settings"]["deep_link_return_url"] == f"{platform.issuer}/deep-link-return"


def test_a_deep_linking_request_into_a_class(gateway, platform):
    launch = PendingLaunch(gateway.stack["class_launch_url"], TEACHER, COURSE, deep_linking=True)

    context = reaches_the_demo_app(gateway, browse(gateway, platform, launch))
    assert context["message_type"] == "LtiDeepLinkingRequest" and context["class_id"] == gateway.stack["class_id"]


def test_the_platform_key_is_fetched_once_and_cached(gateway, platform):
    def launch() -> None:
        reaches_the_demo_app(
            gateway, browse(gateway, platform, PendingLaunch(gateway.stack["class_launch_url"], STUDENT, COURSE))
        )

    launch()  # the first launch in this process may fetch the key set (whichever test runs first)
    fetched = platform.jwks_requests
    for _ in range(2):
        launch()
    assert platform.jwks_requests == fetched <= 1


def test_a_replayed_form_post_gets_a_page(gateway, platform):
    browser = requests.Session()
    start = platform.login_url(_login_url(gateway), PendingLaunch(gateway.stack["class_launch_url"], STUDENT, COURSE))
    to_platform = browser.get(start, allow_redirects=False, timeout=10)
    form = AutoSubmitForm(browser.get(to_platform.headers["Location"], timeout=10).text)
    assert browser.post(form.action, data=form.fields, allow_redirects=False, timeout=10).status_code == 302

    replay = browser.post(form.action, data=form.fields, allow_redirects=False, timeout=10)

    assert replay.status_code == 401 and "invalid_state" in replay.text
    assert replay.headers["Content-Type"].startswith("text/html")


def test_a_login_for_an_unregistered_platform_gets_a_page(gateway):
    with Lti13Platform() as stranger:
        start = stranger.login_url(_login_url(gateway), PendingLaunch(gateway.stack["class_launch_url"], STUDENT, None))
        answer = requests.get(start, allow_redirects=False, timeout=10)
    assert answer.status_code == 400 and "unknown_platform" in answer.text


def test_a_platform_offering_client_side_storage_gets_the_storage_page_and_the_launch_works(gateway, platform):
    """With ``lti_storage_target`` the login answers the page that stores state and nonce in the
    platform's frame before going on; a browser that runs no script (like this one) follows the page's
    link to the same authentication request, and the server-side state alone completes the launch."""
    browser = requests.Session()
    launch = PendingLaunch(gateway.stack["class_launch_url"], STUDENT, COURSE)
    start = platform.login_url(_login_url(gateway), launch) + "&lti_storage_target=_parent"

    page = browser.get(start, allow_redirects=False, timeout=10)

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Cache-Control"] == "no-store" and "Location" not in page.headers
    [script_nonce] = re.findall(r'<script nonce="([^"]+)">', page.text)
    assert f"script-src 'nonce-{script_nonce}'" in page.headers["Content-Security-Policy"]
    [link] = re.findall(r'<noscript><p><a href="([^"]+)">', page.text)
    auth_request = html.unescape(link)
    assert auth_request.startswith(platform.auth_url + "?") and "lti_storage_target" not in auth_request

    form_page = browser.get(auth_request, allow_redirects=False, timeout=10)
    assert form_page.status_code == 200, form_page.text
    form = AutoSubmitForm(form_page.text)
    context = reaches_the_demo_app(
        gateway, browser.post(form.action, data=form.fields, allow_redirects=False, timeout=10)
    )
    assert context["user_id"] == STUDENT.id


def test_the_lti11_binding_routes_are_served(gateway, platform):
    """``GET …/lti11-bindings`` and ``POST …/{binding_id}/approve|reject`` reach the platforms function."""
    headers = {"Authorization": f"Bearer {gateway.api_key}"}
    listed = requests.get(
        f"{gateway.base_url}/api/platforms", params={"url": platform.issuer}, headers=headers, timeout=10
    )
    [registered] = listed.json()["platforms"]
    base = f"{gateway.base_url}/api/platforms/{registered['id']}/lti11-bindings"

    answer = requests.get(base, headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"bindings": [], "next": None}
    for decision in ("approve", "reject"):
        unknown = requests.post(f"{base}/lb_{'0' * 32}/{decision}", headers=headers, timeout=10)
        assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
