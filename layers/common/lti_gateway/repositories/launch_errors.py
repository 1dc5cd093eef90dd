"""Refused launches and logins, by reference (launch table, ``LAUNCHERR#{reference}`` / ``META``, TTL on
``expires_at``; the key format is :mod:`lti_gateway.repositories.schema`'s).

The item is what :mod:`lti_gateway.admin.launch_errors` built (small, bounded, no secret); this module
only stores and reads it. DynamoDB sweeps expired items lazily (up to ~48 h late) and moto never does,
so :meth:`get` compares ``expires_at`` itself.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lti_gateway.repositories.dynamo import guard_item_size, is_conditional_failure
from lti_gateway.repositories.schema import META, launch_error_pk


class LaunchErrorsRepository:
    def __init__(self, table: Any):
        self._table = table
        guard_item_size(table.meta.client)

    def put(self, reference: str, item: dict[str, Any], *, expires_at: int) -> bool:
        """Store the record of ``reference`` once (never overwritten); False if one is already stored."""
        try:
            self._table.put_item(
                Item={**item, "pk": launch_error_pk(reference), "sk": META, "expires_at": expires_at},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def get(self, reference: str, *, now: int) -> dict[str, Any] | None:
        """The record of ``reference`` while it lives (``expires_at`` after ``now``), else None."""
        item = self._table.get_item(Key={"pk": launch_error_pk(reference), "sk": META}).get("Item")
        if item is None or int(item.get("expires_at", 0)) <= now:
            return None
        return item
