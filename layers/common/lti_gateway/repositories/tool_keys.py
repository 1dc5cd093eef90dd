"""The tool's LTI 1.3 RSA signing keys, in the keys table.

Items: a pointer (``TOOLKEY#rsa`` / ``CURRENT``) and one item per key (``TOOLKEY#rsa`` / ``KID#{kid}``);
their keys and attributes: see ``repositories/schema.py``.

The pointer makes "which key is current" one conditional item: the first key is created with
``attribute_not_exists`` on it (concurrent cold starts agree on one key) and a rotation is one
transaction conditional on the pointer's version (two rotations at once: one wins, one 409s).
One ``Query`` on the partition reads the pointer and every key.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lti_gateway.core.errors import Conflict
from lti_gateway.repositories.dynamo import TableRepository, cancellation_reasons, to_attr
from lti_gateway.repositories.schema import CURRENT, KID_PREFIX, RSA_KEYS_PK, kid_sk

KIND = "tool_rsa_key"


class ToolKeysRepository(TableRepository):
    def load(self) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """The pointer (or None before the first key) and every key item by kid; one consistent Query."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(RSA_KEYS_PK), "ConsistentRead": True}
        pointer, keys = None, {}
        while True:
            out = self._table.query(**kwargs)
            for item in out.get("Items", []):
                if item["sk"] == CURRENT:
                    pointer = item
                elif item["sk"].startswith(KID_PREFIX):
                    keys[item["kid"]] = item
            if not out.get("LastEvaluatedKey"):
                return pointer, keys
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]

    def _key_put(self, key: dict[str, Any]) -> dict[str, Any]:
        return self._put_new({**key, "pk": RSA_KEYS_PK, "sk": kid_sk(key["kid"]), "kind": KIND})

    def create_first(self, key: dict[str, Any], at: str) -> bool:
        """Store ``key`` as the first current key; False if another writer stored one first."""
        pointer = {"pk": RSA_KEYS_PK, "sk": CURRENT, "kind": KIND, "kid": key["kid"], "version": 1, "updated_at": at}
        try:
            self._client.transact_write_items(TransactItems=[self._put_new(pointer), self._key_put(key)])
        except ClientError as exc:
            if cancellation_reasons(exc):
                return False
            raise
        return True

    def rotate(
        self,
        *,
        expected_version: int,
        current_kid: str,
        previous_kid: str | None,
        new_key: dict[str, Any],
        at: str,
    ) -> None:
        """current → previous, previous → retired (its private key dropped), ``new_key`` → current.

        One transaction conditional on the pointer's version and each key's status: a concurrent
        rotation makes it fail as a whole (409 ``concurrent_change``), never half-applied.
        """
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": RSA_KEYS_PK, "sk": CURRENT}),
                    "UpdateExpression": "SET kid = :new, previous_kid = :old, version = :next, updated_at = :at",
                    "ConditionExpression": "version = :expected AND kid = :old",
                    "ExpressionAttributeValues": to_attr(
                        {
                            ":new": new_key["kid"],
                            ":old": current_kid,
                            ":next": expected_version + 1,
                            ":expected": expected_version,
                            ":at": at,
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": RSA_KEYS_PK, "sk": kid_sk(current_kid)}),
                    "UpdateExpression": "SET #s = :previous, rotated_out_at = :at",
                    "ConditionExpression": "#s = :current",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_attr({":previous": "previous", ":current": "current", ":at": at}),
                }
            },
            self._key_put(new_key),
        ]
        if previous_kid:
            actions.append(
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": to_attr({"pk": RSA_KEYS_PK, "sk": kid_sk(previous_kid)}),
                        "UpdateExpression": "SET #s = :retired, retired_at = :at REMOVE private_key_sealed",
                        "ConditionExpression": "#s = :previous",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": to_attr(
                            {":retired": "retired", ":previous": "previous", ":at": at}
                        ),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise Conflict(
                    "the tool keys changed while rotating (another rotation); read them and retry",
                    code="concurrent_change",
                ) from exc
            raise
