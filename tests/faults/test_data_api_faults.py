"""Faults under the Learnosity Data API compatible endpoint (keys function): answered in its envelope.

``{"meta": {"status": false, "code": …, "message": …, "error": …}, "data": null}``, like its 400s and
its 429 (``meta.code`` 42000): a DynamoDB or KMS throttle, timeout or unreachable endpoint is a 503
with ``Retry-After`` and ``meta.code`` ``service_unavailable`` (or ``kms_unavailable``), never the JSON
API's ``{error, details}``; a bug a 500 whose message is only the correlation id. Nothing is
half-written, and the same request works once the fault is gone, signed anew: a signature is
accepted once, so its one-time record (``ONCE#learnosity-sig#``) is what a refused attempt leaves.
"""

from __future__ import annotations

import pytest

from lti_gateway.lti11 import learnosity
from lti_gateway.repositories import deps
from tests.faults.conftest import RETRYABLE, assert_no_trace, snapshot
from tests.functional.lti11.test_learnosity_data_api import post, signed_form


def stored(stack):
    """Every item but rate windows and the signatures' one-time records (kept on purpose)."""
    return snapshot(stack, skip_prefixes=("RATE#", "ONCE#learnosity-sig#"))


def assert_envelope(answer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"] == "application/json"
    assert set(answer.body) == {"meta", "data"} and answer.body["data"] is None
    meta = answer.body["meta"]
    assert meta["status"] is False and isinstance(meta["timestamp"], int)
    assert (meta["code"], meta["error"]) == (code, code)
    assert meta["message"]
    assert ("retry-after" in answer.headers) == (status in (429, 503))
    if status == 503:
        assert int(answer.headers["retry-after"]) > 0
    assert_no_trace(answer.raw)


@pytest.fixture
def warm(keys_fn, org):
    """One successful request first: the data key, the credential and the rate window exist."""
    assert post(keys_fn, signed_form(org, {}, "get", user_id="warm")).status == 200


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_rate_window_that_cannot_be_counted_is_a_503_envelope(faults, keys_fn, org, stack, warm, fault):
    before = stored(stack)
    faults.fail("dynamodb.UpdateItem", getattr(faults, fault)())

    answer = post(keys_fn, signed_form(org, {"label": "Canvas"}))

    assert_envelope(answer, 503, "service_unavailable")
    assert faults.injected == ["dynamodb.UpdateItem"]
    assert stored(stack) == before
    assert post(keys_fn, signed_form(org, {"label": "Canvas"}, user_id="retry")).status == 200


def test_a_credential_that_cannot_be_read_is_a_503_envelope_not_a_401(faults, keys_fn, org, warm):
    faults.fail("dynamodb.GetItem", faults.read_timeout())

    assert_envelope(post(keys_fn, signed_form(org, {}, "get")), 503, "service_unavailable")


@pytest.mark.parametrize("fault", ["transaction_throttled", "read_timeout", "unreachable"])
def test_a_set_that_fails_in_storage_writes_nothing_and_can_be_retried(faults, keys_fn, org, stack, warm, fault):
    form = signed_form(org, {"key": "data-api-key-000001", "secret": "data-api-secret-0001", "label": "L"})
    before = stored(stack)
    faults.fail("dynamodb.TransactWriteItems", getattr(faults, fault)())

    answer = post(keys_fn, form)

    assert_envelope(answer, 503, "service_unavailable")  # not a 409 key_taken
    assert stored(stack) == before
    retry = {"key": "data-api-key-000001", "secret": "data-api-secret-0001"}
    again = post(keys_fn, signed_form(org, retry, user_id="retry"))
    assert again.status == 200 and again.body["data"]["key"] == "data-api-key-000001", again.raw


def test_a_listing_that_cannot_be_read_is_a_503_envelope(faults, keys_fn, org, warm):
    faults.fail("dynamodb.Query", faults.unreachable())

    assert_envelope(post(keys_fn, signed_form(org, {"limit": 2}, "get")), 503, "service_unavailable")


@pytest.mark.parametrize(
    ("operation", "fault", "status"),
    [
        ("kms.Decrypt", "throttled", 503),  # opening the credential's secret to check the signature
        ("kms.Decrypt", "connect_timeout", 503),
        ("kms.GenerateDataKey", "throttled", 503),  # sealing the new key's secret
        ("kms.GenerateDataKey", "access_denied", 502),
    ],
)
def test_kms_unavailable_on_a_cold_container_is_an_envelope(
    faults, keys_fn, org, stack, warm, operation, fault, status
):
    deps.secret_box.cache_clear()  # a new container: no data key yet
    before = stored(stack)
    error = faults.throttled("ThrottlingException") if fault == "throttled" else getattr(faults, fault)()
    faults.fail(operation, error, times=None)

    answer = post(keys_fn, signed_form(org, {"label": "Blackboard"}))

    assert_envelope(answer, status, "kms_unavailable")
    assert operation in faults.injected
    assert stored(stack) == before
    faults.clear()
    assert post(keys_fn, signed_form(org, {"label": "Blackboard"}, user_id="retry")).status == 200


def test_a_bug_is_a_500_envelope_naming_only_the_correlation_id(keys_fn, org, warm, monkeypatch):
    def broken(*_args, **_kw):
        raise RuntimeError("secret internals: /var/task/app.py line 42")

    monkeypatch.setattr(learnosity, "handle", broken)

    answer = post(keys_fn, signed_form(org, {}, "get"))

    assert_envelope(answer, 500, "internal_error")
    assert set(answer.body["meta"]["message"]) == {"correlation_id"}
    assert "secret internals" not in answer.raw


def test_throttling_still_answers_42000_with_retry_after(keys_fn, org, monkeypatch):
    from lti_gateway.core import config

    monkeypatch.setenv("DATA_API_REQUESTS_PER_MINUTE", "1")
    config.settings.cache_clear()
    assert post(keys_fn, signed_form(org, {"limit": 1}, "get")).status == 200

    answer = post(keys_fn, signed_form(org, {"limit": 2}, "get"))

    assert answer.status == 429 and answer.body["meta"]["code"] == 42000
    assert answer.body["meta"]["status"] is False and int(answer.headers["retry-after"]) >= 1
