"""The operator's permissions, proven: template.yaml's ``OperatorPolicy`` is exactly what ``lti-gateway
… --stack NAME`` calls (docs/deploy.md, "The CLI against a deployed stack").

Every command of the CLI's parser runs through ``cli.main(argv)`` with ``--stack`` against a moto
stack: moto's CloudFormation holds a stack whose outputs name the tables and the KMS key, so the real
``--stack`` path (``cloudformation:DescribeStacks``) is taken, with the table names removed from the
environment first. Every botocore call is recorded (tests/support/iam_recorder.py) and evaluated as
IAM would against ``OperatorPolicy``'s statements (tests/support/iam_policy.py, as
tests/infrastructure/test_least_privilege.py does for the functions). The test fails on

- a call the policy would deny (the command would end with exit code 6 on a real stack);
- a granted (action, resource) no command used (drop it: least privilege);
- a command group or action of the parser no flow drove (a new command fails until it is driven here);
- a row of docs/deploy.md's permissions table that does not list what its group's commands called.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lti_gateway.local.template import load_template
from tests.functional.cli.conftest import Ran
from tests.support import iam_policy, iam_recorder
from tests.support.platform_bodies import MOODLE

ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "lti-gateway-operator-test"
BASE = "https://lti.example.edu"
LMS = "https://canvas.example.edu/courses/42"
APP = "https://app.example.org/start"
OWN_KEY = "canvas.example.edu.2026"
OWN_SECRET = "a-secret-of-the-lms-admins-own-choosing"
ENVIRONMENT = ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID", "PUBLIC_BASE_URL")


# -- the policy ------------------------------------------------------------------------------------


def _template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def operator_statements(template: dict[str, Any], arns: dict[str, str], stack_id: str) -> list[iam_policy.Statement]:
    """``OperatorPolicy``'s statements, resolved the way the functions' are (``!GetAtt X.Arn``,
    ``!Sub "${X.Arn}/…"``; ``!Ref AWS::StackId`` is the moto stack's id)."""
    resource = template["Resources"]["OperatorPolicy"]
    assert resource["Type"] == "AWS::IAM::ManagedPolicy"
    document = resource["Properties"]["PolicyDocument"]

    def stack_ref(value: Any) -> Any:
        return stack_id if value == {"Ref": "AWS::StackId"} else value

    statements = []
    for raw in document["Statement"]:
        resources = raw["Resource"] if isinstance(raw["Resource"], list) else [raw["Resource"]]
        statements.append({**raw, "Resource": [stack_ref(r) for r in resources]})
    # Evaluated as a function's inline policy would be (the same resolution and checks).
    shaped = {
        "Resources": {
            "OperatorPolicy": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Policies": [{"Statement": statements}]},
            }
        }
    }
    return iam_policy.function_statements(shaped, arns)["OperatorPolicy"]


class Translator(iam_recorder.Translator):
    """The functions' translation plus what only the CLI calls: ``DescribeStacks`` (on the stack's
    ARN) and ``Scan`` (``orgs list``: no partition key, so no ``dynamodb:LeadingKeys``)."""

    stacks: dict[str, str]

    def _cloudformation(self, call: iam_recorder.Call) -> list[iam_policy.Check]:
        if call.operation != "DescribeStacks":
            raise ValueError(f"no IAM translation for cloudformation:{call.operation} (add one)")
        name = call.params.get("StackName")
        resource = self.stacks.get(name, name or "*")
        return [iam_policy.Check(call.function, "cloudformation:DescribeStacks", resource, {}, "DescribeStacks")]

    def _dynamodb(self, call: iam_recorder.Call) -> list[iam_policy.Check]:
        if call.operation != "Scan":
            return super()._dynamodb(call)
        params = call.params
        keys = self._table(params["TableName"])
        index = params.get("IndexName")
        attributes = keys.key_attributes(index)
        for field in ("FilterExpression", "ProjectionExpression"):
            attributes |= iam_recorder.expression_names(params.get(field), params.get("ExpressionAttributeNames"))
        if not params.get("ProjectionExpression"):
            attributes.add(iam_recorder.ALL_ATTRIBUTES)
        context = {"dynamodb:Attributes": tuple(sorted(attributes))}
        if params.get("Select"):
            context["dynamodb:Select"] = (params["Select"],)
        resource = iam_recorder.table_arn(params["TableName"]) + (f"/index/{index}" if index else "")
        return [iam_policy.Check(call.function, "dynamodb:Scan", resource, context, "Scan")]


# -- the stack -------------------------------------------------------------------------------------


def _cloudformation_stack(env: dict[str, str]) -> str:
    """A moto CloudFormation stack with the outputs and parameters ``--stack`` reads; its StackId."""
    import boto3

    parameters = {"Stage": "prod", "AllowedAppOrigins": "", "ToolName": "Physics tools"}
    body = {
        "Parameters": {name: {"Type": "String"} for name in parameters},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},  # a stack needs one resource
        "Outputs": {
            "KeysTableName": {"Value": env["KEYS_TABLE"]},
            "LaunchTableName": {"Value": env["LAUNCH_TABLE"]},
            "ClassesTableName": {"Value": env["CLASSES_TABLE"]},
            "SecretsKeyId": {"Value": env["KMS_KEY_ID"]},
            "ApiBaseUrl": {"Value": BASE},
        },
    }
    created = boto3.client("cloudformation").create_stack(
        StackName=STACK_NAME,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    return created["StackId"]


class Operator:
    """Runs ``lti-gateway ARGV --stack NAME`` in this process, each command's calls attributed to its
    (group, action); the environment names no table (only ``--stack`` can)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], groups: dict[str, str]):
        self.capsys = capsys
        self.groups = groups  # every name and alias -> the group's name
        self.driven: set[tuple[str, str | None]] = set()

    def __call__(self, *argv: str, expect: int = 0) -> Ran:
        from lti_gateway import cli

        group = self.groups[argv[0]]
        action = argv[1] if group in ACTIONS_OF and len(argv) > 1 else None
        saved = dict(os.environ)
        for name in ENVIRONMENT:
            os.environ.pop(name, None)
        self.capsys.readouterr()
        try:
            with iam_recorder.running(group, f"{group} {action or ''}".strip()):
                code = cli.main([*argv, "--stack", STACK_NAME])
        finally:
            os.environ.clear()
            os.environ.update(saved)
        captured = self.capsys.readouterr()
        ran = Ran(code, captured.out, captured.err)
        assert ran.code == expect, (argv, ran.shown)
        self.driven.add((group, action))
        return ran


def parser_commands() -> tuple[dict[str, str], set[tuple[str, str | None]]]:
    """The parser's groups (``{name or alias: name}``) and every (group, action) it offers (``None``
    for a group that is one command, like ``export``)."""
    import argparse

    from lti_gateway import cli

    def subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
        found = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return found[0] if found else None

    top = subparsers(cli.build_parser())
    assert top is not None
    names: dict[str, str] = {}
    canonical: dict[int, str] = {}
    for name, parser in top.choices.items():  # a name before its aliases
        canonical.setdefault(id(parser), name)
        names[name] = canonical[id(parser)]
    commands: set[tuple[str, str | None]] = set()
    for name, parser in top.choices.items():
        if names[name] != name:
            continue
        actions = subparsers(parser)
        if actions is None:
            commands.add((name, None))
        else:
            commands |= {(name, action) for action in actions.choices}
    return names, commands


ACTIONS_OF: set[str] = {group for group, action in parser_commands()[1] if action is not None}


def _legacy(org_id: str) -> None:
    """Make ``org_id`` an organisation stored before ``app_origins`` existed (set up, not recorded)."""
    import boto3

    from lti_gateway.repositories.schema import META, org_pk

    table = boto3.resource("dynamodb").Table(os.environ["KEYS_TABLE"])
    table.update_item(Key={"pk": org_pk(org_id), "sk": META}, UpdateExpression="REMOVE app_origins")


# -- the flows -------------------------------------------------------------------------------------


def drive(op: Operator, tmp_path: Path) -> None:
    """Every command, its success paths and the branches that make different calls, plus a tenant's
    refusal or a not-found."""
    from lti_gateway.admin import launch_errors

    missing_org = "org_0000000000000000"
    # Organisations.
    acme = op("orgs", "create", "Acme University", "--json").json
    other = op("orgs", "create", "Other University", "--json").json
    org, where = acme["org_id"], ("--org", acme["org_id"])
    op("orgs", "list", "--json")
    op("orgs", "show", org, "--json")
    op("orgs", "show", missing_org, expect=3)
    op("orgs", "update", org, "--tool-name", "Physics", "--app-launch-url", APP, "--json")
    op("orgs", "update", org, "--app-origins", "https://app.example.org,https://b.example.org", "--json")
    op("orgs", "update", org, "--clear", "tool_name", "--json")
    op("orgs", "update", missing_org, "--tool-name", "X", expect=3)
    # An organisation stored before app origins were kept: allowing one seeds them from its classes.
    _legacy(other["org_id"])
    op("orgs", "update", other["org_id"], "--app-launch-url", "https://legacy-app.example.org/", "--json")
    # API credentials.
    member = op("credentials", "create", *where, "--label", "CI", "--json").json
    op("credentials", "create", *where, "--role", "owner", "--json")
    op("credentials", "list", *where, "--json")
    op("credentials", "revoke", member["credential_id"], "--org", other["org_id"], expect=3)
    op("credentials", "revoke", member["credential_id"], *where, "--json")
    op("credentials", "revoke", other["credential_id"], "--org", other["org_id"], expect=4)  # the last owner
    # LTI 1.1 consumer keys: generated, supplied, labelled (a revoke frees the label).
    key = op("consumer-keys", "create", *where, "--label", "Canvas", "--json").json["key"]
    op("consumer-keys", "create", *where, "--key", OWN_KEY, "--secret", OWN_SECRET, "--json")
    op("consumer-keys", "list", *where, "--json")
    op("consumer-keys", "show", key, *where, "--json")
    op("consumer-keys", "show", key, "--org", other["org_id"], expect=3)
    op("consumer-keys", "rotate", key, *where, "--grace-period-seconds", "3600", "--json")
    op("consumer-keys", "rotate", key, "--org", other["org_id"], expect=3)
    op("consumer-keys", "revoke", key, "--org", other["org_id"], expect=3)
    op("consumer-keys", "revoke", key, *where, "--json")
    # Classes and units: a Class LMS URL vouched for, one an owner has not seen, an app launch URL.
    cls = op("classes", "create", "Physics 101", *where, "--lms-url", LMS, "--confirm-lms-url", "--json").json
    op("classes", "create", "Chemistry", *where, "--lms-url", "https://moodle.example.edu/c/1", expect=5)
    op("classes", "create", "Biology", *where, "--app-launch-url", APP, "--no-lti-enabled", "--json")
    # An app launch URL on an origin the organisation does not allow yet: the owner's setting allows it.
    op("classes", "create", "Geology", *where, "--app-launch-url", "https://other-app.example.org/go", "--json")
    class_id = cls["class_id"]
    op("classes", "list", *where, "--json")
    op("classes", "show", class_id, *where, "--json")
    op("classes", "show", class_id, "--org", other["org_id"], expect=3)
    unit = op("units", "create", class_id, "Unit 1: Waves", *where, "--json").json
    op("units", "create", class_id, "Unit 0", *where, "--position", "0", "--app-launch-url", APP, "--json")
    op("units", "create", class_id, "Intruder", "--org", other["org_id"], expect=3)
    op("units", "list", class_id, *where, "--json")
    op("units", "list", class_id, "--org", other["org_id"], expect=3)
    assert unit["unit_id"]
    # LTI 1.3 platforms.
    body = tmp_path / "platform.json"
    body.write_text(json.dumps(MOODLE), encoding="utf-8")
    platform_id = op("platforms", "register", *where, "--file", str(body), "--json").json["id"]
    op("platforms", "list", *where, "--json")
    op("platforms", "show", platform_id, *where, "--json")
    op("platforms", "show", platform_id, "--org", other["org_id"], expect=3)
    op("platforms", "deactivate", platform_id, *where, "--json")
    op("platforms", "deactivate", platform_id, "--org", other["org_id"], expect=3)
    op("platforms", "activate", platform_id, *where, "--json")
    # Launch errors: a refused launch's record, read by its organisation only.
    assert launch_errors.record(
        "ref-operator-1", org_id=org, route="/lti/launch", code="invalid_signature", status=401,
        message="The launch signature is invalid.", verified=False,
    )  # fmt: skip
    op("launch-errors", "show", "ref-operator-1", *where, "--json")
    op("launch-errors", "show", "ref-operator-1", "--org", other["org_id"], expect=3)
    # The tool's signing keys: the first set made, rotated twice (a key retired), the legacy set, due.
    for _ in range(3):
        op("tool-keys", "rotate", *where, "--json")
    op("tool-keys", "rotate", "--org", missing_org, expect=3)
    # A stack without registrations from before tenant scoping has no stack-wide set: refused, not made.
    op("tool-keys", "rotate", "--stack-wide", expect=4)
    op("tool-keys", "rotate", "--due", "--max-age-days", "1", "--json")
    # Exports: a class in every format, found by its id alone; an organisation's; another's class.
    for fmt in ("csv", "json", "cc", "xml"):
        op("export", class_id, *where, "--format", fmt, "-o", str(tmp_path / f"class.{fmt}"))
    op("export", class_id, "--format", "csv", "-o", str(tmp_path / "by-id.csv"))
    for fmt in ("csv", "json"):
        op("export", *where, "--format", fmt, "-o", str(tmp_path / f"org.{fmt}"))
    op("export", class_id, "--org", other["org_id"], expect=3)


# -- the evaluation ----------------------------------------------------------------------------------


@dataclass
class Recorded:
    checks: list[iam_policy.Check]  # every IAM check of every call, attributed to its command group
    arns: dict[str, str]
    stack_id: str

    def problems(self, template: dict[str, Any]) -> list[str]:
        """DENIED calls and UNUSED grants of ``template``'s ``OperatorPolicy``."""
        statements = operator_statements(template, self.arns, self.stack_id)
        denied: dict[str, str] = {}
        used: set[tuple[str, iam_policy.Combination]] = set()
        for check in self.checks:
            decision = iam_policy.evaluate(statements, check)
            if not decision.allowed:
                denied.setdefault(check.describe(), decision.closest)
                continue
            allowing = {grant[0] for grant in decision.used}
            for st in statements:
                if st.effect == "Allow" and st.sid in allowing:
                    used |= {(st.sid, c) for c in iam_policy.used_combinations(st, check)}
        granted = {
            (st.sid, c) for st in statements if st.effect == "Allow" for c in iam_policy.granted_combinations(st)
        }
        problems = [f"DENIED {call}\n    closest: {why}" for call, why in sorted(denied.items())]
        for sid, (action, resource, values) in sorted(granted - used):
            on = "".join(f" with {key.split(':')[-1]} {value!r}" for _, key, value in values)
            problems.append(f"UNUSED OperatorPolicy.{sid}: {action} on {resource}{on} (no command made this call)")
        return problems

    def by_group(self) -> dict[str, set[tuple[str, str]]]:
        """``{group: {(action, "KeysTable" | "KeysTable/gsi1" | … | "Stack")}}``: what each group called."""
        logical = {arn: name for name, arn in self.arns.items()} | {self.stack_id: "Stack"}
        found: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for check in self.checks:
            resource, _, index = check.resource.partition("/index/")
            found[check.function].add((check.action, logical[resource] + (f"/{index}" if index else "")))
        return found


@pytest.fixture
def recorded(stack, capsys, tmp_path) -> tuple[Recorded, set[tuple[str, str | None]], set[tuple[str, str | None]]]:
    """Every command driven with ``--stack``: the checks, the commands the parser offers, those driven."""
    template = _template()
    stack_id = _cloudformation_stack(stack)
    arns = {
        "KeysTable": iam_recorder.table_arn(stack["KEYS_TABLE"]),
        "LaunchTable": iam_recorder.table_arn(stack["LAUNCH_TABLE"]),
        "ClassesTable": iam_recorder.table_arn(stack["CLASSES_TABLE"]),
        "SecretsKey": iam_recorder.key_arn(stack["KMS_KEY_ID"]),
    }
    names, commands = parser_commands()
    op = Operator(capsys, names)
    with iam_recorder.recording() as calls:
        drive(op, tmp_path)
    translator = Translator.for_stack(template, stack)
    translator.stacks = {STACK_NAME: stack_id}
    checks = [check for call in calls for check in translator.checks(call)]
    return Recorded(checks, arns, stack_id), commands, op.driven


def _statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [
        s
        for s in template["Resources"]["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        if s["Sid"] == sid
    ]
    return found


# In-memory changes to OperatorPolicy and a line the test must then report (so a pass means something).
MUTATIONS = [
    (
        lambda t: _statement(t, "KeysTableItems")["Action"].remove("dynamodb:DeleteItem"),
        "DENIED consumer-keys: dynamodb:DeleteItem",
    ),
    (
        lambda t: _statement(t, "ClassesTableItems")["Action"].append("dynamodb:DeleteItem"),
        "UNUSED OperatorPolicy.ClassesTableItems: dynamodb:DeleteItem",
    ),
    (
        lambda t: _statement(t, "SecretsEnvelope").update(Action=["kms:GenerateDataKey", "kms:Decrypt"]),
        "UNUSED OperatorPolicy.SecretsEnvelope: kms:Decrypt",
    ),
    (
        lambda t: _statement(t, "LaunchErrors")["Condition"]["ForAllValues:StringLike"].update(
            {"dynamodb:LeadingKeys": ["STATE#*"]}
        ),
        "DENIED launch-errors: dynamodb:GetItem",
    ),
    (
        lambda t: _statement(t, "StackOutputs").update(
            Resource="arn:aws:cloudformation:us-east-1:123456789012:stack/other/x"
        ),
        "DENIED orgs: cloudformation:DescribeStacks",
    ),
]


# -- the tests -------------------------------------------------------------------------------------


def test_operator_policy_allows_every_cli_call_grants_nothing_unused_and_is_documented(recorded):
    found, commands, driven = recorded
    template = _template()

    problems = found.problems(template)
    problems += [f"NOT DRIVEN: lti-gateway {g} {a or ''}" for g, a in sorted(commands - driven, key=str)]

    assert len(found.checks) > 100
    assert not problems, "\n".join(problems)
    for group, pairs in found.by_group().items():  # --stack reads the stack's outputs first, every time
        assert ("cloudformation:DescribeStacks", "Stack") in pairs, group
    for mutate, expected in MUTATIONS:
        mutated = _template()
        mutate(mutated)
        assert any(p.startswith(expected) for p in found.problems(mutated)), expected
    # docs/deploy.md's table says what each group calls (the same recording: the flows are the cost).
    documented = documented_permissions((ROOT / "docs" / "deploy.md").read_text(encoding="utf-8"))
    needed = {group: {pair for pair in pairs if pair[1] != "Stack"} for group, pairs in found.by_group().items()}
    assert documented == needed, "docs/deploy.md should read:\n" + "\n".join(render_table(needed))
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert documented_permissions(guide.replace(", `DeleteItem` (2)", "", 1)) != needed  # a row short fails


def test_every_command_group_of_the_parser_is_enumerated():
    names, commands = parser_commands()

    assert names["org"] == "orgs" and names["credential"] == "credentials"
    assert {("orgs", "list"), ("units", "create"), ("tool-keys", "rotate"), ("export", None)} <= commands
    assert not any(group in ("org", "credential") for group, _ in commands)


# -- docs/deploy.md's table -------------------------------------------------------------------------

SECTION = "### The CLI against a deployed stack"
# The table's columns after the group: resource, and the service its actions belong to.
COLUMNS = {
    "keys table": ("KeysTable", "dynamodb"),
    "keys table gsi1": ("KeysTable/gsi1", "dynamodb"),
    "classes table": ("ClassesTable", "dynamodb"),
    "classes table gsi1": ("ClassesTable/gsi1", "dynamodb"),
    "launch table": ("LaunchTable", "dynamodb"),
    "SecretsKey": ("SecretsKey", "kms"),
}


def documented_permissions(text: str) -> dict[str, set[tuple[str, str]]]:
    """``{group: {(action, resource)}}`` from the permissions table of the section ``SECTION``."""
    assert SECTION in text, f"docs/deploy.md has no section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) >= 2, "no permissions table in the section"
    header = [c.strip().strip("`").replace("`", "") for c in rows[0].strip("|").split("|")]
    columns = [COLUMNS[name] for name in header[1:]]
    found: dict[str, set[tuple[str, str]]] = {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        groups = re.findall(r"`([a-z-]+)`", cells[0])
        pairs = {
            (f"{service}:{action}", resource)
            for (resource, service), cell in zip(columns, cells[1:], strict=True)
            for action in re.findall(r"`([A-Za-z]+)`", cell)
        }
        for group in groups:
            found[group] = pairs
    return found


def render_table(needed: dict[str, set[tuple[str, str]]]) -> list[str]:
    """The table as it should read (printed when the guide's differs)."""
    lines = ["| command group | " + " | ".join(f"{n}" for n in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for group in sorted(needed):
        cells = []
        for resource, service in COLUMNS.values():
            actions = sorted(a.split(":")[1] for a, r in needed[group] if r == resource and a.startswith(service))
            cells.append(", ".join(f"`{a}`" for a in actions) or "—")
        lines.append(f"| `{group}` | " + " | ".join(cells) + " |")
    return lines


@pytest.mark.parametrize(
    ("operation", "code"),
    [("DescribeStacks", "AccessDenied"), ("Scan", "AccessDeniedException"), ("GetItem", "AccessDeniedException")],
)
def test_a_denied_call_exits_6_with_one_line(stack, capsys, monkeypatch, operation, code):
    """What the guide says happens without the policy (or with a boundary in the way)."""
    import botocore.client
    from botocore.exceptions import ClientError

    _cloudformation_stack(stack)
    original = botocore.client.BaseClient._make_api_call

    def denying(self: Any, name: str, params: dict[str, Any]) -> Any:
        if name == operation:
            raise ClientError({"Error": {"Code": code, "Message": f"not authorized to perform {name}"}}, name)
        return original(self, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", denying)
    names, _ = parser_commands()
    argv = ("orgs", "list") if operation != "GetItem" else ("orgs", "show", "org_0000000000000000")

    ran = Operator(capsys, names)(*argv, expect=6)

    assert ran.out == "" and ran.err.startswith("lti-gateway: "), ran.shown
    assert f"not authorized to perform {operation}" in ran.err, ran.shown  # AWS's message, as it names the action
    assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err
