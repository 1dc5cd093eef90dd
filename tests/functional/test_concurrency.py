"""Races the conditional writes must win: one key, one label, no lost writes.

Lambda never runs two invocations in one process, and the resolver keeps the current event in
module state, so the racers here are the domain operations each container would run, in threads
against one moto backend (serialised per request, like DynamoDB).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from lti_gateway.core.errors import Conflict, GatewayError
from lti_gateway.launch import dispatch
from lti_gateway.lti11 import consumer_keys
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_fixtures import make_lti11_world

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
APP = "https://app.example.com/lti/start"


def _race(org_id: str, bodies: list[dict], workers: int = 10) -> list[str]:
    def attempt(body: dict) -> str:
        try:
            consumer_keys.new_key_record(org_id, body)
        except Conflict as conflict:
            return conflict.code
        return "created"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(attempt, bodies))


def test_fifty_parallel_creates_of_the_same_key_let_exactly_one_through(org, stack):
    bodies = [{"key": "contested-key-0001", "secret": f"secret-number-{i:04d}"} for i in range(50)]

    outcomes = _race(org.org_id, bodies, workers=50)

    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} <= {"key_taken", "concurrent_change"}  # both are 409s
    # The stored key is intact: the winner's secret, and only it, opens it.
    winner = bodies[outcomes.index("created")]["secret"]
    assert consumer_keys.launch_credentials("contested-key-0001").secrets == (winner,)
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    assert [i["pk"] for i in items if i.get("kind") == "consumer_key"] == ["CK#contested-key-0001"]


def test_parallel_creates_with_the_same_label_let_exactly_one_through(org, stack):
    outcomes = _race(org.org_id, [{"label": "Canvas"}] * 20)

    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} <= {"label_taken", "concurrent_change"}


def test_fifty_distinct_writers_lose_nothing(org, stack):
    outcomes = _race(org.org_id, [{"label": f"LMS {i}"} for i in range(50)])

    assert outcomes == ["created"] * 50
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    assert len([i for i in items if i.get("kind") == "consumer_key"]) == 50


# -- key rotation while dispatch are in flight ---------------------------------------------------------


@pytest.fixture
def lti11_class(stack, org, monkeypatch):
    return make_lti11_world(org, monkeypatch)


def _launch(world: dict, secret: str) -> str:
    """One LTI 1.1 launch signed with ``secret`` as this (warm) container runs it; its outcome code."""
    url = world["class"]["launch_url"]
    signed = sign_launch(url, CANVAS, consumer_key=world["key"], secret=secret)
    event = launch_event(signed, host=HOST, raw_path="/lti/launch/" + world["class"]["class_id"])
    try:
        dispatch.lti11_launch(event, world["class"]["class_id"], None)
    except GatewayError as error:
        return error.code
    return "accepted"


def test_launches_signed_with_a_valid_secret_succeed_while_the_key_rotates(lti11_class):
    """GIVEN a warm launch container that cached the key, WHEN another container rotates it (with a
    grace period) while dispatch are in flight, THEN every launch signed with the old secret succeeds,
    and so does every launch signed with the new one as soon as the LMS has it."""
    world = lti11_class
    assert _launch(world, world["secret"]) == "accepted"  # warm: the key is cached in this container
    rotated: dict[str, str] = {}
    go = threading.Event()

    def old_secret_launch(_: int) -> str:
        go.wait()
        return _launch(world, world["secret"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        during = pool.map(old_secret_launch, range(16))
        go.set()
        rotated.update(consumer_keys.rotate_key(world["principal"], world["key"], {"grace_period_seconds": 3600}))
        outcomes_during = list(during)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes_new = list(pool.map(lambda _: _launch(world, rotated["secret"]), range(8)))
        outcomes_old = list(pool.map(lambda _: _launch(world, world["secret"]), range(8)))

    assert outcomes_during == ["accepted"] * 16
    assert outcomes_new == ["accepted"] * 8  # not refused by this container's stale cached copy
    assert outcomes_old == ["accepted"] * 8  # still inside the grace period
    assert _launch(world, "an-entirely-wrong-secret-0000") == "invalid_signature"


def test_a_key_created_in_another_container_launches_at_once(lti11_class, org):
    """A container that cached "unknown" for a key (an LMS tried it too early) does not keep refusing
    it once another container created it."""
    world = {**lti11_class, "key": "freshly-made-key-0001"}
    assert _launch(world, "freshly-made-secret-00001") == "unknown_consumer_key"  # cached as unknown

    consumer_keys.new_key_record(org.org_id, {"key": world["key"], "secret": "freshly-made-secret-00001"})

    assert _launch(world, "freshly-made-secret-00001") == "accepted"
