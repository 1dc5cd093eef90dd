"""The launch table (TTL on ``expires_at``): short-lived state such as rate-limit counters, LTI 1.1
nonces, LTI 1.3 login state (``STATE#{state}``) and launch contexts (``LAUNCH#{id}``); their keys:
``repositories/schema.py``.

DynamoDB sweeps expired items lazily (up to ~48 h late) and moto never does, so every reader
compares ``expires_at`` itself. Every write is measured first (``dynamo.guard_item_size``): a launch
context over DynamoDB's 400 KB is a 413 ``item_too_large``, never a ``ValidationException``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from lti_gateway.repositories.dynamo import guard_item_size, is_conditional_failure
from lti_gateway.repositories.schema import META, launch_pk, once_pk, rate_pk, state_pk


@dataclass(frozen=True)
class ConsumedState:
    """What consuming an OIDC state found: ``ok`` (live), ``expired`` or ``unknown`` (absent/replayed)."""

    status: Literal["ok", "expired", "unknown"]
    item: dict[str, Any] | None


def _state_found(item: dict[str, Any] | None, now: int) -> ConsumedState:
    """What a state item read or consumed says: ``unknown`` (none), ``expired`` (``expires_at`` compared
    here, not trusted to TTL) or ``ok``."""
    if item is None:
        return ConsumedState("unknown", None)
    if int(item.get("expires_at", 0)) <= now:
        return ConsumedState("expired", item)
    return ConsumedState("ok", item)


class LaunchRepository:
    def __init__(self, table: Any):
        self._table = table
        guard_item_size(table.meta.client)

    def count_hit(self, bucket: str, window_start: int, *, limit: int, window_seconds: int) -> bool:
        """Count one request in a fixed window; False (and nothing counted) once ``limit`` is reached."""
        try:
            self._table.update_item(
                Key={"pk": rate_pk(bucket), "sk": str(window_start)},
                UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={
                    ":one": 1,
                    ":limit": limit,
                    ":exp": window_start + 2 * window_seconds,
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    # -- one-time values (LTI 1.1 nonces, later OIDC state) --------------------------------------------
    def add_once(self, scope: str, value: str, *, now: int, expires_at: int) -> bool:
        """Remember ``value`` in ``scope`` until ``expires_at``; False if it is already remembered.

        An expired leftover (TTL deletion lags) does not count: the condition compares the expiry.
        """
        try:
            self._table.put_item(
                Item={"pk": once_pk(scope), "sk": value, "expires_at": expires_at},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": now},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    # -- OIDC login state (LTI 1.3): written by the login, consumed once by the launch -----------------
    def put_state(self, state: str, item: dict[str, Any], *, expires_at: int) -> None:
        """Store a login's state (with its nonce and platform); a state is never overwritten."""
        self._table.put_item(
            Item={**item, "pk": state_pk(state), "sk": META, "expires_at": expires_at},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def read_state(self, state: str, now: int) -> ConsumedState:
        """A login's state, read (strongly consistent) and left in place: the launch validates everything
        before :meth:`consume_state` spends it. ``unknown`` when absent; ``expired`` past ``expires_at``."""
        item = self._table.get_item(Key={"pk": state_pk(state), "sk": META}, ConsistentRead=True).get("Item")
        return _state_found(item, now)

    def consume_state(self, state: str, now: int) -> ConsumedState:
        """Delete a login's state and return it, in one conditional delete (``ReturnValues=ALL_OLD``).

        ``unknown`` when it does not exist (never issued, or already consumed: a replay); of parallel
        consumers exactly one gets the item. An expired leftover (TTL deletion lags) is deleted too
        and answered ``expired``: ``expires_at`` is compared with ``now`` here, not trusted to TTL.
        """
        try:
            answer = self._table.delete_item(
                Key={"pk": state_pk(state), "sk": META},
                ConditionExpression="attribute_exists(pk)",
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return ConsumedState("unknown", None)
            raise
        return _state_found(answer.get("Attributes") or {}, now)

    # -- launch contexts (behind each ltik) ------------------------------------------------------------
    def put_launch_context(self, launch_id: str, context: dict[str, Any], *, expires_at: int) -> None:
        self._table.put_item(
            Item={**context, "pk": launch_pk(launch_id), "sk": META, "expires_at": expires_at},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_launch_context(self, launch_id: str, *, now: int) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": launch_pk(launch_id), "sk": META}).get("Item")
        if item is None or int(item.get("expires_at", 0)) <= now:
            return None
        return item
