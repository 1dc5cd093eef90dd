"""LTI 1.3 platform registrations and dynamic-registration URLs, in the keys table.

Item keys (platform, issuer/client index, registration URL, LTI 1.1 binding): see
``repositories/schema.py``.

An issuer + client id pair is registered once *inside one organisation* (``attribute_not_exists`` on
its index item ``ORGISS#{org}#{issuer}`` / ``CLIENT#{client}``): a login names the organisation in its
URL (``/lti/orgs/{org_id}/login``) and is matched against that organisation's registrations only, so
another organisation registering the same pair (hosted Canvas: one issuer, client ids not secret)
receives nothing of this one's launches. Registrations made before tenant scoping (no
``tenant_scoped`` attribute) keep their stack-wide index item ``ISS#{issuer}`` / ``CLIENT#{client}``,
which the legacy ``/lti/login`` still reads; nothing writes one anew.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from lti_gateway.core import pagination
from lti_gateway.core.errors import Conflict, NotFound, RegistrationUrlRefused
from lti_gateway.repositories.dynamo import (
    TableRepository,
    cancellation_reasons,
    is_conditional_failure,
    strip_none,
    to_attr,
)
from lti_gateway.repositories.schema import (
    META,
    binding_pk,
    client_sk,
    creation_order_key,
    issuer_pk,
    org_issuer_pk,
    platform_pk,
    platforms_partition,
    registration_url_pk,
)

KIND = "platform"
INDEX_KIND = "platform_index"
REGURL_KIND = "registration_url"
BINDING_KIND = "lti11_binding"
# What a listing reads through gsi1: the platform attributes, nothing else (the function's IAM policy
# allows gsi1 Queries of exactly these, so it cannot list other items' secrets through the index).
# The registration's own fields (what the API sets), then the listing adds identity and bookkeeping.
STORED_FIELDS = (
    "name",
    "issuer",
    "client_id",
    "deployment_ids",
    "auth_login_url",
    "auth_token_url",
    "jwks_url",
    "public_key",
    "auth_server",
    "active",
    "allow_anonymous",
)
# ``tenant_scoped``: registered since tenant scoping (its own organisation's index item and key set).
PLATFORM_ATTRIBUTES = (
    "platform_id",
    "org_id",
    *STORED_FIELDS,
    "tenant_scoped",
    "created_at",
    "updated_at",
    "version",
)


def platform_taken() -> Conflict:
    return Conflict({"clientId": "this issuer and client id are already registered"}, code="platform_exists")


class PlatformsRepository(TableRepository):
    # -- items ---------------------------------------------------------------------------------------
    @staticmethod
    def _platform_item(platform: dict[str, Any]) -> dict[str, Any]:
        return {
            **platform,
            "pk": platform_pk(platform["platform_id"]),
            "sk": META,
            "kind": KIND,
            "gsi1pk": platforms_partition(platform["org_id"]),
            "gsi1sk": creation_order_key(platform["created_at"], platform["platform_id"]),
        }

    @staticmethod
    def _index_key(platform: dict[str, Any]) -> dict[str, str]:
        """The organisation's index item of a tenant-scoped registration; the stack-wide one of a legacy one."""
        pk = (
            org_issuer_pk(platform["org_id"], platform["issuer"])
            if platform.get("tenant_scoped")
            else issuer_pk(platform["issuer"])
        )
        return {"pk": pk, "sk": client_sk(platform["client_id"])}

    def _index_item(self, platform: dict[str, Any]) -> dict[str, Any]:
        return {
            **self._index_key(platform),
            "kind": INDEX_KIND,
            "platform_id": platform["platform_id"],
            "org_id": platform["org_id"],
        }

    def _delete_index(self, platform: dict[str, Any]) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self._name,
                "Key": to_attr(self._index_key(platform)),
                "ConditionExpression": "platform_id = :pid",
                "ExpressionAttributeValues": to_attr({":pid": platform["platform_id"]}),
            }
        }

    def _registration_url_action(self, token_hash: str, *, reusable: bool, now: int) -> dict[str, Any]:
        """Consume (single use: delete) or check (reusable) a live registration URL."""
        body = {
            "TableName": self._name,
            "Key": to_attr({"pk": registration_url_pk(token_hash), "sk": META}),
            "ConditionExpression": "attribute_exists(pk) AND expires_at > :now",
            "ExpressionAttributeValues": to_attr({":now": now}),
        }
        return {"ConditionCheck": body} if reusable else {"Delete": body}

    # -- platforms -----------------------------------------------------------------------------------
    def put_platform(self, platform: dict[str, Any], *, registration_url: tuple[str, bool, int] | None = None) -> None:
        """Create a platform and its issuer/client index item atomically.

        ``registration_url`` = ``(token hash, reusable, now)``: the dynamic-registration URL that
        registered it, consumed (or checked) in the same transaction.
        """
        actions = [self._put_new(self._platform_item(platform)), self._put_new(self._index_item(platform))]
        if registration_url is not None:
            token_hash, reusable, now = registration_url
            actions.append(self._registration_url_action(token_hash, reusable=reusable, now=now))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if "TransactionConflict" in reasons:
                raise Conflict(
                    "a concurrent request is writing this platform; retry", code="concurrent_change"
                ) from exc
            if len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise RegistrationUrlRefused("this registration URL is no longer valid (used or expired)") from exc
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise platform_taken() from exc
            if reasons:
                raise Conflict("platform id already exists; retry", code="concurrent_change") from exc
            raise

    def get_platform(self, platform_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        item = self._table.get_item(Key={"pk": platform_pk(platform_id), "sk": META}, ConsistentRead=consistent).get(
            "Item"
        )
        return item if item and item.get("kind") == KIND else None

    def get_index(self, issuer: str, client_id: str, *, org_id: str | None) -> dict[str, Any] | None:
        """The index item of (issuer, client id) inside ``org_id``; ``None``: the stack-wide legacy index."""
        pk = issuer_pk(issuer) if org_id is None else org_issuer_pk(org_id, issuer)
        return self._table.get_item(Key={"pk": pk, "sk": client_sk(client_id)}, ConsistentRead=True).get("Item")

    def issuer_clients(self, issuer: str, *, limit: int, org_id: str | None) -> list[dict[str, Any]]:
        """Index items of ``issuer`` inside ``org_id`` (``None``: the legacy index), at most ``limit``:
        one Query on its partition."""
        pk = issuer_pk(issuer) if org_id is None else org_issuer_pk(org_id, issuer)
        out = self._table.query(KeyConditionExpression=Key("pk").eq(pk), Limit=limit, ConsistentRead=True)
        return out.get("Items", [])

    def legacy_issuer_clients(
        self, issuer: str, org_id: str, *, limit: int, max_pages: int = 5
    ) -> list[dict[str, Any]]:
        """``org_id``'s legacy index items of ``issuer`` (the stack-wide partition holds every
        organisation's: filtered, a few pages at most)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(issuer_pk(issuer)),
            "FilterExpression": Attr("org_id").eq(org_id),
        }
        found: list[dict[str, Any]] = []
        for _ in range(max_pages):
            out = self._table.query(**kwargs)
            found.extend(out.get("Items", []))
            if len(found) >= limit or not out.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return found[:limit]

    def list_platforms(
        self, org_id: str, *, limit: int, token: str | None, issuer: str | None = None, client_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of an organisation's platforms (oldest first), optionally filtered by issuer and client
        id (a filter on the organisation's own partition: a page may hold fewer than ``limit``)."""
        partition = platforms_partition(org_id)
        start = pagination.decode(token, index_pk="gsi1pk", index_pk_value=partition)
        names = {f"#a{i}": name for i, name in enumerate(PLATFORM_ATTRIBUTES)}
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(partition),
            "Limit": limit,
            "Select": "SPECIFIC_ATTRIBUTES",
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        filters = [Attr(name).eq(value) for name, value in (("issuer", issuer), ("client_id", client_id)) if value]
        if filters:
            kwargs["FilterExpression"] = filters[0] if len(filters) == 1 else filters[0] & filters[1]
        if start:
            kwargs["ExclusiveStartKey"] = start
        out = self._table.query(**kwargs)
        return [strip_none(i) for i in out.get("Items", [])], pagination.encode(out.get("LastEvaluatedKey"))

    def replace_platform(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Write ``after`` over ``before`` if nobody changed it since (same version, same organisation).

        A changed issuer or client id moves the index item in the same transaction.
        """
        condition = "attribute_exists(pk) AND org_id = :org AND version = :expected"
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._name,
                    "Item": to_attr(self._platform_item(after)),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": to_attr({":org": before["org_id"], ":expected": before["version"]}),
                }
            }
        ]
        moved = self._index_key(before) != self._index_key(after)
        if moved:
            actions.append(self._delete_index(before))
            actions.append(self._put_new(self._index_item(after)))
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            if moved and len(reasons) > 2 and reasons[2] == "ConditionalCheckFailed":
                raise platform_taken() from exc
            if reasons:
                raise Conflict(
                    "the platform changed since it was read; read it again and retry", code="concurrent_change"
                ) from exc
            raise

    def set_active(self, org_id: str, platform_id: str, active: bool, at: str) -> dict[str, Any]:
        try:
            out = self._table.update_item(
                Key={"pk": platform_pk(platform_id), "sk": META},
                UpdateExpression="SET #active = :active, updated_at = :at, version = version + :one",
                ConditionExpression="attribute_exists(pk) AND #kind = :kind AND org_id = :org",
                ExpressionAttributeNames={"#active": "active", "#kind": "kind"},
                ExpressionAttributeValues={":active": active, ":at": at, ":one": 1, ":org": org_id, ":kind": KIND},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise NotFound({"platform_id": "no such platform"}) from exc
            raise
        return out["Attributes"]

    def delete_platform(self, platform: dict[str, Any]) -> None:
        """Delete the platform and its index item together (the pair can then be registered again)."""
        actions = [
            {
                "Delete": {
                    "TableName": self._name,
                    "Key": to_attr({"pk": platform_pk(platform["platform_id"]), "sk": META}),
                    "ConditionExpression": "attribute_exists(pk) AND org_id = :org",
                    "ExpressionAttributeValues": to_attr({":org": platform["org_id"]}),
                }
            },
            self._delete_index(platform),
        ]
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if cancellation_reasons(exc):
                raise NotFound({"platform_id": "no such platform"}) from exc
            raise

    # -- dynamic-registration URLs -------------------------------------------------------------------
    def put_registration_url(self, token_hash: str, item: dict[str, Any]) -> None:
        self._table.put_item(
            Item={**item, "pk": registration_url_pk(token_hash), "sk": META, "kind": REGURL_KIND},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_registration_url(self, token_hash: str) -> dict[str, Any] | None:
        return self._table.get_item(Key={"pk": registration_url_pk(token_hash), "sk": META}).get("Item")

    # -- LTI 1.1 -> 1.3 bindings awaiting (or given) an owner's approval ---------------------------
    def get_binding(self, platform_id: str, binding_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        item = self._table.get_item(
            Key={"pk": binding_pk(platform_id), "sk": binding_id}, ConsistentRead=consistent
        ).get("Item")
        return item if item and item.get("kind") == BINDING_KIND else None

    def add_pending_binding(self, item: dict[str, Any]) -> bool:
        """Record a binding the first time a launch claims it; False (nothing written) if it exists in any
        state: an approved or rejected binding is never overwritten by a launch."""
        try:
            self._table.put_item(
                Item={**item, "pk": binding_pk(item["platform_id"]), "sk": item["binding_id"], "kind": BINDING_KIND},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                return False
            raise
        return True

    def list_bindings(
        self, platform_id: str, *, limit: int, token: str | None, status: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a platform's bindings (one Query on its partition; ``status`` filters the page)."""
        partition = binding_pk(platform_id)
        start = pagination.decode(token, index_pk="pk", index_pk_value=partition)
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(partition), "Limit": limit}
        if status:
            kwargs["FilterExpression"] = Attr("status").eq(status)
        if start:
            kwargs["ExclusiveStartKey"] = start
        out = self._table.query(**kwargs)
        items = [strip_none(i) for i in out.get("Items", []) if i.get("kind") == BINDING_KIND]
        return items, pagination.encode(out.get("LastEvaluatedKey"))

    def decide_binding(
        self, org_id: str, platform_id: str, binding_id: str, *, status: str, expected: str, by: str, at: str
    ) -> dict[str, Any]:
        """Move a binding from ``expected`` to ``status`` (approve or reject), conditional on both, so two
        owners deciding at once cannot both win. NotFound if it is not this organisation's."""
        try:
            out = self._table.update_item(
                Key={"pk": binding_pk(platform_id), "sk": binding_id},
                UpdateExpression="SET #s = :status, decided_at = :at, decided_by = :by, version = version + :one",
                ConditionExpression="attribute_exists(pk) AND #kind = :kind AND org_id = :org AND #s = :expected",
                ExpressionAttributeNames={"#s": "status", "#kind": "kind"},
                ExpressionAttributeValues={
                    ":status": status,
                    ":expected": expected,
                    ":at": at,
                    ":by": by,
                    ":one": 1,
                    ":org": org_id,
                    ":kind": BINDING_KIND,
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if is_conditional_failure(exc):
                raise Conflict(
                    "the binding changed since it was read; read it again and retry", code="concurrent_change"
                ) from exc
            raise
        return out["Attributes"]
