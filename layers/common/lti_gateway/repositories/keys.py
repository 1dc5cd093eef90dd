"""The keys-and-registrations table: organisations, API credentials, LTI 1.1 consumer keys.

Item keys (``pk``/``sk`` plus ``gsi1`` for per-organisation listings): see ``repositories/schema.py``.

Consumer keys are keyed globally (``CK#{key}``) because an LMS presents only the key: a key already
taken by any organisation is a conflict, and the conditional put guarantees nobody overwrites it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from lti_gateway.core.errors import Conflict, GatewayError, NotFound
from lti_gateway.repositories.dynamo import (
    TableRepository,
    cancellation_reasons,
    is_conditional_failure,
    query_page,
    strip_none,
    to_attr,
)
from lti_gateway.repositories.schema import (
    CURRENT,
    META,
    consumer_key_pk,
    consumer_keys_partition,
    creation_order_key,
    credential_pk,
    credentials_partition,
    label_pk,
    org_pk,
    tool_key_pk,
)

# The organisation item's count of active owner credentials. Every write that makes or unmakes an
# active owner changes it in the same transaction, conditionally, so it never drops to 0.
OWNERS = "owners"
OWNERS_CHANGING = "this organisation's credentials"  # what a transaction conflict on the counter names


class KeysRepository(TableRepository):
    # -- organisations -------------------------------------------------------------------------------
    def put_organisation(self, org: dict[str, Any], credential: dict[str, Any]) -> None:
        """Create an organisation together with its first owner credential, atomically; the
        organisation's ``owners`` counter (active owner credentials) starts at that one."""
        owners = 1 if credential.get("role") == "owner" and credential.get("status") == "active" else 0
        items = [
            {**org, "pk": org_pk(org["org_id"]), "sk": META, "kind": "org", OWNERS: owners},
            self._credential_item(credential),
        ]
        try:
            self._client.transact_write_items(TransactItems=[self._put_new(item) for item in items])
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise Conflict("organisation or credential id already exists") from exc
            raise

    def get_organisation(self, org_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": org_pk(org_id), "sk": META}, ConsistentRead=consistent).get("Item")

    # -- API credentials ----------------------------------------------------------------------------
    @staticmethod
    def _credential_item(cred: dict[str, Any]) -> dict[str, Any]:
        return {
            **cred,
            "pk": credential_pk(cred["credential_id"]),
            "sk": META,
            "kind": "api_credential",
            "gsi1pk": credentials_partition(cred["org_id"]),
            "gsi1sk": creation_order_key(cred["created_at"], cred["credential_id"]),
        }

    def put_credential(self, cred: dict[str, Any]) -> None:
        """Create a credential. An active owner credential is written in one transaction with the
        increment of its organisation's ``owners`` counter (backfilled first if the organisation
        predates it); a member credential is a plain create-only put."""
        if cred.get("role") == "owner" and cred.get("status") == "active":
            self._put_owner_credential(cred)
            return
        try:
            self._table.put_item(Item=self._credential_item(cred), ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict("credential id already exists") from exc
            raise

    def _owners_change(self, org_id: str, sign: str, condition: str) -> dict[str, Any]:
        """The transaction action that moves the organisation's active-owner counter by one."""
        return {
            "Update": {
                "TableName": self._name,
                "Key": to_attr({"pk": org_pk(org_id), "sk": META}),
                "UpdateExpression": f"SET #owners = #owners {sign} :one",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#owners": OWNERS},
                "ExpressionAttributeValues": to_attr({":one": 1}),
            }
        }

    def _put_owner_credential(self, cred: dict[str, Any]) -> None:
        org_id = cred["org_id"]
        self.active_owner_count(org_id)  # the counter exists from here on (backfilled if need be)
        actions = [
            self._put_new(self._credential_item(cred)),
            self._owners_change(org_id, "+", "attribute_exists(#owners)"),
        ]
        self._transact(
            actions,
            changing=OWNERS_CHANGING,
            refusals=(
                (0, lambda: Conflict("credential id already exists")),
                (1, lambda: NotFound("organisation not found")),  # the counter was just ensured
            ),
        )

    # -- the organisation's active-owner counter -------------------------------------------------------
    def active_owner_count(self, org_id: str) -> int:
        """The organisation's ``owners`` counter (active owner credentials), read strongly consistent.

        Organisations created before the counter existed have none: it is backfilled here, once, by
        counting the active owner credentials (the gsi1 listing names them; each is re-read with a
        consistent GetItem, as an index cannot be read consistently) and set only if it still does not
        exist, so two backfills never both write and no transaction ever sees a missing counter.
        """
        org = self._table.get_item(Key={"pk": org_pk(org_id), "sk": META}, ConsistentRead=True).get("Item")
        if org is None:
            raise NotFound("organisation not found")
        if OWNERS in org:
            return int(org[OWNERS])
        count = self._count_active_owners(org_id)
        try:
            self._table.update_item(
                Key={"pk": org_pk(org_id), "sk": META},
                UpdateExpression="SET #owners = :count",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#owners)",
                ExpressionAttributeNames={"#owners": OWNERS},
                ExpressionAttributeValues={":count": count},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
            # Another request backfilled it first (or the organisation is gone): its value counts.
            org = self._table.get_item(Key={"pk": org_pk(org_id), "sk": META}, ConsistentRead=True).get("Item")
            if org is None or OWNERS not in org:
                raise NotFound("organisation not found") from exc
            return int(org[OWNERS])
        return count

    def _count_active_owners(self, org_id: str) -> int:
        count, token = 0, None
        while True:
            listed, token = query_page(self._table, credentials_partition(org_id), limit=100, token=token)
            for entry in listed:
                current = self._table.get_item(Key={"pk": entry["pk"], "sk": entry["sk"]}, ConsistentRead=True).get(
                    "Item"
                )
                if (
                    current is not None
                    and current.get("org_id") == org_id
                    and current.get("role") == "owner"
                    and current.get("status") == "active"
                ):
                    count += 1
            if token is None:
                return count

    def get_credential(self, credential_id: str) -> dict[str, Any] | None:
        """Strongly consistent: every authentication reads it, so a revocation counts from the next call."""
        return self._table.get_item(Key={"pk": credential_pk(credential_id), "sk": META}, ConsistentRead=True).get(
            "Item"
        )

    def touch_credential(self, credential_id: str, at: str, *, older_than: str) -> None:
        """Record last use, at most once per period (the condition keeps it to one write an hour)."""
        try:
            self._table.update_item(
                Key={"pk": credential_pk(credential_id), "sk": META},
                UpdateExpression="SET last_used_at = :at",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(last_used_at) OR last_used_at < :older)",
                ExpressionAttributeValues={":at": at, ":older": older_than},
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise

    def revoke_credential(self, org_id: str, credential_id: str, at: str) -> dict[str, Any]:
        """Mark a credential revoked (kept for audit). An owner credential is revoked in one transaction
        with the decrement of the organisation's ``owners`` counter, conditional on it staying above
        zero: the last active owner is never revoked (409 ``last_owner``), whatever runs concurrently."""
        current = self.get_credential(credential_id)
        if current is None or current.get("org_id") != org_id:
            raise NotFound({"credential_id": "no such credential"})
        if current.get("status") != "active":
            raise Conflict("credential is already revoked", code="already_revoked")
        if current.get("role") == "owner":
            return self._revoke_owner_credential(org_id, credential_id, at)
        try:
            out = self._table.update_item(
                Key={"pk": credential_pk(credential_id), "sk": META},
                UpdateExpression="SET #s = :revoked, revoked_at = :at",
                ConditionExpression="attribute_exists(pk) AND org_id = :org AND #s = :active",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":revoked": "revoked",
                    ":at": at,
                    ":org": org_id,
                    ":active": "active",
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                current = self.get_credential(credential_id)
                if current is None or current.get("org_id") != org_id:
                    raise NotFound({"credential_id": "no such credential"}) from exc
                raise Conflict("credential is already revoked", code="already_revoked") from exc
            raise
        return out["Attributes"]

    def _revoke_owner_credential(self, org_id: str, credential_id: str, at: str) -> dict[str, Any]:
        self.active_owner_count(org_id)  # the counter exists from here on (backfilled if need be)
        actions = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": credential_pk(credential_id), "sk": META}),
                    "UpdateExpression": "SET #s = :revoked, revoked_at = :at",
                    "ConditionExpression": "attribute_exists(pk) AND org_id = :org AND #s = :active",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_attr(
                        {":revoked": "revoked", ":at": at, ":org": org_id, ":active": "active"}
                    ),
                }
            },
            self._owners_change(org_id, "-", "#owners > :one"),  # never the last active owner
        ]

        def not_active() -> GatewayError:  # gone, another organisation's, or revoked meanwhile
            current = self.get_credential(credential_id)
            if current is None or current.get("org_id") != org_id:
                return NotFound({"credential_id": "no such credential"})
            return Conflict("credential is already revoked", code="already_revoked")

        last_owner = Conflict(
            {
                "credential_id": "this is the organisation's last active owner credential; "
                "create another owner credential before revoking it"
            },
            code="last_owner",
        )
        self._transact(actions, changing=OWNERS_CHANGING, refusals=((0, not_active), (1, lambda: last_owner)))
        revoked = self.get_credential(credential_id)
        assert revoked is not None
        return revoked

    def list_credentials(self, org_id: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        return self._page(credentials_partition(org_id), limit=limit, token=token)

    # -- LTI 1.1 consumer keys ----------------------------------------------------------------------
    def put_consumer_key(self, item: dict[str, Any]) -> None:
        """Create a consumer key; its label (if any) is reserved in the same transaction."""
        record = {
            **item,
            "pk": consumer_key_pk(item["key"]),
            "sk": META,
            "kind": "consumer_key",
            "gsi1pk": consumer_keys_partition(item["org_id"]),
            "gsi1sk": creation_order_key(item["created_at"], item["key"]),
        }
        actions: list[dict[str, Any]] = [self._put_new(record)]
        if item.get("label"):
            actions.append(
                self._put_new(
                    {
                        "pk": label_pk(item["org_id"], item["label"]),
                        "sk": META,
                        "kind": "consumer_key_label",
                        "org_id": item["org_id"],
                        "key": item["key"],
                    }
                )
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if "TransactionConflict" in reasons:
                raise Conflict(
                    "a concurrent request is writing this key or label; retry", code="concurrent_change"
                ) from exc
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise Conflict({"key": "this key is already taken"}, code="key_taken") from exc
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise Conflict(
                    {"label": "another key of this organisation has this label"}, code="label_taken"
                ) from exc
            raise

    def get_consumer_key(self, key: str) -> dict[str, Any] | None:
        """Strongly consistent: every launch reads it, so a revocation or rotation counts from the next one."""
        return self._table.get_item(Key={"pk": consumer_key_pk(key), "sk": META}, ConsistentRead=True).get("Item")

    def rotate_consumer_key(
        self,
        org_id: str,
        key: str,
        *,
        expected_version: int,
        secret_sealed: str,
        previous_secret_sealed: str | None,
        previous_valid_until: int | None,
        at: str,
    ) -> dict[str, Any]:
        """Replace the secret; succeeds only on the version read (a concurrent rotation is not lost)."""
        values: dict[str, Any] = {
            ":secret": secret_sealed,
            ":at": at,
            ":org": org_id,
            ":active": "active",
            ":expected": expected_version,
            ":next": expected_version + 1,
        }
        expression = "SET secret_sealed = :secret, rotated_at = :at, version = :next"
        if previous_secret_sealed is not None:
            expression += ", previous_secret_sealed = :prev, previous_valid_until = :until"
            values |= {":prev": previous_secret_sealed, ":until": previous_valid_until}
        else:
            expression += " REMOVE previous_secret_sealed, previous_valid_until"
        try:
            out = self._table.update_item(
                Key={"pk": consumer_key_pk(key), "sk": META},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk) AND org_id = :org AND #status = :active "
                "AND version = :expected",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict(
                    "the key changed while rotating (revoked or rotated concurrently); read it and retry",
                    code="concurrent_change",
                ) from exc
            raise
        return out["Attributes"]

    def revoke_consumer_key(self, org_id: str, key: str, label: str | None, at: str) -> dict[str, Any]:
        """Mark revoked (kept for audit, every secret dropped) and release its label, atomically."""
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": consumer_key_pk(key), "sk": META}),
                    "UpdateExpression": "SET #s = :revoked, revoked_at = :at, version = version + :one "
                    "REMOVE secret_sealed, previous_secret_sealed, previous_valid_until",
                    "ConditionExpression": "attribute_exists(pk) AND org_id = :org AND #s = :active",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": to_attr(
                        {":revoked": "revoked", ":at": at, ":org": org_id, ":active": "active", ":one": 1}
                    ),
                }
            }
        ]
        if label:
            actions.append(
                {
                    "Delete": {
                        "TableName": self._name,
                        "Key": to_attr({"pk": label_pk(org_id, label), "sk": META}),
                        "ConditionExpression": "#k = :key",
                        "ExpressionAttributeNames": {"#k": "key"},
                        "ExpressionAttributeValues": to_attr({":key": key}),
                    }
                }
            )
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise Conflict("the key is already revoked", code="already_revoked") from exc
            raise
        item = self.get_consumer_key(key)
        assert item is not None
        return item

    def list_consumer_keys(self, org_id: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        return self._page(consumer_keys_partition(org_id), limit=limit, token=token)

    # -- the tool's own keys (ltik signing key; later the LTI 1.3 RSA keys) -------------------------------
    def get_tool_key(self, name: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": tool_key_pk(name), "sk": CURRENT}, ConsistentRead=True).get("Item")

    def create_tool_key(self, name: str, item: dict[str, Any]) -> dict[str, Any]:
        """Store a new key unless one exists; either way return the one that is stored (first writer wins)."""
        try:
            self._table.put_item(
                Item={**item, "pk": tool_key_pk(name), "sk": CURRENT, "kind": "tool_key"},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if not is_conditional_failure(exc):
                raise
        stored = self.get_tool_key(name)
        assert stored is not None
        return stored

    # -- shared --------------------------------------------------------------------------------------
    def _page(self, partition: str, *, limit: int, token: str | None) -> tuple[list[dict], str | None]:
        items, next_token = query_page(self._table, partition, limit=limit, token=token)
        return [strip_none(i) for i in items], next_token

    # -- organisation settings (appended) -------------------------------------------------------------
    def update_organisation_settings(
        self,
        org_id: str,
        fields: dict[str, Any],
        at: str,
        *,
        allow_origin: str | None = None,
        seed_origins: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """Set (None: remove) organisation-level settings; NotFound if the organisation is gone.

        ``allow_origin``: appended to the organisation's ``app_origins`` list in the same write unless it
        is there already (an organisation without the list, stored before it existed, starts it from
        ``seed_origins``)."""
        if allow_origin is not None and "app_origins" not in fields:
            try:
                return self._update_organisation(org_id, fields, at, allow_origin, seed_origins)
            except NotFound:
                pass  # gone, or the origin is allowed already: the plain update below tells which
        return self._update_organisation(org_id, fields, at, None, ())

    def _update_organisation(
        self, org_id: str, fields: dict[str, Any], at: str, allow_origin: str | None, seed: tuple[str, ...]
    ) -> dict[str, Any]:
        names = {f"#f{i}": field for i, field in enumerate(sorted(fields))}
        values: dict[str, Any] = {":at": at}
        sets, removes = ["updated_at = :at"], []
        for placeholder, field in names.items():
            if fields[field] is None:
                removes.append(placeholder)
            else:
                values[f":{placeholder[1:]}"] = fields[field]
                sets.append(f"{placeholder} = :{placeholder[1:]}")
        condition = "attribute_exists(pk)"
        if allow_origin is not None:
            names["#origins"] = "app_origins"
            values.update({":origin": allow_origin, ":one": [allow_origin]})
            values[":seed"] = [o for o in seed if o != allow_origin]
            sets.append("#origins = list_append(if_not_exists(#origins, :seed), :one)")
            condition += " AND NOT contains(#origins, :origin)"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            out = self._table.update_item(
                Key={"pk": org_pk(org_id), "sk": META},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise NotFound("organisation not found") from exc
            raise
        return out["Attributes"]

    # -- every organisation (the operator's CLI; appended) ---------------------------------------------
    def scan_organisations(self, *, page_size: int = 500) -> Iterator[dict[str, Any]]:
        """Every organisation item of the table (``org_id``, ``name``, ``created_at``), page by page.

        Organisations have no listing index (nothing the API serves lists them across tenants): this is
        a Scan of the whole table filtered to ``kind = org``, read by the operator's ``lti-gateway orgs
        list`` with the operator's own credentials (``dynamodb:Scan``), never by a route."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "#kind = :org AND sk = :meta",
            "ProjectionExpression": "org_id, #name, created_at",
            "ExpressionAttributeNames": {"#kind": "kind", "#name": "name"},
            "ExpressionAttributeValues": {":org": "org", ":meta": META},
            "Limit": page_size,
        }
        while True:
            out = self._table.scan(**kwargs)
            yield from out.get("Items", [])
            start = out.get("LastEvaluatedKey")
            if not start:
                return
            kwargs["ExclusiveStartKey"] = start
