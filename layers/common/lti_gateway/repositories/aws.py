"""boto3 clients and resources, created lazily once per container (never at import time).

Each factory is `runtime.cached`: `core.runtime.reset()` forgets them with the rest of the container's state.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from botocore import exceptions as botocore_errors
from botocore.config import Config

from lti_gateway.core import runtime
from lti_gateway.core.config import settings
from lti_gateway.core.errors import ServiceUnavailable

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


@runtime.cached
def dynamodb() -> Any:
    return boto3.resource("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_BOTO_CONFIG)


@runtime.cached
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_BOTO_CONFIG)


@runtime.cached
def kms() -> Any:
    return boto3.client("kms", endpoint_url=settings().kms_endpoint_url, config=_BOTO_CONFIG)


@runtime.cached
def s3() -> Any:
    """SigV4 (presigned URLs), path-style addressing when an endpoint is set (the local moto server)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    config = _BOTO_CONFIG.merge(
        Config(signature_version="s3v4", s3={"addressing_style": "path" if endpoint else "virtual"})
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config)


# Error codes after which the same request may well succeed a moment later (the SDK has already
# retried them ``max_attempts`` times): throttling, and AWS's own transient failures.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "LimitExceededException",  # KMS: request rate over its quota
        "RequestThrottled",
        "SlowDown",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
# TransactWriteItems cancellation reasons that are capacity, not a condition or a conflict.
RETRYABLE_CANCELLATIONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
RETRY_AFTER_SECONDS = 2


def error_code(error: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError``, else None."""
    if isinstance(error, botocore_errors.ClientError):
        return str(error.response.get("Error", {}).get("Code") or "") or None
    return None


def is_retryable(error: BaseException) -> bool:
    """Throttling, a transient AWS failure, a timeout or a connection failure (not a refusal or a bug)."""
    if isinstance(error, (botocore_errors.ConnectionError, botocore_errors.HTTPClientError)):
        return True  # ReadTimeoutError, ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError
    if not isinstance(error, botocore_errors.ClientError):
        return False
    if error_code(error) in RETRYABLE_CODES:
        return True
    reasons = {str(r.get("Code")) for r in error.response.get("CancellationReasons") or [] if isinstance(r, dict)}
    return bool(reasons & RETRYABLE_CANCELLATIONS)


def as_unavailable(error: BaseException) -> ServiceUnavailable | None:
    """A 503 with ``Retry-After`` for a retryable AWS failure, also when wrapped (Powertools wraps the
    idempotency store's errors); None for anything else. The one mapping every handler uses."""
    seen: BaseException | None = error
    for _ in range(5):
        if seen is None:
            return None
        if is_retryable(seen):
            unavailable = ServiceUnavailable(
                "a storage or key service of the gateway is busy or did not answer; retry shortly",
                retry_after=RETRY_AFTER_SECONDS,
            )
            unavailable.aws_error = error_code(seen) or type(seen).__name__  # for the log line, not the body
            return unavailable
        seen = seen.__cause__ or seen.__context__
    return None
