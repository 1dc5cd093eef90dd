"""Hard gates (issue #7): DynamoDB calls per warm request, counted exactly, and no Scan anywhere.

Every AWS call any client makes is recorded (``aws_calls`` wraps botocore's ``_make_api_call``), so a
call through a client the code forgot to share, or a KMS call on a warm path, shows up too.

Budgets, per warm request (the container has served one like it before):
- LTI 1.1 launch: 2 writes (nonce, launch context), after the first launch of its LMS context, and 2
  strongly consistent reads — the consumer key and the class — so a revocation, rotation, ``lti_enabled``
  switch or deletion counts from the next launch (issue 13, item 12; tests/functional/test_revocation_now.py);
- LTI 1.3 launch: 4 calls (read the state, consume it once the launch validated whole — issue 13, item
  11 —, read the class consistently — item 12 —, write the launch context) — also asserted, through
  the clients' event hooks, by
  tests/functional/launch/test_lti13_launch.py::test_a_warm_launch_makes_four_dynamodb_calls;
- ltik call (``GET /api/idtoken`` after the first): 2 reads — the API key (consistent: revocation counts
  from the next call) and the launch context;
- export: one Query per page of units (plus the class read and the consumer keys' Query).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from lti_gateway.admin import classes, orgs
from lti_gateway.repositories import deps
from tests.functional.launch.test_lti13_launch import id_token_for, launch_post, login
from tests.peers.lms_params import CANVAS
from tests.support.app_api import ltik_auth, token_event
from tests.support.events import vary

ROOT = Path(__file__).resolve().parents[2]
# A launch with no outcome service and no AGS/NRPS: its app session has no service key to issue.
NO_SERVICES = [(k, v) for k, v in CANVAS if k not in ("lis_outcome_service_url", "lis_result_sourcedid")]


def dynamodb(calls: list[tuple[str, str]]) -> list[str]:
    return [operation for service, operation in calls if service == "dynamodb"]


def services(calls: list[tuple[str, str]]) -> set[str]:
    return {service for service, _ in calls}


# -- launches --------------------------------------------------------------------------------------------


def test_a_warm_lti11_launch_makes_two_dynamodb_writes(lti11_world, lti11_launch, aws_calls):
    lti11_launch()  # cold: the consumer key, organisation and class are read; the LMS context recorded

    with aws_calls() as calls:
        lti11_launch()

    # The consumer key (read every launch, consistent), the nonce, the class (consistent), the context
    # (with the learner's outcome records in the same call: one BatchWriteItem).
    assert dynamodb(calls) == ["GetItem", "PutItem", "GetItem", "BatchWriteItem"]
    assert services(calls) == {"dynamodb"}  # no KMS: the opened secret is reused while its version holds


def test_a_new_lms_context_costs_one_more_write_once(lti11_world, lti11_launch, aws_calls):
    lti11_launch()
    other_course = [(k, "another-course" if k == "context_id" else v) for k, v in CANVAS]

    with aws_calls() as first:
        lti11_launch(other_course)
    with aws_calls() as again:
        lti11_launch(other_course)

    assert sorted(dynamodb(first)) == ["BatchWriteItem", "GetItem", "GetItem", "PutItem", "UpdateItem"]
    assert dynamodb(again) == ["GetItem", "PutItem", "GetItem", "BatchWriteItem"]


def test_a_warm_lti13_launch_makes_four_dynamodb_calls(world, launch_fn, aws_calls):
    target = world["class"]["launch_url"]
    auth = login(launch_fn, target)
    assert launch_fn(launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]}))
    auth = login(launch_fn, target)
    event = launch_post({"id_token": id_token_for({**auth, "_target": target}), "state": auth["state"]})

    with aws_calls() as calls:
        answer = launch_fn(event)

    assert answer.status == 302, answer.raw
    # Read the state, consume it, read the class (consistent, issue 13 item 12), store the context.
    assert dynamodb(calls) == ["GetItem", "DeleteItem", "GetItem", "PutItem"]
    assert services(calls) == {"dynamodb"}


# -- the app API ------------------------------------------------------------------------------------------


def _idtoken(lti11: dict, call, ltik: str):
    return call(token_event("GET", "/api/idtoken", authorization=ltik_auth(lti11["org"].api_key, ltik)))


def test_a_warm_ltik_call_makes_one_read(lti11_world, lti11_launch, token_fn, aws_calls):
    launched = lti11_launch(NO_SERVICES)
    assert _idtoken(lti11_world, token_fn, launched["ltik"]).status == 200  # API key verified and remembered

    with aws_calls() as calls:
        answer = _idtoken(lti11_world, token_fn, launched["ltik"])

    assert answer.status == 200
    assert dynamodb(calls) == ["GetItem", "GetItem"]  # the API key (consistent), the launch context
    assert services(calls) == {"dynamodb"}


def test_a_warm_ltik_call_of_a_launch_with_services_makes_one_read(lti11_world, lti11_launch, token_fn, aws_calls):
    launched = lti11_launch(CANVAS)  # an outcome service: /api/idtoken answers a service key
    assert _idtoken(lti11_world, token_fn, launched["ltik"]).status == 200  # issues the service key

    with aws_calls() as calls:
        answer = _idtoken(lti11_world, token_fn, launched["ltik"])

    assert answer.status == 200
    assert dynamodb(calls) == ["GetItem", "GetItem"]  # the API key, the launch context; the service key is known


# -- exports ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json", "cc"])
def test_an_export_makes_one_query_per_page_of_units(org, export_fn, aws_calls, fmt):
    owner = orgs.Principal(org.org_id, org.credential_id, "owner")
    cls = classes.create_class(owner, {"name": "Physics 101"}, base="https://gw.example")
    for i in range(25):
        classes.create_unit(owner, cls["class_id"], {"name": f"Unit {i}"}, base="https://gw.example")
    repo = deps.exports_repo()
    repo.page_size = 10  # 25 units: 3 pages (DynamoDB's own page limit is 1 MB; the repository asks for 1,000)
    event = vary(
        "exports-class.json", api_key=org.api_key, path_params={"class_id": cls["class_id"]}, query={"format": fmt}
    )
    assert export_fn(event).status == 200

    with aws_calls() as calls:
        answer = export_fn(event)

    assert answer.status == 200
    # The API key, the class, the consumer keys (one page), then the units: one Query per page; a
    # Common Cartridge also names the tool as the organisation set it (one projected GetItem).
    pages = math.ceil(25 / repo.page_size)
    tool = ["GetItem"] if fmt == "cc" else []
    assert sorted(dynamodb(calls)) == sorted(["GetItem", "GetItem", "Query"] + tool + ["Query"] * pages)
    assert services(calls) == {"dynamodb"}


# -- no Scan ------------------------------------------------------------------------------------------------

_SCAN = re.compile(r"""\.scan\(|["']Scan["']""")


# The one Scan there is: `lti-gateway orgs list`, an operator's command with the operator's own AWS
# credentials (organisations have no cross-tenant index, on purpose). No handler may reach it.
OPERATOR_SCAN = ("layers/common/lti_gateway/repositories/keys.py", "def scan_organisations(")


def test_no_code_path_of_the_gateway_can_scan():
    """Every access a function makes is a key read or a Query (IAM grants no Scan either:
    tests/infrastructure); the operator CLI's listing of organisations is the one Scan, and only the CLI
    reaches it."""
    sources = [
        p
        for p in (ROOT / "layers" / "common" / "lti_gateway").rglob("*.py")
        if "local" not in p.relative_to(ROOT).parts
    ]
    sources += list((ROOT / "functions").glob("*/app.py"))
    assert len(sources) > 20
    offenders = []
    for path in sources:
        current = ""
        for number, text in enumerate(path.read_text().splitlines(), 1):
            if text.lstrip().startswith("def "):
                current = text.strip()
            where = (str(path.relative_to(ROOT)), current)
            if _SCAN.search(text) and not (where[0] == OPERATOR_SCAN[0] and where[1].startswith(OPERATOR_SCAN[1])):
                offenders.append(f"{where[0]}:{number}")
    assert offenders == []
    # Who reaches the operator's Scan: admin/orgs.list_organisations, called by the CLI alone.
    callers = {
        str(path.relative_to(ROOT))
        for path in sources
        for name in ("scan_organisations(", "list_organisations(")
        if name in path.read_text() and f"def {name}" not in path.read_text()
    }
    assert callers == {"layers/common/lti_gateway/admin/orgs.py", "layers/common/lti_gateway/cli_commands.py"}
