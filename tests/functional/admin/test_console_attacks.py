"""An attacker's view of the owner console (issue 15): sign-in requests a browser would only send from
another origin (login CSRF), a class-scoped session reaching past its class, and sessions whose
stored state no longer matches their credential. Each test names what it defends."""

from __future__ import annotations

import json

import pytest

from lti_gateway.admin import console_sessions
from lti_gateway.repositories import deps
from tests.support.console import *  # noqa: F403 (console_fn, sign_in, the https stack)
from tests.support.console import BASE, event
from tests.support.events import vary

HOST = BASE.split("://", 1)[1]


def _sessions_stored() -> int:
    """How many console session items the launch table holds."""
    table = deps.console_sessions_repo()._table
    items = table.scan()["Items"]
    return sum(1 for i in items if str(i["pk"]).startswith("CONSOLESESSION#"))


def _sign_in_event(org, headers: dict[str, str], *, content_type: str | None = "application/json") -> dict:
    answer = event("POST", "/console/session", raw_body=json.dumps({"api_key": org.api_key}), headers=headers)
    answer["headers"]["host"] = HOST
    answer["requestContext"]["domainName"] = HOST
    if content_type is None:
        answer["headers"].pop("content-type", None)
    else:
        answer["headers"]["content-type"] = content_type
    return answer


# -- login CSRF: POST /console/session from a page of another origin -------------------------------------


def test_sign_in_without_a_json_content_type_is_415_and_signs_nobody_in(console_fn, org):
    """A page of another origin can POST a body with no Content-Type and no preflight (fetch with a
    Blob, sendBeacon): that must not sign the browser in (to the attacker's organisation)."""
    before = _sessions_stored()
    answer = console_fn(_sign_in_event(org, {}, content_type=None))
    assert (answer.status, answer.body["error"]) == (415, "unsupported_media_type"), answer.body
    assert not answer.cookies
    assert _sessions_stored() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "https://apps.example.edu"},  # same site, another origin
        {"origin": f"http://{HOST}:8443"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
        {"origin": BASE, "sec-fetch-site": "cross-site"},
    ],
)
def test_sign_in_from_another_origin_is_403_and_signs_nobody_in(console_fn, org, headers):
    before = _sessions_stored()
    answer = console_fn(_sign_in_event(org, headers))
    assert (answer.status, answer.body["error"]) == (403, "cross_origin_request"), answer.body
    assert org.api_key not in json.dumps(answer.body)
    assert not answer.cookies
    assert _sessions_stored() == before


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a script (curl, requests): no Origin, no Sec-Fetch-Site
        {"origin": BASE, "sec-fetch-site": "same-origin"},  # the console page itself
        {"origin": BASE.upper().replace("HTTPS", "https")},
        {"sec-fetch-site": "none"},  # typed into the address bar (never a POST, but harmless)
    ],
)
def test_sign_in_from_the_console_itself_or_a_script_works(console_fn, org, headers):
    answer = console_fn(_sign_in_event(org, headers))
    assert answer.status == 200, answer.body
    assert len(answer.cookies) == 1


def test_the_origin_may_be_the_host_the_request_reached(console_fn, org, monkeypatch):
    """Behind a front door that keeps the API's own host name, the page's origin is that host."""
    from lti_gateway.core import config

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    config.settings.cache_clear()
    answer = console_fn(_sign_in_event(org, {"origin": f"https://{HOST}", "sec-fetch-site": "same-origin"}))
    assert answer.status == 200, answer.body


# -- a class-scoped session and the units of another class --------------------------------------------------


def _create(classes_fn, name: str, api_key: str) -> dict:
    answer = classes_fn(vary("classes-create.json", api_key=api_key, body={"name": name}))
    assert answer.status == 201, answer.body
    return answer.body


def _unit(classes_fn, class_id: str, api_key: str) -> dict:
    answer = classes_fn(
        vary("units-create.json", api_key=api_key, path_params={"class_id": class_id}, body={"name": "Secret unit"})
    )
    assert answer.status == 201, answer.body
    return answer.body


@pytest.fixture
def scoped(classes_fn, org, sign_in):
    mine = _create(classes_fn, "Mine", org.api_key)
    theirs = _create(classes_fn, "Not mine", org.api_key)
    link = console_sessions.create_class_link(org.org_id, org.credential_id, mine["class_id"], base=BASE)
    signed = sign_in(link=link["url"].split("#link=", 1)[1])
    return signed, mine, theirs


def test_a_unit_of_another_class_is_not_reachable_through_its_own_class(classes_fn, org, scoped):
    signed, mine, theirs = scoped
    their_unit = _unit(classes_fn, theirs["class_id"], org.api_key)
    params = {"class_id": mine["class_id"], "unit_id": their_unit["unit_id"]}
    answer = classes_fn(
        event("GET", "/api/classes/{class_id}/units/{unit_id}", path_params=params, cookie=signed.cookie)
    )
    assert (answer.status, answer.body["error"]) == (404, "not_found"), answer.body
    assert "Secret unit" not in json.dumps(answer.body)


@pytest.mark.parametrize(
    "route_key",
    ["GET /api/classes/{class_id}/units/{unit_id}/lti-config.xml", "$default", "ANY /{proxy+}", "GET /api/classes"],
)
def test_a_route_key_outside_the_allow_list_is_403_even_with_its_own_class_id(classes_fn, scoped, route_key):
    """The allow list is by route key, not by path: a Function URL (``$default``) or any other route
    carrying the session's own class id is still refused."""
    signed, mine, _ = scoped
    sent = event("GET", "/api/classes/{class_id}", path_params={"class_id": mine["class_id"]}, cookie=signed.cookie)
    sent["routeKey"] = sent["requestContext"]["routeKey"] = route_key
    answer = classes_fn(sent)
    assert (answer.status, answer.body["error"]) == (403, "class_scope"), answer.body


def test_an_instructor_cannot_point_its_class_at_a_new_app_origin(classes_fn, org, scoped):
    """PATCH is allowed on its class, but not an app launch URL on an origin the organisation has not
    allowed (that would hand every learner's launch, ltik included, to another host)."""
    signed, mine, _ = scoped
    params = {"class_id": mine["class_id"]}
    for body, status, code in (
        ({"app_launch_url": "https://evil.example/app"}, 400, "app_origin_not_allowed"),
        ({"class_lms_url": "https://evil.example/", "class_lms_url_confirmed": True}, 403, "owner_role_required"),
    ):
        answer = classes_fn(
            event(
                "PATCH",
                "/api/classes/{class_id}",
                path_params=params,
                body=body,
                cookie=signed.cookie,
                headers={"X-CSRF-Token": signed.csrf},
            )
        )
        assert (answer.status, answer.body["error"]) == (status, code), answer.body
    stored = classes_fn(vary("classes-get.json", api_key=org.api_key, path_params=params)).body
    assert stored["app_launch_url"] is None and stored["class_lms_url"] is None


# -- sessions whose stored state does not match their credential ------------------------------------------


def test_a_session_naming_a_credential_of_another_organisation_is_refused(keys_fn, make_org, org):
    """Fail closed: a session item whose org_id is not its credential's organisation (a bug, or a
    tampered item) never signs anyone in to either organisation."""
    theirs = make_org("Other University")
    token = "t" * 43
    deps.console_sessions_repo().put_session(
        console_sessions._hash(token),
        {"org_id": org.org_id, "credential_id": theirs.credential_id, "role": "owner", "class_id": None},
        expires_at=2**40,
    )
    answer = keys_fn(event("GET", "/api/org", cookie=f"{console_sessions.cookie_name()}={token}"))
    assert (answer.status, answer.body["error"]) == (401, "session_expired"), answer.body
