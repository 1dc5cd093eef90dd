"""The app API's own items in the launch table: service keys and cached platform access tokens.

Item keys (service key, slot, platform access token): see ``repositories/schema.py``.

A slot (organisation + platform + context + resource link) holds one key. Replacing it is one
transaction: the slot moves to the new key only if it still names the key read before (optimistic),
the new key is written and the previous one deleted, so two keys of one slot never both work.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from lti_gateway.repositories.dynamo import TableRepository, cancellation_reasons, is_conditional_failure, to_attr
from lti_gateway.repositories.schema import META, service_key_pk, slot_pk, token_pk


class SlotTaken(Exception):
    """The slot changed between the read and the replacement (a concurrent launch won)."""


class AppTokensRepository(TableRepository):
    # -- service keys ------------------------------------------------------------------------------
    def get_service_key(self, key_hash: str) -> dict[str, Any] | None:
        """Strongly consistent: every service session reads it, so a revocation counts from the next call."""
        return self._table.get_item(Key={"pk": service_key_pk(key_hash), "sk": META}, ConsistentRead=True).get("Item")

    def get_slot(self, slot: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": slot_pk(slot), "sk": META}).get("Item")

    def replace_service_key(
        self, slot: str, key_item: dict[str, Any], slot_fields: dict[str, Any], *, previous_hash: str | None
    ) -> None:
        """Point ``slot`` at ``key_item`` and delete the previous key, atomically; :class:`SlotTaken`
        when the slot no longer names ``previous_hash`` (or already exists when None was read)."""
        new_hash = key_item["key_hash"]
        slot_item = {**slot_fields, "pk": slot_pk(slot), "sk": META, "key_hash": new_hash}
        if previous_hash is None:
            slot_put: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            slot_put = {
                "ConditionExpression": "key_hash = :previous",
                "ExpressionAttributeValues": {":previous": {"S": previous_hash}},
            }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._name, "Item": to_attr(slot_item), **slot_put}},
            {
                "Put": {
                    "TableName": self._name,
                    "Item": to_attr({**key_item, "pk": service_key_pk(new_hash), "sk": META}),
                }
            },
        ]
        if previous_hash is not None and previous_hash != new_hash:
            actions.append(
                {"Delete": {"TableName": self._name, "Key": to_attr({"pk": service_key_pk(previous_hash), "sk": META})}}
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise SlotTaken(slot) from None
            raise

    def revoke_service_key(self, key_hash: str, slot: str) -> bool:
        """Delete a key and mark its slot revoked (if the slot still names it); False if already gone."""
        try:
            self._table.delete_item(
                Key={"pk": service_key_pk(key_hash), "sk": META}, ConditionExpression="attribute_exists(pk)"
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        try:
            # The slot remembers the revocation: the same launch cannot get its key issued again.
            self._table.update_item(
                Key={"pk": slot_pk(slot), "sk": META},
                UpdateExpression="SET key_hash = :revoked",
                ConditionExpression="key_hash = :mine",
                ExpressionAttributeValues={":mine": key_hash, ":revoked": f"revoked:{key_hash}"},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
        return True

    # -- platform access tokens ------------------------------------------------------------------------
    def get_token(self, cache_key: str, *, now: int) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": token_pk(cache_key), "sk": META}).get("Item")
        if item is None or int(item.get("expires_at", 0)) <= now:
            return None
        return item

    def put_token(self, cache_key: str, item: dict[str, Any], *, expires_at: int) -> None:
        self._table.put_item(Item={**item, "pk": token_pk(cache_key), "sk": META, "expires_at": expires_at})

    def delete_token(self, cache_key: str) -> None:
        self._table.delete_item(Key={"pk": token_pk(cache_key), "sk": META})
