"""``lti-gateway``: administer a deployed or local gateway from a terminal.

    lti-gateway org create "Acme University" --stack lti-gateway [--region eu-west-1]
    lti-gateway org create "Acme University" --local          # the `make run` gateway (.local/dev-stack.json)
    lti-gateway org create "Acme University"                  # KEYS_TABLE, KMS_KEY_ID ... from the environment
    lti-gateway org update org_... --app-launch-url https://app.example.com/lti/start --stack lti-gateway
    lti-gateway org update org_... --tool-name "Acme Labs" --tool-icon-url https://cdn.example.com/i.png --local
    lti-gateway credential create --org org_... --role member --label "CI" --stack lti-gateway
    lti-gateway launch-errors show REFERENCE --org org_... --stack lti-gateway [--json]
    lti-gateway export cls_... --format csv --stack lti-gateway [--org org_...] [--output FILE]
    lti-gateway export --org org_... --format json --local      # every class of the organisation
    lti-gateway tool-keys rotate --org org_... --stack lti-gateway   # an organisation's LTI 1.3 signing key
    lti-gateway tool-keys rotate --stack-wide --stack lti-gateway    # the legacy stack-wide key set
    lti-gateway tool-keys rotate --due --max-age-days 90 --local     # what the scheduled rotation does

The new API key is printed once; only its hash and a KMS-sealed copy are stored.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from lti_gateway.version import VERSION

# Stack output -> the environment variable the domain code reads (template.yaml's Outputs).
STACK_OUTPUTS = {
    "KeysTableName": "KEYS_TABLE",
    "LaunchTableName": "LAUNCH_TABLE",
    "ClassesTableName": "CLASSES_TABLE",
    "SecretsKeyId": "KMS_KEY_ID",
}
ONCE_WARNING = "This API key is shown only now and cannot be recovered: store it in a secret manager."


class CliError(Exception):
    """An expected failure: one line on stderr, exit code 2, no traceback."""


def _local_environment(state_dir: Path) -> dict[str, str]:
    path = state_dir / "dev-stack.json"
    try:
        stack = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CliError(f"{path} not found: start the local gateway first (make run)") from None
    except ValueError as exc:
        raise CliError(f"{path} is not valid JSON: {exc}") from None
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
        raise CliError(f"stack {stack_name}: {exc.response.get('Error', {}).get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise CliError(f"stack {stack_name}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs") or []}
    missing = [name for name in STACK_OUTPUTS if name not in outputs]
    if missing:
        raise CliError(f"stack {stack_name} has no output(s) {', '.join(missing)}: is it an LTI Gateway stack?")
    env = {var: outputs[name] for name, var in STACK_OUTPUTS.items()}
    if outputs.get("ApiBaseUrl") and not os.environ.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = outputs["ApiBaseUrl"]  # launch URLs in exports
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


def _print_credential(title: str, fields: dict[str, Any], args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(fields, indent=2))
    else:
        print(title)
        for name, value in fields.items():
            print(f"  {name.replace('_', ' '):<15}{value}")
    print(ONCE_WARNING, file=sys.stderr)


def org_create(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    created = orgs.create_organisation(args.name)
    fields = {
        "name": created.name,
        "org_id": created.org_id,
        "credential_id": created.credential_id,
        "api_key": created.api_key,
    }
    _print_credential("Organisation created", fields, args)


# `org update` options -> PATCH /api/org fields (the same domain function, acting as an owner).
ORG_UPDATE_OPTIONS = {
    "app_launch_url": "--app-launch-url",
    "app_origins": "--app-origins",
    "tool_name": "--tool-name",
    "tool_description": "--tool-description",
    "tool_icon_url": "--tool-icon-url",
}


def org_update(args: argparse.Namespace) -> None:
    """Change an organisation's settings as PATCH /api/org does, acting as an owner of it: setting an
    app launch URL allows its origin for the organisation; ``--app-origins`` replaces the list."""
    from lti_gateway.admin import orgs

    body: dict[str, Any] = {}
    for field in ORG_UPDATE_OPTIONS:
        value = getattr(args, field)
        if value is not None:
            body[field] = value
    if body.get("app_origins") is not None:
        body["app_origins"] = [o.strip() for o in body["app_origins"].split(",") if o.strip()]
    for field in args.clear:
        if field in body:
            raise CliError(f"{ORG_UPDATE_OPTIONS[field]} and --clear {field} together: choose one")
        body[field] = [] if field == "app_origins" else None
    if not body:
        raise CliError(f"nothing to update: pass one of {', '.join(ORG_UPDATE_OPTIONS.values())} or --clear FIELD")
    principal = orgs.Principal(org_id=args.org_id, credential_id="cli", role="owner")
    orgs.get_organisation(principal)  # NotFound for an unknown organisation
    updated = orgs.update_settings(principal, body)
    updated.pop("credential", None)  # the CLI's stand-in principal, not a credential of the organisation
    if args.json:
        print(json.dumps(updated, indent=2))
        return
    print("Organisation updated")
    for name, value in updated.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        print(f"  {name.replace('_', ' '):<18}{'' if shown is None else shown}")


def launch_errors_show(args: argparse.Namespace) -> None:
    """What went wrong in a refused launch, by the reference its error page showed (the organisation's
    own launches only)."""
    try:
        from lti_gateway.admin import launch_errors  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        raise CliError("this version of the gateway keeps no launch errors to look up") from None

    found = launch_errors.lookup(args.org, args.reference)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
        return
    print(f"Launch error {args.reference}")
    for name, value in found.items():
        shown = json.dumps(value, default=str) if isinstance(value, dict | list) else value
        print(f"  {str(name).replace('_', ' '):<18}{shown}")


def credential_create(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    # The operator holds the stack's own permissions; act as an owner of the organisation named.
    principal = orgs.Principal(org_id=args.org, credential_id="cli", role="owner")
    orgs.get_organisation(principal)  # NotFound for an unknown organisation
    created = orgs.create_credential(principal, {"role": args.role, "label": args.label})
    fields = {"org_id": args.org, **{k: v for k, v in created.items() if v is not None}}
    _print_credential("API credential created", fields, args)


def export(args: argparse.Namespace) -> None:
    """Write a class's (or, without CLASS_ID, the organisation's) LTI settings to --output or stdout.

    The operator holds the stack's own permissions: the export runs as an owner of the class's
    organisation (``--org`` checks the class belongs to it). No size limit and no S3: it streams.
    """
    from lti_gateway.admin import classes, exports, orgs
    from lti_gateway.core.config import settings
    from lti_gateway.repositories import deps

    base = (args.base_url or settings().public_base_url or "").rstrip("/")
    if not base:
        raise CliError("no base URL to build launch URLs from: pass --base-url https://… (or --stack / --local)")
    org_id = args.org
    if args.class_id is None:
        if org_id is None:
            raise CliError("name a CLASS_ID, or --org ORG to export every class of an organisation")
        principal = orgs.Principal(org_id=org_id, credential_id="cli", role="owner")
        orgs.get_organisation(principal)  # NotFound for an unknown organisation
        spec, filename, render = exports.render_org(principal, args.format, base=base)
    else:
        if org_id is None:
            item = deps.classes_repo().get_class(args.class_id) if classes.CLASS_ID.match(args.class_id) else None
            if item is None:
                raise CliError(f"no class {args.class_id}")
            org_id = str(item["org_id"])
        principal = orgs.Principal(org_id=org_id, credential_id="cli", role="owner")
        spec, filename, render = exports.render_class(principal, args.class_id, args.format, base=base)
    if args.output is None:
        if spec.name == "cc" and sys.stdout.isatty():
            raise CliError(f"a cartridge is binary: pass --output {filename}")
        try:
            units = render(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # `… | head`: the reader has all it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        where = "stdout"
    else:
        partial = args.output.with_name(args.output.name + ".part")
        try:
            with partial.open("wb") as fh:
                units = render(fh)
            partial.replace(args.output)
        finally:
            partial.unlink(missing_ok=True)
        where = str(args.output)
    print(f"Exported {units} unit(s) as {spec.name} to {where} (suggested file name {filename}).", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lti-gateway", description="Administer an LTI Gateway stack.")
    parser.add_argument("--version", action="version", version=f"lti-gateway {VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def target_options(p: argparse.ArgumentParser) -> None:
        where = p.add_mutually_exclusive_group()
        where.add_argument("--stack", metavar="NAME", help="a deployed CloudFormation stack")
        where.add_argument("--local", action="store_true", help="the local gateway (make run)")
        p.add_argument("--region", help="AWS region of --stack (default: your AWS config)")
        p.add_argument("--state-dir", type=Path, default=Path(".local"), help="for --local (default: .local)")
        p.add_argument("--json", action="store_true", help="print JSON")

    org = commands.add_parser("org", help="organisations").add_subparsers(dest="action", required=True)
    create = org.add_parser("create", help="create an organisation and its first owner API key")
    create.add_argument("name")
    target_options(create)
    create.set_defaults(run=org_create)

    update = org.add_parser("update", help="change an organisation's settings (as PATCH /api/org, as an owner)")
    update.add_argument("org_id", metavar="ORG_ID", help="organisation id (org_...)")
    update.add_argument("--app-launch-url", help="where launches go (?ltik=…); allows its origin for the organisation")
    update.add_argument("--app-origins", metavar="ORIGINS", help="comma-separated: replaces the allowed app origins")
    update.add_argument("--tool-name", help="the tool's name shown to LMSs (1-100 characters)")
    update.add_argument("--tool-description", help="the tool's description shown to LMSs (at most 1000 characters)")
    update.add_argument("--tool-icon-url", help="the tool's icon: an https URL on a public host")
    update.add_argument(
        "--clear", action="append", default=[], choices=tuple(ORG_UPDATE_OPTIONS), help="unset a setting (repeatable)"
    )
    target_options(update)
    update.set_defaults(run=org_update)

    credential = commands.add_parser("credential", help="API credentials").add_subparsers(dest="action", required=True)
    create = credential.add_parser("create", help="create another API key for an organisation")
    create.add_argument("--org", required=True, help="organisation id (org_...)")
    create.add_argument("--role", choices=("owner", "member"), default="member")
    create.add_argument("--label")
    target_options(create)
    create.set_defaults(run=credential_create)

    exporter = commands.add_parser("export", help="export a class's (or an organisation's) LTI settings")
    exporter.add_argument("class_id", nargs="?", metavar="CLASS_ID", help="cls_…; omit (with --org) for every class")
    exporter.add_argument("--format", choices=exports_formats(), default="csv", help="default: csv")
    exporter.add_argument("--org", help="organisation id (org_…); checks the class belongs to it")
    exporter.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    exporter.add_argument("--base-url", help="public base URL of launch URLs (default: the stack's ApiBaseUrl)")
    target_options(exporter)
    exporter.set_defaults(run=export)

    launch_errors = commands.add_parser("launch-errors", help="refused launches, by reference").add_subparsers(
        dest="action", required=True
    )
    show = launch_errors.add_parser("show", help="what went wrong in the launch whose error page showed REFERENCE")
    show.add_argument("reference", metavar="REFERENCE", help="the reference the launch error page showed")
    show.add_argument("--org", required=True, help="organisation id (org_...) the launch belonged to")
    target_options(show)
    show.set_defaults(run=launch_errors_show)

    tool_keys = commands.add_parser(
        "tool-keys", help="the tool's LTI 1.3 RSA signing keys (one set per organisation)"
    ).add_subparsers(dest="action", required=True)
    rotate = tool_keys.add_parser("rotate", help="new current key; the old one stays published as previous")
    which = rotate.add_mutually_exclusive_group(required=True)
    which.add_argument("--org", help="rotate this organisation's key set")
    which.add_argument(
        "--stack-wide",
        action="store_true",
        help="rotate the stack-wide set of registrations made before tenant scoping",
    )
    which.add_argument(
        "--due", action="store_true", help="rotate every set whose current key is older than --max-age-days"
    )
    rotate.add_argument("--max-age-days", type=int, default=90, help="with --due (default 90)")
    target_options(rotate)
    rotate.set_defaults(run=tool_keys_rotate)
    return parser


def _print_rotation(rotated: dict[str, Any], owner: str) -> None:
    if not rotated.get("rotated"):
        if rotated.get("error"):
            print(f"{owner}: not rotated ({rotated['error']})")
        else:
            print(f"{owner}: no key yet: created the first one, kid {rotated['current']['kid']}")
        return
    print(f"{owner}: tool key rotated")
    print(f"  current kid    {rotated['current']['kid']}")
    print(f"  previous kid   {rotated['previous']['kid']}   (still in the JWKS until the next rotation)")
    if rotated["retired_kid"]:
        print(f"  retired kid    {rotated['retired_kid']}   (no longer published; private key deleted)")


def tool_keys_rotate(args: argparse.Namespace) -> None:
    """Rotate an organisation's RSA key set (its JWKS keeps the previous key, so tokens in flight still
    verify), the legacy stack-wide set, or every set that is due (the scheduled rotation's job)."""
    from lti_gateway.lti13 import tool_keys

    if args.due:
        if args.max_age_days < 1:
            raise CliError("--max-age-days must be at least 1")
        outcomes = tool_keys.rotate_due(args.max_age_days)
        if args.json:
            print(json.dumps(outcomes, indent=2))
            return
        if not outcomes:
            print(f"No key set is older than {args.max_age_days} days: nothing rotated")
        for outcome in outcomes:
            _print_rotation(outcome, outcome["owner"] or "stack-wide set")
        return
    owner = None if args.stack_wide else args.org
    if owner is not None:
        from lti_gateway.repositories import deps

        if deps.keys_repo().get_organisation(owner) is None:
            raise CliError(f"no organisation {owner!r} on this stack")
    rotated = tool_keys.rotate(owner)
    if args.json:
        print(json.dumps(rotated, indent=2))
        return
    _print_rotation(rotated, owner or "stack-wide set")


def exports_formats() -> tuple[str, ...]:
    from lti_gateway.admin.exports import CLASS_FORMATS

    return CLASS_FORMATS


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from botocore.exceptions import BotoCoreError, ClientError

    from lti_gateway.core.config import ConfigError
    from lti_gateway.core.errors import GatewayError

    try:
        _target(args)
        args.run(args)
    except CliError as exc:
        print(f"lti-gateway: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"lti-gateway: configuration: {exc} (use --stack NAME or --local)", file=sys.stderr)
        return 2
    except GatewayError as exc:
        details = exc.details if isinstance(exc.details, str) else json.dumps(exc.details)
        print(f"lti-gateway: {exc.code}: {details}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as exc:
        hint = " (is `make run` still running?)" if args.local else ""
        print(f"lti-gateway: AWS: {exc}{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
