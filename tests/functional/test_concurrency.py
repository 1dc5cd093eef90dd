"""Races the conditional writes must win: one key, one label, no lost writes.

Lambda never runs two invocations in one process, and the resolver keeps the current event in
module state, so the racers here are the domain operations each container would run, in threads
against one moto backend (serialised per request, like DynamoDB).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3

from lti_gateway import consumer_keys
from lti_gateway.errors import Conflict


def _race(org_id: str, bodies: list[dict]) -> list[str]:
    def attempt(body: dict) -> str:
        try:
            consumer_keys.new_key_record(org_id, body)
        except Conflict as conflict:
            return conflict.code
        return "created"

    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(attempt, bodies))


def test_parallel_creates_of_the_same_key_let_exactly_one_through(org, stack):
    bodies = [{"key": "contested-key-0001", "secret": f"secret-number-{i:04d}"} for i in range(20)]

    outcomes = _race(org.org_id, bodies)

    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} <= {"key_taken", "concurrent_change"}
    assert len(consumer_keys.launch_credentials("contested-key-0001", cache_seconds=0).secrets) == 1


def test_parallel_creates_with_the_same_label_let_exactly_one_through(org, stack):
    outcomes = _race(org.org_id, [{"label": "Canvas"}] * 20)

    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} <= {"label_taken", "concurrent_change"}


def test_fifty_distinct_writers_lose_nothing(org, stack):
    outcomes = _race(org.org_id, [{"label": f"LMS {i}"} for i in range(50)])

    assert outcomes == ["created"] * 50
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    assert len([i for i in items if i.get("kind") == "consumer_key"]) == 50
