"""The exit codes scripts rely on (``cli.EXIT``, printed by ``--help``), one case each, and the targets:
``--stack`` (a CloudFormation stack's outputs), ``--local`` (dev-stack.json) and the environment."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from lti_gateway import cli
from lti_gateway.version import VERSION

CODES = {name: code for name, (code, _) in cli.EXIT.items()}


def test_the_codes_are_distinct_and_help_lists_every_one(run):
    shown = run("--help")

    assert len(set(CODES.values())) == len(CODES)
    assert CODES["ok"] == 0 and CODES["usage"] == 2  # argparse's own
    assert shown.code == 0
    for code, meaning in cli.EXIT.values():
        assert f"{code}  {meaning}" in shown.out


def test_version(run):
    shown = run("--version")

    assert (shown.code, shown.out.strip()) == (0, f"lti-gateway {VERSION}")


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "list"),  # no ambiguous `keys`: consumer-keys or tool-keys
        ("credentials", "list"),  # --org is required
        ("orgs", "list", "--stack", "x", "--local"),
        ("consumer-keys", "rotate", "k", "--org", "o", "--grace-period-seconds", "soon"),
    ],
)
def test_usage_errors_exit_2(run, argv):
    ran = run(*argv)

    assert ran.code == CODES["usage"] == 2 and ran.out == "" and "usage:" in ran.err, ran.shown


def test_a_usage_error_the_cli_finds_itself_exits_2(run, acme):
    both = run("orgs", "update", acme["org_id"], "--tool-name", "X", "--clear", "tool_name")
    nothing = run("orgs", "update", acme["org_id"])

    assert both.code == nothing.code == 2 and "nothing to update" in nothing.err


def test_not_found_refused_and_invalid(run, acme):
    missing = run("tool-keys", "rotate", "--org", "org_0000000000000000")
    no_error = run("launch-errors", "show", "no-such-reference", "--org", acme["org_id"])
    refused = run("credentials", "revoke", acme["credential_id"], "--org", acme["org_id"])
    invalid = run("orgs", "create", " ")

    assert missing.code == CODES["not_found"] == 3 and "not_found" in missing.err, missing.shown
    assert no_error.code == 3, no_error.shown
    assert refused.code == CODES["refused"] == 4, refused.shown
    assert invalid.code == CODES["invalid"] == 5 and "validation_failed" in invalid.err, invalid.shown
    for ran in (missing, no_error, refused, invalid):
        assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err


def test_kms_refusing_exits_6_and_creates_nothing(run, acme, monkeypatch):
    monkeypatch.setenv("KMS_KEY_ID", "11111111-2222-3333-4444-555555555555")  # KMS: NotFoundException

    denied = run("credentials", "create", "--org", acme["org_id"])

    assert denied.code == CODES["aws"] == 6 and "kms_unavailable" in denied.err, denied.shown
    assert len(denied.err.strip().splitlines()) == 1
    listed = run("credentials", "list", "--org", acme["org_id"], "--json").json["credentials"]
    assert [c["credential_id"] for c in listed] == [acme["credential_id"]]


def test_missing_configuration_exits_7(run, monkeypatch, tmp_path):
    no_state = run("orgs", "list", "--local", "--state-dir", str(tmp_path))
    no_stack = run("orgs", "list", "--stack", "no-such-stack", "--region", "us-east-1")
    monkeypatch.setenv("KEYS_TABLE", "no-such-table")
    no_table = run("orgs", "list")
    monkeypatch.delenv("KEYS_TABLE")
    no_env = run("orgs", "list")

    assert no_state.code == CODES["config"] == 7 and "make run" in no_state.err, no_state.shown
    assert no_stack.code == 7 and "no-such-stack" in no_stack.err, no_stack.shown
    assert no_table.code == 7 and "LTI Gateway stack" in no_table.err, no_table.shown
    assert no_env.code == 7 and "KEYS_TABLE" in no_env.err and "--stack" in no_env.err, no_env.shown
    for ran in (no_state, no_stack, no_table, no_env):
        assert ran.out == "" and "Traceback" not in ran.err


def test_the_state_dir_may_come_from_the_environment(run, monkeypatch, tmp_path):
    monkeypatch.setenv(cli.STATE_DIR_VARIABLE, str(tmp_path / "elsewhere"))

    ran = run("orgs", "list", "--local")

    assert ran.code == 7 and str(tmp_path / "elsewhere" / "dev-stack.json") in ran.err


def _cloudformation_stack(stack: dict[str, str], name: str = "lti") -> None:
    outputs = {
        "KeysTableName": stack["KEYS_TABLE"],
        "LaunchTableName": stack["LAUNCH_TABLE"],
        "ClassesTableName": stack["CLASSES_TABLE"],
        "SecretsKeyId": stack["KMS_KEY_ID"],
        "ApiBaseUrl": "https://abc123.execute-api.us-east-1.amazonaws.com",
    }
    body = {
        "Parameters": {"ToolName": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName=name,
        TemplateBody=json.dumps(body),
        Parameters=[{"ParameterKey": "ToolName", "ParameterValue": "Stack Tool"}],
    )


def test_stack_reads_the_tables_and_the_base_url_from_the_stack_outputs(run, stack, monkeypatch):
    _cloudformation_stack(stack)
    for name in ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    where = ("--stack", "lti", "--region", "us-east-1")

    org = run("orgs", "create", "Stack University", *where, "--json")
    cls = run("classes", "create", "Physics", "--org", org.json["org_id"], *where, "--json")
    listed = run("orgs", "list", *where, "--json")

    assert org.code == 0, org.shown
    assert cls.json["launch_url"].startswith("https://abc123.execute-api.us-east-1.amazonaws.com/lti/launch/cls_")
    assert [o["name"] for o in listed.json["organisations"]] == ["Stack University"]
    from lti_gateway.core.config import settings

    assert settings().tool.name == "Stack Tool"  # the stack's parameters apply, as in its functions


@pytest.mark.parametrize(
    "error",
    [
        ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized: dynamodb:Scan"}}, "Scan"),
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com"),
    ],
)
def test_aws_denied_or_unreachable_exits_6(run, monkeypatch, error):
    from lti_gateway.repositories.keys import KeysRepository

    def refuse(self, **_):
        raise error

    monkeypatch.setattr(KeysRepository, "scan_organisations", refuse)

    ran = run("orgs", "list")

    assert ran.code == CODES["aws"] == 6 and ran.out == "" and "AWS" in ran.err, ran.shown
    assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err
