"""Load the sample events in ``events/`` (the files ``sam local invoke -e`` uses) and vary them."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def vary(
    name: str,
    *,
    api_key: str | None = None,
    body: Any = ...,
    raw_body: str | None = None,
    headers: dict[str, str | None] | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A copy of ``events/<name>`` with the caller's credential, body, headers and path swapped in."""
    event = copy.deepcopy(load_event(name))
    if api_key is not None:
        event["headers"]["authorization"] = f"Bearer {api_key}"
    if body is not ...:
        event["body"] = json.dumps(body)
        event["isBase64Encoded"] = False
    if raw_body is not None:
        event["body"] = raw_body
        event["isBase64Encoded"] = False
    if form is not None:
        event["body"] = base64.b64encode(urlencode(form).encode()).decode()
        event["isBase64Encoded"] = True
    for key, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(key, None)
        else:
            event["headers"][key] = value
    if path_params is not None:
        event["pathParameters"] = path_params
        route_path = event["routeKey"].split(" ", 1)[1]
        path = route_path
        for name_, value in path_params.items():
            path = path.replace("{" + name_ + "}", quote(value, safe=""))
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["rawQueryString"] = urlencode(query)
        event["queryStringParameters"] = dict(query) or None
    return event
