"""Small helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from lti_gateway.core import pagination
from lti_gateway.repositories.aws import RETRYABLE_CANCELLATIONS

_serializer = TypeSerializer()


def to_attr(item: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values → DynamoDB's wire format (for the low-level transact API)."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_reasons(exc: ClientError) -> list[str]:
    """Codes per transaction item (``"None"`` for items that passed) of a TransactionCanceledException.

    A transaction cancelled for capacity (``ThrottlingError``, ``ProvisionedThroughputExceeded``) is
    not a condition failure: ``exc`` itself is re-raised, so no caller mistakes throttling for a
    conflict (a 409 or 404 that would tell the client not to retry); it becomes a 503 upstream.
    """
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
    if set(reasons) & RETRYABLE_CANCELLATIONS:
        raise exc
    return reasons


def strip_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}


class TableRepository:
    """A repository over one table: ``_table`` (the resource API) for single-item calls, ``_client``
    (the low-level API) for transactions, which the resource API lacks, and ``_name`` they address."""

    def __init__(self, table: Any, client: Any):
        self._table = table
        self._client = client
        self._name = table.name

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        """The transaction action that creates ``item``; it fails the transaction if the key exists."""
        return {
            "Put": {"TableName": self._name, "Item": to_attr(item), "ConditionExpression": "attribute_not_exists(pk)"}
        }


def query_page(
    table: Any, partition: str, *, limit: int, token: str | None, index: str = "gsi1"
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of an index partition, with the opaque, partition-bound page tokens of ``pagination``."""
    start = pagination.decode(token, index_pk=f"{index}pk", index_pk_value=partition)
    kwargs: dict[str, Any] = {
        "IndexName": index,
        "KeyConditionExpression": Key(f"{index}pk").eq(partition),
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    out = table.query(**kwargs)
    return out.get("Items", []), pagination.encode(out.get("LastEvaluatedKey"))
