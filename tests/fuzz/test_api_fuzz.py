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
"""

from __future__ import annotations

import base64
import json
import os
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from lti_gateway import openapi
from tests.fuzz.conftest import API_EXAMPLES

# Requests with a method a route does not have are sent too (API Gateway answers 404), but not TRACE or
# QUERY: HTTP APIs have no such routes, and the local server's http.server would answer them 501.
CONFIG = schemathesis.Config.from_dict(
    {"phases": {"coverage": {"unexpected-methods": ["get", "put", "post", "delete", "options", "patch"]}}}
)
SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi.DOCUMENT.read_text()), config=CONFIG)
COUNTS: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = {}
CLIENT_ID = "fuzz-client"
_ENDPOINTS = ("DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL", "AWS_ENDPOINT_URL")


@dataclass
class World:
    base_url: str
    api_key: str
    ltik: str
    lms: Any
    fixed_secrets: dict[str, str]
    ids: dict[str, str]  # real path parameters (class, unit, key, platform, line item) and login parameters
    session: requests.Session = field(default_factory=requests.Session)

    def secrets(self) -> dict[str, str]:
        from lti_gateway.lti13 import tool_keys
        from lti_gateway.repositories import deps

        found = dict(self.fixed_secrets)
        found |= {f"platform access token {i}": t for i, t in enumerate(list(self.lms._tokens))}
        box = deps.secret_box()._current
        if box:
            found["KMS data key"] = base64.b64encode(box[1]).decode()
        kid, key = tool_keys.signing_key()
        d = key.private_numbers().d.to_bytes(256, "big")
        found[f"tool private key {kid} (JWK d)"] = base64.urlsafe_b64encode(d).rstrip(b"=").decode()
        return found


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The local gateway, an organisation, a consumer key and an LTI 1.3 launch of a local platform."""
    from lti_gateway.admin import classes
    from lti_gateway.admin.orgs import Principal
    from lti_gateway.app_api import line_item_ids
    from lti_gateway.core.observability import logger
    from lti_gateway.local.server import LocalGateway, reset_caches
    from lti_gateway.lti13 import platforms, tool_keys
    from tests.peers.advantage_platform import AdvantagePlatform
    from tests.support.app_api import SCOPES, lti13_claims, store_lti13_launch

    saved = dict(os.environ)
    for name in _ENDPOINTS:
        os.environ.pop(name, None)
    level = logger.log_level
    logger.setLevel("WARNING")  # thousands of "request rejected" lines would only slow the run down
    gateway = LocalGateway(port=0, quiet=True)
    try:
        gateway.start()
        org = gateway.create_organisation("Fuzz University")
        key = gateway.create_consumer_key(org.org_id, label="Fuzz LMS")
        owner = Principal(org.org_id, org.credential_id, "owner")
        with AdvantagePlatform(client_id=CLIENT_ID, jwks=lambda: tool_keys.public_jwks()) as lms:
            platform = platforms.create_platform(
                owner,
                {
                    "url": lms.base,
                    "clientId": CLIENT_ID,
                    "name": "Fuzz LMS",
                    "authenticationEndpoint": f"{lms.base}/auth",
                    "accesstokenEndpoint": lms.token_url,
                    "authConfig": {"method": "JWK_SET", "key": f"{lms.base}/jwks"},
                    "deploymentIds": ["dep-1"],
                },
            )
            ags = {"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url()}
            nrps = {"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]}
            claims = lti13_claims(issuer=lms.base, client_id=CLIENT_ID, ags=ags, nrps=nrps)
            _, ltik = store_lti13_launch(org.org_id, claims, platform_id=platform["id"], client_id=CLIENT_ID)
            base = gateway.base_url
            cls = classes.create_class(
                owner, {"name": "Fuzz class", "class_lms_url": "https://lms.example/c"}, base=base
            )
            unit = classes.create_unit(owner, cls["class_id"], {"name": "Fuzz unit"}, base=base)
            ids = {
                "class_id": cls["class_id"],
                "unit_id": unit["unit_id"],
                "key": key["key"],
                "platform_id": platform["id"],
                "id": line_item_ids.encode(lms.item_url()),
                "iss": lms.base,
                "client_id": CLIENT_ID,
                "target_link_uri": f"{base}/lti/launch/{cls['class_id']}",
            }
            secrets = {
                "API key": org.api_key,
                "API key secret": org.api_key.split(".")[1],
                "consumer secret": key["secret"],
                "ltik": ltik,
            }
            yield World(gateway.base_url, org.api_key, ltik, lms, secrets, ids)
    finally:
        gateway.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()
        logger.setLevel(level)
        report = {"examples_per_operation": API_EXAMPLES, "operations": dict(sorted(COUNTS.items()))}
        report["statuses"] = {op: dict(sorted(c.items())) for op, c in sorted(STATUSES.items())}
        path = tmp_path_factory.getbasetemp() / "fuzz-report.json"
        path.write_text(json.dumps(report, indent=1))
        print(f"\nschemathesis: {sum(COUNTS.values())} requests over {len(COUNTS)} operations -> {path}")
        for op, count in sorted(COUNTS.items()):
            print(f"  {count:5d}  {op}  {dict(sorted(STATUSES[op].items()))}")


def family(case: Any) -> str:
    tags = case.operation.definition.raw.get("tags") or []
    path = case.operation.path
    if tags == ["Token"]:
        return "contract"
    if tags == ["Launch"] or path in ("/lti/register/{token}", "/classes/{class_id}/open"):
        return "html"
    if path == "/{lts_version}/consumer/keys/lti":
        return "data-api"
    return "json"


def credentials(case: Any, world: World) -> dict[str, str]:
    security = case.operation.definition.raw.get("security")
    if security == [{"apiKey": []}]:
        return {"Authorization": f"Bearer {world.api_key}"}
    if security == [{"appSession": []}]:
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
    if case.operation.path == "/lti/login" and isinstance(case.query, dict):
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
def test_every_operation_answers_cleanly(case, world):
    label = f"{case.operation.method.upper()} {case.operation.path}"
    if case.method.upper() != case.operation.method.upper():
        label += f" (sent as {case.method.upper()})"
    deepen(case, world)
    response = case.call(base_url=world.base_url, session=world.session, headers=credentials(case, world), timeout=30)
    COUNTS[label] += 1
    STATUSES.setdefault(label, Counter())[response.status_code] += 1
    check(case, response, world)
