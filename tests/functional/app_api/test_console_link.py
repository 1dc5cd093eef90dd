"""POST /api/console-link on the token function (issue 15): an LTIK-AUTH-V2 call of an instructor's or
administrator's launch gets a one-time link into the console, scoped to the launch's class."""

from __future__ import annotations

import json
import secrets
import time
from urllib.parse import urlsplit

import pytest

from tests.peers.lms_params import CANVAS
from tests.support.app_api import ltik_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403 (lti11_world, lti11_launch, ...)
from tests.support.console import *  # noqa: F403 (console_fn, sign_in, the https stack)
from tests.support.console import BASE, event

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


def _with_roles(roles: str) -> list[tuple[str, str]]:
    return [(k, roles if k == "roles" else v) for k, v in CANVAS if not k.startswith("lis_")]


def _console_link(token_fn, api_key, ltik):
    return token_fn(token_event("POST", "/api/console-link", authorization=ltik_auth(api_key, ltik)))


@pytest.mark.parametrize(
    "roles",
    [
        "Instructor",
        "urn:lti:role:ims/lis/Instructor",
        "urn:lti:instrole:ims/lis/Administrator",
        "Administrator",
        "Learner,Instructor",
    ],
)
def test_an_instructors_lti11_launch_gets_a_class_link(token_fn, console_fn, lti11_world, lti11_launch, roles):
    launched = lti11_launch(_with_roles(roles))
    org = lti11_world["org"]
    answer = _console_link(token_fn, org.api_key, launched["ltik"])
    assert answer.status == 201, answer.body
    class_id = lti11_world["class"]["class_id"]
    assert set(answer.body) == {"url", "expires_at", "class_id"}
    assert answer.body["class_id"] == class_id
    url = answer.body["url"]
    assert url.startswith(f"{BASE}/console#link=") and not urlsplit(url).query
    signed = console_fn(event("POST", "/console/session", body={"link": url.split("#link=", 1)[1]}))
    assert signed.status == 200, signed.body
    assert signed.body["role"] == "instructor"
    assert signed.body["class_id"] == class_id
    assert signed.body["org_id"] == org.org_id and signed.body["credential_id"] == org.credential_id
    again = console_fn(event("POST", "/console/session", body={"link": url.split("#link=", 1)[1]}))
    assert (again.status, again.body["error"]) == (401, "link_invalid")


@pytest.mark.parametrize("roles", ["Learner", "urn:lti:role:ims/lis/Learner", "Mentor", "urn:lti:sysrole:ims/lis/User"])
def test_a_learners_launch_is_refused(token_fn, lti11_world, lti11_launch, stack, roles):
    import boto3

    launched = lti11_launch(_with_roles(roles))
    answer = _console_link(token_fn, lti11_world["org"].api_key, launched["ltik"])
    assert answer.status == 403, answer.body
    assert answer.body["details"]["message"] == "INSTRUCTOR_ROLE_REQUIRED"
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    assert not [i for i in items if i["pk"].startswith("CONSOLELINK#")]


def test_a_bearer_key_is_refused(token_fn, org):
    answer = token_fn(token_event("POST", "/api/console-link", authorization=f"Bearer {org.api_key}"))
    assert answer.status == 401, answer.body


def test_a_service_key_or_nothing_is_refused(token_fn, org):
    assert (
        token_fn(token_event("POST", "/api/console-link", authorization=f"SERVICE-AUTH-V1 {org.api_key}:x")).status
        == 401
    )
    assert token_fn(token_event("POST", "/api/console-link")).status == 401


def test_the_session_cookie_is_ignored_by_the_app_api(token_fn, sign_in, org):
    signed = sign_in(api_key=org.api_key)
    answer = token_fn(token_event("POST", "/api/console-link", headers={"cookie": signed.cookie}))
    assert answer.status == 401, answer.body
    answer = token_fn(token_event("GET", "/api/idtoken", headers={"cookie": signed.cookie}))
    assert answer.status == 401, answer.body


def test_another_organisations_api_key_is_refused(token_fn, lti11_world, lti11_launch, make_org):
    launched = lti11_launch(_with_roles("Instructor"))
    other = make_org("Other University")
    answer = _console_link(token_fn, other.api_key, launched["ltik"])
    assert answer.status == 401, answer.body


def _store_lti13(org_id: str, roles: list[str], class_id: str | None) -> str:
    """An LTI 1.3 launch context as lti13/launch.py stores it (roles normalized); its ltik."""
    from lti_gateway.app_api import ltik
    from lti_gateway.repositories import deps

    launch_id = secrets.token_urlsafe(18)
    now = int(time.time())
    context = {
        "lti_version_family": "1.3",
        "org_id": org_id,
        "class_id": class_id,
        "platform_id": "plt_0123456789abcdef",
        "client_id": "client-abc",
        "deployment_id": "dep-1",
        "issuer": "https://lms.example",
        "roles": roles,
        "id_token_claims": json.dumps({"sub": "u1"}),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }
    deps.launch_repo().put_launch_context(
        launch_id, {k: v for k, v in context.items() if v is not None}, expires_at=now + 3600
    )
    return ltik.issue(launch_id, org_id, now=now)


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        ([f"{LIS}membership#Instructor"], 201),
        ([f"{LIS}membership/Instructor#TeachingAssistant"], 201),
        ([f"{LIS}membership#Administrator"], 201),
        ([f"{LIS}institution/person#Administrator"], 201),
        ([f"{LIS}membership#Learner"], 403),
        ([f"{LIS}institution/person#Instructor"], 403),  # an institution role names no course
        ([f"{LIS}system/person#User"], 403),
        ([], 403),
    ],
)
def test_lti13_roles(token_fn, org, roles, status):
    token = _store_lti13(org.org_id, roles, "cls_0123456789abcdef")
    answer = _console_link(token_fn, org.api_key, token)
    assert answer.status == status, answer.body


def test_a_launch_without_a_class_is_409(token_fn, org):
    token = _store_lti13(org.org_id, [f"{LIS}membership#Instructor"], None)
    answer = _console_link(token_fn, org.api_key, token)
    assert answer.status == 409, answer.body
    assert answer.body["details"]["message"] == "NO_CLASS"
