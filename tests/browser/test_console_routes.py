"""The console's routes attacked from a signed-in browser (its cookie jar, through Playwright's request API).

What a page of another site, a stolen stale cookie or a curious member could try: a write without the
CSRF header, another organisation's ids, a cookie that outlived its sign-out. Each refusal is checked
to have changed nothing stored (read back with the organisation's API key).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import api

COOKIE = "lti_gateway_console"  # http (local): no __Host- prefix


def session_of(context, api_key: str) -> dict:
    """Sign the browser context in as the console page does (POST /console/session): the cookie is set."""
    answer = context.request.post("/console/session", data={"api_key": api_key})
    assert answer.status == 200, answer.text()
    assert any(c["name"] == COOKIE for c in context.cookies()), context.cookies()
    return answer.json()


def class_names(gateway, api_key: str) -> list[str]:
    answer = api(gateway, "GET", "/api/classes", api_key)
    assert answer.status_code == 200, answer.text
    return [c["name"] for c in answer.json()["classes"]]


def test_a_write_without_the_csrf_header_is_refused_and_changes_nothing(gateway, context):
    org = gateway.create_organisation("CSRF University")
    session = session_of(context, org.api_key)

    missing = context.request.post("/api/classes", data={"name": "Planted by another site"})
    wrong = context.request.post(
        "/api/classes", data={"name": "Planted by another site"}, headers={"X-CSRF-Token": "0" * 64}
    )
    revoke = context.request.delete(f"/api/credentials/{org.credential_id}")

    assert (missing.status, missing.json()["error"]) == (403, "csrf_token_missing")
    assert (wrong.status, wrong.json()["error"]) == (403, "csrf_token_invalid")
    assert (revoke.status, revoke.json()["error"]) == (403, "csrf_token_missing")
    assert class_names(gateway, org.api_key) == []
    assert api(gateway, "GET", "/api/org", org.api_key).status_code == 200  # the key was not revoked
    # The same write with the session's token goes through: the refusals above were about the header.
    allowed = context.request.post(
        "/api/classes", data={"name": "Made in the console"}, headers={"X-CSRF-Token": session["csrf_token"]}
    )
    assert allowed.status == 201, allowed.text()
    assert class_names(gateway, org.api_key) == ["Made in the console"]


def test_another_organisations_class_through_a_session_is_not_found(gateway, context):
    mine = gateway.create_organisation("Mine University")
    theirs = gateway.create_organisation("Theirs University")
    their_class = api(gateway, "POST", "/api/classes", theirs.api_key, json={"name": "Their class"}).json()
    session = session_of(context, mine.api_key)
    csrf = {"X-CSRF-Token": session["csrf_token"]}
    path = f"/api/classes/{their_class['class_id']}"

    read = context.request.get(path)
    units = context.request.get(f"{path}/units")
    renamed = context.request.patch(path, data={"name": "Renamed by a stranger"}, headers=csrf)
    deleted = context.request.delete(path, headers=csrf)

    assert [a.status for a in (read, units, renamed, deleted)] == [404] * 4
    assert "Their class" not in read.text()
    assert class_names(gateway, theirs.api_key) == ["Their class"]


def test_a_session_cookie_kept_after_signing_out_is_refused(gateway, context):
    org = gateway.create_organisation("Stale University")
    session = session_of(context, org.api_key)
    cookie = next(c for c in context.cookies() if c["name"] == COOKIE)

    out = context.request.delete("/console/session", headers={"X-CSRF-Token": session["csrf_token"]})
    assert out.status == 200, out.text()
    assert [c for c in context.cookies() if c["name"] == COOKIE] == []  # the answer cleared it
    context.add_cookies([cookie])  # ... but someone kept a copy

    read = context.request.get("/api/classes")
    write = context.request.post(
        "/api/classes", data={"name": "After sign-out"}, headers={"X-CSRF-Token": session["csrf_token"]}
    )
    current = context.request.get("/console/session")

    assert (read.status, read.json()["error"]) == (401, "session_expired")
    assert (write.status, write.json()["error"]) == (401, "session_expired")
    assert (current.status, current.json()["error"]) == (401, "no_session")
    assert class_names(gateway, org.api_key) == []


def test_a_wrong_api_key_opens_no_session(gateway, context):
    answer = context.request.post("/console/session", data={"api_key": "not-a-key"})

    assert answer.status == 401
    assert [c for c in context.cookies() if c["name"] == COOKIE] == []
    assert context.request.get("/api/org").status == 401


@pytest.fixture
def attacker_page():
    """A page of another origin on this machine serving ``html`` at ``/`` (a thread, stdlib server)."""
    served = {"html": ""}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = served["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# localhost is another site than 127.0.0.1; 127.0.0.1 on another port is the same site, another origin.
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site"])
def test_a_page_of_another_origin_cannot_sign_the_browser_in(gateway, context, page, attacker_page, host):
    """Login CSRF: another origin's script posts an API key of ITS organisation to /console/session."""
    attacker = gateway.create_organisation("Attacker University")
    served, port = attacker_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/console/session") else None)
    sign_in_body = json.dumps({"api_key": attacker.api_key})
    served["html"] = (
        "<!doctype html><title>attacker</title><script>"
        f"fetch({gateway.base_url + '/console/session'!r}, {{method: 'POST', mode: 'no-cors', credentials: 'include',"
        f" body: new Blob([{sign_in_body!r}], {{type: 'application/json'}})}})"
        ".then(() => { document.title = 'sent'; }, () => { document.title = 'blocked'; });"
        "</script>"
    )

    page.goto(f"http://{host}:{port}/")
    expect(page).to_have_title(re.compile("sent|blocked"))

    assert page.title() == "sent" and answers, "the browser did not send it: the gateway's check was not tested"
    assert all(status in (403, 415) for status in answers), answers  # refused by the gateway itself
    assert [c for c in context.cookies() if c["name"] == COOKIE] == []
    assert context.request.get(f"{gateway.base_url}/console/session").status == 401


def test_a_page_of_the_same_site_cannot_write_with_the_signed_in_cookie(gateway, context, page, attacker_page):
    """127.0.0.1 on another port is the same site: the SameSite=Strict cookie goes along, the CSRF token cannot."""
    org = gateway.create_organisation("Victim University")
    session_of(context, org.api_key)  # the victim is signed in to the console in this browser
    served, port = attacker_page
    answers = []
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/api/classes") else None)
    served["html"] = (
        "<!doctype html><title>attacker</title><script>"
        f"fetch({gateway.base_url + '/api/classes'!r}, {{method: 'POST', mode: 'no-cors', credentials: 'include',"
        " body: new Blob(['{\"name\": \"Planted\"}'], {type: 'application/json'})})"
        ".then(() => { document.title = 'sent'; }, () => { document.title = 'blocked'; });"
        "</script>"
    )

    page.goto(f"http://127.0.0.1:{port}/")
    expect(page).to_have_title(re.compile("sent|blocked"))

    assert page.title() == "sent" and answers == [403], answers
    assert class_names(gateway, org.api_key) == []
