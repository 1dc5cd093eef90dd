"""POST/GET/DELETE /console/session and the console's page and assets (issue 15), through the console
function with API Gateway events on moto."""

from __future__ import annotations

import hashlib

import boto3
import pytest

from lti_gateway.core import config
from tests.support.console import *  # noqa: F403 (console_fn, sign_in, the https stack)
from tests.support.console import Signed, cookie_pair, event

SESSION_FIELDS = {"org_id", "org_name", "role", "credential_id", "class_id", "csrf_token", "expires_at"}


def _revoke(keys_fn, owner_key: str, credential_id: str) -> None:
    from tests.support.events import vary

    answer = keys_fn(vary("credentials-revoke.json", api_key=owner_key, path_params={"credential_id": credential_id}))
    assert answer.status == 200, answer.body


def _member(keys_fn, org) -> dict:
    from tests.support.events import vary

    answer = keys_fn(vary("credentials-create.json", api_key=org.api_key))
    assert answer.status == 201, answer.body
    return answer.body


def _launch_items(stack) -> list[dict]:
    table = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"])
    return table.scan()["Items"]


# -- sign in --------------------------------------------------------------------------------------------


def test_sign_in_with_api_key_answers_the_session_and_sets_a_strict_host_cookie(sign_in, org, stack, logs):
    signed = sign_in(api_key=org.api_key)
    assert set(signed.session) == SESSION_FIELDS
    assert signed.session["org_id"] == org.org_id
    assert signed.session["org_name"] == "Acme University"
    assert signed.session["role"] == "owner"
    assert signed.session["credential_id"] == org.credential_id
    assert signed.session["class_id"] is None
    attributes = [a.strip() for a in signed.set_cookie.split(";")]
    name, _, token = attributes[0].partition("=")
    assert name == "__Host-lti_gateway_console" and len(token) >= 43
    lowered = [a.lower() for a in attributes[1:]]
    assert "httponly" in lowered and "secure" in lowered
    assert "samesite=strict" in lowered and "path=/" in lowered
    assert not any(a.startswith("domain") for a in lowered)
    max_age = int(next(a for a in lowered if a.startswith("max-age=")).split("=")[1])
    assert 43000 < max_age <= 43200
    # the CSRF token is HMAC-SHA256(session token, "console-csrf"), hex
    import hmac

    assert signed.csrf == hmac.new(token.encode(), b"console-csrf", hashlib.sha256).hexdigest()
    # stored only hashed
    sessions = [i for i in _launch_items(stack) if i["pk"].startswith("CONSOLESESSION#")]
    assert [i["pk"] for i in sessions] == [f"CONSOLESESSION#{hashlib.sha256(token.encode()).hexdigest()}"]
    assert token not in str(sessions) and org.api_key.split(".")[1] not in str(sessions)
    assert int(sessions[0]["expires_at"]) > 0
    # no secret in any log line
    written = logs.getvalue()
    for secret in (token, org.api_key.split(".")[1], signed.csrf):
        assert secret not in written


def test_plain_http_base_has_no_host_prefix_and_no_secure(sign_in, org, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:3000")
    config.settings.cache_clear()
    signed = sign_in(api_key=org.api_key)
    assert signed.cookie.startswith("lti_gateway_console=")
    lowered = [a.strip().lower() for a in signed.set_cookie.split(";")]
    assert "secure" not in lowered and "httponly" in lowered and "samesite=strict" in lowered


def test_member_signs_in_as_member(sign_in, org, keys_fn):
    member = _member(keys_fn, org)
    assert sign_in(api_key=member["api_key"]).session["role"] == "member"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"api_key": "ak_0123456789abcdef.wrong"}, 401, "invalid_api_key"),
        ({"api_key": "nonsense"}, 401, "invalid_api_key"),
        ({}, 400, "validation_failed"),
        ({"api_key": "x", "link": "y"}, 400, "validation_failed"),
        ({"api_key": 12}, 400, "validation_failed"),
        ({"api_key": None}, 400, "validation_failed"),
        ({"api_key": ["a"]}, 400, "validation_failed"),
        ({"api_key": ""}, 400, "validation_failed"),
        ({"link": {"a": 1}}, 400, "validation_failed"),
        ({"api_key": "a" * 5000}, 413, "body_too_large"),
        ({"link": "a" * 500}, 400, "validation_failed"),
        ({"api_key": "ak_0123456789abcdef.\u0000x"}, 400, "invalid_text"),
        ({"password": "x"}, 400, "validation_failed"),
    ],
)
def test_bad_sign_in_is_a_clear_4xx_and_sets_no_cookie(console_fn, org, stack, body, status, code):
    answer = console_fn(event("POST", "/console/session", body=body))
    assert answer.status == status, answer.body
    assert answer.body["error"] == code
    assert not answer.cookies
    assert not [i for i in _launch_items(stack) if i["pk"].startswith("CONSOLE")]


@pytest.mark.parametrize(
    "raw",
    ["{", "[]", '"text"', "null", '{"api_key": "\\ud800"}', '{"link": "\\udfff"}', "\x00", "[[[[" * 3000],
)
def test_malformed_json_is_a_4xx(console_fn, org, raw):
    answer = console_fn(event("POST", "/console/session", raw_body=raw))
    assert 400 <= answer.status < 500, (answer.status, answer.body)
    assert not answer.cookies


def test_wrong_media_type_is_415(console_fn, org):
    e = event("POST", "/console/session", body={"api_key": org.api_key}, headers={"content-type": "text/plain"})
    assert console_fn(e).status == 415


def test_revoked_key_cannot_sign_in(console_fn, org, keys_fn):
    member = _member(keys_fn, org)
    _revoke(keys_fn, org.api_key, member["credential_id"])
    answer = console_fn(event("POST", "/console/session", body={"api_key": member["api_key"]}))
    assert (answer.status, answer.body["error"]) == (401, "api_key_revoked")
    assert not answer.cookies


# -- the session ------------------------------------------------------------------------------------------


def test_get_session_answers_the_same_json(console_fn, sign_in, org):
    signed = sign_in(api_key=org.api_key)
    answer = console_fn(event("GET", "/console/session", cookie=signed.cookie))
    assert answer.status == 200
    assert answer.body == signed.session
    assert answer.headers["cache-control"] == "no-store"


def test_get_session_also_reads_a_cookie_header(console_fn, sign_in, org):
    signed = sign_in(api_key=org.api_key)
    answer = console_fn(event("GET", "/console/session", headers={"cookie": f"other=1; {signed.cookie}"}))
    assert answer.status == 200 and answer.body["org_id"] == org.org_id


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "__Host-lti_gateway_console=",
        "__Host-lti_gateway_console=unknown-token",
        "__Host-lti_gateway_console=" + "a" * 4000,
        "lti_gateway_console=anything",
        "__Host-lti_gateway_console=%00",
    ],
)
def test_no_or_unknown_session_is_401_no_session(console_fn, org, cookie):
    answer = console_fn(event("GET", "/console/session", cookie=cookie))
    assert (answer.status, answer.body["error"]) == (401, "no_session")
    assert answer.cookies and "max-age=0" in answer.cookies[0].lower()


def test_expired_session_is_401(console_fn, sign_in, org, monkeypatch):
    from lti_gateway.core import clock

    signed = sign_in(api_key=org.api_key)
    later = clock.now() + 12 * 3600 + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    assert console_fn(event("GET", "/console/session", cookie=signed.cookie)).status == 401


def test_revoking_the_key_ends_its_sessions(console_fn, sign_in, org, keys_fn):
    member = _member(keys_fn, org)
    signed = sign_in(api_key=member["api_key"])
    _revoke(keys_fn, org.api_key, member["credential_id"])
    answer = console_fn(event("GET", "/console/session", cookie=signed.cookie))
    assert (answer.status, answer.body["error"]) == (401, "api_key_revoked")


# -- sign out -------------------------------------------------------------------------------------------


def test_sign_out_deletes_the_session_and_clears_the_cookie(console_fn, sign_in, org, stack):
    signed = sign_in(api_key=org.api_key)
    answer = console_fn(
        event("DELETE", "/console/session", cookie=signed.cookie, headers={"X-CSRF-Token": signed.csrf})
    )
    assert answer.status == 200 and answer.body == {"signed_out": True}
    cleared = answer.cookies[0].lower()
    assert cleared.startswith("__host-lti_gateway_console=;") and "max-age=0" in cleared
    assert not [i for i in _launch_items(stack) if i["pk"].startswith("CONSOLESESSION#")]
    assert console_fn(event("GET", "/console/session", cookie=signed.cookie)).status == 401


@pytest.mark.parametrize(
    ("headers", "code"), [({}, "csrf_token_missing"), ({"X-CSRF-Token": "0" * 64}, "csrf_token_invalid")]
)
def test_sign_out_needs_the_csrf_token(console_fn, sign_in, org, stack, headers, code):
    signed = sign_in(api_key=org.api_key)
    answer = console_fn(event("DELETE", "/console/session", cookie=signed.cookie, headers=headers))
    assert (answer.status, answer.body["error"]) == (403, code)
    assert console_fn(event("GET", "/console/session", cookie=signed.cookie)).status == 200


def test_sign_out_without_a_session_is_401(console_fn, org):
    answer = console_fn(event("DELETE", "/console/session", headers={"X-CSRF-Token": "x"}))
    assert (answer.status, answer.body["error"]) == (401, "no_session")


# -- page and assets --------------------------------------------------------------------------------------

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _csp(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";") if p.strip()]
    return {p.split(" ", 1)[0]: p.split(" ", 1)[1] if " " in p else "" for p in parts}


def _check_page_headers(headers: dict[str, str]) -> None:
    assert _csp(headers["content-security-policy"]) == _csp(CSP)
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_console_page_is_served_with_the_console_csp(console_fn):
    answer = console_fn(event("GET", "/console"))
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.raw.lower()
    _check_page_headers(answer.headers)


@pytest.mark.parametrize(("name", "content_type"), [("console.js", "text/javascript"), ("console.css", "text/css")])
def test_assets_are_served_with_their_type(console_fn, name, content_type):
    answer = console_fn(event("GET", "/console/assets/{name}", path_params={"name": name}))
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"].startswith(content_type)
    _check_page_headers(answer.headers)


@pytest.mark.parametrize(
    "name", ["index.html", "app.py", "..%2Fapp.py", "../app.py", "console.js.map", "CONSOLE.JS", "x"]
)
def test_other_assets_are_404(console_fn, name):
    answer = console_fn(event("GET", "/console/assets/{name}", path_params={"name": name}))
    assert answer.status in (400, 404), answer.body
    assert "def lambda_handler" not in answer.raw


def test_a_set_cookie_is_never_shared_between_answers(sign_in, org):
    """Two sign-ins: two sessions, two tokens (the resolver's Response objects are per request)."""
    first, second = sign_in(api_key=org.api_key), sign_in(api_key=org.api_key)
    assert cookie_pair(first.set_cookie) != cookie_pair(second.set_cookie)
    assert isinstance(first, Signed)
