"""The app API's own items in the launch table: service keys, their slots, LTI 1.1 outcome records
(read here, written by the launch: ``repositories/launch.py``) and cached platform access tokens.

Item keys: see ``repositories/schema.py``.

A slot (organisation + platform + LMS context) names its current key and the key's generation. Issuing
is one transaction: the slot is created (or moved from a revoked generation to the next) only if it is
still what was read, and the key item written with it. Revoking is one transaction too: the key item
deleted and the slot marked revoked, so a live key item always has a slot naming it.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lti_gateway.core import clock
from lti_gateway.repositories.dynamo import TableRepository, cancellation_reasons, is_conditional_failure, to_attr
from lti_gateway.repositories.schema import (
    META,
    outcome_context_digest,
    outcome_learner_sk,
    outcome_link_digest,
    outcome_link_sk,
    outcome_user_digest,
    outcomes_pk,
    service_key_pk,
    slot_pk,
    token_pk,
)

MAX_LISTED = 1000  # outcome records read for one listing, at most


class SlotTaken(Exception):
    """The slot changed between the read and the write (a concurrent request won)."""


class AppTokensRepository(TableRepository):
    # -- service keys ------------------------------------------------------------------------------
    def get_service_key(self, key_hash: str) -> dict[str, Any] | None:
        """Strongly consistent: every service session reads it, so a revocation counts from the next call."""
        return self._table.get_item(Key={"pk": service_key_pk(key_hash), "sk": META}, ConsistentRead=True).get("Item")

    def get_slot(self, slot: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": slot_pk(slot), "sk": META}, ConsistentRead=True).get("Item")

    def issue_service_key(
        self, slot: str, key_item: dict[str, Any], slot_fields: dict[str, Any], *, revoked_generation: int | None
    ) -> None:
        """Create ``slot`` naming ``key_item`` (``revoked_generation`` None: the slot must not exist), or
        move a slot whose generation ``revoked_generation`` was revoked to it; :class:`SlotTaken` when
        the slot is no longer what was read."""
        new_hash = key_item["key_hash"]
        key_record = {**key_item, "pk": service_key_pk(new_hash), "sk": META}
        slot_item = {**slot_fields, "pk": slot_pk(slot), "sk": META, "key_hash": new_hash, "status": "active"}
        if revoked_generation is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "generation = :previous AND #status = :revoked",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_attr({":previous": revoked_generation, ":revoked": "revoked"}),
            }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self._name, "Item": to_attr(slot_item), **condition}},
            {"Put": {"TableName": self._name, "Item": to_attr(key_record)}},
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise SlotTaken(slot) from None
            raise

    def update_service_data(self, key_hash: str, service_context: str, *, data_launched_at: int, version: int) -> bool:
        """Replace a live key's service data if its ``data_version`` is still ``version``; False otherwise
        (changed meanwhile, or the key is gone)."""
        try:
            self._table.update_item(
                Key={"pk": service_key_pk(key_hash), "sk": META},
                UpdateExpression="SET service_context = :data, data_launched_at = :at, data_version = :next",
                ConditionExpression="attribute_exists(pk) AND "
                + ("attribute_not_exists(data_version)" if version == 0 else "data_version = :version"),
                ExpressionAttributeValues={
                    ":data": service_context,
                    ":at": data_launched_at,
                    ":next": version + 1,
                    **({} if version == 0 else {":version": version}),
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def revoke_service_key(self, key_hash: str, slot: str, *, revoked_at: int) -> bool:
        """Delete a key and mark its slot revoked, in one transaction; False if the key is already gone.
        The slot remembers when: launches from before the revocation never get a key of that slot again."""
        delete = {
            "Delete": {
                "TableName": self._name,
                "Key": to_attr({"pk": service_key_pk(key_hash), "sk": META}),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        mark = {
            "Update": {
                "TableName": self._name,
                "Key": to_attr({"pk": slot_pk(slot), "sk": META}),
                "UpdateExpression": "SET key_hash = :revoked, #status = :status, revoked_at = :at",
                "ConditionExpression": "key_hash = :mine",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": to_attr(
                    {":mine": key_hash, ":revoked": f"revoked:{key_hash}", ":status": "revoked", ":at": revoked_at}
                ),
            }
        }
        try:
            self._client.transact_write_items(TransactItems=[delete, mark])
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if not reasons:
                raise
            if reasons[0] == "ConditionalCheckFailed":
                return False  # already revoked
            # The slot names another key (a slot item lost or replaced): the key still goes.
            try:
                self._table.delete_item(
                    Key={"pk": service_key_pk(key_hash), "sk": META}, ConditionExpression="attribute_exists(pk)"
                )
            except ClientError as again:
                if is_conditional_failure(again):
                    return False
                raise
        return True

    # -- LTI 1.1 outcome records (written by the launch) -------------------------------------------------
    @staticmethod
    def _outcomes_pk(org_id: str, consumer_key: str, context_id: str | None, lms: str | None) -> str:
        return outcomes_pk(org_id, outcome_context_digest(org_id, consumer_key, lms, context_id))

    @staticmethod
    def _live(item: dict[str, Any] | None) -> dict[str, Any] | None:
        """``item`` unless its ``expires_at`` passed (TTL sweeps lag up to ~48 h; moto never sweeps)."""
        if item is None or int(item.get("expires_at", 0) or 0) <= int(clock.now()):
            return None
        return item

    def _query(self, pk: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk) & Key("sk").begins_with(prefix)}
        while len(items) < limit:
            page = self._table.query(**kwargs, Limit=limit - len(items))
            items += [i for i in page.get("Items", []) if self._live(i) is not None]
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items

    def list_outcome_links(
        self, org_id: str, consumer_key: str, context_id: str | None, *, lms: str | None, limit: int = MAX_LISTED
    ) -> list[dict[str, Any]]:
        """The resource links of one context that have learner records (one Query, paged)."""
        return self._query(self._outcomes_pk(org_id, consumer_key, context_id, lms), outcome_link_sk(""), limit)

    def get_outcome_link(
        self, org_id: str, consumer_key: str, context_id: str | None, link_digest: str, *, lms: str | None
    ) -> dict[str, Any] | None:
        key = {"pk": self._outcomes_pk(org_id, consumer_key, context_id, lms), "sk": outcome_link_sk(link_digest)}
        return self._live(self._table.get_item(Key=key).get("Item"))

    def get_learner_outcome(
        self, org_id: str, consumer_key: str, context_id: str | None, link_digest: str, user_id: str, *, lms: str | None
    ) -> dict[str, Any] | None:
        key = {
            "pk": self._outcomes_pk(org_id, consumer_key, context_id, lms),
            "sk": outcome_learner_sk(link_digest, outcome_user_digest(user_id)),
        }
        return self._live(self._table.get_item(Key=key, ConsistentRead=True).get("Item"))

    def list_learner_outcomes(
        self, org_id: str, consumer_key: str, context_id: str | None, link_digest: str, *, lms: str | None, limit: int
    ) -> list[dict[str, Any]]:
        pk = self._outcomes_pk(org_id, consumer_key, context_id, lms)
        return self._query(pk, outcome_learner_sk(link_digest), limit)

    @staticmethod
    def link_digest(org_id: str, consumer_key: str, context_id: str | None, resource_link_id: str | None) -> str:
        return outcome_link_digest(org_id, consumer_key, context_id, resource_link_id)

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
