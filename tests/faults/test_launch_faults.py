"""Faults under the launch function: a person in the LMS iframe sees an HTML page, never JSON or a trace.

Storage throttled or unreachable: a 503 page with ``Retry-After``; the platform's JWKS down: cached
keys keep verifying (the last good set is kept, also past its refresh age), and with nothing cached a
502 page. No launch context is stored by a failed launch.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from lti_gateway.launch import dispatch
from lti_gateway.lti11 import consumer_keys
from lti_gateway.lti13 import launch as lti13_launch
from lti_gateway.lti13 import platform_jwks
from tests.faults.conftest import assert_page
from tests.functional.launch.test_lti13_launch import full_launch, id_token_for, items, launch_post, login
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_fixtures import make_lti11_world

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
APP = "https://app.example.com/lti/start"


# -- LTI 1.1 ------------------------------------------------------------------------------------------------


@pytest.fixture
def lti11(stack, org, monkeypatch):
    world = make_lti11_world(org, monkeypatch)
    cls = world["class"]

    def event() -> dict:
        signed = sign_launch(cls["launch_url"], CANVAS, consumer_key=world["key"], secret=world["secret"])
        return launch_event(signed, host=HOST, raw_path=urlsplit(cls["launch_url"]).path)

    return event


def test_a_throttled_nonce_write_is_a_503_page_and_the_same_launch_works_on_retry(faults, lti11, launch_fn, stack):
    event = lti11()
    faults.fail("dynamodb.PutItem", faults.throttled())

    assert_page(launch_fn(event), 503, "service_unavailable")
    assert items(stack, "LAUNCH#") == []
    assert launch_fn(event).status == 302  # the nonce was not spent: the browser's retry goes through


def test_a_launch_context_write_that_times_out_is_a_503_page_and_stores_no_context(faults, lti11, launch_fn, stack):
    assert launch_fn(lti11()).status == 302  # warm: key, class and organisation cached
    # The nonce (PutItem) goes through; the context, written with the learner's outcome records in one
    # BatchWriteItem (the launch carries an outcome service), does not.
    faults.fail("dynamodb.BatchWriteItem", faults.read_timeout())

    assert_page(launch_fn(lti11()), 503, "service_unavailable")
    assert len(items(stack, "LAUNCH#")) == 1  # only the warm-up's


def test_an_unreadable_consumer_key_is_a_503_page_not_an_unknown_key(faults, lti11, launch_fn):
    faults.fail("dynamodb.GetItem", faults.unreachable())

    assert_page(launch_fn(lti11()), 503, "service_unavailable")


def test_kms_unavailable_on_a_cold_container_is_a_page(faults, lti11, launch_fn):
    from lti_gateway.repositories import deps

    deps.secret_box.cache_clear()
    consumer_keys.clear_cache()
    faults.fail("kms.Decrypt", faults.access_denied(), times=None)

    assert_page(launch_fn(lti11()), 502, "kms_unavailable")


def test_a_bug_is_a_500_page_with_a_reference_and_no_trace(lti11, launch_fn, monkeypatch):
    def broken(*_args, **_kw):
        raise RuntimeError("secret internals: /var/task/app.py line 42")

    monkeypatch.setattr(dispatch, "lti11_launch", broken)

    answer = launch_fn(lti11())

    assert_page(answer, 500, "internal_error")
    assert "secret internals" not in answer.raw and "Reference:" in answer.raw


# -- LTI 1.3 ------------------------------------------------------------------------------------------------


def _post(launch_fn, target: str) -> dict:
    auth = login(launch_fn, target)
    return launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})


def test_a_throttled_state_is_a_503_page_and_not_spent(faults, world, launch_fn, stack):
    event = _post(launch_fn, world["class"]["launch_url"])
    faults.fail("dynamodb.DeleteItem", faults.throttled())

    assert_page(launch_fn(event), 503, "service_unavailable")
    assert items(stack, "LAUNCH#") == []
    assert launch_fn(event).status == 302  # the state survived the throttle: the form re-post works


def test_a_launch_context_that_cannot_be_stored_leaves_nothing(faults, world, launch_fn, stack):
    event = _post(launch_fn, world["class"]["launch_url"])
    faults.fail("dynamodb.PutItem", faults.throttled(), times=None)

    assert_page(launch_fn(event), 503, "service_unavailable")
    assert items(stack, "LAUNCH#") == []


def test_cached_platform_keys_keep_working_while_the_jwks_is_down(world, launch_fn, jwks, monkeypatch):
    target = world["class"]["launch_url"]
    assert full_launch(launch_fn, target)[0].status == 302  # the key set is fetched and cached
    jwks.stop()

    assert full_launch(launch_fn, target)[0].status == 302
    later = time.monotonic() + platform_jwks.MAX_AGE_SECONDS + 1  # due for a refresh, which fails
    monkeypatch.setattr(lti13_launch.platform_keys, "_clock", lambda: later)
    assert full_launch(launch_fn, target)[0].status == 302  # the last good set is kept


@pytest.mark.parametrize("failure", ["stopped", "garbage", "http500"])
def test_a_jwks_that_is_down_with_nothing_cached_is_a_502_page(world, launch_fn, jwks, stack, failure):
    if failure == "stopped":
        jwks.stop()
    elif failure == "garbage":
        jwks.keys = "<html>maintenance</html>"  # type: ignore[assignment]
    else:
        jwks.status = 500

    answer, _ = full_launch(launch_fn, world["class"]["launch_url"])

    assert_page(answer, 502, "jwks_unavailable")
    assert items(stack, "LAUNCH#") == []


def _unprocessed(monkeypatch, keep):
    """DynamoDB answering every BatchWriteItem by leaving the items ``keep(item)`` picks unprocessed
    (what it does under throttling); the others are written."""
    import botocore.client

    real = botocore.client.BaseClient._make_api_call
    sent: list[int] = []

    def answer(self, operation, params):
        if operation != "BatchWriteItem":
            return real(self, operation, params)
        sent.append(1)
        [(table, requests)] = params["RequestItems"].items()
        left = [r for r in requests if keep(r["PutRequest"]["Item"])]
        done = [r for r in requests if not keep(r["PutRequest"]["Item"])]
        if done:
            real(self, operation, {"RequestItems": {table: done}})
        return {"UnprocessedItems": {table: left} if left else {}}

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", answer)
    monkeypatch.setattr("lti_gateway.repositories.launch.BATCH_BACKOFF_SECONDS", 0)
    return sent


def _pk(item) -> str:
    value = item["pk"]
    return value["S"] if isinstance(value, dict) else value


def test_a_context_dynamodb_keeps_leaving_unprocessed_is_a_503_page(faults, lti11, launch_fn, stack, monkeypatch):
    assert launch_fn(lti11()).status == 302
    sent = _unprocessed(monkeypatch, lambda item: _pk(item).startswith("LAUNCH#"))

    assert_page(launch_fn(lti11()), 503, "service_unavailable")
    assert len(sent) == 3 and len(items(stack, "LAUNCH#")) == 1  # retried, then refused; only the warm-up's


def test_an_unprocessed_learner_record_is_sent_again(faults, lti11, launch_fn, stack, monkeypatch):
    assert launch_fn(lti11()).status == 302
    first = []

    def once(item) -> bool:  # the learner record is left unprocessed by the first answer only
        if _pk(item).startswith("OUTCOMES#") and not first:
            first.append(1)
            return True
        return False

    sent = _unprocessed(monkeypatch, once)
    assert launch_fn(lti11()).status == 302
    assert len(sent) == 2 and len(items(stack, "LAUNCH#")) == 2
