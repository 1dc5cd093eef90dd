"""Owner console sessions and one-time sign-in links (launch table, TTL on ``expires_at``).

=================================  ===================================================================
item                               pk / sk
=================================  ===================================================================
console session (TTL <= 12 h)      ``CONSOLESESSION#{sha256 of the session token}`` / ``META``
                                   (``org_id``, ``credential_id``, ``role``, ``class_id``)
one-time sign-in link (TTL 5 min)  ``CONSOLELINK#{sha256 of the link token}`` / ``META`` (the same)
=================================  ===================================================================

Only hashes of the tokens are keys; the tokens themselves are never stored. What an item holds is
:mod:`lti_gateway.admin.console_sessions`'s; this module stores, reads and consumes it. DynamoDB sweeps
expired items lazily (up to ~48 h late) and moto never does, so every read compares ``expires_at``
itself, and a link is consumed by one conditional delete (exists and not expired): of two requests
presenting the same link, exactly one gets it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lti_gateway.repositories.dynamo import guard_item_size, is_conditional_failure
from lti_gateway.repositories.schema import META, console_link_pk, console_session_pk


class ConsoleSessionsRepository:
    def __init__(self, table: Any):
        self._table = table
        guard_item_size(table.meta.client)

    def _put_new(self, pk: str, item: dict[str, Any], expires_at: int) -> None:
        """Create-only: a token hash that somehow exists already is never overwritten (a 256-bit
        token colliding is a bug, answered as one)."""
        self._table.put_item(
            Item={**item, "pk": pk, "sk": META, "expires_at": int(expires_at)},
            ConditionExpression="attribute_not_exists(pk)",
        )

    # -- sessions -------------------------------------------------------------------------------------
    def put_session(self, token_hash: str, item: dict[str, Any], *, expires_at: int) -> None:
        self._put_new(console_session_pk(token_hash), item, expires_at)

    def get_session(self, token_hash: str, *, now: int) -> dict[str, Any] | None:
        """The live session (``expires_at`` after ``now``), else None. Strongly consistent: a sign-out
        counts from the next request."""
        item = self._table.get_item(Key={"pk": console_session_pk(token_hash), "sk": META}, ConsistentRead=True).get(
            "Item"
        )
        if item is None or int(item.get("expires_at", 0) or 0) <= now:
            return None
        return item

    def delete_session(self, token_hash: str) -> None:
        self._table.delete_item(Key={"pk": console_session_pk(token_hash), "sk": META})

    # -- one-time links -------------------------------------------------------------------------------
    def put_link(self, token_hash: str, item: dict[str, Any], *, expires_at: int) -> None:
        self._put_new(console_link_pk(token_hash), item, expires_at)

    def take_link(self, token_hash: str, *, now: int) -> dict[str, Any] | None:
        """Consume a live link: one conditional delete (it exists and ``expires_at`` is after ``now``)
        answering what was deleted; None when it is unknown, used or expired."""
        try:
            answer = self._table.delete_item(
                Key={"pk": console_link_pk(token_hash), "sk": META},
                ConditionExpression="attribute_exists(pk) AND expires_at > :now",
                ExpressionAttributeValues={":now": int(now)},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return None
            raise
        return answer.get("Attributes")
