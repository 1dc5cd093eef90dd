"""Field checks every API shares, each raising ValidationFailed that names the field."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lti_gateway.core.errors import ValidationFailed

# Characters XML 1.0 cannot carry at all (ElementTree would write them and produce broken XML): C0
# controls but tab, LF and CR, surrogates, U+FFFE and U+FFFF. Listed, not as the complement of what XML
# allows ("[^\t\n\r\x20-\ud7ff...]"): that class spans all of Unicode and takes ~5 ms to compile.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def reject_unknown(body: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))


def text(field: str, value: Any, *, max_len: int) -> str:
    """A non-blank single-line string of at most ``max_len`` characters, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({field: "must be a non-empty string"})
    if len(value) > max_len:
        raise ValidationFailed({field: f"must be at most {max_len} characters"})
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationFailed({field: "must not contain control characters"})
    return value.strip()


def optional_text(field: str, value: Any, *, max_len: int) -> str | None:
    return None if value is None else text(field, value, max_len=max_len)


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed({field: "must be true or false"})
    return value


def whole_number(field: str, value: Any, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed({field: f"must be a whole number from {low} to {high}"})
    return value
