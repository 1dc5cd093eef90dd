"""The console's owner pages in a real browser: LTI 1.3 platforms, Organisation, exports, units, API keys.

Each test works in an organisation of its own (nothing the other browser tests see), through the pages'
visible labels and roles, and checks what it did through the admin API with the organisation's key
(requests) or, for downloads, with the browser's own session cookie (``page.request``).
The console asks "are you sure?" inline (a "Yes, …" button), never with ``confirm()``: a test that
removes or revokes something also checks that no dialog was opened.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import requests
from playwright.sync_api import expect

from tests.browser.helpers import api, sign_in


def nav(page):
    return page.get_by_role("navigation", name="Console pages")


def copy_value(page, label: str):
    """The text shown under a copyable value's label (``<p>label</p>`` then its ``<code>`` and Copy button)."""
    return page.locator(".copyable").filter(has=page.get_by_text(label, exact=True)).locator("code")


def copy(page, button) -> str:
    """Click a Copy button and return what landed on the clipboard (emptied first, so nothing stale counts).

    Waits for the button's own "✓ Copied" (shown once the clipboard write has finished); the shared
    announcer may still say "Copied" from an earlier button.
    """
    page.evaluate("navigator.clipboard.writeText('')")
    button.click()
    expect(button.locator("xpath=../*[contains(@class, 'copy-done')]")).to_have_text("✓ Copied")
    expect(page.locator("#announcer")).to_have_text("Copied")
    return page.evaluate("navigator.clipboard.readText()")


def announced(page, text: str):
    return expect(page.locator("#announcer")).to_have_text(text)


def open_page(page, link: str, heading: str) -> None:
    nav(page).get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()


# ---------------------------------------------------------------------------------- LTI 1.3 platforms


def test_lti13_platforms_page_shows_the_tool_urls_and_creates_a_registration_url(gateway, page, shot):
    org = gateway.create_organisation("Platforms University")
    sign_in(page, org.api_key)
    open_page(page, "LTI 1.3 platforms", "LTI 1.3 platforms")

    config = api(gateway, "GET", "/api/tool-configuration", org.api_key)
    assert config.status_code == 200, config.text
    cfg = config.json()
    expected = {
        "Login URL (OIDC login initiation)": cfg["login_url"],
        "Redirect URL (launch)": (cfg.get("redirect_uris") or [cfg.get("launch_url")])[0],
        "Target link URI (also deep linking)": cfg["target_link_uri"],
        "Public keyset URL (JWKS)": cfg["jwks_url"],
    }
    for label, value in expected.items():
        assert value and value.startswith(gateway.base_url), (label, value)
        expect(copy_value(page, label)).to_have_text(value)
    shot(page, "the tool's LTI 1.3 URLs")
    for what, value in (
        ("login URL", cfg["login_url"]),
        ("redirect URL", expected["Redirect URL (launch)"]),
        ("JWKS URL", cfg["jwks_url"]),
    ):
        assert copy(page, page.get_by_role("button", name=f"Copy {what}")) == value, what

    dynamic = page.get_by_role("region", name="Dynamic registration")
    dynamic.get_by_label("Valid for (days)").fill("2")
    dynamic.get_by_role("button", name="Create registration URL").click()
    created = page.get_by_role("region", name="Registration URL created")
    expect(created).to_be_visible()
    expect(created).to_contain_text("You will not see this again.")
    registration_url = created.locator("code").inner_text()
    assert registration_url.startswith(gateway.base_url), registration_url
    shot(page, "registration URL created with a Copy button")
    assert copy(page, created.get_by_role("button", name="Copy registration URL")) == registration_url
    created.get_by_role("button", name="I have copied it, hide it").click()
    expect(created).to_have_count(0)
    assert registration_url not in page.content()


def test_a_platform_registered_by_hand_is_refused_with_a_bad_url_then_registered_and_toggled(gateway, page, shot):
    org = gateway.create_organisation("Canvas University")
    sign_in(page, org.api_key)
    open_page(page, "LTI 1.3 platforms", "LTI 1.3 platforms")
    form = page.get_by_role("region", name="Register a platform by hand")
    registered = page.get_by_role("list", name="LTI 1.3 platforms")

    form.get_by_label("Name").fill("Canvas test")
    form.get_by_label("Issuer (platform id)").fill("https://canvas.example.edu")
    form.get_by_label("Client ID").fill("10000000000042")
    form.get_by_label("Deployment IDs (one per line)").fill("1:abc\n2:def")
    form.get_by_label("Authentication request URL (OIDC auth endpoint)").fill("not a url")
    form.get_by_label("Access token URL").fill("https://canvas.example.edu/login/oauth2/token")
    form.get_by_label("Platform keyset URL (JWKS)").fill("https://canvas.example.edu/api/lti/security/jwks")
    form.get_by_role("button", name="Register platform").click()

    refusal = form.get_by_role("alert")
    expect(refusal).to_contain_text("(HTTP 400)")
    expect(refusal).to_contain_text("authenticationEndpoint")
    shot(page, "a bad authentication URL refused by the API")
    assert api(gateway, "GET", "/api/platforms", org.api_key).json()["platforms"] == []
    expect(registered.get_by_role("listitem")).to_have_count(0)
    expect(form.get_by_label("Name")).to_have_value("Canvas test")  # what was typed is kept to be corrected

    form.get_by_label("Authentication request URL (OIDC auth endpoint)").fill(
        "https://canvas.example.edu/api/lti/authorize_redirect"
    )
    form.get_by_role("button", name="Register platform").click()

    expect(form.get_by_role("status")).to_contain_text("Platform “Canvas test” registered")
    expect(form.get_by_role("alert")).to_have_count(0)
    stored = api(gateway, "GET", "/api/platforms", org.api_key).json()["platforms"]
    assert len(stored) == 1
    platform = stored[0]
    assert (platform["url"], platform["clientId"], platform["deploymentIds"]) == (
        "https://canvas.example.edu",
        "10000000000042",
        ["1:abc", "2:def"],
    )
    assert platform["authenticationEndpoint"] == "https://canvas.example.edu/api/lti/authorize_redirect"
    assert platform["active"] is True
    card = registered.get_by_role("listitem").filter(has_text="Canvas test")
    expect(card.get_by_role("heading", level=3)).to_have_text(re.compile(r"Canvas test\s+active"))
    expect(card).to_contain_text(platform["id"])
    expect(card).to_contain_text("1:abc, 2:def")
    shot(page, "platform registered and active")

    card.get_by_role("button", name="Deactivate Canvas test").click()
    announced(page, "Canvas test deactivated")
    card = registered.get_by_role("listitem").filter(has_text="Canvas test")
    expect(card.get_by_role("heading", level=3)).to_have_text(re.compile(r"Canvas test\s+inactive"))
    expect(card.get_by_role("button", name="Deactivate Canvas test")).to_have_count(0)
    shot(page, "platform deactivated")
    assert api(gateway, "GET", f"/api/platforms/{platform['id']}", org.api_key).json()["active"] is False

    page.reload()  # the state shown is the stored one, not only the page's memory
    card = registered.get_by_role("listitem").filter(has_text="Canvas test")
    expect(card.get_by_role("heading", level=3)).to_have_text(re.compile(r"Canvas test\s+inactive"))
    card.get_by_role("button", name="Activate Canvas test").click()
    announced(page, "Canvas test activated")
    card = registered.get_by_role("listitem").filter(has_text="Canvas test")
    expect(card.get_by_role("heading", level=3)).to_have_text(re.compile(r"Canvas test\s+active"))
    expect(card.get_by_role("button", name="Deactivate Canvas test")).to_be_visible()
    shot(page, "platform activated again")
    assert api(gateway, "GET", f"/api/platforms/{platform['id']}", org.api_key).json()["active"] is True


# --------------------------------------------------------------------------------------- Organisation


def test_an_owner_saves_the_tool_name_and_app_launch_url_and_a_member_sees_them_read_only(gateway, page, shot):
    org = gateway.create_organisation("Settings University")
    sign_in(page, org.api_key)
    open_page(page, "Organisation", "Organisation")
    expect(page.get_by_text("Settings University", exact=True)).to_be_visible()

    page.get_by_label("Tool name").fill("Physics Lab")
    page.get_by_label("App launch URL", exact=True).fill("https://app.example.org/lti/launch")
    page.get_by_role("button", name="Save organisation settings").click()
    expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    shot(page, "organisation settings saved")
    stored = api(gateway, "GET", "/api/org", org.api_key).json()
    assert stored["tool_name"] == "Physics Lab"
    assert stored["app_launch_url"] == "https://app.example.org/lti/launch"
    assert "https://app.example.org" in stored["app_origins"]  # saving a URL allows its origin

    page.reload()
    expect(page.get_by_role("heading", name="Organisation", level=1)).to_be_visible()
    expect(page.get_by_label("Tool name")).to_have_value("Physics Lab")
    expect(page.get_by_label("App launch URL", exact=True)).to_have_value("https://app.example.org/lti/launch")
    expect(page.get_by_label("App origins (one per line)")).to_have_value(re.compile(r"https://app\.example\.org"))
    shot(page, "after a reload the saved values are shown")

    member = api(gateway, "POST", "/api/credentials", org.api_key, json={"role": "member", "label": "Member"})
    assert member.status_code == 201, member.text
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    sign_in(page, member.json()["api_key"])
    open_page(page, "Organisation", "Organisation")
    settings = page.get_by_role("region", name="Launch and tool settings")
    expect(settings).to_contain_text("Only an organisation owner can change these settings.")
    expect(settings).to_contain_text("Physics Lab")
    expect(settings).to_contain_text("https://app.example.org/lti/launch")
    expect(page.get_by_role("button", name="Save organisation settings")).to_have_count(0)
    for label in ("Tool name", "App launch URL", "App origins (one per line)", "Tool description"):
        expect(page.get_by_role("textbox", name=label)).to_have_count(0)
    shot(page, "a member sees the settings read only")
    csrf = page.request.get("/console/session").json()["csrf_token"]  # what the page itself would send
    refused = page.request.patch("/api/org", data={"tool_name": "Changed by a member"}, headers={"X-CSRF-Token": csrf})
    assert refused.status == 403 and refused.json()["error"] == "owner_role_required", refused.text()
    assert api(gateway, "GET", "/api/org", org.api_key).json()["tool_name"] == "Physics Lab"


# ------------------------------------------------------------------------------------------- Exports

EXPORTS = {
    "CSV spreadsheet": ("csv", "text/csv"),
    "JSON": ("json", "application/json"),
    "Common Cartridge (.imscc)": ("cc", "application/vnd.ims.imsccv1p1"),
    "LTI 1.1 XML configuration": ("xml", "application/xml"),
}


def new_class_with_units(gateway, api_key: str, name: str, units: list[str]) -> str:
    created = api(gateway, "POST", "/api/classes", api_key, json={"name": name})
    assert created.status_code == 201, created.text
    class_id = created.json()["class_id"]
    for unit in units:
        added = api(gateway, "POST", f"/api/classes/{class_id}/units", api_key, json={"name": unit})
        assert added.status_code == 201, added.text
    return class_id


def test_the_class_and_export_pages_download_links_answer_with_the_browsers_cookie(gateway, page, context, shot):
    org = gateway.create_organisation("Export University")
    class_id = new_class_with_units(gateway, org.api_key, "Chemistry 2", ["Atoms", "Bonds"])
    sign_in(page, org.api_key)
    page.goto(f"/console#/classes/{class_id}")
    expect(page.get_by_role("heading", name="Chemistry 2", level=1)).to_be_visible()
    units = page.get_by_role("list", name="Units").get_by_role("listitem")
    expect(units).to_have_count(2)
    shown_urls = units.locator("code").all_inner_texts()
    class_url = copy_value(page, "Class launch URL").inner_text()
    assert len(set(shown_urls)) == 2 and all(u.startswith(gateway.base_url) for u in shown_urls), shown_urls
    downloads = page.get_by_role("region", name="Download this class's LTI settings")
    shot(page, "class page with its download links")

    for name, (fmt, media_type) in EXPORTS.items():
        link = downloads.get_by_role("link", name=name)
        href = link.get_attribute("href")
        assert href == f"/api/classes/{class_id}/lti-settings?format={fmt}", href
        answer = page.request.get(href)  # the browser's own cookie, as a click on the link sends it
        assert answer.status == 200, (name, answer.status, answer.text()[:300])
        assert answer.headers["content-type"].split(";")[0].strip() == media_type, (name, answer.headers)
        assert "attachment" in answer.headers.get("content-disposition", ""), (name, answer.headers)
        body = answer.body()
        if fmt == "csv":
            text = body.decode("utf-8-sig")
            rows = list(csv.reader(io.StringIO(text)))
            cells = {cell for row in rows for cell in row}
            for url in [class_url, *shown_urls]:
                assert url in cells, (url, text)  # the launch URLs the page shows, as cells
        elif fmt == "json":
            assert all(url in answer.text() for url in shown_urls)
        elif fmt == "cc":
            with zipfile.ZipFile(io.BytesIO(body)) as cartridge:
                assert "imsmanifest.xml" in cartridge.namelist()
                everything = "".join(cartridge.read(n).decode("utf-8") for n in cartridge.namelist())
            assert all(url in everything for url in shown_urls)
        else:
            assert body.lstrip().startswith(b"<?xml") and class_url.encode() in body
        # Without the browser's cookie the same link is refused: it is the cookie that authenticates.
        assert requests.get(f"{gateway.base_url}{href}", timeout=30).status_code == 401

    with page.expect_download() as clicked:  # a click downloads the file (no navigation away)
        downloads.get_by_role("link", name="CSV spreadsheet").click()
    assert clicked.value.suggested_filename.endswith(".csv"), clicked.value.suggested_filename
    expect(page.get_by_role("heading", name="Chemistry 2", level=1)).to_be_visible()

    open_page(page, "Export LTI settings", "Export LTI settings")
    section = page.get_by_role("region", name="Chemistry 2")
    expect(section.get_by_role("link")).to_have_count(4)
    shot(page, "export page")
    for name, (fmt, media_type) in EXPORTS.items():
        href = section.get_by_role("link", name=name).get_attribute("href")
        assert href == f"/api/classes/{class_id}/lti-settings?format={fmt}", href
        answer = context.request.get(href)
        assert answer.status == 200 and answer.headers["content-type"].startswith(media_type), (name, answer.status)
    every = page.get_by_role("region", name="Every class")
    for name, media_type in (
        ("All classes as CSV", "text/csv"),
        ("All classes as JSON", "application/json"),
        ("Canvas developer key JSON (LTI 1.3 platform configuration)", "application/json"),
    ):
        answer = context.request.get(every.get_by_role("link", name=name).get_attribute("href"))
        assert answer.status == 200, (name, answer.status, answer.text()[:300])
        assert answer.headers["content-type"].startswith(media_type), (name, answer.headers)
    all_csv = context.request.get("/api/lti-settings?format=csv").text()
    assert all(url in all_csv for url in shown_urls)


# --------------------------------------------------------------------------------------------- Units


def test_a_unit_is_renamed_and_another_removed_and_the_class_page_shows_it_after_a_reload(
    gateway, page, problems, shot
):
    org = gateway.create_organisation("Units University")
    class_id = new_class_with_units(gateway, org.api_key, "History 3", ["Rome", "Greece", "Egypt"])
    sign_in(page, org.api_key)
    page.goto(f"/console#/classes/{class_id}")
    expect(page.get_by_role("heading", name="History 3", level=1)).to_be_visible()
    units = page.get_by_role("list", name="Units")
    expect(units.get_by_role("heading", level=3)).to_have_text(["Rome", "Greece", "Egypt"])
    rome_url = units.get_by_role("listitem").filter(has_text="Rome").locator("code").inner_text()

    units.get_by_role("button", name="Rename Rome").click()
    units.get_by_label("New name for Rome").fill("Ancient Rome")
    units.get_by_role("button", name="Save unit").click()
    announced(page, "Unit saved")
    expect(units.get_by_role("heading", level=3)).to_have_text(["Ancient Rome", "Greece", "Egypt"])
    shot(page, "unit renamed")

    units.get_by_role("button", name="Remove Greece").click()
    expect(units.get_by_text("Remove unit “Greece”?")).to_be_visible()
    shot(page, "asked to confirm the removal")
    units.get_by_role("button", name="Cancel").click()  # changing one's mind keeps the unit
    expect(units.get_by_role("heading", level=3)).to_have_text(["Ancient Rome", "Greece", "Egypt"])
    units.get_by_role("button", name="Remove Greece").click()
    units.get_by_role("button", name="Yes, remove unit").click()
    announced(page, "Unit removed")
    expect(units.get_by_role("heading", level=3)).to_have_text(["Ancient Rome", "Egypt"])
    assert problems.dialogs == []  # asked inline, not with confirm()

    page.reload()
    expect(page.get_by_role("heading", name="History 3", level=1)).to_be_visible()
    expect(units.get_by_role("heading", level=3)).to_have_text(["Ancient Rome", "Egypt"])
    renamed = units.get_by_role("listitem").filter(has_text="Ancient Rome")
    expect(renamed.locator("code")).to_have_text(rome_url)  # a rename keeps the launch URL in the LMS working
    shot(page, "after a reload")
    stored = api(gateway, "GET", f"/api/classes/{class_id}/units", org.api_key).json()["units"]
    assert [u["name"] for u in stored] == ["Ancient Rome", "Egypt"]


# ------------------------------------------------------------------------------------------ API keys


def test_a_member_api_key_is_shown_once_then_revoked_and_refused_on_the_sign_in_form(gateway, page, shot):
    org = gateway.create_organisation("Credentials University")
    sign_in(page, org.api_key)
    open_page(page, "API keys", "API keys")

    page.get_by_label("Role").select_option(label="Member (classes and units)")
    page.get_by_label("Label (optional)").fill("Teaching assistant")
    page.get_by_role("button", name="Create API key").click()
    once = page.get_by_role("region", name="New member API key created")
    expect(once).to_be_visible()
    expect(once).to_contain_text("You will not see this again.")
    member_key = once.locator("code").inner_text()
    shot(page, "member API key shown once")
    assert copy(page, once.get_by_role("button", name="Copy API key")) == member_key
    assert api(gateway, "GET", "/api/classes", member_key).status_code == 200  # it works
    listed = [
        c
        for c in api(gateway, "GET", "/api/credentials", org.api_key).json()["credentials"]
        if c.get("label") == "Teaching assistant"
    ]
    assert len(listed) == 1 and listed[0]["role"] == "member"
    credential_id = listed[0]["credential_id"]

    page.reload()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    card = page.get_by_role("list", name="API keys").get_by_role("listitem").filter(has_text=credential_id)
    expect(card).to_contain_text("Teaching assistant")
    assert member_key not in page.content()  # shown once: not after a reload
    card.get_by_role("button", name=f"Revoke API key {credential_id}").click()
    card.get_by_role("button", name="Yes, revoke API key").click()
    announced(page, "API key revoked")
    card = page.get_by_role("list", name="API keys").get_by_role("listitem").filter(has_text=credential_id)
    expect(card.get_by_role("heading", level=3)).to_contain_text("revoked")
    expect(card.get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)
    shot(page, "member API key revoked")
    assert api(gateway, "GET", "/api/classes", member_key).status_code == 401

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_label("API key").fill(member_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("(HTTP 401)")
    expect(page.get_by_role("alert")).to_contain_text("revoked")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    shot(page, "the revoked key refused on the sign-in form")
    assert page.request.get("/console/session").status == 401
