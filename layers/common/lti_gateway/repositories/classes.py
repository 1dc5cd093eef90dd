"""The classes-and-units table.

Item keys (``pk``/``sk`` plus ``gsi1`` for the two ordered listings): see ``repositories/schema.py``.

- Class ids are global, so the public "send students back" page and a launch find a class with one
  GetItem; every API call then checks the item's ``org_id`` (another organisation's class is a 404).
- A class and its units share a partition: deleting a class finds its units with one consistent
  Query, and nothing else ever reads them that way (listings use ``gsi1``, ordered by position).
- ``version`` on classes and units is the optimistic lock of user edits (PATCH): two edits of the
  same item may conflict (409 ``concurrent_change``), edits of different items never do.
- The class item carries two counters. ``next_position``: an append reserves its position with one
  atomic ``UpdateItem`` (``ADD next_position :1``, ``ReturnValues=UPDATED_NEW``), so parallel appends
  each get their own position and never conflict; the unit is then written with ``PutItem`` (a unit
  whose write fails leaves a gap: positions are unique and ordered, not necessarily dense). An explicit
  position raises ``next_position`` past itself (a conditional ``SET``: an atomic maximum).
  ``units_version``: bumped (``ADD``, never compared) by every change to the *set or order* of units —
  that same reservation, a position change — and compared only by a reorder, whose transaction is
  conditional on it being the value read, so a reorder never misses a unit created or moved meanwhile
  (it re-reads and retries). A unit's ``seq`` is the ``units_version`` its creation reserved: unique
  and increasing per class, it orders units that share a position by creation.
- A unit is written only after its reservation found the class (conditional on the class existing in
  the caller's organisation), and its creator reads the class again after writing it: if the class was
  deleted meanwhile, the creator deletes the unit and answers 404. So a class deletion (class item
  first, then a consistent Query of its units) never leaves a unit behind: either the Query sees the
  unit or the creator's read sees the class gone.
- Launches read the class (and unit) strongly consistent on every launch (``get_class(consistent=True)``,
  ``get_class_and_unit``), never from a per-container copy: switching **Enable LTI** off, or deleting
  the class or unit, refuses the very next launch on every container.
- LMS contexts seen by launches live on the class item: ``lms_context_ids`` (a string set, ``ADD``) and
  ``lms_contexts`` (a map keyed by a hash of (consumer key or issuer, context id) → first sighting).
  Recording one does not bump ``version``: launches never make a teacher's edit fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from lti_gateway.core.errors import Conflict, NotFound
from lti_gateway.repositories.aws import error_code
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
_CONFLICT_ATTEMPTS = 4
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
    def _update_class_counters(
        self, org_id: str, class_id: str, expression: str, values: dict[str, Any], *, condition: str = ""
    ) -> dict[str, Any]:
        """One ``UpdateItem`` of the class item's counters, conditional on the class being ``org_id``'s
        (and on ``condition``); the new values (``UPDATED_NEW``). ConditionalCheckFailed propagates.
        A ``TransactionConflict`` (a reorder or move transaction on the class item in flight, deployed)
        is retried a few times: it is not a refusal."""
        for attempt in range(_CONFLICT_ATTEMPTS):
            try:
                out = self._table.update_item(
                    Key={"pk": class_pk(class_id), "sk": META},
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(pk) AND #org = :org"
                    + (f" AND {condition}" if condition else ""),
                    ExpressionAttributeNames={"#org": "org_id"},
                    ExpressionAttributeValues={":org": org_id, **values},
                    ReturnValues="UPDATED_NEW",
                )
                return out.get("Attributes", {})
            except ClientError as exc:
                if error_code(exc) != "TransactionConflictException" or attempt == _CONFLICT_ATTEMPTS - 1:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def reserve_unit(self, org_id: str, class_id: str, position: int | None) -> tuple[int, int]:
        """Reserve a place for a new unit: ``(position, seq)``, atomically and without reading first.

        ``position`` None (an append): the class's ``next_position``, taken with ``ADD`` — parallel
        appends each get their own. An explicit ``position`` raises ``next_position`` past itself if it
        is not already (an atomic maximum), so appends keep going after it. Either way ``units_version``
        is bumped (a reorder in flight sees it) and its new value is the unit's ``seq``. NotFound if the
        class is gone or another organisation's.
        """
        one = {":one": 1}
        try:
            if position is None:
                new = self._update_class_counters(org_id, class_id, "ADD next_position :one, units_version :one", one)
                return int(new["next_position"]) - 1, int(new["units_version"])
            try:
                new = self._update_class_counters(
                    org_id,
                    class_id,
                    "SET next_position = :after ADD units_version :one",
                    {**one, ":after": position + 1, ":position": position},
                    condition="next_position <= :position",
                )
            except ClientError as exc:
                if not is_conditional_failure(exc):
                    raise
                # next_position is already past it (or the class is gone: the next call says which)
                new = self._update_class_counters(org_id, class_id, "ADD units_version :one", one)
            return position, int(new["units_version"])
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise NotFound({"class_id": "no such class"}) from exc
            raise

    def put_unit(self, item: dict[str, Any], *, seq: int) -> dict[str, Any]:
        """Write a new unit at the ``position`` and ``seq`` :meth:`reserve_unit` gave it, then make sure
        its class still exists (else delete it again: NotFound). Conflict if the unit id is taken."""
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
        try:
            self._table.put_item(Item=record, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict("unit id already exists; retry", code="concurrent_change") from exc
            raise
        key = {"pk": record["pk"], "sk": record["sk"]}
        try:
            current = self._table.get_item(
                Key={"pk": class_pk(item["class_id"]), "sk": META},
                ConsistentRead=True,
                ProjectionExpression="#org",
                ExpressionAttributeNames={"#org": "org_id"},
            ).get("Item")
        except (ClientError, BotoCoreError):
            # The check could not be made (throttled, timed out): take the unit back before the caller's
            # 503, so a retry creates it once rather than twice (best effort: the 503 stands either way).
            with contextlib.suppress(ClientError, BotoCoreError):
                self._table.delete_item(Key=key)
            raise
        if current is None or current.get("org_id") != item["org_id"]:  # deleted while we wrote
            self._table.delete_item(Key=key)
            raise NotFound({"class_id": "no such class"})
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
        at: str,
    ) -> dict[str, Any]:
        """Set/remove ``fields`` of a unit at ``expected_version`` (Conflict ``concurrent_change`` if its
        version moved or it is gone: the caller re-reads to tell which).

        Only the unit is written, so edits of different units never conflict. A ``position`` change
        also bumps the class's ``units_version`` in the same transaction (a reorder in flight must see
        it) without comparing it (appends and other moves do not conflict with it), after raising
        ``next_position`` past the new position (appends keep going after it).
        """
        names, values, sets, removes = _versioned_update(
            fields, org_id=org_id, expected_version=expected_version, at=at
        )
        key = {"pk": class_pk(unit["class_id"]), "sk": unit_sk(unit["unit_id"])}
        condition = "attribute_exists(pk) AND #org = :org AND #v = :expected"
        if "position" not in fields:
            try:
                out = self._table.update_item(
                    Key=key,
                    UpdateExpression=_expression(sets, removes),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as exc:
                if is_conditional_failure(exc):
                    raise Conflict("the unit changed meanwhile; read it and retry", code="concurrent_change") from exc
                raise
            return _public(out["Attributes"])
        position = fields["position"]
        try:
            self._update_class_counters(
                org_id,
                unit["class_id"],
                "SET next_position = :after",
                {":after": position + 1, ":position": position},
                condition="next_position <= :position",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):  # already past it (or the class is gone: the transaction says)
                raise
        values[":order"] = unit_order_key(position, unit["seq"], unit["unit_id"])
        sets.append("gsi1sk = :order")
        self._units_transact(
            [
                self._units_bump(org_id, unit["class_id"]),
                {
                    "Update": {
                        "TableName": self._name,
                        "Key": to_attr(key),
                        "UpdateExpression": _expression(sets, removes),
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": to_attr(values),
                    }
                },
            ]
        )
        updated = self.get_unit(unit["class_id"], unit["unit_id"], consistent=True)
        if updated is None:  # deleted right after our write
            raise NotFound({"unit_id": "no such unit"})
        return updated

    def _units_bump(self, org_id: str, class_id: str, *, seen_units_version: int | None = None) -> dict[str, Any]:
        """The transaction action on the class item that bumps ``units_version``; with
        ``seen_units_version`` (a reorder) only if it is still that value."""
        condition = "attribute_exists(pk) AND #org = :org"
        values: dict[str, Any] = {":one": 1, ":org": org_id}
        if seen_units_version is not None:
            condition += " AND units_version = :seen"
            values[":seen"] = seen_units_version
        return {
            "Update": {
                "TableName": self._name,
                "Key": to_attr({"pk": class_pk(class_id), "sk": META}),
                "UpdateExpression": "ADD units_version :one",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#org": "org_id"},
                "ExpressionAttributeValues": to_attr(values),
            }
        }

    def _units_transact(self, actions: list[dict[str, Any]]) -> None:
        """Run a transaction whose first action is :meth:`_units_bump`; any refusal (the class's units
        moved, a unit changed or went, a concurrent transaction) is a Conflict ``concurrent_change``:
        the caller re-reads, retries, and tells a class or unit that is gone (404) from a race (409)."""
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if not reasons:
                raise
            if "TransactionConflict" in reasons or "ConditionalCheckFailed" in reasons:
                raise Conflict(
                    "the class's units changed meanwhile; read them and retry", code="concurrent_change"
                ) from exc
            raise

    def reorder_units(
        self,
        org_id: str,
        class_id: str,
        positions: list[tuple[dict[str, Any], int]],
        *,
        seen_units_version: int,
        at: str,
    ) -> None:
        """Write new positions (only units whose position changes) in one transaction, conditional on
        the class's ``units_version`` still being the one read (no unit created or moved meanwhile).

        ``next_position`` is left as it is: an append reserved just before the read may still be
        writing its unit at a position reserved from it, and later appends must not take it again.
        """
        actions = [self._units_bump(org_id, class_id, seen_units_version=seen_units_version)]
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
        self._units_transact(actions)

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
