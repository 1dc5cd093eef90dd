"""Trying the gateway as `make run` offers it: the test LMS (/_lms/) launches into the demo app (/_demo/app).

Every step is what a person does in the browser: pick a class or unit, a user, a role and a protocol on
the test LMS, press Launch, follow the redirects and auto-submitting forms of the real LTI 1.1 / LTI 1.3
flows (cookies, CSP, Origin checks included), use the demo app's forms, and read the test LMS's page.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import api, sign_in

DEMO_APP = re.compile(r".*/_demo/app\?ltik=.*")


def launch(page, gateway, *, target: str, user: str, role: str, version: str, message: str = "Resource link launch"):
    """From the test LMS page to the demo app: the launch form filled in as a person would."""
    page.goto("/_lms/")
    page.get_by_label("Class or unit").select_option(label=target)
    page.get_by_label("User").select_option(label=user)
    page.get_by_label("Role").select_option(label=role)
    page.get_by_label(version, exact=True).check()
    page.get_by_label(message).check()
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url(DEMO_APP)
    expect(page.get_by_role("heading", name="Demo app: launch received")).to_be_visible()


def launch_details(page) -> str:
    return page.locator("dl[aria-labelledby=launch-heading]").inner_text()


def unit_target(gateway, index: int = 0) -> str:
    return f"Demo Class > {gateway.stack['units'][index]['name']}"


def test_an_lti11_launch_from_the_test_lms_lands_on_the_demo_app(gateway, page, shot):
    page.goto("/_lms/")
    shot(page, "test LMS")

    launch(
        page, gateway, target=unit_target(gateway), user="Alex Student (student-1)", role="Learner", version="LTI 1.1"
    )

    shot(page, "demo app after an LTI 1.1 learner launch")
    details = launch_details(page)
    assert "student-1" in details
    assert "basic-lti-launch-request" in details  # the LTI 1.x message (its ltiVersion reads "1.2.0", as LTIAAS)
    assert gateway.stack["units"][0]["name"] in details
    expect(page.get_by_role("button", name="Open this class in the console")).to_have_count(0)  # a learner


def test_an_lti13_launch_from_the_test_lms_lands_on_the_demo_app(gateway, page, shot):
    launch(
        page,
        gateway,
        target="Demo Class (whole class)",
        user="Casey Teacher (teacher-1)",
        role="Instructor",
        version="LTI 1.3",
    )

    shot(page, "demo app after an LTI 1.3 instructor launch")
    details = launch_details(page)
    assert "teacher-1" in details
    assert "LtiResourceLinkRequest (LTI 1.3.0)" in details
    assert "Demo Class" in details
    expect(page.get_by_role("button", name="Open this class in the console")).to_be_visible()  # staff


@pytest.mark.parametrize("version", ["LTI 1.1", "LTI 1.3"])
def test_a_score_sent_from_the_demo_app_shows_in_the_test_lms_grade_book(gateway, page, shot, version):
    user = "Blake Student (student-2)" if version == "LTI 1.1" else "Alex Student (student-1)"
    user_id = re.search(r"\((.*)\)", user).group(1)
    launch(page, gateway, target=unit_target(gateway, 1), user=user, role="Learner", version=version)
    form = page.get_by_role("form", name="Post a score")
    form.get_by_label("Learner").select_option(user_id)
    form.get_by_label("Score given").fill("7")
    form.get_by_label("Score maximum").fill("8")
    form.get_by_label("Comment").fill(f"Checked in the browser ({version})")
    shot(page, f"demo app score form {version}")

    form.get_by_role("button", name="Send score").click()

    expect(page.get_by_role("status")).to_contain_text(f"Score 7/8 for {user_id} sent")
    shot(page, f"demo app score sent {version}")
    page.goto("/_lms/")
    grade_book = page.get_by_role("table", name="Grade book")
    row = grade_book.get_by_role("row").filter(has_text=f"Checked in the browser ({version})")
    expect(row).to_have_count(1)
    shot(page, f"test LMS grade book {version}")
    cells = row.get_by_role("cell").all_inner_texts()
    assert cells[0] == version
    assert cells[3] == user_id
    # LTI 1.1 outcomes carry a fraction (7/8); LTI 1.3 AGS the score given and its maximum.
    assert cells[4] in (("0.875",) if version == "LTI 1.1" else ("7 / 8", "7.0 / 8.0", "7 / 8.0", "7.0 / 8")), cells


def test_a_deep_linking_round_trip_adds_the_picked_units_to_the_test_lms(gateway, page, shot):
    units = [u["name"] for u in gateway.stack["units"]]
    launch(
        page,
        gateway,
        target="Demo Class (whole class)",
        user="Casey Teacher (teacher-1)",
        role="Instructor",
        version="LTI 1.3",
        message="Deep linking (LTI 1.3 only)",
    )
    form = page.get_by_role("form", name="Pick units to add to the LMS")
    for name in units:
        form.get_by_label(name).check()
    shot(page, "demo app deep linking units picked")

    form.get_by_role("button", name="Return the selected units to the LMS").click()

    page.wait_for_url(re.compile(r".*/_lms/.*"))
    expect(page.get_by_role("status")).to_contain_text(f"Deep linking: {len(units)} unit(s) added by the demo app")
    received = page.get_by_role("table", name="Deep-linking items received")
    for name in units:
        expect(received.get_by_role("row").filter(has_text=name)).to_have_count(1)
    shot(page, "test LMS deep-linking items received")


def test_an_instructors_one_time_class_link_opens_only_that_class(gateway, page, shot, browser, problems):
    other = api(gateway, "POST", "/api/classes", json={"name": "Another class of Demo University"})
    assert other.status_code == 201, other.text
    launch(
        page,
        gateway,
        target="Demo Class (whole class)",
        user="Casey Teacher (teacher-1)",
        role="Instructor",
        version="LTI 1.3",
    )
    with page.expect_response(lambda r: r.url.endswith("/_demo/app/console")) as handed_over:
        page.get_by_role("button", name="Open this class in the console").click()
    link = handed_over.value.headers.get("location", "")
    assert link.startswith(f"{gateway.base_url}/console#link="), (handed_over.value.status, link)

    expect(page.get_by_role("heading", name="Demo Class", exact=True)).to_be_visible()
    shot(page, "console opened by an instructor's class link")
    assert "link=" not in page.url  # the one-time token is not kept in the address bar or history
    expect(page.get_by_text("Another class of Demo University")).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("keys", re.I))).to_have_count(0)
    # Only this class through the session's cookie: every other admin route is refused.
    session = page.request.get("/console/session").json()
    assert (session["role"], session["class_id"]) == ("instructor", gateway.stack["class_id"])
    assert page.request.get(f"/api/classes/{other.json()['class_id']}").status == 403
    assert page.request.get("/api/keys").status == 403

    # The link was used once: in another browser it opens nothing.
    stranger = browser.new_context(base_url=gateway.base_url)
    stranger.on("page", problems.watch)
    try:
        again = stranger.new_page()
        again.goto(link)
        expect(again.get_by_label("API key")).to_be_visible()
        expect(again.get_by_text("This sign-in link could not be used")).to_be_visible()
        shot(again, "the same class link used a second time")
        assert again.request.get("/console/session").status == 401
    finally:
        stranger.close()


def test_a_refused_launch_shows_a_reference_the_owner_looks_up_in_the_console(gateway, page, shot):
    created = api(gateway, "POST", "/api/classes", json={"name": "Switched off class", "lti_enabled": False})
    assert created.status_code == 201, created.text
    page.goto("/_lms/")
    page.get_by_label("Class or unit").select_option(label="Switched off class (whole class)")
    page.get_by_label("User").select_option(label="Alex Student (student-1)")
    page.get_by_label("LTI 1.1", exact=True).check()
    page.get_by_role("button", name="Launch").click()

    # The gateway refuses it and sends the browser back to the LMS's return URL with the message.
    page.wait_for_url(re.compile(r".*/_lms/return\?.*"))
    message = page.get_by_text("LTI launches are switched off for this class")
    expect(message).to_be_visible()
    shot(page, "refused launch message in the LMS with a reference")
    reference_text = re.search(r"Reference: [^ .)]+", message.inner_text()).group(0)
    reference = reference_text.removeprefix("Reference: ")

    sign_in(page, gateway.api_key)
    page.get_by_role("navigation", name="Console pages").get_by_role("link", name="Launch errors").click()
    page.get_by_label("Reference").fill(reference_text)  # pasted as shown, "Reference:" and all
    page.get_by_role("button", name="Look up").click()

    result = page.get_by_role("region", name=f"Launch error {reference}")
    expect(result).to_be_visible()
    expect(result).to_contain_text(created.json()["class_id"])
    shot(page, "launch error looked up in the console")
