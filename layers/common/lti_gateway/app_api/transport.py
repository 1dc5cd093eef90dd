"""Transport rules of the app API, applied before routing (``ltiaas-api.md`` §5.1).

- The official Python client joins ``https://{domain}`` and ``/api/...`` into ``//api/...``: the run of
  leading slashes collapses to one (also right after a named stage), never inside a line item id.
- Query strings are parsed from ``rawQueryString`` (``+`` is a space). ``url`` and ``role`` arrive
  encoded twice (both official clients ``quote()`` them and the HTTP library encodes again): a value
  that still looks like ``scheme%3A...`` is unquoted once more. ``raw`` is truthy for true/True/1.
- ``/api/lineitems/{rest}``: a trailing ``/scores`` names the scores of line item ``rest``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote

_LEADING = re.compile(r"^/{2,}")
_ENCODED_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*%3A", re.IGNORECASE)
_TWICE_ENCODED = ("url", "role")
MAX_QUERY = 8192
LINE_ITEMS = "/api/lineitems/"
SCORES = "/scores"


def normalise_event(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its leading slashes collapsed in ``rawPath`` and ``requestContext.http.path``."""
    stage = str((event.get("requestContext") or {}).get("stage") or "$default")

    def collapse(path: str) -> str:
        prefix = f"/{stage}/" if stage != "$default" else ""
        if prefix and path.startswith(prefix.rstrip("/")) and path[len(prefix) - 1 :].startswith("//"):
            return prefix.rstrip("/") + _LEADING.sub("/", path[len(prefix) - 1 :])
        return _LEADING.sub("/", path)

    raw_path = event.get("rawPath")
    if isinstance(raw_path, str):
        event["rawPath"] = collapse(raw_path)
    http = (event.get("requestContext") or {}).get("http")
    if isinstance(http, dict) and isinstance(http.get("path"), str):
        http["path"] = collapse(http["path"])
    return event


def query(raw_query: str | None) -> dict[str, str]:
    """First value of each parameter; ``url``/``role`` unquoted once more when twice encoded."""
    raw_query = (raw_query or "")[:MAX_QUERY]
    params = {name: values[0] for name, values in parse_qs(raw_query, keep_blank_values=True).items() if values}
    for name in _TWICE_ENCODED:
        value = params.get(name)
        if value and (_ENCODED_SCHEME.match(value) or (name == "role" and "%23" in value.upper())):
            params[name] = unquote(value)
    return params


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1")


def line_item_path(path: str) -> tuple[str, bool] | None:
    """``(raw id, is the scores route)`` of ``/api/lineitems/{rest}``, the id still percent-encoded."""
    if not path.startswith(LINE_ITEMS):
        return None
    rest = path[len(LINE_ITEMS) :]
    scores = rest.endswith(SCORES)
    if scores:
        rest = rest[: -len(SCORES)]
    return (rest, scores) if rest else None
