"""Opaque page tokens over DynamoDB's LastEvaluatedKey, bound to the partition they page through.

A token is the key JSON-encoded in URL-safe base64, and it is parsed strictly (any token a forger can
write must be one DynamoDB accepts as ``ExclusiveStartKey``, or it is a 400 ``invalid_page_token``):
a JSON object whose attributes are exactly the key of the listing (``pk``, ``sk``, plus the index's
``gsi1pk``, ``gsi1sk`` when it pages an index), each a non-empty printable string of at most 1,024
UTF-8 bytes (DynamoDB's sort key bound; no surrogate, NUL or control character), its partition
attribute equal to the caller's own partition. A key that names no item only starts the page there.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lti_gateway.core.errors import ValidationFailed
from lti_gateway.core.validation import MAX_KEY_BYTES

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
MAX_TOKEN_CHARS = 2048
TABLE_KEY = ("pk", "sk")


def encode(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None, *, index_pk: str, index_pk_value: str) -> dict[str, Any] | None:
    """Decode a token, accepting it only if it pages through ``index_pk == index_pk_value``."""
    if token in (None, ""):
        return None
    bad = ValidationFailed({"next": "invalid page token"}, code="invalid_page_token")
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise bad
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.b64decode(padded.encode(), altchars=b"-_", validate=True))  # no stray characters
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise bad from None
    expected = set(TABLE_KEY)
    if index_pk not in TABLE_KEY:  # an index: its key, and the table's
        expected |= {index_pk, index_pk.removesuffix("pk") + "sk"}
    if not isinstance(key, dict) or set(key) != expected or key.get(index_pk) != index_pk_value:
        raise bad
    if not all(isinstance(value, str) and _key_value(value) for value in key.values()):
        raise bad
    return key


def _key_value(value: str) -> bool:
    """A key attribute DynamoDB takes: non-empty, printable (no surrogate, NUL or control character)
    and at most 1,024 UTF-8 bytes."""
    return bool(value) and value.isprintable() and len(value.encode("utf-8")) <= MAX_KEY_BYTES


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:  # "²".isdigit() is True
        raise ValidationFailed({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
    return int(raw)
