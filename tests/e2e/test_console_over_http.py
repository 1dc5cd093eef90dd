"""The owner console's session over the local gateway (issue 15): a real HTTP client keeps the cookie,
the gateway moves it into the event's ``cookies`` like API Gateway, and the /api/* routes accept it."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import requests


def test_sign_in_then_use_the_api_with_the_cookie(gateway):
    browser = requests.Session()
    signed = browser.post(f"{gateway.base_url}/console/session", json={"api_key": gateway.api_key}, timeout=30)
    assert signed.status_code == 200, signed.text
    session = signed.json()
    set_cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie and "Path=/" in set_cookie

    org = browser.get(f"{gateway.base_url}/api/org", timeout=30)
    assert org.status_code == 200, org.text
    assert org.json()["org_id"] == session["org_id"]

    refused = browser.patch(f"{gateway.base_url}/api/org", json={"tool_name": "Changed"}, timeout=30)
    assert refused.status_code == 403 and refused.json()["error"] == "csrf_token_missing"
    assert browser.get(f"{gateway.base_url}/api/org", timeout=30).json()["tool_name"] != "Changed"

    page = browser.get(f"{gateway.base_url}/console", timeout=30)
    assert page.status_code == 200 and "script-src 'self'" in page.headers["Content-Security-Policy"]

    out = browser.delete(
        f"{gateway.base_url}/console/session", headers={"X-CSRF-Token": session["csrf_token"]}, timeout=30
    )
    assert out.status_code == 200 and out.json() == {"signed_out": True}
    assert browser.get(f"{gateway.base_url}/console/session", timeout=30).status_code == 401


def _own_session(gateway) -> tuple[requests.Session, dict]:
    browser = requests.Session()
    signed = browser.post(f"{gateway.base_url}/console/session", json={"api_key": gateway.api_key}, timeout=30)
    assert signed.status_code == 200, signed.text
    return browser, signed.json()


def test_a_sign_in_from_another_origin_sets_no_cookie(gateway):
    """Login CSRF: a page elsewhere posting the attacker's key (no Content-Type needs no preflight)."""
    url = f"{gateway.base_url}/console/session"
    body = json.dumps({"api_key": gateway.api_key})
    for headers in (
        {"Origin": "https://evil.example", "Content-Type": "application/json"},
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
        {},  # no Content-Type at all
        {"Content-Type": "text/plain"},
    ):
        answer = requests.post(url, data=body, headers=headers, timeout=30)
        assert answer.status_code in (403, 415), (headers, answer.status_code, answer.text)
        assert "Set-Cookie" not in answer.headers, headers
    own = requests.post(
        url,
        data=body,
        headers={"Origin": gateway.base_url, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"},
        timeout=30,
    )
    assert own.status_code == 200, own.text


def test_one_link_redeemed_concurrently_opens_exactly_one_session(gateway):
    from lti_gateway.admin import console_sessions, orgs

    principal = orgs.Principal(gateway.stack["org_id"], gateway.stack["credential_id"], "owner")
    token = console_sessions.create_sign_in_link(principal, base=gateway.base_url)["url"].split("#link=", 1)[1]
    barrier = threading.Barrier(8)

    def redeem(_: int) -> int:
        barrier.wait(timeout=30)
        return requests.post(f"{gateway.base_url}/console/session", json={"link": token}, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(redeem, range(8)))
    assert statuses == [200] + [401] * 7, statuses


def test_a_class_scoped_session_stays_in_its_class_whatever_the_path(gateway):
    from lti_gateway.admin import console_sessions

    owner, session = _own_session(gateway)
    csrf = {"X-CSRF-Token": session["csrf_token"]}
    base = gateway.base_url
    mine = owner.post(f"{base}/api/classes", json={"name": "Mine"}, headers=csrf, timeout=30).json()["class_id"]
    theirs = owner.post(f"{base}/api/classes", json={"name": "Theirs"}, headers=csrf, timeout=30).json()["class_id"]
    unit = owner.post(f"{base}/api/classes/{theirs}/units", json={"name": "U"}, headers=csrf, timeout=30).json()
    link = console_sessions.create_class_link(session["org_id"], session["credential_id"], mine, base=base)
    instructor = requests.Session()
    signed = instructor.post(f"{base}/console/session", json={"link": link["url"].split("#link=", 1)[1]}, timeout=30)
    assert signed.status_code == 200, signed.text
    token = {"X-CSRF-Token": signed.json()["csrf_token"]}
    assert instructor.get(f"{base}/api/classes/{mine}", timeout=30).status_code == 200
    for method, path in (
        ("GET", f"/api/classes/{theirs}"),
        ("GET", f"/api/classes/{mine}%2F..%2F{theirs}"),
        ("GET", f"/api/classes/{mine}/"),
        ("GET", f"//api/classes/{theirs}"),
        ("GET", f"/api/classes/{theirs.replace('cls_', 'cls%5F')}"),
        ("GET", f"/api/classes/{mine}/units/{unit['unit_id']}"),
        ("GET", f"/api/classes/{mine}/units/..%2F..%2F{theirs}"),
        ("GET", f"/api/classes/{mine}/units/{unit['unit_id']}/lti-config.xml"),
        ("GET", "/api/classes"),
        ("GET", "/api/lti-settings"),
        ("HEAD", f"/api/classes/{theirs}"),
        ("PATCH", f"/api/classes/{theirs}"),
        ("DELETE", f"/api/classes/{mine}"),
        ("POST", f"/api/classes/{mine}/units"),
    ):
        answer = instructor.request(method, base + path, json={"name": "x"}, headers=token, timeout=30)
        assert answer.status_code in (403, 404), (method, path, answer.status_code, answer.text[:200])
        assert "Theirs" not in answer.text and '"U"' not in answer.text, (method, path)
    names = {c["name"] for c in owner.get(f"{base}/api/classes", timeout=30).json()["classes"]}
    assert {"Mine", "Theirs"} <= names
    units = owner.get(f"{base}/api/classes/{mine}/units", timeout=30).json()["units"]
    assert units == []
