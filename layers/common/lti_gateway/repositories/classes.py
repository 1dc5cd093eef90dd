"""The classes-and-units table.

Item keys (``pk``/``sk`` plus ``gsi1`` for the two ordered listings): see ``repositories/schema.py``.

- Class ids are global, so the public "send students back" page and a launch find a class with one
  GetItem; every API call then checks the item's ``org_id`` (another organisation's class is a 404).
- A class and its units share a partition: deleting a class finds its units with one consistent
  Query, and nothing else ever reads them that way (listings use ``gsi1``, ordered by position).
- ``version`` on classes and units is the optimistic lock of user edits (PATCH). The class item also
  carries ``units_version`` and ``next_position``: every change to the *set or order* of units (create,
  position change, reorder) is a transaction that bumps ``units_version`` on the condition it is still
  the value read, so an append never picks a taken position from a stale read, a reorder never misses
  a unit created meanwhile, and no unit is created under a class being deleted. A unit's ``seq`` is
  the ``units_version`` its creation wrote: unique and increasing per class, it orders units that
  share a position by creation.
- Launches read the class (and unit) strongly consistent on every launch (``get_class(consistent=True)``,
  ``get_class_and_unit``), never from a per-container copy: switching **Enable LTI** off, or deleting
  the class or unit, refuses the very next launch on every container.
- LMS contexts seen by launches live on the class item: ``lms_context_ids`` (a string set, ``ADD``) and
  ``lms_contexts`` (a map keyed by a hash of (consumer key or issuer, context id) → first sighting).
  Recording one does not bump ``version``: launches never make a teacher's edit fail.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from lti_gateway.core.errors import Conflict, NotFound
from lti_gateway.repositories.dynamo import (
    TableRepository,
    cancellation_reasons,
    is_conditional_failure,
    query_page,
    strip_none,
    to_attr,
)
from lti_gateway.repositories.schema import (
    META,
    UNIT_PREFIX,
    class_pk,
    classes_partition,
    creation_order_key,
    unit_order_key,
    unit_sk,
    units_partition,
)

MAX_TRANSACTION_ITEMS = 100
_BATCH_WRITE = 25


def context_key(source: str, context_id: str) -> str:
    return hashlib.sha256(f"{source}\x00{context_id}".encode()).hexdigest()[:32]


_INTERNAL = ("pk", "sk", "gsi1pk", "gsi1sk", "kind")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in strip_none(item).items() if k not in _INTERNAL}


def _set_remove(fields: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> tuple[list, list]:
    """``SET #f = :f`` for values, ``REMOVE #f`` for None (placeholders: ``name``/``position`` are reserved)."""
    sets, removes = [], []
    for i, (field, value) in enumerate(sorted(fields.items())):
        names[f"#f{i}"] = field
        if value is None:
            removes.append(f"#f{i}")
        else:
            values[f":f{i}"] = value
            sets.append(f"#f{i} = :f{i}")
    return sets, removes


def _versioned_update(
    fields: dict[str, Any], *, org_id: str, expected_version: int, at: str
) -> tuple[dict[str, str], dict[str, Any], list[str], list[str]]:
    """Names, values, SET and REMOVE clauses of an update of ``fields`` that bumps ``version`` and
    ``updated_at``; the condition uses ``#org = :org AND #v = :expected``."""
    names: dict[str, str] = {"#v": "version", "#org": "org_id"}
    values: dict[str, Any] = {":expected": expected_version, ":next": expected_version + 1, ":at": at, ":org": org_id}
    sets, removes = _set_remove(fields, names, values)
    sets += ["#v = :next", "updated_at = :at"]
    return names, values, sets, removes


def _expression(sets: list[str], removes: list[str]) -> str:
    expression = "SET " + ", ".join(sets)
    if removes:
        expression += " REMOVE " + ", ".join(removes)
    return expression


class ClassesRepository(TableRepository):
    # -- classes -------------------------------------------------------------------------------------
    def put_class(self, item: dict[str, Any]) -> dict[str, Any]:
        record = {
            **strip_none(item),
            "pk": class_pk(item["class_id"]),
            "sk": META,
            "kind": "class",
            "gsi1pk": classes_partition(item["org_id"]),
            "gsi1sk": creation_order_key(item["created_at"], item["class_id"]),
            "version": 1,
            "units_version": 0,
            "next_position": 0,
            "lms_contexts": {},
        }
        try:
            self._table.put_item(Item=record, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict("class id already exists; retry") from exc
            raise
        return _public(record)

    def get_class(self, class_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": class_pk(class_id), "sk": META}, ConsistentRead=consistent).get("Item")
        return _public(item) if item else None

    def get_class_and_unit(self, class_id: str, unit_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Both items in one round trip (BatchGetItem), strongly consistent, for launches: a class whose
        LTI was switched off, or a class or unit deleted, is seen by the very next launch."""
        keys = [{"pk": class_pk(class_id), "sk": META}, {"pk": class_pk(class_id), "sk": unit_sk(unit_id)}]
        request: dict[str, Any] = {self._name: {"Keys": keys, "ConsistentRead": True}}
        found: list[dict[str, Any]] = []
        for attempt in range(5):
            out = self._table.meta.client.batch_get_item(RequestItems=request)
            found += out.get("Responses", {}).get(self._name, [])
            request = out.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise Conflict("the classes table is busy; retry", code="throttled_read")
        by_sk = {i["sk"]: _public(i) for i in found}
        return by_sk.get(META), by_sk.get(unit_sk(unit_id))

    def list_classes(self, org_id: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        return self._page(classes_partition(org_id), limit=limit, token=token)

    def update_class(
        self, org_id: str, class_id: str, fields: dict[str, Any], *, expected_version: int, at: str
    ) -> dict[str, Any]:
        """Set (or, for None, remove) ``fields`` if the class is still at ``expected_version``.

        Raises NotFound if the class is gone (or another organisation's), Conflict
        ``concurrent_change`` if its version moved.
        """
        names, values, sets, removes = _versioned_update(
            fields, org_id=org_id, expected_version=expected_version, at=at
        )
        try:
            out = self._table.update_item(
                Key={"pk": class_pk(class_id), "sk": META},
                UpdateExpression=_expression(sets, removes),
                ConditionExpression="attribute_exists(pk) AND #org = :org AND #v = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                self._raise_missing_or_moved(org_id, class_id)
            raise
        return _public(out["Attributes"])

    def _raise_missing_or_moved(self, org_id: str, class_id: str) -> None:
        current = self.get_class(class_id, consistent=True)
        if current is None or current.get("org_id") != org_id:
            raise NotFound({"class_id": "no such class"})
        raise Conflict("the class changed meanwhile; read it and retry", code="concurrent_change")

    def delete_class(self, org_id: str, class_id: str) -> int:
        """Delete the class, then every unit under it; returns how many units went with it.

        The class item goes first (conditional on the organisation): from then on no unit can be
        created or moved under it (those transactions are conditional on the class item), so the
        consistent Query that follows sees every unit there will ever be. If the function stops
        half-way, leftover units are invisible to listings and launches (both read the class item
        first) and cannot be changed (their writes are conditional on it); only a direct GET of a
        known unit id still finds one.
        """
        self._delete_in_org({"pk": class_pk(class_id), "sk": META}, org_id, missing={"class_id": "no such class"})
        deleted = 0
        for items in self._unit_pages(class_id, ProjectionExpression="pk, sk"):
            keys = [{"pk": i["pk"], "sk": i["sk"]} for i in items]
            with self._table.batch_writer() as batch:  # 25 per request, unprocessed items resent
                for key in keys:
                    batch.delete_item(Key=key)
            deleted += len(keys)
        return deleted

    def record_context(self, org_id: str, class_id: str, context_id: str, consumer_key_or_issuer: str, at: str) -> None:
        """Remember that the LMS context ``context_id`` (from this consumer key or issuer) launched here.

        Idempotent (a string-set ADD and a map entry written only if absent, so the first sighting
        is kept), conditional on the class existing in ``org_id`` (else NotFound). A copied LMS course
        (new context id, same class URL) is recorded alongside the original.
        """
        key = context_key(consumer_key_or_issuer, context_id)
        try:
            self._table.update_item(
                Key={"pk": class_pk(class_id), "sk": META},
                UpdateExpression="ADD lms_context_ids :ids "
                "SET lms_contexts.#k = if_not_exists(lms_contexts.#k, :entry), last_launch_at = :at",
                ConditionExpression="attribute_exists(pk) AND #org = :org",
                ExpressionAttributeNames={"#k": key, "#org": "org_id"},
                ExpressionAttributeValues={
                    ":ids": {context_id},
                    ":entry": {"context_id": context_id, "source": consumer_key_or_issuer, "first_seen_at": at},
                    ":at": at,
                    ":org": org_id,
                },
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise NotFound({"class_id": "no such class"}) from exc
            raise

    # -- units ---------------------------------------------------------------------------------------
    def _units_guard(
        self, org_id: str, class_id: str, *, seen_units_version: int, next_position: int
    ) -> dict[str, Any]:
        """The transaction action that bumps the class's ``units_version`` if it is still the one read."""
        return {
            "Update": {
                "TableName": self._name,
                "Key": to_attr({"pk": class_pk(class_id), "sk": META}),
                "UpdateExpression": "SET units_version = :next, next_position = :np",
                "ConditionExpression": "attribute_exists(pk) AND #org = :org AND units_version = :seen",
                "ExpressionAttributeNames": {"#org": "org_id"},
                "ExpressionAttributeValues": to_attr(
                    {":next": seen_units_version + 1, ":seen": seen_units_version, ":org": org_id, ":np": next_position}
                ),
            }
        }

    def _transact(self, actions: list[dict[str, Any]], *, unit_missing: int | None = None) -> None:
        """Run a transaction whose first action is the units guard; map its failures to domain errors."""
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if not reasons:
                raise
            if "TransactionConflict" in reasons or reasons[0] == "ConditionalCheckFailed":
                raise Conflict(
                    "the class's units changed meanwhile; read them and retry", code="concurrent_change"
                ) from exc
            if unit_missing is not None and "ConditionalCheckFailed" in reasons[unit_missing:]:
                raise Conflict("a unit changed meanwhile; read it and retry", code="concurrent_change") from exc
            raise

    def put_unit(self, item: dict[str, Any], *, seen_units_version: int, next_position: int) -> dict[str, Any]:
        """Create a unit under its class; Conflict ``concurrent_change`` if the class's units moved."""
        seq = seen_units_version + 1
        record = {
            **strip_none(item),
            "pk": class_pk(item["class_id"]),
            "sk": unit_sk(item["unit_id"]),
            "kind": "unit",
            "gsi1pk": units_partition(item["class_id"]),
            "gsi1sk": unit_order_key(item["position"], seq, item["unit_id"]),
            "seq": seq,
            "version": 1,
        }
        self._transact(
            [
                self._units_guard(
                    item["org_id"],
                    item["class_id"],
                    seen_units_version=seen_units_version,
                    next_position=next_position,
                ),
                self._put_new(record),
            ],
            unit_missing=1,
        )
        return _public(record)

    def get_unit(self, class_id: str, unit_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": class_pk(class_id), "sk": unit_sk(unit_id)}, ConsistentRead=consistent
        ).get("Item")
        return _public(item) if item else None

    def list_units(self, class_id: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        """Units in position order (ties: creation order), one gsi1 page."""
        return self._page(units_partition(class_id), limit=limit, token=token)

    def all_units(self, class_id: str) -> list[dict[str, Any]]:
        """Every unit of a class, strongly consistent (for reorder), any order."""
        return [_public(i) for items in self._unit_pages(class_id) for i in items]

    def update_unit(
        self,
        org_id: str,
        unit: dict[str, Any],
        fields: dict[str, Any],
        *,
        expected_version: int,
        seen_units_version: int,
        next_position: int,
        at: str,
    ) -> dict[str, Any]:
        """Set/remove ``fields`` of a unit at ``expected_version``, with the class's units guard.

        Conflict ``concurrent_change`` if the unit's version or the class's units moved; the caller
        re-reads to tell that from a unit or class that is gone.
        """
        names, values, sets, removes = _versioned_update(
            fields, org_id=org_id, expected_version=expected_version, at=at
        )
        if "position" in fields:
            values[":order"] = unit_order_key(fields["position"], unit["seq"], unit["unit_id"])
            sets.append("gsi1sk = :order")
        self._transact(
            [
                self._units_guard(
                    org_id, unit["class_id"], seen_units_version=seen_units_version, next_position=next_position
                ),
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": to_attr({"pk": class_pk(unit["class_id"]), "sk": unit_sk(unit["unit_id"])}),
                        "UpdateExpression": _expression(sets, removes),
                        "ConditionExpression": "attribute_exists(pk) AND #org = :org AND #v = :expected",
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_attr(values),
                    }
                },
            ],
            unit_missing=1,
        )
        updated = self.get_unit(unit["class_id"], unit["unit_id"], consistent=True)
        if updated is None:  # deleted right after our write
            raise NotFound({"unit_id": "no such unit"})
        return updated

    def reorder_units(
        self,
        org_id: str,
        class_id: str,
        positions: list[tuple[dict[str, Any], int]],
        *,
        seen_units_version: int,
        next_position: int,
        at: str,
    ) -> None:
        """Write new positions (only units whose position changes) in one transaction with the guard."""
        actions = [
            self._units_guard(org_id, class_id, seen_units_version=seen_units_version, next_position=next_position)
        ]
        for unit, position in positions:
            actions.append(
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": to_attr({"pk": class_pk(class_id), "sk": unit_sk(unit["unit_id"])}),
                        "UpdateExpression": "SET #p = :p, gsi1sk = :order, #v = #v + :one, updated_at = :at",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeNames": {"#p": "position", "#v": "version"},
                        "ExpressionAttributeValues": to_attr(
                            {
                                ":p": position,
                                ":order": unit_order_key(position, unit["seq"], unit["unit_id"]),
                                ":one": 1,
                                ":at": at,
                            }
                        ),
                    }
                }
            )
        if len(actions) > MAX_TRANSACTION_ITEMS:
            raise ValueError("reorder transaction too large")
        self._transact(actions, unit_missing=1)

    def delete_unit(self, org_id: str, class_id: str, unit_id: str) -> None:
        self._delete_in_org(
            {"pk": class_pk(class_id), "sk": unit_sk(unit_id)}, org_id, missing={"unit_id": "no such unit"}
        )

    # -- shared --------------------------------------------------------------------------------------
    def _delete_in_org(self, key: dict[str, str], org_id: str, *, missing: dict[str, str]) -> None:
        """Delete an item of ``org_id``; NotFound(``missing``) if it is gone or another organisation's."""
        try:
            self._table.delete_item(
                Key=key,
                ConditionExpression="attribute_exists(pk) AND #org = :org",
                ExpressionAttributeNames={"#org": "org_id"},
                ExpressionAttributeValues={":org": org_id},
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise NotFound(missing) from exc
            raise

    def _unit_pages(self, class_id: str, **projection: str) -> Iterator[list[dict[str, Any]]]:
        """Every unit item under a class, one consistent Query page at a time (the next page is read
        only when the caller asks for it)."""
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(class_pk(class_id)) & Key("sk").begins_with(UNIT_PREFIX),
                **projection,
                "ConsistentRead": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            out = self._table.query(**kwargs)
            yield out.get("Items", [])
            start = out.get("LastEvaluatedKey")
            if not start:
                return

    def _page(self, partition: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        items, next_token = query_page(self._table, partition, limit=limit, token=token)
        return [_public(i) for i in items], next_token
