"""Faults under the routes a person sees in a browser: answered as the route's HTML page, never JSON.

The public class "open" page, the LTI Dynamic Registration page (opened by the LMS in a window or
iframe) and the launch function's pages (login, LTI 1.1 and 1.3 dispatch): a DynamoDB or KMS throttle,
timeout or unreachable endpoint is a 503 page with ``Retry-After`` and a reference (correlation id);
a bug a 500 page with only the reference. Nothing is half-written, and the same request works again
once the fault is gone. (The launch POSTs' own fault tests are in ``test_launch_faults.py``.)
"""

from __future__ import annotations

import pytest

from lti_gateway.admin import classes, orgs
from lti_gateway.lti13 import dynamic_registration
from lti_gateway.repositories import deps
from tests.faults.conftest import RETRYABLE, assert_page, snapshot
from tests.functional.launch.test_lti13_launch import (
    CLIENT_ID,
    ISS,
    full_launch,
    id_token_for,
    items,
    launch_post,
    login,
    login_event,
)
from tests.functional.lti13.test_dynamic_registration import (
    lms_query,
    new_registration_url,
    open_from_lms,
    registration_url_items,
    stored_platforms,
)
from tests.support import launch_state
from tests.support.events import vary

# -- the public class "open" page ---------------------------------------------------------------------------


@pytest.fixture
def lms_class(org):
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    return classes.create_class(
        principal,
        {"name": "Physics", "class_lms_url": "https://lms.example.edu/course/1", "class_lms_url_confirmed": True},
        base="https://gw.example",
    )


def open_class(classes_fn, class_id: str):
    return classes_fn(vary("classes-open.json", path_params={"class_id": class_id}))


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_class_that_cannot_be_read_is_a_503_page_and_the_link_works_again(
    faults, classes_fn, stack, lms_class, fault
):
    before = snapshot(stack)
    faults.fail("dynamodb.GetItem", getattr(faults, fault)())

    answer = open_class(classes_fn, lms_class["class_id"])

    assert_page(answer, 503)
    assert "cannot be opened right now" in answer.raw and "Wait a moment" in answer.raw
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert faults.injected == ["dynamodb.GetItem"]
    assert snapshot(stack) == before
    again = open_class(classes_fn, lms_class["class_id"])
    assert (again.status, again.headers["location"]) == (302, "https://lms.example.edu/course/1")


def test_a_bug_under_the_class_page_is_a_500_page_with_only_a_reference(classes_fn, lms_class, monkeypatch):
    def broken(_class_id):
        raise RuntimeError("secret internals: /var/task/app.py line 42")

    monkeypatch.setattr(classes, "open_target", broken)

    answer = open_class(classes_fn, lms_class["class_id"])

    assert_page(answer, 500)
    assert "secret internals" not in answer.raw and "internal_error" not in answer.raw


# -- LTI Dynamic Registration -------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_registration_url_that_cannot_be_read_is_a_503_page(faults, platforms_fn, org, stack, lms, insecure, fault):
    url = new_registration_url(platforms_fn, org)
    before = snapshot(stack)
    faults.fail("dynamodb.GetItem", getattr(faults, fault)())

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_page(answer, 503, "service_unavailable")
    assert "Nothing was stored. Wait a moment" in answer.raw and "postMessage" not in answer.raw
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert lms.requests == []  # the LMS was not contacted
    assert snapshot(stack) == before
    assert open_from_lms(platforms_fn, url, lms_query(lms)).status == 200  # the URL was not spent


def test_a_throttled_platform_write_is_a_503_page_and_spends_nothing(faults, platforms_fn, org, stack, lms, insecure):
    url = new_registration_url(platforms_fn, org)
    before = snapshot(stack)
    faults.fail("dynamodb.TransactWriteItems", faults.transaction_throttled(items=3))

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_page(answer, 503, "service_unavailable")  # not 409 platform_exists, not 404 registration_url_unknown
    assert lms.registration_token not in answer.raw
    assert snapshot(stack) == before
    assert stored_platforms(stack) == [] and len(registration_url_items(stack)) == 1
    assert open_from_lms(platforms_fn, url, lms_query(lms)).status == 200
    assert registration_url_items(stack) == []  # spent by the registration that succeeded


def test_kms_unavailable_to_a_registration_is_a_503_page(faults, platforms_fn, org, stack, lms, insecure, monkeypatch):
    """A KMS throttle wrapped in the gateway's own ``kms_unavailable`` keeps its ``Retry-After``."""
    from lti_gateway.core.errors import ServiceUnavailable

    url = new_registration_url(platforms_fn, org)
    before = snapshot(stack)

    def kms_throttled(*_args, **_kw):
        raise ServiceUnavailable("the key service is busy; retry shortly", code="kms_unavailable", retry_after=2)

    monkeypatch.setattr(dynamic_registration.platforms, "register_platform", kms_throttled)

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_page(answer, 503, "kms_unavailable")
    assert answer.headers["retry-after"] == "2"
    assert snapshot(stack) == before


def test_a_bug_under_the_registration_page_is_a_500_page_with_only_a_reference(
    platforms_fn, org, stack, lms, insecure, monkeypatch
):
    url = new_registration_url(platforms_fn, org)

    def broken(*_args, **_kw):
        raise RuntimeError("secret internals: /var/task/app.py line 42")

    monkeypatch.setattr(dynamic_registration, "fetch_openid_configuration", broken)

    answer = open_from_lms(platforms_fn, url, lms_query(lms))

    assert_page(answer, 500, "internal_error")
    assert "secret internals" not in answer.raw and "postMessage" not in answer.raw
    assert "correlation_id" not in answer.raw  # the reference line names it, once
    assert stored_platforms(stack) == []


# -- launch function: the login and its storage page --------------------------------------------------------


@pytest.mark.parametrize("storage_target", [None, "_parent"])
@pytest.mark.parametrize("operation", ["dynamodb.PutItem", "dynamodb"])
def test_a_login_that_cannot_store_or_find_is_a_503_page(faults, world, launch_fn, stack, storage_target, operation):
    """``dynamodb.PutItem``: the state write; ``dynamodb``: every call (the platform lookup first)."""
    launch_state.forget()
    params = {"iss": ISS, "login_hint": "u", "target_link_uri": world["class"]["launch_url"], "client_id": CLIENT_ID}
    if storage_target:
        params["lti_storage_target"] = storage_target
    faults.fail(operation, faults.throttled(), times=None)

    answer = launch_fn(login_event(params))

    assert_page(answer, 503, "service_unavailable")
    assert "<script" not in answer.raw and "location" not in answer.headers
    assert answer.raw.count("login-request-1") == 1  # the reference: the request id
    faults.clear()
    assert items(stack, "STATE#") == []
    assert launch_fn(login_event(params)).status == (200 if storage_target else 302)


def _verified_post(launch_fn, target: str) -> dict:
    """The platform's form post of a launch whose login went through (fault-free)."""
    auth = login(launch_fn, target)
    return launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})


def test_a_class_read_failing_after_the_id_token_verified_is_a_page_not_a_return_to_the_lms(
    faults, world, launch_fn, stack
):
    """Refusals after verification send the user back to the LMS with ``lti_errormsg``; a fault is a
    503 page the browser can retry, not a message telling the LMS the launch is wrong."""
    target = world["class"]["launch_url"]
    assert full_launch(launch_fn, target)[0].status == 302  # warm: platform, keys, organisation cached
    event = _verified_post(launch_fn, target)  # the class is read on every launch: no copy to forget
    before = len(items(stack, "LAUNCH#"))
    faults.fail("dynamodb.GetItem", faults.read_timeout(), times=None)

    answer = launch_fn(event)

    assert_page(answer, 503, "service_unavailable")
    assert faults.injected and set(faults.injected) == {"dynamodb.GetItem"}
    assert len(items(stack, "LAUNCH#")) == before


def test_kms_unavailable_to_a_cold_launch_container_is_a_503_page(faults, world, launch_fn, stack):
    """A cold container cannot open the ltik key while KMS is throttled: a page, with ``Retry-After``."""
    event = _verified_post(launch_fn, world["class"]["launch_url"])
    deps.secret_box.cache_clear()
    faults.fail("kms", faults.throttled("ThrottlingException"), times=None)

    answer = launch_fn(event)

    assert_page(answer, 503, "kms_unavailable")
    assert items(stack, "LAUNCH#") == []
