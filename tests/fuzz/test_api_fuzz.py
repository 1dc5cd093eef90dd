"""Schemathesis over every operation of the OpenAPI document, against the local gateway on 127.0.0.1.

Each operation gets ``FUZZ_API_EXAMPLES`` generated requests (positive and negative: bodies, path
and query parameters, headers), with a fixed seed, carrying valid credentials: an owner's API key
for the JSON API, an ltik of a stored LTI 1.3 launch (its platform a local LTI Advantage peer) for
the app API. Every answer must be:

- below 500 — except a 502 of the app API that reports the LMS's own failure (``externalError``);
- a 4xx of the JSON API: a JSON object with ``error``; of the app API: the LTIAAS contract's
  ``{"status", "error", "details": {"message"}}``; of the Learnosity endpoint: its envelope;
- an HTML page (or a redirect) for launch and registration routes, without a traceback;
- free of every secret the gateway holds: the API key's secret half, the consumer secret, the ltik,
  the platform's access tokens, the tool's private key and the KMS data key.

The number of examples each operation ran is printed at the end (``-s``) and written to
``fuzz-report.json`` in pytest's base temp directory.

Every operation starts from the same stored state: after each one, :func:`fresh` deletes what it
created and puts back what it changed (the world's baseline). A long run (``make fuzz``, 1,000
examples per operation) once stalled when thousands of classes made by earlier operations stayed in
the one shared stack; now no operation sees another's leftovers.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from lti_gateway import openapi
from tests.fuzz.conftest import API_EXAMPLES, World

# Requests with a method a route does not have are sent too (API Gateway answers 404), but not TRACE or
# QUERY: HTTP APIs have no such routes, and the local server's http.server would answer them 501.
CONFIG = schemathesis.Config.from_dict(
    {"phases": {"coverage": {"unexpected-methods": ["get", "put", "post", "delete", "options", "patch"]}}}
)
SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi.DOCUMENT.read_text()), config=CONFIG)
COUNTS: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
EXAMPLES_PER_OPERATION = API_EXAMPLES
REPORT = "fuzz-report.json"


APP_SESSIONS = ({"LtikAuth": []}, {"ServiceAuth": []})


def family(case: Any) -> str:
    tags = case.operation.definition.raw.get("tags") or []
    path = case.operation.path
    if any(s in APP_SESSIONS for s in case.operation.definition.raw.get("security") or []):
        return "contract"
    if tags == ["LTI launch"] or path in ("/lti/register/{token}", "/classes/{class_id}/open"):
        return "html"
    if path == "/{lts_version}/consumer/keys/lti":
        return "data-api"
    return "json"


def credentials(case: Any, world: World) -> dict[str, str]:
    security = case.operation.definition.raw.get("security")
    if security == [{"BearerAuth": []}]:
        return {"Authorization": f"Bearer {world.api_key}"}
    if any(s in APP_SESSIONS for s in security or []):  # a service-key-only route is sent the ltik: 401
        return {"Authorization": f"LTIK-AUTH-V2 {world.api_key}:{world.ltik}"}
    return {}


def header(response: Any, name: str) -> str:
    """A response header (schemathesis keeps every header as a list of values)."""
    for key, values in response.headers.items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) else values
    return ""


def deepen(case: Any, world: World) -> None:
    """In about half the examples, swap real ids into the path (and a registered issuer into the
    login), so the checks behind "no such class" are reached too. The choice is a checksum of the
    generated case: the same on every run. Deletions and deactivation keep their random ids (they
    would end the other operations' world)."""
    if case.method.upper() == "DELETE" or case.operation.path.endswith(("/deactivate", "/reject")):
        return
    salt = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    if salt % 2:
        return
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    if case.operation.path in ("/lti/login", "/lti/orgs/{org_id}/login") and isinstance(case.query, dict):
        for name in ("iss", "client_id", "target_link_uri"):
            case.query[name] = world.ids[name]


def check(case: Any, response: Any, world: World) -> None:
    # Exports answer files (a Common Cartridge is a zip): decode leniently.
    status, text, kind = response.status_code, response.content.decode("utf-8", "replace"), family(case)
    where = f"{case.method} {case.formatted_path} -> {status}: {text[:300]!r}"
    content_type = header(response, "content-type")
    body: Any = None
    if content_type.startswith("application/json") and text:
        body = json.loads(text)
    if status >= 500:
        external = kind == "contract" and status == 502 and (body or {}).get("details", {}).get("externalError")
        assert external, f"server error: {where}"
    assert "Traceback" not in text and 'File "/' not in text, where
    if case.method.upper() != case.operation.method.upper():
        kind = "json"  # a method the route does not have: API Gateway's (here the local router's) 404
    if 400 <= status < 500:
        if kind == "html" and "text/html" in content_type:
            assert text.lstrip().lower().startswith("<!doctype html"), where
        elif kind == "contract":
            assert isinstance(body, dict) and body.get("status") == status, where
            assert isinstance(body["error"], str) and isinstance(body["details"]["message"], str), where
        elif kind == "data-api" and isinstance(body, dict) and "meta" in body:
            assert body["meta"]["status"] is False and isinstance(body["meta"]["error"], str), where
        else:  # the JSON API, and the local router's own 404 for a path no route takes
            assert isinstance(body, dict) and isinstance(body.get("error"), str), where
    headers = "\n".join(f"{k}: {v}" for k, values in response.headers.items() for v in values)
    for name, secret in world.secrets().items():
        assert secret not in text and secret not in headers, f"{name} echoed: {where}"


@SCHEMA.parametrize()
@settings(
    max_examples=API_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_cleanly(case, world, fresh):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    if case.method.upper() != case.operation.method.upper():
        label += f" (sent as {case.method.upper()})"
    deepen(case, world)
    response = case.call(base_url=world.base_url, session=world.session, headers=credentials(case, world), timeout=30)
    COUNTS[label] += 1
    STATUSES.setdefault(label, Counter())[response.status_code] += 1
    check(case, response, world)
