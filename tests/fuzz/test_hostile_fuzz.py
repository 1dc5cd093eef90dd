"""Hostile input over every operation of the OpenAPI document, against the local gateway (issue 13).

Schemathesis (``test_api_fuzz.py``) generates what the schema describes; Hypothesis here generates
what it does not: lone surrogates (``"\\ud800"`` JSON escapes, ``%ED%A0%80`` in paths, queries and
forms), NUL, invalid UTF-8 (``%FF``), 1 MB strings, JSON nested thousands deep, wrong types in every
field and forged page tokens (the caller's own partition key kept, every other attribute wrong). Each
operation is sent ``FUZZ_HOSTILE_EXAMPLES`` requests (``make fuzz``: 1,000) with valid credentials;
the Learnosity endpoint half the time with a packet signed by the owner's key, so forged page tokens
reach its ``get``. Every answer must be below 500 (the app API's 502 for the LMS's own failure
aside), carry no traceback, be a 4xx in the route's format, and echo no secret. Every operation
starts from the same stored state (:func:`tests.fuzz.test_api_fuzz.fresh`).

Per-operation counts: ``fuzz-hostile-report.json`` in pytest's base temp directory (``-s`` prints them).
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lti_gateway import openapi
from tests.fuzz.conftest import World

EXAMPLES_PER_OPERATION = int(os.environ.get("FUZZ_HOSTILE_EXAMPLES", "20"))
REPORT = "fuzz-hostile-report.json"
COUNTS: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
DOCUMENT = json.loads(openapi.DOCUMENT.read_text())
FORM = "application/x-www-form-urlencoded"
MB = 1024 * 1024

# -- the operations ---------------------------------------------------------------------------------


def _resolve(schema: Any) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        node: Any = DOCUMENT
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _operations() -> list[dict[str, Any]]:
    found = []
    for path, methods in DOCUMENT["paths"].items():
        for method, spec in methods.items():
            if method == "parameters":
                continue
            parameters = [_resolve(p) for p in [*methods.get("parameters", []), *spec.get("parameters", [])]]
            content = (spec.get("requestBody") or {}).get("content") or {}
            body_type = next(iter(content), None)
            schema = _resolve((content.get(body_type) or {}).get("schema")) if body_type else None
            fields = sorted((schema or {}).get("properties") or {}) if isinstance(schema, dict) else []
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "path_params": [p["name"] for p in parameters if p.get("in") == "path"],
                    "query_params": [p["name"] for p in parameters if p.get("in") == "query"],
                    "body_type": body_type,
                    "fields": fields,
                    "security": spec.get("security"),
                    "tags": spec.get("tags") or [],
                }
            )
    return found


OPERATIONS = _operations()

# -- strategies -------------------------------------------------------------------------------------

BAD = ["\ud800", "\udfff", "\udc00", "\ud83d", "\x00", "\u0000\u0000", "\ufffe", "\uffff"]
BIG = "x" * MB
hostile_text = st.one_of(
    st.sampled_from(BAD),
    st.tuples(st.text(max_size=8), st.sampled_from(BAD), st.text(max_size=8)).map("".join),
    st.text(max_size=40),
    st.sampled_from(["", " ", "é", "²", "%", "%zz", "null", "[]", "{}", "a" * 256, "k" * 2100, "y" * 70_000, BIG]),
)
wrong_type = st.sampled_from([None, True, False, 0, -1, 2**63, 1e308, -0.0, [], {}, [None], {"": None}, [[[]]]])
scalars = hostile_text | wrong_type | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3),
    max_leaves=8,
)


def deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


deep_json = st.builds(deep, st.sampled_from([50, 900, 1100, 3000, 20_000, 300_000]), st.sampled_from(["list", "dict"]))
raw_invalid = st.sampled_from(["%FF", "%C0%AF", "%ED%A0%80", "%ED%BF%BF", "%00", "a%E2%82", "%F4%90%80%80", "%"])


def encode(text: str) -> str:
    """Percent-encoding of any text, a lone surrogate as the UTF-8 bytes it would be (invalid UTF-8)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def url_text() -> st.SearchStrategy[str]:
    """Already percent-encoded text for a path segment or a query value (at most 8 KB: API Gateway's
    own URL limit answers longer ones before any function runs)."""
    short = hostile_text.filter(lambda t: len(t) <= 8192)
    return st.one_of(short.map(encode), raw_invalid, st.tuples(short.map(encode), raw_invalid).map("".join))


def forged_token(world: World) -> st.SearchStrategy[str]:
    """Page tokens keeping the caller's own partition key, everything else forged."""
    partitions = [*world.partitions.values(), ("gsi1pk", "ORG#someone-else#CKEYS")]

    def forge(partition: tuple[str, str], attributes: dict[str, Any], tail: str) -> str:
        key = {**attributes, partition[0]: partition[1]}
        raw = json.dumps(key).encode("utf-8", "surrogatepass")  # ensure_ascii: surrogates as \ud800
        return encode(base64.urlsafe_b64encode(raw).decode().rstrip("=") + tail)

    names = st.sampled_from(["pk", "sk", "gsi1pk", "gsi1sk", "extra", ""])
    return st.builds(
        forge,
        st.sampled_from(partitions),
        st.dictionaries(names, json_values | st.sampled_from(["CK#a", "META", "2026-01-01T00:00:00Z#a"]), max_size=5),
        st.sampled_from(["", "", "", "!", "=", "==", "%00", "\u00e9"]),
    )


def _query(draw: Any, op: dict[str, Any], world: World) -> str:
    pairs = []
    for name in op["query_params"]:
        if draw(st.booleans()):
            continue
        if name == "next":
            value = draw(forged_token(world) | url_text())
        elif name == "limit":
            value = draw(st.sampled_from(["0", "1", "101", "-1", "1.5", "1e3", "²", "", "%FF", "%00"]) | url_text())
        else:
            value = draw(url_text())
        pairs.append(f"{quote(name)}={value}")
    if draw(st.integers(0, 9)) == 0:  # a parameter no route reads, and a name that is not text
        pairs.append(f"{draw(url_text())}={draw(url_text())}")
    return "&".join(pairs)


def _path(draw: Any, op: dict[str, Any], world: World) -> str:
    path = op["path"]
    destructive = op["method"] == "DELETE" or path.endswith(("/deactivate", "/reject"))
    for name in op["path_params"]:
        real = world.ids.get(name)
        if name == "lts_version":
            real = "v2023.1.LTS"
        if real and not destructive and draw(st.booleans()):
            value = quote(real, safe="")
        else:
            value = draw(url_text().filter(lambda v: v not in ("", ".", "..")))
        path = path.replace("{" + name + "}", value)
    return path


def _json_body(draw: Any, op: dict[str, Any]) -> bytes:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(deep_json).encode()
    if choice == 1:
        wrong = [b"[]", b'"x"', b"null", b"1", b"true", b'{"a":', b"\xff\xfe", b'{"name": "\xed\xa0\x80"}']
        return draw(st.sampled_from(wrong))
    if choice == 2:
        inner = draw(deep_json)
        field = draw(st.sampled_from(op["fields"] or ["name"]))
        return f'{{"{field}": {inner}}}'.encode()
    names = st.sampled_from(op["fields"]) | hostile_text if op["fields"] else hostile_text
    body = draw(st.dictionaries(names, json_values, max_size=6))
    return json.dumps(body).encode()  # ensure_ascii: a lone surrogate is sent as its "\ud800" escape


LTI_NAMES = [
    "oauth_consumer_key",
    "oauth_signature",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_version",
    "lti_message_type",
    "lti_version",
    "resource_link_id",
    "custom_big",
    "id_token",
    "state",
    "iss",
    "login_hint",
    "target_link_uri",
    "client_id",
    "lti_message_hint",
]


def _form_body(draw: Any, op: dict[str, Any], world: World) -> bytes:
    if op["path"] == "/{lts_version}/consumer/keys/lti":
        return _data_api_form(draw, world)
    pairs = draw(st.lists(st.tuples(st.sampled_from(LTI_NAMES) | hostile_text, hostile_text), max_size=8))
    text = "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)
    if draw(st.integers(0, 9)) == 0:
        text += "&" + draw(raw_invalid) + "=" + draw(raw_invalid)
    return text.encode()


def _data_api_form(draw: Any, world: World) -> bytes:
    import time

    from lti_gateway.lti11.learnosity import expected_signature

    credential_id, secret = world.api_key.split(".")
    request = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "next": forged_token(world),
                "limit": wrong_type | st.integers(-5, 200),
                "label": hostile_text,
                "key": hostile_text,
                "secret": hostile_text,
                "meta": json_values,
            },
        )
    )
    if "next" in request and draw(st.booleans()):
        from urllib.parse import unquote

        request["next"] = unquote(request["next"], errors="surrogatepass")
    action = draw(st.sampled_from(["get", "set", "get", "delete", ""]))
    if draw(st.booleans()):  # signed by the owner (as the Learnosity SDK signs): it reaches get / set
        request_raw = json.dumps(request)  # ensure_ascii: a lone surrogate travels as its escape
        now = time.strftime("%Y%m%d-%H%M", time.gmtime())
        packet = {"consumer_key": credential_id, "domain": "localhost", "timestamp": now}
        packet["signature"] = expected_signature(secret, packet, request_raw, action)
        form = {"security": json.dumps(packet), "request": request_raw, "action": action}
        return "&".join(f"{k}={encode(v)}" for k, v in form.items()).encode()
    security = draw(
        st.fixed_dictionaries(
            {
                "consumer_key": st.sampled_from([credential_id, "k" * 2100, "ak_\ud800", BIG[:300_000]])
                | hostile_text
                | wrong_type,
            },
            optional={
                "domain": hostile_text | wrong_type,
                "timestamp": hostile_text | wrong_type,
                "signature": hostile_text | wrong_type,
                "expires": hostile_text | wrong_type,
                "user_id": hostile_text | wrong_type,
                "other": json_values,
            },
        )
    )
    raw_security = draw(st.just(json.dumps(security)) | deep_json)
    fields = {"security": raw_security, "request": json.dumps(request), "action": action}
    return "&".join(f"{k}={encode(v)}" for k, v in fields.items()).encode()


# -- the property -----------------------------------------------------------------------------------


APP_SESSIONS = ({"LtikAuth": []}, {"ServiceAuth": []})


def family(op: dict[str, Any]) -> str:
    if any(s in APP_SESSIONS for s in op["security"] or []):
        return "contract"
    if op["tags"] == ["LTI launch"] or op["path"] in ("/lti/register/{token}", "/classes/{class_id}/open"):
        return "html"
    if op["path"] == "/{lts_version}/consumer/keys/lti":
        return "data-api"
    return "json"


def headers_for(op: dict[str, Any], world: World, content_type: str | None) -> dict[str, str]:
    headers = {}
    if op["security"] == [{"BearerAuth": []}]:
        headers["Authorization"] = f"Bearer {world.api_key}"
    elif any(s in APP_SESSIONS for s in op["security"] or []):
        headers["Authorization"] = f"LTIK-AUTH-V2 {world.api_key}:{world.ltik}"
    if content_type:
        headers["Content-Type"] = content_type
    return headers


def check(op: dict[str, Any], where: str, response: Any, world: World) -> None:
    status, text = response.status_code, response.content.decode("utf-8", "replace")
    where = f"{where} -> {status}: {text[:300]!r}"
    content_type = response.headers.get("content-type", "")
    body: Any = None
    if content_type.startswith("application/json") and text:
        body = json.loads(text)
    kind = family(op)
    if status >= 500:
        external = kind == "contract" and status == 502 and (body or {}).get("details", {}).get("externalError")
        assert external, f"server error: {where}"
    assert "Traceback" not in text and 'File "/' not in text, where
    if 400 <= status < 500:
        if kind == "html" and "text/html" in content_type:
            assert text.lstrip().lower().startswith("<!doctype html"), where
        elif kind == "contract":
            assert isinstance(body, dict) and body.get("status") == status, where
            assert isinstance(body["error"], str) and isinstance(body["details"]["message"], str), where
        elif kind == "data-api" and isinstance(body, dict) and "meta" in body:
            assert body["meta"]["status"] is False and isinstance(body["meta"]["error"], str), where
        else:
            assert isinstance(body, dict) and isinstance(body.get("error"), str), where
    for name, secret in world.secrets().items():
        assert secret not in text, f"{name} echoed: {where}"


@pytest.mark.parametrize("op", OPERATIONS, ids=[f"{o['method']} {o['path']}" for o in OPERATIONS])
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_every_operation_refuses_hostile_input_cleanly(op, world, fresh, data):
    path = _path(data.draw, op, world)
    query = _query(data.draw, op, world)
    body: bytes | None = None
    content_type = op["body_type"]
    if op["body_type"] == "application/json" or (op["body_type"] is None and data.draw(st.integers(0, 7)) == 0):
        body = _json_body(data.draw, op)
        content_type = "application/json"
    elif op["body_type"] == FORM:
        body = _form_body(data.draw, op, world)
    url = world.base_url + path + (f"?{query}" if query else "")
    response = world.session.request(
        op["method"], url, data=body, headers=headers_for(op, world, content_type), timeout=60
    )
    label = f"{op['method']} {op['path']}"
    COUNTS[label] += 1
    STATUSES.setdefault(label, Counter())[response.status_code] += 1
    check(op, f"{op['method']} {url[:300]} body={(body or b'')[:200]!r}", response, world)
