"""Small helpers shared by the repositories, and the item size check every write passes.

:func:`guard_item_size` hooks a DynamoDB client (every repository's, in its constructor) so that each
write is measured before it is sent: an item over DynamoDB's 400 KB (``PutItem``, each ``Put`` of a
transaction or batch; for ``UpdateItem`` the values it sets) is a 413 ``item_too_large`` naming the
item, and nothing is written. DynamoDB would refuse it with a ``ValidationException`` (a 500) — or,
inside a flow, after earlier writes had already happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from lti_gateway.core import pagination
from lti_gateway.core.errors import BodyTooLarge, Conflict
from lti_gateway.repositories.aws import RETRYABLE_CANCELLATIONS

_serializer = TypeSerializer()
MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item size limit, attribute names included
# What an item is, by its partition key's prefix (repositories/schema.py), to name it in a refusal.
_ITEM_NAMES = {
    "LAUNCH": "launch context",
    "STATE": "login state",
    "CLASS": "class or unit",
    "CK": "consumer key",
    "APIKEY": "API credential",
    "ORG": "organisation",
    "PLATFORM": "platform",
    "ISS": "platform issuer index",
    "LTI1P1BIND": "LTI 1.1 binding",
    "SERVICEKEY": "service key",
    "PLATFORMTOKEN": "platform access token",
    "IDEMPOTENCY": "idempotency record",
    "ONCE": "one-time value",
    "CONSOLESESSION": "console session",
    "CONSOLELINK": "console sign-in link",
}
_GUARD_ID = "lti-gateway-item-size"


def _value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value in its wire format."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode("utf-8", "surrogatepass"))
    if kind == "N":
        return len(str(raw).lstrip("-").replace(".", "")) // 2 + 2
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8", "surrogatepass")) for v in raw)
    if kind == "NS":
        return sum(len(str(v)) // 2 + 2 for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in raw)
    if kind == "M":
        return 3 + item_size(raw) + len(raw)
    return 0


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it (UTF-8 attribute names plus values), wire format."""
    return sum(len(name.encode("utf-8", "surrogatepass")) + _value_size(value) for name, value in item.items())


def _item_name(item: dict[str, Any]) -> str:
    pk = (item.get("pk") or {}).get("S", "") if isinstance(item.get("pk"), dict) else ""
    return _ITEM_NAMES.get(pk.split("#", 1)[0], "item")


def _check(item: dict[str, Any], key: dict[str, Any] | None = None) -> None:
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise BodyTooLarge(
            {"item": _item_name(key or item), "bytes": size, "limit": MAX_ITEM_BYTES}, code="item_too_large"
        )


def _check_write(params: dict[str, Any], model: Any = None, **_: Any) -> None:
    """``before-parameter-build`` of a DynamoDB client, after boto3's own handlers (wire format)."""
    operation = getattr(model, "name", "")
    if operation == "PutItem":
        _check(params.get("Item") or {})
    elif operation == "UpdateItem":
        _check({**(params.get("Key") or {}), **(params.get("ExpressionAttributeValues") or {})}, params.get("Key"))
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems") or []:
            if "Put" in action:
                _check(action["Put"].get("Item") or {})
            elif "Update" in action:
                update = action["Update"]
                _check({**update.get("Key", {}), **update.get("ExpressionAttributeValues", {})}, update.get("Key"))
    elif operation == "BatchWriteItem":
        for requests in (params.get("RequestItems") or {}).values():
            for request in requests:
                if "PutRequest" in request:
                    _check(request["PutRequest"].get("Item") or {})


def guard_item_size(client: Any) -> None:
    """Measure every write of ``client`` before it is sent (idempotent per client)."""
    client.meta.events.register_last("before-parameter-build.dynamodb", _check_write, unique_id=_GUARD_ID)


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
        guard_item_size(table.meta.client)
        guard_item_size(client)

    def _transact(
        self,
        actions: list[dict[str, Any]],
        *,
        changing: str,
        refusals: Sequence[tuple[int, Callable[[], Exception]]] = (),
    ) -> None:
        """Run one transaction and answer its cancellation: a ``TransactionConflict`` is a 409
        ``concurrent_change`` ("a concurrent request changed ``changing``; retry"); else the first of
        ``refusals`` — ``(action index, make the error)`` — whose action failed its condition raises
        what it makes; anything else propagates as it came (an AWS fault, a 503 upstream)."""
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if "TransactionConflict" in reasons:
                raise Conflict(f"a concurrent request changed {changing}; retry", code="concurrent_change") from exc
            for index, refusal in refusals:
                if len(reasons) > index and reasons[index] == "ConditionalCheckFailed":
                    raise refusal() from exc
            raise

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
