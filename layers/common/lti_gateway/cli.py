"""``lti-gateway``: administer a deployed or local gateway from a terminal.

    lti-gateway orgs list --stack lti-gateway [--region eu-west-1]      # a deployed stack (its outputs)
    lti-gateway orgs create "Acme University" --local                   # the `make run` gateway
    lti-gateway orgs show org_…                                         # KEYS_TABLE, KMS_KEY_ID … from the env
    lti-gateway credentials create --org org_… --role member --label CI --local
    lti-gateway consumer-keys create --org org_… --label Canvas --local
    lti-gateway consumer-keys rotate KEY --org org_… --grace-period-seconds 3600 --local
    lti-gateway classes create "Physics 101" --org org_… --lms-url https://canvas.example.edu/courses/42 \
        --confirm-lms-url --local
    lti-gateway units create cls_… "Unit 1: Waves" --org org_… --local
    lti-gateway classes show cls_… --org org_… --local                 # the launch URLs to paste into an LMS
    lti-gateway platforms register --org org_… --file platform.json --local
    lti-gateway launch-errors show REFERENCE --org org_… --stack lti-gateway
    lti-gateway export cls_… --format csv --stack lti-gateway -o physics.csv
    lti-gateway tool-keys rotate --org org_… --stack lti-gateway

The groups: ``orgs`` (alias ``org``), ``credentials`` (alias ``credential``), ``consumer-keys`` (LTI 1.1),
``classes``, ``units``, ``platforms`` (LTI 1.3), ``launch-errors``, ``tool-keys`` (the tool's own LTI 1.3
RSA signing keys), ``export``. What each command does is in ``cli_commands.py``; this module is the
parser, the target (``--stack`` / ``--local`` / the environment) and the exit codes (``EXIT``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lti_gateway import cli_commands as run
from lti_gateway.cli_commands import CliError
from lti_gateway.version import VERSION

__all__ = ["EXIT", "CliError", "build_parser", "main"]

# The exit codes scripts may rely on: (code, meaning). One table; --help prints it.
EXIT: dict[str, tuple[int, str]] = {
    "ok": (0, "success"),
    "error": (1, "an unexpected error (a bug: a traceback follows)"),
    "usage": (2, "usage: an unknown command or option, a missing argument, options that do not go together"),
    "not_found": (3, "not found: no such organisation, class, unit, credential, key or platform in the organisation"),
    "refused": (4, "refused by a rule or a conflict: last owner, already revoked, key or label taken, role"),
    "invalid": (5, "bad input: a value the API would refuse with 400 (validation_failed and the like)"),
    "aws": (6, "AWS unreachable, throttled or denied (DynamoDB, KMS, CloudFormation): retry or check permissions"),
    "config": (7, "missing configuration: no --stack/--local target, no dev-stack.json, no such stack or table"),
}
STATE_DIR_VARIABLE = "LTI_GATEWAY_STATE_DIR"

# Stack output -> the environment variable the domain code reads (template.yaml's Outputs).
STACK_OUTPUTS = {
    "KeysTableName": "KEYS_TABLE",
    "LaunchTableName": "LAUNCH_TABLE",
    "ClassesTableName": "CLASSES_TABLE",
    "SecretsKeyId": "KMS_KEY_ID",
}
# Stack parameters the functions see as environment variables: the CLI applies the same rules.
STACK_PARAMETERS = {
    "Stage": "STAGE",
    "AllowedAppOrigins": "ALLOWED_APP_ORIGINS",
    "ToolName": "TOOL_NAME",
    "ToolDescription": "TOOL_DESCRIPTION",
    "ToolIconUrl": "TOOL_ICON_URL",
}


# -- the target -----------------------------------------------------------------------------------------


def _local_environment(state_dir: Path) -> dict[str, str]:
    path = state_dir / "dev-stack.json"
    try:
        stack = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(
            f"{path} not found: start the local gateway first (make run), or pass --state-dir", "config"
        ) from None
    except (ValueError, OSError) as exc:
        raise CliError(f"{path} is not readable JSON: {exc}", "config") from None
    env = dict(stack.get("environment") or {})
    tables = stack.get("tables") or {}
    env.setdefault("KEYS_TABLE", tables.get("KeysTable", ""))
    env.setdefault("LAUNCH_TABLE", tables.get("LaunchTable", ""))
    env.setdefault("CLASSES_TABLE", tables.get("ClassesTable", ""))
    env.setdefault("KMS_KEY_ID", stack.get("kms_key_id") or "")
    region = stack.get("region") or "us-east-1"
    env.update(
        {
            "DYNAMODB_ENDPOINT_URL": stack.get("dynamodb_endpoint_url") or "",
            "KMS_ENDPOINT_URL": stack.get("kms_endpoint_url") or "",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
        }
    )
    return env


def _stack_environment(stack_name: str, region: str | None) -> dict[str, str]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = boto3.client("cloudformation", region_name=region)
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        error = exc.response.get("Error", {})
        kind = "config" if error.get("Code") == "ValidationError" else "aws"  # "Stack … does not exist"
        raise CliError(f"stack {stack_name}: {error.get('Message', exc)}", kind) from None
    except BotoCoreError as exc:
        raise CliError(f"stack {stack_name}: {exc}", "aws") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs") or []}
    missing = [name for name in STACK_OUTPUTS if name not in outputs]
    if missing:
        raise CliError(
            f"stack {stack_name} has no output(s) {', '.join(missing)}: is it an LTI Gateway stack?", "config"
        )
    env = {var: outputs[name] for name, var in STACK_OUTPUTS.items()}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stacks[0].get("Parameters") or []}
    env.update({var: parameters[name] for name, var in STACK_PARAMETERS.items() if parameters.get(name)})
    if outputs.get("ApiBaseUrl") and not os.environ.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = outputs["ApiBaseUrl"]  # launch URLs in exports, classes and units
    if region:
        env.update({"AWS_DEFAULT_REGION": region, "AWS_REGION": region})
    return env


def _target(args: argparse.Namespace) -> None:
    """Point this process at the chosen stack, before any client or setting is created."""
    if args.local:
        env = _local_environment(args.state_dir)
    elif args.stack:
        os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
        os.environ.pop("KMS_ENDPOINT_URL", None)
        env = _stack_environment(args.stack, args.region)
    else:
        env = {"AWS_DEFAULT_REGION": args.region, "AWS_REGION": args.region} if args.region else {}
    os.environ.update(env)
    from lti_gateway.core import runtime

    runtime.reset()


# -- the parser -----------------------------------------------------------------------------------------


def _epilog() -> str:
    width = max(len(str(code)) for code, _ in EXIT.values())
    lines = [f"  {code:>{width}}  {meaning}" for code, meaning in EXIT.values()]
    return (
        "targets (every command): --stack NAME [--region R] (a deployed stack: table names from its outputs),\n"
        f"  --local [--state-dir DIR] (the `make run` gateway; DIR defaults to ${STATE_DIR_VARIABLE} or .local),\n"
        "  or neither (KEYS_TABLE, LAUNCH_TABLE, CLASSES_TABLE, KMS_KEY_ID from the environment).\n"
        "output: readable tables on stdout, --json for one JSON document; messages and errors on stderr.\n"
        "secrets: printed once, by the command that creates them (--secret-file PATH writes them to a new\n"
        "  0600 file instead); listings and `show` never print a secret or a hash.\n\n"
        "exit codes:\n" + "\n".join(lines)
    )


class _Groups:
    """Adds command groups and their commands, each with the target options."""

    def __init__(self, parser: argparse.ArgumentParser):
        self._groups = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(self, name: str, help_text: str, aliases: tuple[str, ...] = ()) -> Any:
        return self._groups.add_parser(name, help=help_text, aliases=list(aliases), description=help_text)

    def command(
        self, actions: Any, name: str, help_text: str, handler: Callable[[argparse.Namespace], None], *, org: bool
    ) -> argparse.ArgumentParser:
        p = actions.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(run=handler)
        if org:
            p.add_argument("--org", required=True, metavar="ORG_ID", help="organisation id (org_…)")
        where = p.add_mutually_exclusive_group()
        where.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack (AWS credentials)")
        where.add_argument("--local", action="store_true", help="the local gateway (make run)")
        p.add_argument("--region", help="AWS region of --stack (default: your AWS config)")
        state = os.environ.get(STATE_DIR_VARIABLE) or ".local"
        p.add_argument(
            "--state-dir",
            type=Path,
            default=Path(state),
            help=f"for --local (default: ${STATE_DIR_VARIABLE} or .local)",
        )
        p.add_argument("--json", action="store_true", help="print one JSON document (for scripts)")
        return p


def _actions(group: Any) -> Any:
    return group.add_subparsers(dest="action", required=True, metavar="ACTION")


def _secret_file(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--secret-file", type=Path, metavar="PATH", help=f"write the {what} to PATH (a new 0600 file), not stdout"
    )


def _orgs(g: _Groups) -> None:
    orgs = _actions(g.group("orgs", "organisations (tenants) of the stack", aliases=("org",)))
    g.command(orgs, "list", "every organisation: id, name, created (scans the keys table)", run.orgs_list, org=False)
    create = g.command(
        orgs, "create", "create an organisation and its first owner API key (printed once)", run.orgs_create, org=False
    )
    create.add_argument("name", metavar="NAME")
    _secret_file(create, "API key")
    show = g.command(orgs, "show", "an organisation's settings (as GET /api/org)", run.orgs_show, org=False)
    show.add_argument("org_id", metavar="ORG_ID", help="organisation id (org_…)")
    update = g.command(
        orgs, "update", "change an organisation's settings (as PATCH /api/org, as an owner)", run.orgs_update, org=False
    )
    update.add_argument("org_id", metavar="ORG_ID", help="organisation id (org_…)")
    update.add_argument("--app-launch-url", help="where launches go (?ltik=…); allows its origin for the organisation")
    update.add_argument("--app-origins", metavar="ORIGINS", help="comma-separated: replaces the allowed app origins")
    update.add_argument("--tool-name", help="the tool's name shown to LMSs (1-100 characters)")
    update.add_argument("--tool-description", help="the tool's description shown to LMSs (at most 1000 characters)")
    update.add_argument("--tool-icon-url", help="the tool's icon: an https URL on a public host")
    update.add_argument(
        "--clear",
        action="append",
        default=[],
        choices=tuple(run.ORG_UPDATE_OPTIONS),
        help="unset a setting (repeatable)",
    )


def _credentials(g: _Groups) -> None:
    creds = _actions(g.group("credentials", "API credentials (API keys) of an organisation", aliases=("credential",)))
    g.command(creds, "list", "the organisation's API credentials (never a secret)", run.credentials_list, org=True)
    create = g.command(creds, "create", "a new API key, printed once", run.credentials_create, org=True)
    create.add_argument("--role", choices=("owner", "member"), default="member", help="default: member")
    create.add_argument("--label")
    _secret_file(create, "API key")
    revoke = g.command(
        creds, "revoke", "revoke one (never the last active owner credential)", run.credentials_revoke, org=True
    )
    revoke.add_argument("credential_id", metavar="CREDENTIAL_ID", help="ak_…")


def _consumer_keys(g: _Groups) -> None:
    keys = _actions(g.group("consumer-keys", "LTI 1.1 consumer keys and secrets (what an LMS is given)"))
    g.command(keys, "list", "the organisation's consumer keys (never a secret)", run.consumer_keys_list, org=True)
    show = g.command(keys, "show", "one consumer key (never its secret)", run.consumer_keys_show, org=True)
    show.add_argument("key", metavar="KEY")
    create = g.command(
        keys,
        "create",
        "a new key: generated, or --key and --secret (secret printed once)",
        run.consumer_keys_create,
        org=True,
    )
    create.add_argument("--label", help="unique within the organisation (at most 255 characters)")
    create.add_argument("--key", help="your own key: 16-255 of a-z 0-9 ! # %% & , - _ / ^ $ * + . | (with --secret)")
    create.add_argument(
        "--secret",
        help="your own secret, same rules, not the key (with --key); `-` reads it from stdin's first line, "
        "so it stays out of your shell history",
    )
    _secret_file(create, "secret")
    rotate = g.command(
        keys,
        "rotate",
        "a new secret (printed once); the old one works for the grace period",
        run.consumer_keys_rotate,
        org=True,
    )
    rotate.add_argument("key", metavar="KEY")
    rotate.add_argument(
        "--grace-period-seconds", type=int, default=0, metavar="N", help="old secret still valid for N s (0-604800)"
    )
    _secret_file(rotate, "secret")
    revoke = g.command(
        keys, "revoke", "revoke: launches with it are refused from the next one", run.consumer_keys_revoke, org=True
    )
    revoke.add_argument("key", metavar="KEY")


def _base_url(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="public base URL of launch URLs (default: the stack's ApiBaseUrl)")


def _classes(g: _Groups) -> None:
    classes = _actions(g.group("classes", "classes (LMS courses) and their launch URLs"))
    _base_url(
        g.command(classes, "list", "the organisation's classes with their launch URLs", run.classes_list, org=True)
    )
    create = g.command(classes, "create", "create a class (prints its launch URL)", run.classes_create, org=True)
    create.add_argument("name", metavar="NAME")
    create.add_argument("--lms-url", help="the Class LMS URL (the course in the LMS)")
    create.add_argument(
        "--confirm-lms-url", action="store_true", help="vouch for an LMS origin no launch has come from yet (owner)"
    )
    create.add_argument("--app-launch-url", help="where this class's launches go (overrides the organisation's)")
    create.add_argument(
        "--lti-enabled", action=argparse.BooleanOptionalAction, default=None, help="accept launches (default: yes)"
    )
    _base_url(create)
    show = g.command(
        classes, "show", "a class with its launch URL and every unit's launch URL", run.classes_show, org=True
    )
    show.add_argument("class_id", metavar="CLASS_ID", help="cls_…")
    _base_url(show)
    units = _actions(g.group("units", "units (LMS assignments) of a class"))
    listing = g.command(units, "list", "a class's units in order, with their launch URLs", run.units_list, org=True)
    listing.add_argument("class_id", metavar="CLASS_ID", help="cls_…")
    _base_url(listing)
    create = g.command(units, "create", "append a unit to a class (prints its launch URL)", run.units_create, org=True)
    create.add_argument("class_id", metavar="CLASS_ID", help="cls_…")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--position", type=int, help="where to insert it (default: last)")
    create.add_argument("--app-launch-url", help="where this unit's launches go")
    _base_url(create)


def _platforms(g: _Groups) -> None:
    platforms = _actions(g.group("platforms", "LTI 1.3 platform registrations"))
    g.command(platforms, "list", "the organisation's registered platforms", run.platforms_list, org=True)
    show = g.command(platforms, "show", "one platform registration", run.platforms_show, org=True)
    show.add_argument("platform_id", metavar="PLATFORM_ID", help="plt_…")
    register = g.command(
        platforms, "register", "register a platform from a JSON file (the body of POST /api/platforms)",
        run.platforms_register, org=True,
    )  # fmt: skip
    register.add_argument("--file", required=True, metavar="PATH", help="the platform JSON; - reads stdin")
    for action, text in (("activate", "accept its launches again"), ("deactivate", "refuse its launches (kept)")):
        p = g.command(platforms, action, text, run.platforms_activate, org=True)
        p.add_argument("platform_id", metavar="PLATFORM_ID", help="plt_…")


def _operations(g: _Groups) -> None:
    exporter = g.command(
        g._groups, "export", "export a class's (or an organisation's) LTI settings", run.export, org=False
    )
    exporter.add_argument("class_id", nargs="?", metavar="CLASS_ID", help="cls_…; omit (with --org) for every class")
    exporter.add_argument(
        "--format",
        choices=run.export_formats(),
        default="csv",
        help=f"default: csv; an organisation's export (no CLASS_ID) is {' or '.join(run.org_export_formats())}",
    )
    exporter.add_argument("--org", metavar="ORG_ID", help="organisation id (org_…); checks the class belongs to it")
    exporter.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    _base_url(exporter)

    errors = _actions(g.group("launch-errors", "refused launches, by the reference their error page showed"))
    show = g.command(
        errors,
        "show",
        "what went wrong in the launch whose error page showed REFERENCE",
        run.launch_errors_show,
        org=True,
    )
    show.add_argument("reference", metavar="REFERENCE", help="the reference the launch error page showed")

    tool_keys = _actions(g.group("tool-keys", "the tool's own LTI 1.3 RSA signing keys (one set per organisation)"))
    rotate = g.command(
        tool_keys, "rotate", "new current key; the old one stays published as previous", run.tool_keys_rotate, org=False
    )
    which = rotate.add_mutually_exclusive_group(required=True)
    which.add_argument("--org", metavar="ORG_ID", help="rotate this organisation's key set")
    which.add_argument(
        "--stack-wide",
        action="store_true",
        help="rotate the stack-wide set of registrations made before tenant scoping",
    )
    which.add_argument(
        "--due", action="store_true", help="rotate every set whose current key is older than --max-age-days"
    )
    rotate.add_argument("--max-age-days", type=int, default=90, help="with --due (default 90)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lti-gateway",
        description="Administer an LTI Gateway stack: a deployed one (--stack) or the local gateway (--local).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lti-gateway {VERSION}")
    groups = _Groups(parser)
    for add in (_orgs, _credentials, _consumer_keys, _classes, _platforms, _operations):
        add(groups)
    return parser


# -- running one command --------------------------------------------------------------------------------


def _gateway_kind(status: int) -> str:
    if status == 404:
        return "not_found"
    if status in (401, 403, 409):
        return "refused"
    if status in (429, 502, 503, 504):
        return "aws"
    if 400 <= status < 500:
        return "invalid"
    return "error"


def _fail(kind: str, message: str) -> int:
    print(f"lti-gateway: {message}", file=sys.stderr)
    return EXIT[kind][0]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # a usage error exits 2 here (argparse)
    from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

    from lti_gateway.core.config import ConfigError
    from lti_gateway.core.errors import GatewayError

    hint = " (is `make run` still running?)" if args.local else ""
    try:
        _target(args)
        args.run(args)
    except CliError as exc:
        return _fail(exc.kind, str(exc))
    except ConfigError as exc:
        return _fail("config", f"configuration: {exc} (use --stack NAME or --local)")
    except GatewayError as exc:
        details = exc.details if isinstance(exc.details, str) else json.dumps(exc.details, ensure_ascii=False)
        return _fail(_gateway_kind(exc.status), f"{exc.code}: {details}")
    except NoRegionError:
        return _fail("config", "no AWS region: pass --region or configure one (aws configure)")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "ResourceNotFoundException":
            return _fail("config", f"AWS: {error.get('Message', exc)}: is the target an LTI Gateway stack?{hint}")
        return _fail("aws", f"AWS: {error.get('Code')}: {error.get('Message', exc)}{hint}")
    except BotoCoreError as exc:
        return _fail("aws", f"AWS: {exc}{hint}")
    return EXIT["ok"][0]


if __name__ == "__main__":
    sys.exit(main())
