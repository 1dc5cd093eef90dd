"""Field checks every API shares, each raising ValidationFailed that names the field.

The input boundary (issue 13): text the gateway reads must be well-formed Unicode. A JSON ``"\\ud800"``
escape decodes to a lone surrogate that no UTF-8 encoder (boto3, hmac, the renderers) accepts, and
NUL is meaningful in no field; :func:`well_formed` refuses both for one value and :func:`check_json`
for a whole decoded JSON document, naming the field by its path (``units[2].name``), with 400
``invalid_text``. ``core/http.py`` applies them to every body, ``web.py`` to every path and query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lti_gateway.core.errors import ValidationFailed

# Characters XML 1.0 cannot carry at all (ElementTree would write them and produce broken XML): C0
# controls but tab, LF and CR, surrogates, U+FFFE and U+FFFF. Listed, not as the complement of what XML
# allows ("[^\t\n\r\x20-\ud7ff...]"): that class spans all of Unicode and takes ~5 ms to compile.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Bounds shared by the writers and the parsers (DynamoDB keys: a partition key is at most 2,048 bytes,
# a sort key 1,024; a whole item 400 KB, checked before each write by repositories/dynamo.py).
MAX_ID = 255  # ids, consumer keys, API credential ids (the Data API's consumer_key)
MAX_LABEL = 255
MAX_NAME = 200
MAX_KEY_BYTES = 1024  # the longest key value a page token may carry
INVALID_TEXT = "invalid_text"
_MAX_FIELD_NAME = 120  # a field named in an error answer is cut to this


def text_problem(value: str, *, nul: bool = False) -> str | None:
    """Why ``value`` is not well-formed text (a lone surrogate; NUL unless ``nul``), or None."""
    if not nul and "\x00" in value:
        return "must not contain NUL"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "not well-formed Unicode (a lone surrogate)"
    return None


def field_name(name: str) -> str:
    """A field name safe to answer: no surrogate, no control character, at most 120 characters."""
    safe = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else "?" for c in name[:_MAX_FIELD_NAME])
    return safe + ("…" if len(name) > _MAX_FIELD_NAME else "")


def well_formed(field: str, value: str, *, nul: bool = False) -> str:
    """``value`` if it is well-formed text, else 400 ``invalid_text`` naming ``field``."""
    problem = text_problem(value, nul=nul)
    if problem:
        raise ValidationFailed({field_name(field): problem}, code=INVALID_TEXT)
    return value


def _path(node: tuple[Any, str] | None) -> str:
    parts: list[str] = []
    while node is not None:
        node, part = node
        parts.append(part)
    return "".join(reversed(parts)).lstrip(".")


def check_json(document: Any, root: str = "") -> None:
    """Every string of a decoded JSON document (object keys too) is well-formed text without NUL;
    400 ``invalid_text`` names one that is not by its path (``root.a[1].b``). Iterative, and a path is
    spelled only for the answer: a document nested as deep as the decoder allowed costs linear time."""
    stack: list[tuple[Any, tuple[Any, str] | None]] = [(document, (None, root) if root else None)]
    while stack:
        value, node = stack.pop()
        if isinstance(value, str):
            if problem := text_problem(value):
                raise ValidationFailed({field_name(_path(node) or "body"): problem}, code=INVALID_TEXT)
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and (problem := text_problem(key)):
                    where = field_name(_path(node) or "body")
                    raise ValidationFailed({where: f"a field name: {problem}"}, code=INVALID_TEXT)
                stack.append((item, (node, f".{key}")))
        elif isinstance(value, list):
            stack.extend((item, (node, f"[{i}]")) for i, item in enumerate(value))


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
    well_formed(field, value)
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
