"""The session cookie on the /api/* admin routes (web.bearer_principal), through the keys, classes,
platforms and export functions with API Gateway events on moto (issue 15)."""

from __future__ import annotations

import pytest

from lti_gateway.admin import console_sessions, orgs
from tests.support.console import *  # noqa: F403 (console_fn, sign_in, the https stack)
from tests.support.console import BASE, event
from tests.support.events import vary


@pytest.fixture
def owner(sign_in, org):
    return sign_in(api_key=org.api_key)


def _classes(classes_fn, api_key) -> list[dict]:
    answer = classes_fn(vary("classes-list.json", api_key=api_key))
    assert answer.status == 200, answer.body
    return answer.body["classes"]


def _create_class(classes_fn, api_key, name="Physics 101") -> dict:
    answer = classes_fn(vary("classes-create.json", api_key=api_key, body={"name": name}))
    assert answer.status == 201, answer.body
    return answer.body


def _get_class(classes_fn, api_key, class_id) -> dict:
    answer = classes_fn(vary("classes-get.json", api_key=api_key, path_params={"class_id": class_id}))
    assert answer.status == 200, answer.body
    return answer.body


def test_get_through_the_cookie_works(keys_fn, owner, org):
    answer = keys_fn(event("GET", "/api/org", cookie=owner.cookie))
    assert answer.status == 200, answer.body
    assert answer.body["org_id"] == org.org_id
    assert answer.body["credential"] == {"credential_id": org.credential_id, "role": "owner"}


def test_no_cookie_and_no_authorization_is_still_missing_credentials(keys_fn, org):
    answer = keys_fn(event("GET", "/api/org"))
    assert (answer.status, answer.body["error"]) == (401, "missing_credentials")


def test_authorization_wins_over_the_cookie(keys_fn, owner):
    answer = keys_fn(event("GET", "/api/org", cookie=owner.cookie, headers={"authorization": "Bearer ak_x.y"}))
    assert (answer.status, answer.body["error"]) == (401, "invalid_api_key")


def test_post_without_csrf_token_is_403_and_creates_nothing(classes_fn, owner, org):
    answer = classes_fn(event("POST", "/api/classes", body={"name": "Nope"}, cookie=owner.cookie))
    assert (answer.status, answer.body["error"]) == (403, "csrf_token_missing")
    assert _classes(classes_fn, org.api_key) == []


def test_post_with_a_wrong_csrf_token_is_403_and_creates_nothing(classes_fn, owner, org, sign_in):
    other = sign_in(api_key=org.api_key)  # another session's token is wrong for this one
    for token in ("0" * 64, other.csrf, owner.csrf.upper(), owner.csrf + " x", "\u00e9"):
        answer = classes_fn(
            event("POST", "/api/classes", body={"name": "Nope"}, cookie=owner.cookie, headers={"X-CSRF-Token": token})
        )
        assert (answer.status, answer.body["error"]) == (403, "csrf_token_invalid"), token
    assert _classes(classes_fn, org.api_key) == []


def test_post_with_the_right_csrf_token_works(classes_fn, owner, org):
    answer = classes_fn(
        event(
            "POST", "/api/classes", body={"name": "Physics"}, cookie=owner.cookie, headers={"X-CSRF-Token": owner.csrf}
        )
    )
    assert answer.status == 201, answer.body
    assert [c["name"] for c in _classes(classes_fn, org.api_key)] == ["Physics"]


def test_patch_and_delete_need_the_csrf_token(classes_fn, owner, org):
    created = _create_class(classes_fn, org.api_key)
    params = {"class_id": created["class_id"]}
    for method, route, body in (
        ("PATCH", "/api/classes/{class_id}", {"name": "Changed"}),
        ("DELETE", "/api/classes/{class_id}", ...),
    ):
        answer = classes_fn(event(method, route, path_params=params, body=body, cookie=owner.cookie))
        assert (answer.status, answer.body["error"]) == (403, "csrf_token_missing"), method
        wrong = {"X-CSRF-Token": "1" * 64}
        answer = classes_fn(event(method, route, path_params=params, body=body, cookie=owner.cookie, headers=wrong))
        assert (answer.status, answer.body["error"]) == (403, "csrf_token_invalid"), method
    assert _get_class(classes_fn, org.api_key, created["class_id"])["name"] == "Physics 101"
    ok = {"X-CSRF-Token": owner.csrf}
    answer = classes_fn(
        event(
            "PATCH",
            "/api/classes/{class_id}",
            path_params=params,
            body={"name": "Changed"},
            cookie=owner.cookie,
            headers=ok,
        )
    )
    assert answer.status == 200, answer.body
    assert _get_class(classes_fn, org.api_key, created["class_id"])["name"] == "Changed"
    answer = classes_fn(event("DELETE", "/api/classes/{class_id}", path_params=params, cookie=owner.cookie, headers=ok))
    assert answer.status == 204, answer.body
    assert _classes(classes_fn, org.api_key) == []


def test_csrf_is_checked_before_the_session_is_read(classes_fn, org):
    """A POST with an unknown cookie and no CSRF token: 403, the session not even looked up."""
    answer = classes_fn(event("POST", "/api/classes", body={"name": "x"}, cookie="__Host-lti_gateway_console=unknown"))
    assert (answer.status, answer.body["error"]) == (403, "csrf_token_missing")


@pytest.mark.parametrize("value", ["unknown", "a" * 3000, "%00%00"])
def test_unknown_session_is_401_session_expired(keys_fn, org, value):
    answer = keys_fn(event("GET", "/api/org", cookie=f"__Host-lti_gateway_console={value}"))
    assert (answer.status, answer.body["error"]) == (401, "session_expired")


def test_expired_session_is_401_on_the_api(keys_fn, owner, monkeypatch):
    from lti_gateway.core import clock

    later = clock.now() + console_sessions.SESSION_SECONDS + 5
    monkeypatch.setattr(clock, "now", lambda: later)
    answer = keys_fn(event("GET", "/api/org", cookie=owner.cookie))
    assert (answer.status, answer.body["error"]) == (401, "session_expired")


def test_signed_out_cookie_is_401_on_the_api(keys_fn, console_fn, owner):
    out = console_fn(event("DELETE", "/console/session", cookie=owner.cookie, headers={"X-CSRF-Token": owner.csrf}))
    assert out.status == 200
    answer = keys_fn(event("GET", "/api/org", cookie=owner.cookie))
    assert (answer.status, answer.body["error"]) == (401, "session_expired")


def test_revoked_key_ends_the_session_on_the_api(keys_fn, sign_in, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body
    signed = sign_in(api_key=member["api_key"])
    assert keys_fn(event("GET", "/api/org", cookie=signed.cookie)).status == 200
    revoked = keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": member["credential_id"]})
    )
    assert revoked.status == 200
    answer = keys_fn(event("GET", "/api/org", cookie=signed.cookie))
    assert (answer.status, answer.body["error"]) == (401, "api_key_revoked")


def test_member_session_keeps_the_members_limits(keys_fn, sign_in, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body
    signed = sign_in(api_key=member["api_key"])
    answer = keys_fn(event("GET", "/api/keys", cookie=signed.cookie))
    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")


def test_another_organisations_class_is_404_through_a_session(classes_fn, make_org, owner, org):
    theirs = make_org("Other University")
    their_class = _create_class(classes_fn, theirs.api_key, "Theirs")
    params = {"class_id": their_class["class_id"]}
    bearer = classes_fn(vary("classes-get.json", api_key=org.api_key, path_params=params))
    answer = classes_fn(event("GET", "/api/classes/{class_id}", path_params=params, cookie=owner.cookie))
    assert answer.status == bearer.status == 404, answer.body
    assert answer.body == bearer.body
    answer = classes_fn(
        event(
            "PATCH",
            "/api/classes/{class_id}",
            path_params=params,
            body={"name": "Mine now"},
            cookie=owner.cookie,
            headers={"X-CSRF-Token": owner.csrf},
        )
    )
    assert answer.status == 404, answer.body
    assert _get_class(classes_fn, theirs.api_key, their_class["class_id"])["name"] == "Theirs"


def test_platforms_and_exports_accept_the_cookie(platforms_fn, owner, stack, org):
    from tests.conftest import invoke
    from tests.support.stack import load_function

    answer = platforms_fn(event("GET", "/api/platforms", cookie=owner.cookie))
    assert answer.status == 200, answer.body
    export = load_function("export")
    answer = invoke(export, event("GET", "/api/lti-settings", cookie=owner.cookie))
    assert answer.status == 200, answer.body


# -- class-scoped (instructor) sessions ------------------------------------------------------------------


@pytest.fixture
def two_classes(classes_fn, org):
    return _create_class(classes_fn, org.api_key, "Mine"), _create_class(classes_fn, org.api_key, "Not mine")


@pytest.fixture
def instructor(sign_in, org, two_classes):
    link = console_sessions.create_class_link(org.org_id, org.credential_id, two_classes[0]["class_id"], base=BASE)
    signed = sign_in(link=link["url"].split("#link=", 1)[1])
    assert signed.session["role"] == "instructor"
    assert signed.session["class_id"] == two_classes[0]["class_id"]
    return signed


def test_instructor_reads_and_edits_its_class(classes_fn, instructor, two_classes, org):
    mine = {"class_id": two_classes[0]["class_id"]}
    assert classes_fn(event("GET", "/api/classes/{class_id}", path_params=mine, cookie=instructor.cookie)).status == 200
    units = classes_fn(event("GET", "/api/classes/{class_id}/units", path_params=mine, cookie=instructor.cookie))
    assert units.status == 200, units.body
    answer = classes_fn(
        event(
            "PATCH",
            "/api/classes/{class_id}",
            path_params=mine,
            body={"name": "Mine, renamed"},
            cookie=instructor.cookie,
            headers={"X-CSRF-Token": instructor.csrf},
        )
    )
    assert answer.status == 200, answer.body
    assert _get_class(classes_fn, org.api_key, mine["class_id"])["name"] == "Mine, renamed"


def test_instructor_exports_its_class_settings(instructor, two_classes):
    from tests.conftest import invoke
    from tests.support.stack import load_function

    mine = {"class_id": two_classes[0]["class_id"]}
    answer = invoke(
        load_function("export"),
        event("GET", "/api/classes/{class_id}/lti-settings", path_params=mine, cookie=instructor.cookie),
    )
    assert answer.status == 200, answer.raw[:300]


def test_instructor_cannot_open_another_class(classes_fn, instructor, two_classes, org):
    theirs = {"class_id": two_classes[1]["class_id"]}
    answer = classes_fn(event("GET", "/api/classes/{class_id}", path_params=theirs, cookie=instructor.cookie))
    assert (answer.status, answer.body["error"]) == (403, "class_scope")
    answer = classes_fn(
        event(
            "PATCH",
            "/api/classes/{class_id}",
            path_params=theirs,
            body={"name": "Hijacked"},
            cookie=instructor.cookie,
            headers={"X-CSRF-Token": instructor.csrf},
        )
    )
    assert (answer.status, answer.body["error"]) == (403, "class_scope")
    assert _get_class(classes_fn, org.api_key, theirs["class_id"])["name"] == "Not mine"


@pytest.mark.parametrize(
    ("fn", "method", "route", "body"),
    [
        ("keys", "GET", "/api/keys", ...),
        ("keys", "GET", "/api/org", ...),
        ("keys", "POST", "/api/credentials", {}),
        ("classes", "GET", "/api/classes", ...),
        ("classes", "POST", "/api/classes", {"name": "New"}),
        ("classes", "DELETE", "/api/classes/{class_id}", ...),
        ("classes", "POST", "/api/classes/{class_id}/units", {"name": "U"}),
        ("platforms", "GET", "/api/platforms", ...),
        ("export", "GET", "/api/lti-settings", ...),
    ],
)
def test_instructor_gets_403_class_scope_elsewhere(instructor, two_classes, org, classes_fn, fn, method, route, body):
    from tests.conftest import invoke
    from tests.support.stack import load_function

    params = {"class_id": two_classes[0]["class_id"]} if "{class_id}" in route else None
    answer = invoke(
        load_function(fn),
        event(
            method,
            route,
            path_params=params,
            body=body,
            cookie=instructor.cookie,
            headers={"X-CSRF-Token": instructor.csrf},
        ),
    )
    assert (answer.status, answer.body["error"]) == (403, "class_scope")
    assert {c["name"] for c in _classes(classes_fn, org.api_key)} == {"Mine", "Not mine"}


def test_instructor_session_ends_with_its_credential(keys_fn, classes_fn, sign_in, org, two_classes):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body
    link = console_sessions.create_class_link(
        org.org_id, member["credential_id"], two_classes[0]["class_id"], base=BASE
    )
    signed = sign_in(link=link["url"].split("#link=", 1)[1])
    keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": member["credential_id"]})
    )
    mine = {"class_id": two_classes[0]["class_id"]}
    answer = classes_fn(event("GET", "/api/classes/{class_id}", path_params=mine, cookie=signed.cookie))
    assert (answer.status, answer.body["error"]) == (401, "api_key_revoked")


# -- one-time owner links -------------------------------------------------------------------------------


def _link_token(url: str) -> str:
    assert url.startswith(f"{BASE}/console#link=") and "?" not in url
    return url.split("#link=", 1)[1]


def test_owner_sign_in_link_opens_an_owner_session_once(console_fn, org):
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    link = console_sessions.create_sign_in_link(principal, base=BASE)
    assert set(link) == {"url", "expires_at"}
    token = _link_token(link["url"])
    first = console_fn(event("POST", "/console/session", body={"link": token}))
    assert first.status == 200, first.body
    assert first.body["role"] == "owner" and first.body["class_id"] is None
    second = console_fn(event("POST", "/console/session", body={"link": token}))
    assert (second.status, second.body["error"]) == (401, "link_invalid")
    assert not second.cookies


def test_expired_link_is_401(console_fn, org, monkeypatch):
    from lti_gateway.core import clock

    link = console_sessions.create_sign_in_link(orgs.Principal(org.org_id, org.credential_id, "owner"), base=BASE)
    later = clock.now() + console_sessions.LINK_SECONDS + 1
    monkeypatch.setattr(clock, "now", lambda: later)
    answer = console_fn(event("POST", "/console/session", body={"link": _link_token(link["url"])}))
    assert (answer.status, answer.body["error"]) == (401, "link_invalid")


def test_unknown_link_is_401(console_fn, org):
    answer = console_fn(event("POST", "/console/session", body={"link": "x" * 43}))
    assert (answer.status, answer.body["error"]) == (401, "link_invalid")


def test_link_of_a_revoked_key_is_401(console_fn, keys_fn, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body
    link = console_sessions.create_sign_in_link(
        orgs.Principal(org.org_id, member["credential_id"], "member"), base=BASE
    )
    keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": member["credential_id"]})
    )
    answer = console_fn(event("POST", "/console/session", body={"link": _link_token(link["url"])}))
    assert (answer.status, answer.body["error"]) == (401, "api_key_revoked")


@pytest.mark.parametrize("value", ["\ud800", "a\x00b", "\udfff" * 50])
def test_a_malformed_cookie_is_a_4xx_never_a_5xx(classes_fn, console_fn, org, value):
    cookie = f"__Host-lti_gateway_console={value}"
    for fn, method, route in (
        (classes_fn, "POST", "/api/classes"),
        (classes_fn, "GET", "/api/classes"),
        (console_fn, "DELETE", "/console/session"),
        (console_fn, "GET", "/console/session"),
    ):
        for headers in ({}, {"X-CSRF-Token": "\ud800"}, {"X-CSRF-Token": "0" * 64}):
            answer = fn(
                event(method, route, body={"name": "x"} if method == "POST" else ..., cookie=cookie, headers=headers)
            )
            assert 400 <= answer.status < 500, (method, route, answer.status, answer.body)
    assert _classes(classes_fn, org.api_key) == []
