"""Opaque page tokens over DynamoDB's LastEvaluatedKey, bound to the partition they page through."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from lti_gateway.core.errors import ValidationFailed

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


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
    if len(token) > 2048:
        raise bad
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise bad from None
    if (
        not isinstance(key, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items())
        or key.get(index_pk) != index_pk_value
    ):
        raise bad
    return key


def parse_limit(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:  # "²".isdigit() is True
        raise ValidationFailed({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
    return int(raw)
