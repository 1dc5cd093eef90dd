"""The demo app (/_demo/app) in the browser, before any launch."""

from __future__ import annotations

from playwright.sync_api import expect


def test_the_demo_app_without_a_launch_says_to_launch_from_the_lms(page, shot):
    page.goto("/_demo/app")

    shot(page, "demo app without a launch")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Demo app")
    expect(page.get_by_text("launch from the LMS")).to_be_visible()
