"""Reads for exports, page by page, and the S3 bucket large exports are handed over through.

Every read is a ``gsi1`` Query with a ``ProjectionExpression``: the export streams items as pages
arrive (one Query per page, never a Scan) and never holds more than one page. Only the attributes an
export shows are read; in the keys table that means ``key``, ``label`` and ``status`` of consumer keys
(never a sealed secret), which the export function's IAM policy also enforces
(``dynamodb:Attributes`` + ``dynamodb:Select``: the Query must name ``Select=SPECIFIC_ATTRIBUTES``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from boto3.dynamodb.conditions import Key

from lti_gateway.repositories.schema import classes_partition, consumer_keys_partition, units_partition

# Items per Query page. A page is also capped at 1 MB by DynamoDB; units are ~200 bytes projected.
PAGE_SIZE = 1000

UNIT_ATTRIBUTES = ("unit_id", "class_id", "name", "position")
CLASS_ATTRIBUTES = ("class_id", "org_id", "name", "class_lms_url", "lti_enabled")
CONSUMER_KEY_ATTRIBUTES = ("key", "label", "status")  # the IAM policy allows exactly these


def _projection(attributes: tuple[str, ...]) -> dict[str, Any]:
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    return {
        "Select": "SPECIFIC_ATTRIBUTES",
        "ProjectionExpression": ", ".join(names),
        "ExpressionAttributeNames": names,
    }


def _pages(table: Any, partition: str, attributes: tuple[str, ...], page_size: int) -> Iterator[dict[str, Any]]:
    """Every item of a ``gsi1`` partition in index order, one Query per page, one page in memory."""
    kwargs: dict[str, Any] = {
        "IndexName": "gsi1",
        "KeyConditionExpression": Key("gsi1pk").eq(partition),
        "Limit": page_size,
        **_projection(attributes),
    }
    while True:
        out = table.query(**kwargs)
        start = out.get("LastEvaluatedKey")
        items = out.pop("Items", [])
        del out
        yield from items
        del items  # the page is dropped before the next one is read: one page in memory, never two
        if not start:
            return
        kwargs["ExclusiveStartKey"] = start


class ExportsRepository:
    def __init__(self, classes_table: Any, keys_table: Any, *, page_size: int = PAGE_SIZE):
        self._classes = classes_table
        self._keys = keys_table
        self.page_size = page_size

    def units(self, class_id: str) -> Iterator[dict[str, Any]]:
        """The class's units by position (ties: creation order), streamed page by page."""
        return _pages(self._classes, units_partition(class_id), UNIT_ATTRIBUTES, self.page_size)

    def classes(self, org_id: str) -> Iterator[dict[str, Any]]:
        """The organisation's classes in creation order, streamed page by page."""
        return _pages(self._classes, classes_partition(org_id), CLASS_ATTRIBUTES, self.page_size)

    def active_consumer_keys(self, org_id: str) -> list[dict[str, str]]:
        """``[{"key", "label"}]`` of the organisation's active consumer keys, oldest first (a short list)."""
        keys = []
        for item in _pages(self._keys, consumer_keys_partition(org_id), CONSUMER_KEY_ATTRIBUTES, self.page_size):
            if item.get("status") == "active":
                keys.append({"key": str(item["key"]), "label": str(item.get("label") or "")})
        return keys


class ExportFiles:
    """The private, SSE-encrypted, expiring bucket: store an export, hand out a presigned GET."""

    def __init__(self, s3: Any, bucket: str):
        self._s3 = s3
        self.bucket = bucket

    def put(self, key: str, body: IO[bytes], *, content_type: str, disposition: str) -> None:
        # One PUT (no multipart upload: one grant, nothing left behind on failure).
        self._s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            ContentDisposition=disposition,
            ServerSideEncryption="AES256",
        )

    def presigned_get(self, key: str, *, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )
