"""Idempotent creation (``Idempotency-Key`` header) with Powertools, stored in the launch table.

Powertools stores whatever the function returns (JSON, in the record's ``data``) and answers a replay
with it without running the function again. So a function must return no secret, sealed or not:
consumer keys return only the key, its organisation and a fingerprint of the sealed secret, and the
caller answers a replay from the key's item as it is now (``lti11/consumer_keys.py:_replay``). A
caller tells a first run from a replay by what the function itself recorded while it ran (a
contextvar): on a replay it did not run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from lti_gateway.core import runtime
from lti_gateway.core.config import settings
from lti_gateway.core.errors import Conflict, ValidationFailed
from lti_gateway.repositories import aws

MAX_KEY_LENGTH = 255
EXPIRES_AFTER_SECONDS = 24 * 3600


@runtime.cached
def _persistence(scope: str) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=settings().launch_table,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=f"IDEMPOTENCY#{scope}",
        expiry_attr="expires_at",
        boto3_client=aws.dynamodb_client(),
    )


@runtime.cached
def _config() -> IdempotencyConfig:
    return IdempotencyConfig(
        event_key_jmespath="[org_id, idempotency_key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=EXPIRES_AFTER_SECONDS,
    )


@runtime.cached
def _wrapped(scope: str, fn: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[..., dict[str, Any]]:

    def run(request: dict[str, Any]) -> dict[str, Any]:
        return fn(request)

    return idempotent_function(
        run, data_keyword_argument="request", persistence_store=_persistence(scope), config=_config()
    )


def once(
    scope: str,
    fn: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    org_id: str,
    idempotency_key: str | None,
    payload: dict[str, Any],
    lambda_context: Any = None,
) -> dict[str, Any]:
    """Run ``fn({"org_id", "idempotency_key", "payload"})`` at most once per (org, key) for 24 h."""
    request = {"org_id": org_id, "idempotency_key": idempotency_key, "payload": payload}
    if idempotency_key is None:
        return fn(request)
    if not 1 <= len(idempotency_key) <= MAX_KEY_LENGTH or not idempotency_key.isprintable():
        raise ValidationFailed({"Idempotency-Key": f"must be 1-{MAX_KEY_LENGTH} printable characters"})
    if lambda_context is not None:
        _config().register_lambda_context(lambda_context)
    try:
        return _wrapped(scope, fn)(request=request)
    except IdempotencyValidationError:
        raise Conflict(
            "this Idempotency-Key was already used with a different request body",
            code="idempotency_key_reused",
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise Conflict("a request with this Idempotency-Key is still in progress", code="request_in_progress") from None
