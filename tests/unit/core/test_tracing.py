"""core/tracing.py: the handler wrapping is a no-op unless the stack's Tracing parameter is on.

Off (the default), a handler is returned as it is and importing it never loads the X-Ray SDK; on, every
handler is wrapped by Powertools' Tracer (which loads it), the response is not captured into the trace,
and without the SDK in the layer the handler again stays as it is (Lambda's Active tracing only).
"""

from __future__ import annotations

import sys

import pytest

from lti_gateway.core import tracing
from tests.support import cold_start

ALL_HANDLERS = ("keys", "classes", "launch", "platforms", "export", "token", "console", "rotation")


def handler(event, context):
    return {"statusCode": 302, "headers": {"Location": "https://app.example/?ltik=secret"}}


@pytest.mark.parametrize("value", [None, "", "false", "False", "0", "yes", "1", "on"])
def test_tracing_is_off_unless_the_variable_is_exactly_true(value, monkeypatch):
    if value is None:
        monkeypatch.delenv(tracing.ENV, raising=False)
    else:
        monkeypatch.setenv(tracing.ENV, value)
    assert not tracing.enabled()
    assert tracing.traced(handler) is handler


@pytest.mark.parametrize("value", ["true", "TRUE", " true "])
def test_tracing_is_on_with_true(value):
    assert tracing.enabled({tracing.ENV: value})


def test_on_with_the_sdk_the_handler_is_wrapped_and_answers_the_same(monkeypatch):
    monkeypatch.setenv(tracing.ENV, "true")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)  # Tracer disables itself off Lambda
    wrapped = tracing.traced(handler)
    assert wrapped is not handler
    assert wrapped({}, None) == handler({}, None)


def test_on_the_response_is_never_captured_into_the_trace(monkeypatch):
    """A launch's answer carries its ltik: Tracer is asked not to record responses or errors."""
    seen = {}

    class FakeTracer:
        def __init__(self, **kwargs):
            seen["init"] = kwargs

        def capture_lambda_handler(self, fn, **kwargs):
            seen["capture"] = kwargs
            return lambda event, context: fn(event, context)

    import aws_lambda_powertools

    monkeypatch.setenv(tracing.ENV, "true")
    monkeypatch.setattr(aws_lambda_powertools, "Tracer", FakeTracer)
    wrapped = tracing.traced(handler)
    assert wrapped({}, None) == handler({}, None)
    assert seen["capture"] == {"capture_response": False, "capture_error": False}
    assert seen["init"]["patch_modules"] == ("botocore",)  # never http.client: LMS URLs stay out


def test_on_without_the_sdk_the_handler_is_left_alone(monkeypatch):
    monkeypatch.setenv(tracing.ENV, "true")
    monkeypatch.setitem(sys.modules, "aws_xray_sdk", None)  # as if the layer had no SDK
    assert tracing.sdk_available() is False
    assert tracing.traced(handler) is handler


def test_sdk_available_reflects_the_environment():
    assert tracing.sdk_available() is True  # the dev venv has it (the layer does not)


@pytest.mark.parametrize("name", ALL_HANDLERS)
def test_every_handler_is_wired_tracing_on_loads_the_sdk(name):
    """The switch is really in each handler: on, importing it loads the X-Ray SDK (the Tracer)."""
    env = {**cold_start.lambda_environment(), tracing.ENV: "true"}
    assert cold_start.import_handler(name, env=env).loaded("aws_xray_sdk")


@pytest.mark.parametrize("name", ["console", "rotation"])  # the others: tests/performance/test_cold_start.py
def test_tracing_off_loads_no_sdk(name):
    env = {**cold_start.lambda_environment(), tracing.ENV: "false"}
    assert not cold_start.import_handler(name, env=env).loaded("aws_xray_sdk")
