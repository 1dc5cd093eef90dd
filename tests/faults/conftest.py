"""Fault injection for the AWS side: every boto3 call the handlers make can be made to fail.

    def test_x(faults, keys_fn, org):
        faults.fail("dynamodb.Query", faults.throttled())        # the next Query is throttled
        faults.fail("kms.GenerateDataKey", faults.access_denied(), times=None)   # every one, from now on

The hook sits on botocore's ``before-call`` event of the clients the handlers use (created by
``lti_gateway.repositories.aws`` once per "container"), so an injected error comes out of the SDK exactly where a
real one would, after the SDK's own retries (which a real throttle would have exhausted).
``faults.calls`` lists every call made (``"dynamodb.PutItem"``), injected or not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

# The LTI 1.3 launch world (a registered platform, its JWKS on loopback) and the launch function.
from tests.functional.launch.test_lti13_launch import jwks, world  # noqa: F401

# The dynamic-registration LMS peer (on loopback) and local mode that lets the gateway reach it.
from tests.functional.lti13.test_dynamic_registration import insecure, lms  # noqa: F401

Factory = Callable[[str], Exception]


def client_error(code: str, message: str, **extra: Any) -> Factory:
    def make(operation: str) -> Exception:
        return ClientError(
            {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}, **extra},
            operation,
        )

    return make


@dataclass
class _Rule:
    target: str  # "dynamodb.PutItem", or "dynamodb" for every call of the service
    error: Factory
    times: int | None  # None: every matching call
    skip: int


class Faults:
    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self.calls: list[str] = []
        self.injected: list[str] = []

    # -- what to inject -------------------------------------------------------------------------------
    @staticmethod
    def throttled(code: str = "ProvisionedThroughputExceededException") -> Factory:
        return client_error(code, "The level of configured provisioned throughput for the table was exceeded.")

    @staticmethod
    def transaction_throttled(items: int = 2) -> Factory:
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity."}]
        reasons += [{"Code": "None"}] * (items - 1)
        return client_error(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]",
            CancellationReasons=reasons,
        )

    @staticmethod
    def condition_failed() -> Factory:
        return client_error("ConditionalCheckFailedException", "The conditional request failed")

    @staticmethod
    def access_denied() -> Factory:
        return client_error("AccessDeniedException", "User is not authorized to perform kms:GenerateDataKey")

    @staticmethod
    def read_timeout() -> Factory:
        return lambda _: ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    @staticmethod
    def connect_timeout() -> Factory:
        return lambda _: ConnectTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com/")

    @staticmethod
    def unreachable() -> Factory:
        return lambda _: EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/")

    # -- rules ------------------------------------------------------------------------------------------
    def fail(self, target: str, error: Factory, *, times: int | None = 1, skip: int = 0) -> None:
        """Fail the next ``times`` calls matching ``target`` (after letting ``skip`` of them through)."""
        self._rules.append(_Rule(target, error, times, skip))

    def clear(self) -> None:
        self._rules.clear()

    def _before_call(self, event_name: str, **_: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        name = f"{service}.{operation}"
        self.calls.append(name)
        for rule in self._rules:
            if rule.target not in (name, service) or rule.times == 0:
                continue
            if rule.skip > 0:
                rule.skip -= 1
                continue
            if rule.times is not None:
                rule.times -= 1
            self.injected.append(name)
            raise rule.error(operation)


@pytest.fixture
def faults(stack):
    """Faults on the clients of this test's stack (fresh per test, like a new container's)."""
    from lti_gateway.repositories import aws

    injector = Faults()
    for client in (aws.dynamodb().meta.client, aws.dynamodb_client(), aws.kms(), aws.s3()):
        client.meta.events.register("before-call", injector._before_call, unique_id="fault-injection")
    yield injector
    injector.clear()


def snapshot(stack, *, skip_prefixes: tuple[str, ...] = ("RATE#",)) -> dict[str, list[dict]]:
    """Every item of the three tables (what a half-written record would show up in)."""
    tables = boto3.resource("dynamodb")
    found = {}
    for name in ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE"):
        items = tables.Table(stack[name]).scan()["Items"]
        found[name] = sorted(
            (i for i in items if not str(i["pk"]).startswith(skip_prefixes)), key=lambda i: (i["pk"], i["sk"])
        )
    return found


def assert_no_trace(raw: str) -> None:
    for marker in ("Traceback", 'File "', "botocore", "ClientError", "ProvisionedThroughput", "Exception"):
        assert marker not in raw, f"{marker!r} in the answer: {raw[:500]}"


# The fault kinds a client may retry (each a factory on ``faults``): 503 with Retry-After.
RETRYABLE = ["throttled", "read_timeout", "unreachable"]


def assert_page(answer, status: int, code: str | None = None) -> None:
    """An HTML page (never JSON) with the status, a reference, no trace; ``Retry-After`` on a 503 only."""
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.raw.lstrip().lower().startswith("<!doctype html>")
    assert "Reference:" in answer.raw
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    if code is not None:
        assert f"<code>{code}</code>" in answer.raw
    assert ("retry-after" in answer.headers) == (status == 503)
    if status == 503:
        assert int(answer.headers["retry-after"]) > 0
    assert_no_trace(answer.raw)
