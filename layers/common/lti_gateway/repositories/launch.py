"""The launch table (TTL on ``expires_at``): short-lived state such as rate-limit counters.

DynamoDB sweeps expired items lazily (up to ~48 h late) and moto never does, so every reader
compares ``expires_at`` itself.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .dynamo import is_conditional_failure


class LaunchRepository:
    def __init__(self, table: Any):
        self._table = table

    def count_hit(self, bucket: str, window_start: int, *, limit: int, window_seconds: int) -> bool:
        """Count one request in a fixed window; False (and nothing counted) once ``limit`` is reached."""
        try:
            self._table.update_item(
                Key={"pk": f"RATE#{bucket}", "sk": str(window_start)},
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
