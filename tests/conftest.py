"""Shared fixtures. Fake AWS credentials are set before anything imports boto3 or a handler."""

from __future__ import annotations

import json
import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_METRICS_NAMESPACE": "LtiGatewayTest",
        "POWERTOOLS_SERVICE_NAME": "lti-gateway-test",
        "POWERTOOLS_DEV": "false",
    }
)

from dataclasses import dataclass, field
from typing import Any

import pytest
from moto import mock_aws

from tests.support.lambda_context import FakeContext
from tests.support.stack import create_stack, load_function

_RESET_ENV = ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID", "DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL")


def _reset_caches() -> None:
    """Forget every per-container object (each registered itself in ``core.runtime``)."""
    from lti_gateway.core import runtime

    runtime.reset()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch):
    """A fresh moto account per test: the template's tables, a KMS key, env pointing at them."""
    for name in _RESET_ENV:
        monkeypatch.delenv(name, raising=False)
    from lti_gateway.local import moto_serial

    moto_serial.install()
    with mock_aws():
        env = create_stack()
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        _reset_caches()
        yield env
    _reset_caches()


@dataclass
class Org:
    org_id: str
    credential_id: str
    api_key: str


@pytest.fixture
def make_org(stack):
    from lti_gateway.admin import orgs

    def make(name: str = "Acme University") -> Org:
        created = orgs.create_organisation(name)
        return Org(created.org_id, created.credential_id, created.api_key)

    return make


@pytest.fixture
def org(make_org) -> Org:
    return make_org()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    raw: str
    cookies: list[str] = field(default_factory=list)  # HTTP API v2 ``cookies``: one Set-Cookie value each


def invoke(module, event: dict) -> Answer:
    result = module.lambda_handler(event, FakeContext())
    raw = result.get("body") or ""
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    return Answer(result["statusCode"], headers, body, raw, list(result.get("cookies") or []))


def _handler(name: str):
    """A fixture calling ``functions/<name>/app.py`` with an event on the test's moto stack."""

    @pytest.fixture
    def call(stack):
        module = load_function(name)
        return lambda event: invoke(module, event)

    return call


keys_fn = _handler("keys")
classes_fn = _handler("classes")
platforms_fn = _handler("platforms")
launch_fn = _handler("launch")
token_fn = _handler("token")


@pytest.fixture
def logs():
    """Everything the gateway's logger writes during the test, formatted exactly as in Lambda."""
    import io
    import logging

    from lti_gateway.core.observability import logger

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger._logger.removeHandler(handler)
