"""The answers of every operation conform to the OpenAPI document (schemathesis, against the local gateway).

Each operation of the shipped document is called with its documented examples and a few generated
requests (positive: what the schemas allow), authenticated as it says: an owner's API key for the
JSON API (``BearerAuth``), the ltik of a stored LTI 1.3 launch (``LtikAuth``) or a service key
(``ServiceAuth``) for the app API, the console's cookie (signed in first) for its session routes.
Real ids go into the path (a class, a unit, a consumer key, a platform, a line item of the local LMS
peer...), so most calls succeed and their bodies are checked, not only the 404s. Every answer must pass
schemathesis's checks:

- ``not_a_server_error`` (no 5xx; a 502 of the app API naming the LMS's failure is not expected here:
  the LMS peer is up),
- ``status_code_conformance`` (the status is one the operation documents),
- ``content_type_conformance`` (its Content-Type is one the document names for that status),
- ``response_schema_conformance`` (the body validates against that status's schema).

After each operation the stored state is put back (tests/fuzz/conftest.py's ``World.restore``), so no
operation sees another's leftovers. A last test fails if an operation was never called, and one if an
operation never got a success answer (the run would then prove nothing about its success schema).
``OPENAPI_CONFORMANCE_EXAMPLES`` (default 3) sets the generated requests per operation.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
import time
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from learnosity_sdk.request import Init
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.examples import get_strategies_from_examples

from lti_gateway import openapi
from tests.fuzz.conftest import World
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import FORM, sign_launch

EXAMPLES = int(os.environ.get("OPENAPI_CONFORMANCE_EXAMPLES", "3"))
CLIENT_ID = "conformance-client"
LAUNCH = [(k, v) for k, v in CANVAS if k != "launch_presentation_return_url"]  # a launch, not a return
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"mode": "positive"}, "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
)
SCHEMA = schemathesis.openapi.from_dict(json.loads(openapi.DOCUMENT.read_text()), config=CONFIG)
CALLED: Counter[str] = Counter()
STATUSES: dict[str, Counter[int]] = defaultdict(Counter)
# Operations whose success the run cannot reach, and why (each still called, each answer still checked).
NO_SUCCESS = {
    # An LTI 1.3 launch needs an id_token signed by the platform after a login (tests/e2e/test_lti13_over_http.py).
    "POST /lti/launch",
    "POST /lti/orgs/{org_id}/launch",
    # Stack-wide logins need a platform registered before tenant scoping (this one is the organisation's).
    "GET /lti/login",
    "POST /lti/login",
    # Dynamic registration starts with the LMS's openid_configuration URL: the page says it is missing.
    "GET /lti/register/{token}",
}


@pytest.fixture(scope="module")
def world(gateway):
    """An organisation with a member credential, a consumer key, a class and unit, a platform (a local LTI
    Advantage peer serving AGS and NRPS) and a stored LTI 1.3 launch of it: its ltik and service key."""
    from lti_gateway.admin import classes
    from lti_gateway.admin.orgs import Principal
    from lti_gateway.app_api import line_item_ids
    from lti_gateway.app_api import ltik as ltik_tokens
    from lti_gateway.core.vocabulary import LIS_V2
    from lti_gateway.lti13 import lti11_bindings, platforms, tool_keys
    from lti_gateway.repositories import deps
    from tests.peers.advantage_platform import AdvantagePlatform
    from tests.support.app_api import SCOPES, lti13_claims, store_lti13_launch

    base = gateway.base_url
    org = gateway.create_organisation("Conformance University")
    key = gateway.create_consumer_key(org.org_id, label="Conformance LMS")
    owner = Principal(org.org_id, org.credential_id, "owner")
    bearer = {"Authorization": f"Bearer {org.api_key}"}
    member = requests.post(f"{base}/api/credentials", json={"label": "member"}, headers=bearer, timeout=30).json()
    with AdvantagePlatform(client_id=CLIENT_ID, jwks=lambda: tool_keys.public_jwks(org.org_id)) as lms:
        platform = platforms.create_platform(
            owner,
            lms.registration("Conformance LMS"),
        )
        ags = {"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url()}
        nrps = {"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]}
        claims = lti13_claims(issuer=lms.base, client_id=CLIENT_ID, ags=ags, nrps=nrps)
        learner_launch, ltik = store_lti13_launch(org.org_id, claims, platform_id=platform["id"], client_id=CLIENT_ID)
        deep_linking = {
            "deep_link_return_url": f"{lms.base}/deep-linking/return",
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
        }
        dl_claims = lti13_claims(
            issuer=lms.base, client_id=CLIENT_ID, message_type="LtiDeepLinkingRequest", deep_linking=deep_linking
        )
        _, dl_ltik = store_lti13_launch(org.org_id, dl_claims, platform_id=platform["id"], client_id=CLIENT_ID)
        idtoken = requests.get(
            f"{base}/api/idtoken", headers={"Authorization": f"LTIK-AUTH-V2 {org.api_key}:{ltik}"}, timeout=30
        )
        assert idtoken.status_code == 200, idtoken.text
        service_key = idtoken.json()["services"]["serviceKey"]
        lms_course = {"class_lms_url": f"{lms.base}/course/7", "class_lms_url_confirmed": True}
        lms_course["app_launch_url"] = "https://app.example.edu/lti"  # where a launch goes (never followed here)
        cls = classes.create_class(owner, {"name": "Conformance class", **lms_course}, base=base)
        unit = classes.create_unit(owner, cls["class_id"], {"name": "Conformance unit"}, base=base)
        # An instructor's launch into the class (what POST /api/console-link needs), stored as the launch
        # function stores one: the normalised roles and the class the launch URL named.
        launches, now = deps.launch_repo(), int(time.time())
        context = launches.get_launch_context(learner_launch, now=now)
        context |= {"class_id": cls["class_id"], "roles": [f"{LIS_V2}membership#Instructor"]}
        instructor_launch = secrets.token_urlsafe(18)
        launches.put_launch_context(instructor_launch, context, expires_at=now + 86_400)
        instructor_ltik = ltik_tokens.issue(instructor_launch, org.org_id, now=now)
        # An LTI 1.1 binding waiting for the owner (what a launch with an unverifiable lti1p1 claim records).
        lti11_bindings.for_launch(
            platform_id=platform["id"],
            org_id=org.org_id,
            deployment_id="dep-1",
            consumer_key=key["key"],
            reason="signature_missing",
        )
        binding_id = lti11_bindings.binding_id("dep-1", key["key"])
        registration = requests.post(f"{base}/api/platforms/registration-url", json={}, headers=bearer, timeout=30)
        assert registration.status_code == 201, registration.text
        ids = {
            "class_id": cls["class_id"],
            "unit_id": unit["unit_id"],
            "key": key["key"],
            "platform_id": platform["id"],
            "binding_id": binding_id,
            "org_id": org.org_id,
            "credential_id": member["credential_id"],
            "id": line_item_ids.encode(lms.item_url()),
            "token": registration.json()["registration_url"].rsplit("/", 1)[-1],
            "name": "console.js",
            "lts_version": "v2023.1.LTS",
            "iss": lms.base,
            "client_id": CLIENT_ID,
            "target_link_uri": f"{base}/lti/launch/{cls['class_id']}",
        }
        # A refused LTI 1.1 launch (a wrong secret): its page's reference, recorded for the organisation.
        refused = sign_launch(f"{base}/lti/launch/{cls['class_id']}", LAUNCH, consumer_key=key["key"], secret="wrong")
        page = requests.post(refused.url, data=refused.body, headers={"Content-Type": FORM}, timeout=30)
        ids["reference"] = re.search(r"Reference: <code>([^<]+)</code>", page.text)[1]
        made = World(base, org.api_key, ltik, lms, {}, ids, org.org_id)
        made.consumer_key = key  # type: ignore[attr-defined]
        made.service_key = service_key  # type: ignore[attr-defined]
        made.member_key = member["api_key"]  # type: ignore[attr-defined]
        made.deep_linking_ltik = dl_ltik  # type: ignore[attr-defined]
        made.instructor_ltik = instructor_ltik  # type: ignore[attr-defined]
        made.baseline = made.stored()
        yield made


def _console(world: World) -> tuple[requests.Session, dict[str, str]]:
    """A browser signed in to the console (its cookie), and the CSRF header its changes need."""
    browser = requests.Session()
    signed = browser.post(f"{world.base_url}/console/session", json={"api_key": world.api_key}, timeout=30)
    assert signed.status_code == 200, signed.text
    return browser, {"X-CSRF-Token": signed.json()["csrf_token"]}


def prepare(case: Any, world: World) -> tuple[requests.Session, dict[str, str]]:
    """Real ids into the path (and the login's query); the credential the operation's security names."""
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    path = case.operation.path
    if path in ("/lti/login", "/lti/orgs/{org_id}/login"):
        real = {name: world.ids[name] for name in ("iss", "client_id", "target_link_uri")}
        if case.method.upper() == "GET":
            case.query = {"login_hint": "user-2", **real}  # a generated lti_deployment_id is never registered
        else:  # the form (the body is optional: generated cases may have none)
            case.body = {"login_hint": "user-2", **(case.body if isinstance(case.body, dict) else {}), **real}
            case.media_type = "application/x-www-form-urlencoded"
    if path == "/api/classes/{class_id}/units/reorder" and isinstance(case.body, dict):
        case.body["unit_ids"] = [world.ids["unit_id"]]
    if path == "/console/session" and isinstance(case.body, dict) and "api_key" in case.body:
        case.body["api_key"] = world.api_key
    if path in ("/lti/launch/{class_id}", "/lti/launch/{class_id}/{unit_id}") and case.method.upper() == "POST":
        # An LTI 1.1 launch signed with the consumer key (the form schema allows any fields; these verify).
        url = f"{world.base_url}{case.formatted_path}"
        key = world.consumer_key
        signed = sign_launch(url, LAUNCH, consumer_key=key["key"], secret=key["secret"])
        case.body = dict(parse_qsl(signed.body, keep_blank_values=True))
        case.media_type = FORM
    if path == "/{lts_version}/consumer/keys/lti":
        # A Data API call signed by the Learnosity SDK with the API key (its credential id and secret half).
        credential_id, secret = world.api_key.split(".", 1)
        security = {"consumer_key": credential_id, "domain": "localhost"}
        action = case.body.get("action") if isinstance(case.body, dict) else None
        request = {"label": "Data API LMS"} if action != "get" else {}
        case.body = Init("data", security, secret, request, action or "set").generate(encode=False)
        case.media_type = FORM
    if path == "/api/console-link":
        return world.session, {"Authorization": f"LTIK-AUTH-V2 {world.api_key}:{world.instructor_ltik}"}
    if path.startswith("/api/deeplinking"):
        return world.session, {"Authorization": f"LTIK-AUTH-V2 {world.api_key}:{world.deep_linking_ltik}"}
    security = case.operation.definition.raw.get("security") or []
    schemes = {name for requirement in security for name in requirement}
    if "BearerAuth" in schemes:
        return world.session, {"Authorization": f"Bearer {world.api_key}"}
    if "LtikAuth" in schemes:
        return world.session, {"Authorization": f"LTIK-AUTH-V2 {world.api_key}:{world.ltik}"}
    if "ServiceAuth" in schemes:
        return world.session, {"Authorization": f"SERVICE-AUTH-V1 {world.api_key}:{world.service_key}"}
    if path == "/console/session" and case.method.upper() in ("GET", "DELETE"):
        return _console(world)
    return world.session, {}


def _restore(world: World, lms_state: list[tuple[dict, dict]]) -> None:
    """The stored state and the LMS peer's line items, results and scores put back after an operation."""
    world.restore()
    for table, before in lms_state:
        table.clear()
        table.update(copy.deepcopy(before))


def _exercise(operation: Any, world: World) -> None:
    """The operation's documented examples, then ``EXAMPLES`` generated requests, each answer checked."""
    label = f"{operation.method.upper()} {operation.path}"

    def call(case: Any) -> None:
        session, headers = prepare(case, world)
        response = case.call(base_url=world.base_url, session=session, headers=headers, timeout=30)
        CALLED[label] += 1
        STATUSES[label][response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    strategies = [*get_strategies_from_examples(operation), operation.as_strategy()]
    for index, strategy in enumerate(strategies):
        generated = index == len(strategies) - 1

        @settings(
            max_examples=EXAMPLES if generated else 1,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],  # no shrinking: a failure is reported as found
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            call(case)

        run()


def test_every_operation_answers_as_its_document_says(world):
    """One test over every operation (not one per operation: under ``-n 2`` the coverage checks at the end
    would see only one worker's share). Each operation's failures are collected, so one bad operation
    does not hide another's; an operation never called, or that never reached its success, fails too."""
    lms = world.lms
    lms_state = [(table, copy.deepcopy(table)) for table in (lms.items, lms.results, lms.scores)]
    failures: dict[str, str] = {}
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        try:
            _exercise(operation, world)
        except Exception as error:
            failures[f"{operation.method.upper()} {operation.path}"] = f"{type(error).__name__}: {error}"[:2000]
        finally:
            _restore(world, lms_state)
    print("\nconformance run:", sum(CALLED.values()), "requests over", len(CALLED), "operations")
    for op in sorted(CALLED):
        print(f"  {CALLED[op]:3d}  {op}  {dict(sorted(STATUSES[op].items()))}")
    assert failures == {}, "\n\n".join(f"{op}:\n{text}" for op, text in failures.items())
    operations = {
        f"{m.upper()} {p}" for p, ops in json.loads(openapi.DOCUMENT.read_text())["paths"].items() for m in ops
    }
    assert sorted(operations - set(CALLED)) == [], "operations never called"
    unsuccessful = sorted(op for op in operations if not any(s < 400 for s in STATUSES[op]))
    gaps = {op: dict(STATUSES[op]) for op in sorted(set(unsuccessful) - NO_SUCCESS)}
    assert gaps == {}, "operations that never reached their success"
    assert len(operations) - len(unsuccessful) >= 65


def test_a_member_key_is_refused_where_the_document_says_so(world):
    """Owner-only operations answer a member's key with the 403 they document, in the documented shape."""
    checked = 0
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        if raw.get("security") != [{"BearerAuth": []}] or "403" not in raw["responses"]:
            continue
        names = [p.name for p in operation.path_parameters]
        kwargs: dict[str, Any] = {"path_parameters": {name: world.ids.get(name, "x") for name in names}}
        if "requestBody" in raw:
            kwargs |= {"body": _example_body(raw), "media_type": "application/json"}
        case = operation.Case(**kwargs)
        response = case.call(
            base_url=world.base_url, headers={"Authorization": f"Bearer {world.member_key}"}, timeout=30
        )
        assert response.status_code == 403, f"{case.method} {case.formatted_path}: {response.text[:200]}"
        case.validate_response(response, checks=CHECKS)
        checked += 1
    assert checked >= 20


def test_the_gateway_serves_a_valid_document_naming_itself(gateway):
    from openapi_spec_validator import validate

    served = requests.get(f"{gateway.base_url}/api/openapi.json", timeout=30)

    assert served.status_code == 200
    document = served.json()
    assert document["servers"] == [{"url": gateway.base_url, "description": "This stack."}]
    validate(document)


def _example_body(raw: dict) -> Any:
    content = raw.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    return media.get("example") if media else None
