"""The launch table (TTL on ``expires_at``): short-lived state such as rate-limit counters, LTI 1.1
nonces, LTI 1.3 login state (``STATE#{state}``) and launch contexts (``LAUNCH#{id}``); their keys:
``repositories/schema.py``.

DynamoDB sweeps expired items lazily (up to ~48 h late) and moto never does, so every reader
compares ``expires_at`` itself. Every write is measured first (``dynamo.guard_item_size``): a launch
context over DynamoDB's 400 KB is a 413 ``item_too_large``, never a ``ValidationException``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from lti_gateway.core.observability import logger
from lti_gateway.core.urls import url_origin
from lti_gateway.repositories.dynamo import guard_item_size, is_conditional_failure
from lti_gateway.repositories.schema import (
    META,
    launch_pk,
    once_pk,
    outcome_context_digest,
    outcome_learner_sk,
    outcome_link_digest,
    outcome_link_sk,
    outcome_user_digest,
    outcomes_pk,
    rate_pk,
    state_pk,
)

# LTI 1.1 outcome records outlive launches: a back end grades a learner months after the launch. Each
# launch of the learner (and of the link) writes them again with this lifetime from now.
OUTCOME_RECORD_LIFETIME_SECONDS = 366 * 24 * 3600
# A launch's BatchWriteItem: sent at most this often while DynamoDB leaves items unprocessed.
BATCH_ATTEMPTS = 3
BATCH_BACKOFF_SECONDS = 0.05


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
    def put_launch_context(
        self,
        launch_id: str,
        context: dict[str, Any],
        *,
        expires_at: int,
        learner_outcome: dict[str, Any] | None = None,
    ) -> None:
        """Store a launch context (never overwriting one). With ``learner_outcome`` (an LTI 1.1 learner's
        outcome service data, :func:`lti_gateway.lti11.launch.learner_outcome`) the same call also
        writes the learner's record and its resource link's record (:func:`outcome_items`): one
        ``BatchWriteItem``, so a launch still makes one DynamoDB write call, at one write unit per item.

        Not a transaction: that would cost two write units per item and, locally, a copy of every moto
        table per launch. The batch's put of the context is unconditional, which is safe: launch ids are
        144 random bits, never reused. Items DynamoDB leaves unprocessed (throttling) are sent again
        (:data:`BATCH_ATTEMPTS` in all); a context still unwritten then is the usual 503, while a learner
        record alone still unwritten is logged and the launch goes on (its next launch writes it)."""
        item = {**context, "pk": launch_pk(launch_id), "sk": META, "expires_at": expires_at}
        if learner_outcome is None:
            self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return
        records = outcome_items({**learner_outcome, "launch_id": launch_id})
        name = self._table.name
        pending = {name: [{"PutRequest": {"Item": one}} for one in (item, *records)]}
        for attempt in range(BATCH_ATTEMPTS):
            if attempt:
                time.sleep(BATCH_BACKOFF_SECONDS * 2 ** (attempt - 1))
            # The resource's client takes plain values (boto3 serializes them for it, as for put_item).
            pending = self._table.meta.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
        left = [request["PutRequest"]["Item"] for request in pending.get(name, [])]
        if any(one.get("pk") == item["pk"] for one in left):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "launch context unprocessed"}},
                "BatchWriteItem",
            )
        logger.warning("learner outcome record not written", extra={"unprocessed": len(left)})

    def get_launch_context(self, launch_id: str, *, now: int) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": launch_pk(launch_id), "sk": META}).get("Item")
        if item is None or int(item.get("expires_at", 0)) <= now:
            return None
        return item


def outcome_items(outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """The resource link record and the learner record of an LTI 1.1 learner's outcome data.

    ``outcome`` names ``org_id``, ``consumer_key``, ``context_id``, ``resource_link_id``, ``user_id``,
    ``lis_outcome_service_url``, ``lis_result_sourcedid``, ``launched_at`` (epoch seconds) and optionally
    ``resource_link_title``, ``class_id``, ``unit_id``, ``launch_id``. Both records are plain puts (a later
    launch replaces them: the newest sourcedid and title win) with ``expires_at`` one year after the launch.
    """
    org, key, context, link = (
        str(outcome["org_id"]),
        str(outcome["consumer_key"]),
        outcome.get("context_id"),
        str(outcome["resource_link_id"]),
    )
    user = str(outcome["user_id"])
    launched_at = int(outcome["launched_at"])
    pk = outcomes_pk(org, outcome_context_digest(org, key, url_origin(outcome.get("lis_outcome_service_url")), context))
    link_digest = outcome_link_digest(org, key, context, link)
    common = {
        "org_id": org,
        "consumer_key": key,
        "context_id": context,
        "resource_link_id": link,
        "resource_link_title": outcome.get("resource_link_title"),
        "class_id": outcome.get("class_id"),
        "unit_id": outcome.get("unit_id"),
        "launched_at": launched_at,
        "expires_at": launched_at + OUTCOME_RECORD_LIFETIME_SECONDS,
    }
    link_item = {**common, "pk": pk, "sk": outcome_link_sk(link_digest), "kind": "lti11_outcome_link"}
    learner_item = {
        **common,
        "pk": pk,
        "sk": outcome_learner_sk(link_digest, outcome_user_digest(user)),
        "kind": "lti11_learner_outcome",
        "user_id": user,
        "lis_outcome_service_url": str(outcome["lis_outcome_service_url"]),
        "lis_result_sourcedid": str(outcome["lis_result_sourcedid"]),
        "launch_id": outcome.get("launch_id"),
    }
    return [{k: v for k, v in i.items() if v is not None} for i in (link_item, learner_item)]
