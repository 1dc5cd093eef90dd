"""Small helpers shared by the repositories."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()


def to_attr(item: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values → DynamoDB's wire format (for the low-level transact API)."""
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def cancellation_reasons(exc: ClientError) -> list[str]:
    """Codes per transaction item (``"None"`` for items that passed) of a TransactionCanceledException."""
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]


def strip_none(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if v is not None}
