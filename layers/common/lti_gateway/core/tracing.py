"""X-Ray tracing of a handler, opt-in: the stack's ``Tracing`` parameter sets ``LTI_GATEWAY_TRACING``.

Off (the default, and whenever the variable is not exactly ``true``), :func:`traced` returns the handler
itself: nothing is imported, so a cold start never loads the X-Ray SDK (tests/performance/test_cold_start.py).

On, the function runs with Lambda's ``Tracing: Active`` (template.yaml), which records every invocation
(initialisation, invocation, overhead) without any code. When the X-Ray SDK is also importable (a layer
built with it), the handler is wrapped by Powertools' ``Tracer``, which adds the cold-start annotation and
a subsegment per AWS call (DynamoDB, KMS, S3; botocore only, never the outbound HTTP client: LMS URLs
stay out of traces). The handler's response and errors are never captured into the trace (a launch's
answer carries its ltik in ``Location``). Without the SDK the handler is returned as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TypeVar

H = TypeVar("H", bound=Callable[..., object])

ENV = "LTI_GATEWAY_TRACING"
# What Powertools' Tracer patches: the AWS SDK only (http.client would record the LMS URLs we call).
PATCHED = ("botocore",)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True only when ``LTI_GATEWAY_TRACING`` is ``true`` (any case); unset or anything else is off."""
    value = (os.environ if environ is None else environ).get(ENV, "")
    return value.strip().lower() == "true"


def sdk_available() -> bool:
    """Whether the X-Ray SDK can be imported (it is not in the layer unless built with it)."""
    import importlib.util

    return importlib.util.find_spec("aws_xray_sdk") is not None


def traced(handler: H) -> H:
    """``handler`` wrapped by Powertools' Tracer when tracing is on and the SDK is there; else ``handler``."""
    if not enabled() or not sdk_available():
        return handler
    from aws_lambda_powertools import Tracer

    from lti_gateway.core.observability import SERVICE

    tracer = Tracer(service=SERVICE, patch_modules=PATCHED)
    return tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False)  # type: ignore[return-value]
