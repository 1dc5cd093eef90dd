"""What each ``lti-gateway`` command does (the parser, the targets and the exit codes are in ``cli.py``).

Every command calls the same domain function as the HTTP route that does the same thing, acting as an
owner of the organisation named with ``--org`` (the operator holds the stack's own permissions), so the
rules are the API's: another organisation's class, credential, key or platform is "not found", the last
owner credential is never revoked, keys and URLs are validated alike. Results go to stdout (``--json``:
one JSON document with stable keys; otherwise aligned tables), messages and errors to stderr. A secret
is printed once, by the command that creates it, and never by a listing or ``show``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PAGE = 100  # the API's largest page: listings read every page
ONCE_WARNING = "This API key is shown only now and cannot be recovered: store it in a secret manager."
SECRET_WARNING = "This consumer secret is shown only now and cannot be recovered: store it in a secret manager."  # noqa: S105 - a message


class CliError(Exception):
    """An expected failure: one line on stderr, no traceback; ``kind`` names its exit code (cli.EXIT)."""

    def __init__(self, message: str, kind: str = "usage"):
        super().__init__(message)
        self.kind = kind


# -- output ---------------------------------------------------------------------------------------------


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def print_fields(title: str, fields: dict[str, Any]) -> None:
    print(title)
    width = max((len(name) for name in fields), default=0) + 3
    for name, value in fields.items():
        print(f"  {name.replace('_', ' '):<{width}}{_shown(value)}".rstrip())


def print_table(rows: list[dict[str, Any]], columns: list[tuple[str, str]], *, empty: str) -> None:
    """Aligned columns (``(header, field)``); an empty listing prints nothing on stdout, ``empty`` on stderr."""
    if not rows:
        print(empty, file=sys.stderr)
        return
    cells = [[_shown(row.get(field)) for _, field in columns] for row in rows]
    widths = [max(len(header), *(len(line[i]) for line in cells)) for i, (header, _) in enumerate(columns)]
    for line in [[header for header, _ in columns], *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def _emit(args: argparse.Namespace, data: Any, readable: Callable[[], None]) -> None:
    if args.json:
        print_json(data)
    else:
        readable()


def _emit_listing(
    args: argparse.Namespace,
    field: str,
    rows: list[dict[str, Any]],
    columns: list[tuple[str, str]],
    *,
    empty: str,
    **scope: str,
) -> None:
    """An organisation's listing: ``{"org_id", **scope, field: rows}`` with --json, else a table."""
    _emit(args, {"org_id": args.org, **scope, field: rows}, lambda: print_table(rows, columns, empty=empty))


def _all_pages(fetch: Callable[[str | None], dict[str, Any]], field: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = fetch(token)
        found += page[field]
        token = page.get("next")
        if not token:
            return found


class SecretFile:
    """``--secret-file PATH``: the new secret goes to PATH (created 0600, never an existing file), not to
    stdout. The file is made before anything is created, so a secret is never made that cannot be
    written; it is removed again if the creation fails."""

    def __init__(self, path: Path | None):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> SecretFile:
        if self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise CliError(f"--secret-file {self.path} exists: name a new file", "usage") from None
            except OSError as exc:
                raise CliError(f"--secret-file {self.path}: {exc.strerror}", "usage") from None
        return self

    def keep(self, fields: dict[str, Any], name: str) -> dict[str, Any]:
        """``fields`` as printed: with the secret ``name``, or without it once it is in the file."""
        if self._fd is None:
            return fields
        with os.fdopen(self._fd, "w", encoding="utf-8") as fh:
            fh.write(f"{fields[name]}\n")
        self._fd = None
        print(f"The {name.replace('_', ' ')} was written to {self.path} (mode 600).", file=sys.stderr)
        return {k: v for k, v in fields.items() if k != name}

    def __exit__(self, kind: Any, *_: Any) -> None:
        if self._fd is not None:  # nothing was written: the creation failed
            os.close(self._fd)
            if self.path is not None:
                self.path.unlink(missing_ok=True)


def _print_secret(args: argparse.Namespace, title: str, fields: dict[str, Any], warning: str) -> None:
    _emit(args, fields, lambda: print_fields(title, fields))
    print(warning, file=sys.stderr)


# -- who the command acts as ----------------------------------------------------------------------------


def owner(org_id: str) -> Any:
    """An owner principal of ``org_id`` (NotFound for an unknown organisation): the operator acts as one."""
    from lti_gateway.admin import orgs

    orgs.organisation_view(org_id)
    return orgs.Principal(org_id=org_id, credential_id="cli", role="owner")


def base_url(args: argparse.Namespace) -> str:
    """The public base URL launch URLs start with: --base-url, else the stack's (ApiBaseUrl/PUBLIC_BASE_URL)."""
    from lti_gateway.core.config import settings

    base = (getattr(args, "base_url", None) or settings().public_base_url or "").rstrip("/")
    if not base:
        raise CliError(
            "no base URL to build launch URLs from: pass --base-url https://… (or --stack / --local)", "config"
        )
    return base


# -- organisations --------------------------------------------------------------------------------------

ORG_COLUMNS = [("ORG ID", "org_id"), ("NAME", "name"), ("CREATED", "created_at")]


def orgs_list(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    found = orgs.list_organisations()
    _emit(args, {"organisations": found}, lambda: print_table(found, ORG_COLUMNS, empty="No organisations."))


def orgs_create(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    with SecretFile(args.secret_file) as sink:
        created = orgs.create_organisation(args.name)
        fields = sink.keep(
            {
                "name": created.name,
                "org_id": created.org_id,
                "credential_id": created.credential_id,
                "api_key": created.api_key,
            },
            "api_key",
        )
    _print_secret(args, "Organisation created", fields, ONCE_WARNING)


def orgs_show(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    found = orgs.organisation_view(args.org_id)
    _emit(args, found, lambda: print_fields(f"Organisation {found['org_id']}", found))


# `orgs update` options -> PATCH /api/org fields (the same domain function, acting as an owner).
ORG_UPDATE_OPTIONS = {
    "app_launch_url": "--app-launch-url",
    "app_origins": "--app-origins",
    "tool_name": "--tool-name",
    "tool_description": "--tool-description",
    "tool_icon_url": "--tool-icon-url",
}


def orgs_update(args: argparse.Namespace) -> None:
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
    updated = orgs.update_settings(owner(args.org_id), body)
    updated.pop("credential", None)  # the CLI's stand-in principal, not a credential of the organisation
    _emit(args, updated, lambda: print_fields("Organisation updated", updated))


# -- API credentials ------------------------------------------------------------------------------------

CREDENTIAL_COLUMNS = [
    ("CREDENTIAL ID", "credential_id"),
    ("ROLE", "role"),
    ("STATUS", "status"),
    ("LABEL", "label"),
    ("CREATED", "created_at"),
    ("LAST USED", "last_used_at"),
]


def credentials_list(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    principal = owner(args.org)
    found = _all_pages(lambda t: orgs.list_credentials(principal, limit=PAGE, token=t), "credentials")
    _emit_listing(args, "credentials", found, CREDENTIAL_COLUMNS, empty="No API credentials.")


def credentials_create(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    principal = owner(args.org)
    with SecretFile(args.secret_file) as sink:
        created = orgs.create_credential(principal, {"role": args.role, "label": args.label})
        fields = sink.keep({"org_id": args.org, **{k: v for k, v in created.items() if v is not None}}, "api_key")
    _print_secret(args, "API credential created", fields, ONCE_WARNING)


def credentials_revoke(args: argparse.Namespace) -> None:
    from lti_gateway.admin import orgs

    revoked = orgs.revoke_credential(owner(args.org), args.credential_id)
    _emit(args, revoked, lambda: print_fields("API credential revoked", revoked))


# -- LTI 1.1 consumer keys ------------------------------------------------------------------------------

KEY_COLUMNS = [
    ("KEY", "key"),
    ("LABEL", "label"),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
    ("ROTATED", "rotated_at"),
    ("OLD SECRET VALID UNTIL", "previous_secret_valid_until"),
]


def consumer_keys_list(args: argparse.Namespace) -> None:
    from lti_gateway.lti11 import consumer_keys

    principal = owner(args.org)
    found = _all_pages(lambda t: consumer_keys.list_keys(principal, limit=PAGE, token=t), "keys")
    _emit_listing(args, "keys", found, KEY_COLUMNS, empty="No consumer keys.")


def consumer_keys_show(args: argparse.Namespace) -> None:
    from lti_gateway.lti11 import consumer_keys

    found = consumer_keys.get_key(owner(args.org), args.key)
    _emit(args, found, lambda: print_fields(f"Consumer key {found['key']}", found))


def consumer_keys_create(args: argparse.Namespace) -> None:
    """POST /api/keys: generated key and secret, or both supplied (validated as the API does)."""
    from lti_gateway.lti11 import consumer_keys

    principal = owner(args.org)
    if args.secret == "-":  # noqa: S105 -- from stdin (a pipe, a secret manager's CLI): never in the shell's history
        args.secret = sys.stdin.readline().rstrip("\r\n")
        if not args.secret:
            raise CliError("--secret -: stdin's first line is empty", "invalid")
    body = {name: getattr(args, name) for name in ("key", "secret", "label") if getattr(args, name) is not None}
    with SecretFile(args.secret_file) as sink:
        created = consumer_keys.create_idempotently(principal, body, idempotency_key=None)
        fields = sink.keep({"org_id": args.org, **created}, "secret")
    _print_secret(args, "Consumer key created", fields, SECRET_WARNING)


def consumer_keys_rotate(args: argparse.Namespace) -> None:
    """POST /api/keys/{key}/rotate: a new secret, printed once; the old one works for the grace period."""
    from lti_gateway.lti11 import consumer_keys

    principal = owner(args.org)
    with SecretFile(args.secret_file) as sink:
        rotated = consumer_keys.rotate_key(principal, args.key, {"grace_period_seconds": args.grace_period_seconds})
        fields = sink.keep({"org_id": args.org, **rotated}, "secret")
    _print_secret(args, "Consumer key rotated", fields, SECRET_WARNING)


def consumer_keys_revoke(args: argparse.Namespace) -> None:
    from lti_gateway.lti11 import consumer_keys

    revoked = consumer_keys.revoke_key(owner(args.org), args.key)
    _emit(args, revoked, lambda: print_fields("Consumer key revoked", revoked))


# -- classes and units ----------------------------------------------------------------------------------

CLASS_COLUMNS = [("CLASS ID", "class_id"), ("NAME", "name"), ("LTI", "lti_enabled"), ("LAUNCH URL", "launch_url")]
UNIT_COLUMNS = [("UNIT ID", "unit_id"), ("POS", "position"), ("NAME", "name"), ("LAUNCH URL", "launch_url")]
CLASS_SHOWN = (
    "class_id",
    "name",
    "lti_enabled",
    "launch_url",
    "class_lms_url",
    "class_lms_url_confirmed",
    "app_launch_url",
    "lms_context_ids",
    "created_at",
    "updated_at",
)


def _units(principal: Any, class_id: str, base: str) -> list[dict[str, Any]]:
    from lti_gateway.admin import classes

    return _all_pages(lambda t: classes.list_units(principal, class_id, limit=PAGE, token=t, base=base), "units")


def classes_list(args: argparse.Namespace) -> None:
    from lti_gateway.admin import classes

    principal, base = owner(args.org), base_url(args)
    found = _all_pages(lambda t: classes.list_classes(principal, limit=PAGE, token=t, base=base), "classes")
    _emit_listing(args, "classes", found, CLASS_COLUMNS, empty="No classes.")


def _print_class(title: str, found: dict[str, Any]) -> None:
    print_fields(title, {name: found.get(name) for name in CLASS_SHOWN})
    if "units" in found:
        print()
        print_table(found["units"], UNIT_COLUMNS, empty="No units.")


def classes_create(args: argparse.Namespace) -> None:
    """POST /api/classes: the Class LMS URL rule applies (a known LMS origin, or ``--confirm-lms-url``)."""
    from lti_gateway.admin import classes

    principal, base = owner(args.org), base_url(args)
    body: dict[str, Any] = {"name": args.name}
    options = {
        "class_lms_url": args.lms_url,
        "app_launch_url": args.app_launch_url,
        "lti_enabled": args.lti_enabled,
        "class_lms_url_confirmed": True if args.confirm_lms_url else None,
    }
    body.update({k: v for k, v in options.items() if v is not None})
    created = classes.create_class(principal, body, base=base)
    _emit(args, created, lambda: _print_class("Class created", created))


def classes_show(args: argparse.Namespace) -> None:
    """The class with its launch URL, and every unit with its own: what an LMS administrator pastes."""
    from lti_gateway.admin import classes

    principal, base = owner(args.org), base_url(args)
    found = classes.get_class(principal, args.class_id, base=base)
    found["units"] = _units(principal, args.class_id, base)
    _emit(args, found, lambda: _print_class(f"Class {found['class_id']}", found))


def units_list(args: argparse.Namespace) -> None:
    principal, base = owner(args.org), base_url(args)
    found = _units(principal, args.class_id, base)
    _emit_listing(args, "units", found, UNIT_COLUMNS, empty="No units.", class_id=args.class_id)


def units_create(args: argparse.Namespace) -> None:
    from lti_gateway.admin import classes

    principal, base = owner(args.org), base_url(args)
    body: dict[str, Any] = {"name": args.name}
    if args.position is not None:
        body["position"] = args.position
    if args.app_launch_url is not None:
        body["app_launch_url"] = args.app_launch_url
    created = classes.create_unit(principal, args.class_id, body, base=base)
    _emit(args, created, lambda: print_fields("Unit created", created))


# -- LTI 1.3 platforms ----------------------------------------------------------------------------------

PLATFORM_COLUMNS = [
    ("PLATFORM ID", "id"),
    ("NAME", "name"),
    ("ISSUER", "url"),
    ("CLIENT ID", "clientId"),
    ("ACTIVE", "active"),
]
PLATFORM_HIDDEN = ("publicKey",)  # the tool's own public key: long, and GET /api/tool-configuration's job


def _print_platform(title: str, found: dict[str, Any]) -> None:
    print_fields(title, {k: v for k, v in found.items() if k not in PLATFORM_HIDDEN})


def platforms_list(args: argparse.Namespace) -> None:
    from lti_gateway.lti13 import platforms

    principal = owner(args.org)
    found = _all_pages(lambda t: platforms.list_platforms(principal, limit=PAGE, token=t), "platforms")
    _emit_listing(args, "platforms", found, PLATFORM_COLUMNS, empty="No platforms.")


def platforms_show(args: argparse.Namespace) -> None:
    from lti_gateway.lti13 import platforms

    found = platforms.get_platform(owner(args.org), args.platform_id)
    _emit(args, found, lambda: _print_platform(f"Platform {found['id']}", found))


def _json_file(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--file {path}: {exc.strerror}", "usage") from None
    except UnicodeDecodeError:
        raise CliError(f"--file {path}: not UTF-8 text", "invalid") from None
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise CliError(f"--file {path}: not valid JSON ({exc})", "invalid") from None
    if not isinstance(body, dict):
        raise CliError(f"--file {path}: expected a JSON object (the body of POST /api/platforms)", "invalid")
    return body


def platforms_register(args: argparse.Namespace) -> None:
    """POST /api/platforms with the JSON body read from --file (``-``: stdin)."""
    from lti_gateway.lti13 import platforms

    principal = owner(args.org)
    created = platforms.create_platform(principal, _json_file(args.file))
    _emit(args, created, lambda: _print_platform("Platform registered", created))


def platforms_activate(args: argparse.Namespace) -> None:
    from lti_gateway.lti13 import platforms

    active = args.action == "activate"
    changed = platforms.set_active(owner(args.org), args.platform_id, active)
    word = "activated (launches accepted)" if active else "deactivated (launches refused)"
    _emit(args, changed, lambda: _print_platform(f"Platform {word}", changed))


# -- launch errors, tool keys ---------------------------------------------------------------------------


def launch_errors_show(args: argparse.Namespace) -> None:
    """What went wrong in a refused launch, by the reference its error page showed (the organisation's
    own launches only)."""
    from lti_gateway.admin import launch_errors

    found = launch_errors.lookup(args.org, args.reference)
    _emit(args, found, lambda: print_fields(f"Launch error {args.reference}", found))


def _print_rotation(rotated: dict[str, Any], who: str) -> None:
    if not rotated.get("rotated"):
        if rotated.get("error"):
            print(f"{who}: not rotated ({rotated['error']})")
        else:
            print(f"{who}: no key yet: created the first one, kid {rotated['current']['kid']}")
        return
    print(f"{who}: tool key rotated")
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

        def readable() -> None:
            if not outcomes:
                print(f"No key set is older than {args.max_age_days} days: nothing rotated")
            for outcome in outcomes:
                _print_rotation(outcome, outcome["owner"] or "stack-wide set")

        _emit(args, outcomes, readable)
        return
    who = None if args.stack_wide else args.org
    if who is not None:
        owner(who)
    rotated = tool_keys.rotate(who)
    _emit(args, rotated, lambda: _print_rotation(rotated, who or "stack-wide set"))


# -- exports --------------------------------------------------------------------------------------------


def export(args: argparse.Namespace) -> None:
    """Write a class's (or, without CLASS_ID, the organisation's) LTI settings to --output or stdout.

    The operator holds the stack's own permissions: the export runs as an owner of the class's
    organisation (``--org`` checks the class belongs to it). No size limit and no S3: it streams.
    """
    from lti_gateway.admin import classes, exports
    from lti_gateway.repositories import deps

    org_id = args.org
    if args.class_id is None:
        if org_id is None:
            raise CliError("name a CLASS_ID, or --org ORG to export every class of an organisation")
        if args.format not in exports.ORG_FORMATS:
            raise CliError(
                f"--format {args.format} exports one class (name a CLASS_ID); an organisation's export "
                f"(--org without CLASS_ID) is {' or '.join(exports.ORG_FORMATS)}"
            )
        base = base_url(args)
        spec, filename, render = exports.render_org(owner(org_id), args.format, base=base)
    else:
        base = base_url(args)
        if org_id is None:
            item = deps.classes_repo().get_class(args.class_id) if classes.CLASS_ID.match(args.class_id) else None
            if item is None:
                raise CliError(f"no class {args.class_id}", "not_found")
            org_id = str(item["org_id"])
        principal = owner(org_id)
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


def export_formats() -> tuple[str, ...]:
    from lti_gateway.admin.exports import CLASS_FORMATS

    return CLASS_FORMATS


def org_export_formats() -> tuple[str, ...]:
    from lti_gateway.admin.exports import ORG_FORMATS

    return ORG_FORMATS
