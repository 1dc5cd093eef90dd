"""The tool's LTI 1.3 RSA signing keys, in the keys table: one key set per organisation.

Items of a set: a pointer (``TOOLKEY#rsa#{org}`` / ``CURRENT``) and one item per key
(``TOOLKEY#rsa#{org}`` / ``KID#{kid}``); their keys and attributes: see ``repositories/schema.py``.
``owner=None`` names the stack-wide set (``TOOLKEY#rsa``) that registrations made before tenant
scoping sign with. Each pointer is listed on gsi1 (``TOOLKEYSETS``) for the scheduled rotation.

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
from lti_gateway.repositories.schema import CURRENT, KEY_SETS_PARTITION, KID_PREFIX, LEGACY_KEY_SET, kid_sk, rsa_keys_pk

KIND = "tool_rsa_key"


class ToolKeysRepository(TableRepository):
    def load(self, owner: str | None) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
        """The pointer (or None before the first key) and every key item by kid; one consistent Query."""
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(rsa_keys_pk(owner)), "ConsistentRead": True}
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

    def _key_put(self, owner: str | None, key: dict[str, Any]) -> dict[str, Any]:
        return self._put_new({**key, "pk": rsa_keys_pk(owner), "sk": kid_sk(key["kid"]), "kind": KIND})

    def key_sets(self) -> list[dict[str, Any]]:
        """Every key set's pointer (``owner`` None for the stack-wide set): one gsi1 Query, paged."""
        kwargs: dict[str, Any] = {"IndexName": "gsi1", "KeyConditionExpression": Key("gsi1pk").eq(KEY_SETS_PARTITION)}
        out: list[dict[str, Any]] = []
        while True:
            page = self._table.query(**kwargs)
            for item in page.get("Items", []):
                owner = item.get("gsi1sk")
                out.append({**item, "owner": None if owner == LEGACY_KEY_SET else owner})
            if not page.get("LastEvaluatedKey"):
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def create_first(self, owner: str | None, key: dict[str, Any], at: str) -> bool:
        """Store ``key`` as the first current key of ``owner``'s set; False if another writer stored one first."""
        pointer = {
            "pk": rsa_keys_pk(owner),
            "sk": CURRENT,
            "kind": KIND,
            "kid": key["kid"],
            "version": 1,
            "updated_at": at,
            "gsi1pk": KEY_SETS_PARTITION,
            "gsi1sk": LEGACY_KEY_SET if owner is None else owner,
        }
        try:
            self._client.transact_write_items(TransactItems=[self._put_new(pointer), self._key_put(owner, key)])
        except ClientError as exc:
            if cancellation_reasons(exc):
                return False
            raise
        return True

    def rotate(
        self,
        owner: str | None,
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
                    "Key": to_attr({"pk": rsa_keys_pk(owner), "sk": CURRENT}),
                    "UpdateExpression": (
                        "SET kid = :new, previous_kid = :old, version = :next, updated_at = :at,"
                        " gsi1pk = :sets, gsi1sk = :owner"  # a pointer from before gsi1 listing gets listed
                    ),
                    "ConditionExpression": "version = :expected AND kid = :old",
                    "ExpressionAttributeValues": to_attr(
                        {
                            ":new": new_key["kid"],
                            ":old": current_kid,
                            ":next": expected_version + 1,
                            ":expected": expected_version,
                            ":at": at,
                            ":sets": KEY_SETS_PARTITION,
                            ":owner": LEGACY_KEY_SET if owner is None else owner,
                        }
                    ),
                }
            },
            {
                "Update": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": rsa_keys_pk(owner), "sk": kid_sk(current_kid)}),
                    "UpdateExpression": "SET #s = :previous, rotated_out_at = :at",
                    "ConditionExpression": "#s = :current",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_attr({":previous": "previous", ":current": "current", ":at": at}),
                }
            },
            self._key_put(owner, new_key),
        ]
        if previous_kid:
            actions.append(
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": to_attr({"pk": rsa_keys_pk(owner), "sk": kid_sk(previous_kid)}),
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
