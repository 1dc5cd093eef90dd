"""HTTP request ⇄ API Gateway HTTP API payload format 2.0 (also the Lambda Function URL shape).

The same event API Gateway would deliver: lower-case headers (repeats joined with ``,``), cookies
moved to ``cookies``, repeated query parameters comma-joined, path parameters percent-decoded while
``rawPath`` keeps the encoding, and form or binary bodies base64-encoded with ``isBase64Encoded``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "123456789012"
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/graphql")


def split_target(target: str) -> tuple[str, str]:
    """``(rawPath, rawQueryString)`` of a request target; a leading ``//`` collapses to ``/``.

    (The LTIAAS client joins its base URL and ``/api/...`` into ``//api/...``.)
    """
    path, _, query = target.partition("?")
    return re.sub(r"^/{2,}", "/", path) or "/", query


def is_text(content_type: str | None) -> bool:
    """Bodies HTTP APIs pass as text; everything else (forms too) arrives base64-encoded."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(("+json", "+xml"))


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def http_api_event(
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    route_key: str = "$default",
    path_parameters: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    protocol: str = "HTTP/1.1",
    api_id: str = "local",
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event for one HTTP request."""
    raw_path, raw_query = split_target(target)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        name = name.lower()
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    host = joined.get("host", "localhost")
    joined["x-forwarded-for"] = (
        f"{joined['x-forwarded-for']}, {source_ip}" if "x-forwarded-for" in joined else source_ip
    )
    joined.setdefault("x-forwarded-proto", "http")
    joined.setdefault("x-forwarded-port", host.rpartition(":")[2] if ":" in host else "80")
    now = time.time() if now is None else now
    joined.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}")

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0].split(":")[0],
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": protocol,
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": request_id or str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if raw_query:
        event["queryStringParameters"] = _query_parameters(raw_query)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        text = None
        if is_text(joined.get("content-type")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            event["body"] = base64.b64encode(body).decode("ascii")
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
    return event


class InvalidResponse(ValueError):
    """The handler returned something API Gateway would answer with a 500."""


def _header_text(value: Any, what: str) -> str:
    text = str(value)
    if "\r" in text or "\n" in text:
        raise InvalidResponse(f"{what} contains a line break")
    return text


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` from a handler's return value, as HTTP APIs interpret it.

    Without a ``statusCode`` the whole value is a JSON body with status 200 (format 2.0 inference).
    """
    if not isinstance(result, dict) or "statusCode" not in result:
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    status = result["statusCode"]
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in (result.get("headers") or {}).items():
        headers.append((_header_text(name, "a header name"), _header_text(value, f"header {name}")))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((_header_text(name, "a header name"), _header_text(v, f"header {name}")) for v in values)
    headers.extend(("Set-Cookie", _header_text(c, "a cookie")) for c in result.get("cookies") or [])
    body = result.get("body")
    if body is None:
        return status, headers, b""
    if not isinstance(body, str):
        raise InvalidResponse("body must be a string")
    if result.get("isBase64Encoded"):
        try:
            return status, headers, base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidResponse("isBase64Encoded but the body is not base64") from exc
    return status, headers, body.encode("utf-8")


class LambdaContext:
    """The attributes of the Lambda runtime's context object that handlers and Powertools read."""

    def __init__(self, function_name: str, *, memory_mb: int, timeout_s: int, region: str = "us-east-1"):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
