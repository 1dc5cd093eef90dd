"""The console (/console) in a real browser: what an owner, a member and a signed-out person see and do.

Each test signs in through the page's own form, works through its pages by their visible labels and
roles, and checks the result both on the page and through the admin API with the organisation's key.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import api, sign_in

PAYLOAD = "<img src=x onerror=alert(1)>"


def nav(page):
    return page.get_by_role("navigation", name="Console pages")


def test_signing_in_with_an_api_key_opens_the_organisations_console(gateway, page, shot):
    page.goto("/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shot(page, "sign-in form")

    page.get_by_label("API key").fill(gateway.api_key)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Demo University · Owner")).to_be_visible()
    expect(page.get_by_role("heading", name="Classes", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Demo Class")).to_be_visible()
    shot(page, "signed in as the owner")
    for name in ("Organisation", "Classes", "LTI 1.1 keys", "LTI 1.3 platforms", "API keys", "Launch errors"):
        expect(nav(page).get_by_role("link", name=name)).to_be_visible()
    assert gateway.api_key not in page.content()  # the field was emptied


def test_a_wrong_api_key_is_refused_on_the_sign_in_form(gateway, page, shot):
    page.goto("/console")
    page.get_by_label("API key").fill("not-a-real-key")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_contain_text("HTTP 401")
    shot(page, "wrong API key refused")
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_an_lti11_key_is_created_its_secret_shown_once_then_rotated_and_revoked(gateway, page, shot):
    org = gateway.create_organisation("Keys University")
    sign_in(page, org.api_key)
    nav(page).get_by_role("link", name="LTI 1.1 keys").click()
    expect(page.get_by_role("heading", name="LTI 1.1 keys", level=1)).to_be_visible()

    page.get_by_label("Label (optional)").fill("Moodle of Keys University")
    page.get_by_role("button", name="Create key").click()

    once = page.get_by_role("region", name="New key “Moodle of Keys University” created")
    expect(once).to_be_visible()
    shot(page, "key created with its secret shown once")
    key, secret = once.locator("code").all_inner_texts()
    stored = api(gateway, "GET", f"/api/keys/{key}", org.api_key)
    assert stored.status_code == 200 and stored.json()["label"] == "Moodle of Keys University"
    assert secret and secret not in stored.text

    page.reload()
    card = page.get_by_role("list", name="LTI 1.1 keys").get_by_role("listitem").filter(has_text=key)
    expect(card).to_be_visible()
    shot(page, "after a reload the secret is not shown")
    assert secret not in page.content()

    card.get_by_role("button", name="Rotate secret of Moodle of Keys University").click()
    card.get_by_label("Grace period (hours)").fill("0")
    card.get_by_role("button", name="Rotate now").click()
    rotated = page.get_by_role("region", name="New secret for “Moodle of Keys University”")
    expect(rotated).to_be_visible()
    shot(page, "secret rotated")
    new_key, new_secret = rotated.locator("code").all_inner_texts()
    assert new_key == key and new_secret and new_secret != secret

    card.get_by_role("button", name="Revoke Moodle of Keys University").click()
    card.get_by_role("button", name="Yes, revoke key").click()
    expect(page.get_by_role("status").filter(has_text="Key revoked")).to_be_attached()
    card = page.get_by_role("list", name="LTI 1.1 keys").get_by_role("listitem").filter(has_text=key)
    expect(card).to_contain_text("Revoked")
    expect(card.get_by_role("button", name=re.compile("Rotate|Revoke"))).to_have_count(0)
    shot(page, "key revoked")
    assert api(gateway, "GET", f"/api/keys/{key}", org.api_key).json()["status"] == "revoked"


def test_a_class_is_created_lti_switched_on_its_lms_url_set_and_a_unit_url_copied(gateway, page, shot):
    org = gateway.create_organisation("Classes University")
    sign_in(page, org.api_key)

    page.get_by_label("Class name").fill("Biology 101")
    page.get_by_role("button", name="Create class").click()
    expect(page.get_by_role("heading", name="Biology 101", level=1)).to_be_visible()
    class_id = re.search(r"#/classes/(cls_[0-9a-f]+)$", page.url).group(1)

    enable = page.get_by_label("Enable LTI")
    enable.uncheck()
    page.get_by_role("button", name="Save class settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved. LTI is disabled")).to_be_visible()
    assert api(gateway, "GET", f"/api/classes/{class_id}", org.api_key).json()["lti_enabled"] is False

    enable.check()
    page.get_by_label("Class LMS URL").fill("https://lms.example.edu/courses/101")
    page.get_by_label("Accept this LMS site even though no launch came from it yet (owner confirmation)").check()
    page.get_by_role("button", name="Save class settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved. LTI is enabled")).to_be_visible()
    shot(page, "class settings saved")
    stored = api(gateway, "GET", f"/api/classes/{class_id}", org.api_key).json()
    assert stored["lti_enabled"] is True
    assert stored["class_lms_url"] == "https://lms.example.edu/courses/101"

    page.get_by_label("Unit name").fill("Cells")
    page.get_by_role("button", name="Add unit").click()
    unit = page.get_by_role("list", name="Units").get_by_role("listitem").filter(has_text="Cells")
    expect(unit).to_be_visible()
    unit.get_by_role("button", name="Copy launch URL of Cells").click()

    expect(page.locator("#announcer")).to_have_text("Copied")
    units = api(gateway, "GET", f"/api/classes/{class_id}/units", org.api_key).json()["units"]
    assert page.evaluate("navigator.clipboard.readText()") == units[0]["launch_url"]
    expect(unit.locator("code")).to_have_text(units[0]["launch_url"])
    shot(page, "unit launch URL copied")


def test_a_member_sees_no_keys_page_and_is_refused_it_by_address(gateway, page, shot):
    org = gateway.create_organisation("Members University")
    created = api(gateway, "POST", "/api/credentials", org.api_key, json={"role": "member", "label": "A member"})
    assert created.status_code == 201, created.text
    sign_in(page, created.json()["api_key"])

    expect(page.get_by_text("Members University · Member")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Classes")).to_be_visible()
    for name in ("LTI 1.1 keys", "LTI 1.3 platforms", "API keys"):
        expect(nav(page).get_by_role("link", name=name)).to_have_count(0)
    shot(page, "member signed in")

    page.goto("/console#/keys")
    expect(page.get_by_role("heading", name="Not available")).to_be_visible()
    expect(page.get_by_text("This page is for organisation owners")).to_be_visible()
    shot(page, "member refused the keys page")
    assert page.request.get("/api/keys").status == 403  # the API says the same to the member's cookie


def test_signing_out_ends_the_session(gateway, page, context, shot):
    sign_in(page, gateway.api_key)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_text("You are signed out.")).to_be_visible()
    shot(page, "signed out")
    page.reload()
    expect(page.get_by_label("API key")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    shot(page, "reload after signing out shows the sign-in form")
    assert context.request.get("/console/session").status == 401
    assert context.request.get("/api/classes").status == 401


def test_html_in_names_and_labels_is_shown_as_text(gateway, page, problems, shot):
    org = gateway.create_organisation(PAYLOAD)  # the organisation's name is shown on every page
    member = api(gateway, "POST", "/api/credentials", org.api_key, json={"role": "member", "label": PAYLOAD})
    assert member.status_code == 201, member.text
    sign_in(page, org.api_key)
    expect(page.get_by_text(f"{PAYLOAD} · Owner")).to_be_visible()

    page.get_by_label("Class name").fill(PAYLOAD)
    page.get_by_role("button", name="Create class").click()
    expect(page.get_by_role("heading", name=PAYLOAD, level=1)).to_be_visible()
    page.get_by_label("Unit name").fill(PAYLOAD)
    page.get_by_role("button", name="Add unit").click()
    expect(page.get_by_role("list", name="Units").get_by_text(PAYLOAD, exact=True)).to_be_visible()
    shot(page, "class and unit named with HTML")
    nav(page).get_by_role("link", name="Classes").click()
    expect(page.get_by_role("heading", name="Classes", level=1)).to_be_visible()
    expect(page.get_by_role("list", name="Classes").get_by_role("link", name=PAYLOAD)).to_be_visible()
    shot(page, "class list with an HTML name")

    nav(page).get_by_role("link", name="LTI 1.1 keys").click()
    expect(page.get_by_role("heading", name="LTI 1.1 keys", level=1)).to_be_visible()
    page.get_by_label("Label (optional)").fill(PAYLOAD)
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_role("region", name=f"New key “{PAYLOAD}” created")).to_be_visible()
    expect(page.get_by_role("list", name="LTI 1.1 keys").get_by_text(PAYLOAD)).to_be_visible()
    shot(page, "key labelled with HTML")

    nav(page).get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_role("list", name="API keys").get_by_role("heading", name=PAYLOAD)).to_be_visible()
    shot(page, "API key labelled with HTML")

    page.wait_for_timeout(300)  # an injected <img src=x> would have errored (and alerted) by now
    assert page.locator("img[src=x]").count() == 0
    assert problems.dialogs == []


def test_the_one_time_sign_in_link_of_make_run_signs_the_owner_in_once(gateway, page, browser, shot):
    assert gateway.stack["console_url"].startswith(f"{gateway.base_url}/console#link=")  # what `make run` prints
    link = gateway.console_sign_in_link(gateway.owner_principal())["url"]  # a fresh one: that one may expire

    page.goto(link)

    expect(page.get_by_text("Demo University · Owner")).to_be_visible()
    expect(page.get_by_role("heading", name="Classes", level=1)).to_be_visible()
    assert "link=" not in page.url
    shot(page, "signed in by the one-time link")
    page.go_back()  # the token was replaced in the history, not kept behind the page
    assert "link=" not in page.url, page.url
    stranger = browser.new_context(base_url=gateway.base_url)
    try:
        again = stranger.new_page()
        again.goto(link)
        expect(again.get_by_text("This sign-in link could not be used")).to_be_visible()
    finally:
        stranger.close()


def test_the_console_pages_fit_a_phone_screen(gateway, page, shot):
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, gateway.api_key)

    for route, heading in (
        ("#/classes", "Classes"),
        (f"#/classes/{gateway.stack['class_id']}", "Demo Class"),
        ("#/keys", "LTI 1.1 keys"),
        ("#/platforms", "LTI 1.3 platforms"),
        ("#/api-keys", "API keys"),
    ):
        page.goto(f"/console{route}")
        expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".loading:visible")).to_have_count(0)  # every section has its answer
        shot(page, f"375 px {heading}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, route  # no sideways scrolling
