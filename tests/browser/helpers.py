"""What the browser tests share besides fixtures: the admin API as a script calls it, signing in."""

from __future__ import annotations

from typing import Any

import requests


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def api(gateway, method: str, path: str, api_key: str | None = None, **kwargs: Any) -> requests.Response:
    """One admin API call with an API key (the demo owner's by default), as a script would make it."""
    headers = {**bearer(api_key or gateway.api_key), **kwargs.pop("headers", {})}
    return requests.request(method, f"{gateway.base_url}{path}", headers=headers, timeout=30, **kwargs)


def sign_in(page: Any, api_key: str) -> None:
    """The console's sign-in form: the API key in "API key", then "Sign in"; the form goes away."""
    from playwright.sync_api import expect

    page.goto("/console")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("API key")).to_have_count(0)
