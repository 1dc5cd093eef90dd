"""The LMS origins an organisation is known to launch from: what a Class LMS URL may point at.

- **Recorded by launches** (classes table, ``ORG#{org}#LMSORIGINS`` / ``{origin}``, see
  ``repositories/schema.py``): one UpdateItem, no read, that keeps the first sighting
  (``if_not_exists``). UpdateItem, not PutItem: it is the one write the launch function may make on the
  classes table, and it creates the item when it is absent.
- **Registered LTI 1.3 platforms** (keys table, read through ``gsi1`` ``ORG#{org}#PLATFORMS``): only the
  attributes of :data:`ISSUER_ATTRIBUTES`, which is exactly what the classes function's IAM statement
  ``PlatformIssuers`` allows it to project (``Select: SPECIFIC_ATTRIBUTES``), so it reads nothing else
  of a platform registration and no other item of that index.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from lti_gateway.repositories.schema import lms_origins_pk, platforms_partition

KIND = "lms_origin"
# What the platform listing projects (template.yaml ClassesFunction, Sid PlatformIssuers: the same list).
ISSUER_ATTRIBUTES = ("issuer", "active")
MAX_PLATFORM_PAGES = 10  # at 1 MB a page, far more platforms than any organisation registers


class LmsOriginsRepository:
    def __init__(self, classes_table: Any, keys_table: Any):
        self._classes = classes_table
        self._keys = keys_table

    def record(self, org_id: str, origin: str, *, family: str, at: str) -> None:
        """Remember that a verified launch of ``org_id`` (LTI ``family``) came from ``origin``;
        idempotent, the first sighting kept."""
        self._classes.update_item(
            Key={"pk": lms_origins_pk(org_id), "sk": origin},
            UpdateExpression=(
                "SET #kind = :kind, #org = :org, #origin = :origin, "
                "#first = if_not_exists(#first, :at), #family = if_not_exists(#family, :family)"
            ),
            ExpressionAttributeNames={
                "#kind": "kind",
                "#org": "org_id",
                "#origin": "origin",
                "#first": "first_seen_at",
                "#family": "first_lti_version_family",
            },
            ExpressionAttributeValues={":kind": KIND, ":org": org_id, ":origin": origin, ":at": at, ":family": family},
        )

    def is_recorded(self, org_id: str, origin: str) -> bool:
        """Whether a launch of ``org_id`` came from ``origin`` (one GetItem of the key only)."""
        item = self._classes.get_item(
            Key={"pk": lms_origins_pk(org_id), "sk": origin},
            ProjectionExpression="#pk",
            ExpressionAttributeNames={"#pk": "pk"},
        ).get("Item")
        return item is not None

    def recorded(self, org_id: str, *, limit: int) -> list[str]:
        """Up to ``limit`` of the origins ``org_id`` launched from, in order (for an error message)."""
        out = self._classes.query(
            KeyConditionExpression=Key("pk").eq(lms_origins_pk(org_id)),
            ProjectionExpression="#sk",
            ExpressionAttributeNames={"#sk": "sk"},
            Limit=limit,
        )
        return [str(i["sk"]) for i in out.get("Items", [])]

    def platform_issuers(self, org_id: str) -> list[str]:
        """The issuers of ``org_id``'s active LTI 1.3 platform registrations."""
        names = {f"#a{i}": name for i, name in enumerate(ISSUER_ATTRIBUTES)}
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(platforms_partition(org_id)),
            "Select": "SPECIFIC_ATTRIBUTES",
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        issuers: list[str] = []
        for _ in range(MAX_PLATFORM_PAGES):
            out = self._keys.query(**kwargs)
            issuers += [str(i["issuer"]) for i in out.get("Items", []) if i.get("issuer") and i.get("active", True)]
            if not out.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = out["LastEvaluatedKey"]
        return issuers
