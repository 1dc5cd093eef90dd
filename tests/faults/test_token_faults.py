"""Faults under the app API (token function): answers keep the LTIAAS contract's shape.

Our storage throttled or unreachable: 503 ``SERVICE_UNAVAILABLE`` with ``Retry-After``. The LMS's
token endpoint or its AGS/NRPS services failing, timing out or answering garbage: 502
``PLATFORM_REQUEST_FAILED`` with ``externalError`` (the LMS's own 4xx are mirrored, tested in
tests/functional/app_api/test_token_api.py). No platform token is cached from a failed grant.
"""

from __future__ import annotations

import pytest

from lti_gateway.app_api import line_item_ids, platform_services
from lti_gateway.core.http_client import HttpResponse
from tests.faults.conftest import assert_no_trace, snapshot
from tests.functional.app_api.test_app_auth import assert_contract_error
from tests.support.app_api import ltik_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403

SCORE = {"userId": "user-1", "activityProgress": "Completed", "gradingProgress": "FullyGraded", "scoreGiven": 7}


def call(token_fn, launched, method, target, body=None):
    return token_fn(
        token_event(method, target, authorization=ltik_auth(launched["api_key"], launched["ltik"]), body=body)
    )


def platform_tokens(stack) -> list[dict]:
    return [i for i in snapshot(stack)["LAUNCH_TABLE"] if i.get("kind") == "platform_token"]


@pytest.mark.parametrize("fault", ["throttled", "read_timeout"])
def test_an_ltik_session_that_cannot_read_its_launch_is_a_503(faults, lti13, token_fn, fault):
    faults.fail("dynamodb.GetItem", getattr(faults, fault)(), times=None)

    answer = call(token_fn, lti13, "GET", "/api/idtoken")

    body = assert_contract_error(answer, 503, "SERVICE_UNAVAILABLE")
    assert body["error"] == "Service Unavailable" and int(answer.headers["retry-after"]) > 0
    assert_no_trace(answer.raw)
    assert lti13["ltik"] not in answer.raw


def break_lms(monkeypatch, url: str, answer) -> None:
    """The gateway's outbound client answers ``answer`` (or raises it) for ``url``; other calls go out."""
    http = platform_services.outbound_http()
    real = http.request

    def request(method, target, **kw):
        if target != url:
            return real(method, target, **kw)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(http, "request", request)


TOKEN_FAILURES = {
    "http500": HttpResponse(500, b"<html><body>Internal Server Error</body></html>"),
    "garbage": HttpResponse(200, b"\x00\xffnot json at all"),
    "no_token": HttpResponse(200, b'{"token_type": "Bearer", "expires_in": 3600}'),
    "timeout": TimeoutError("timed out"),
    "refused": ConnectionRefusedError(111, "Connection refused"),
}


@pytest.mark.parametrize("failure", sorted(TOKEN_FAILURES))
def test_a_failing_token_endpoint_is_a_502_and_caches_nothing(lti13, token_fn, stack, monkeypatch, failure):
    break_lms(monkeypatch, lti13["lms"].token_url, TOKEN_FAILURES[failure])

    answer = call(token_fn, lti13, "GET", "/api/memberships")

    body = assert_contract_error(answer, 502, "PLATFORM_REQUEST_FAILED")
    assert body["details"]["externalError"] is True and body["details"]["externalUrl"] == lti13["lms"].token_url
    assert_no_trace(answer.raw)
    assert platform_tokens(stack) == []
    assert lti13["lms"].service_requests() == []  # nothing was sent to the service without a token


SERVICE_FAILURES = {
    "garbage": HttpResponse(200, b"<html>maintenance</html>", {"Content-Type": "text/html"}),
    "http503": HttpResponse(503, b"Service Unavailable"),
    "timeout": TimeoutError("timed out"),
}


@pytest.mark.parametrize("failure", sorted(SERVICE_FAILURES))
@pytest.mark.parametrize("service", ["nrps", "ags"])
def test_a_failing_lms_service_is_a_502(lti13, token_fn, monkeypatch, failure, service):
    lms = lti13["lms"]
    url = lms.memberships_url if service == "nrps" else lms.item_url() + "/scores"
    break_lms(monkeypatch, url, SERVICE_FAILURES[failure])

    if service == "nrps":
        answer = call(token_fn, lti13, "GET", "/api/memberships")
    else:
        item_id = line_item_ids.encode(lms.item_url())
        answer = call(token_fn, lti13, "POST", f"/api/lineitems/{item_id}/scores", SCORE)

    body = assert_contract_error(answer, 502, "PLATFORM_REQUEST_FAILED")
    assert body["details"]["externalError"] is True
    assert_no_trace(answer.raw)
    assert lti13["ltik"] not in answer.raw


def test_a_platform_token_that_cannot_be_cached_is_a_503_and_sends_no_score(faults, lti13, token_fn, stack):
    faults.fail("dynamodb.PutItem", faults.throttled(), times=None)  # the sealed token's cache item
    item_id = line_item_ids.encode(lti13["lms"].item_url())

    answer = call(token_fn, lti13, "POST", f"/api/lineitems/{item_id}/scores", SCORE)

    assert_contract_error(answer, 503, "SERVICE_UNAVAILABLE")
    assert lti13["lms"].service_requests() == []
    assert platform_tokens(stack) == []
