"""``make run``: the whole gateway on http://127.0.0.1:3000 with a demo organisation to try it with.

    python -m lti_gateway.local [--port N] [--host 127.0.0.1] [--param AllowedAppOrigins=https://app.example.com]

No AllowedAppOrigins is needed: the demo organisation's app launch URL (the demo app) is set by the
seeding as an owner sets one, which allows its origin; a --param AllowedAppOrigins=... is the operator
restriction of a deployed stack (the demo app's origin is added to it).

Ctrl-C or SIGTERM stops it. What to paste (URLs, API key, consumer key and secret) is printed and
written to ``.local/dev-stack.json`` (``--state-dir``), which ``lti-gateway orgs create --local`` reads.

The state (every table's items and the KMS key, so organisations, API keys, platforms, classes and
units survive) is kept in ``.local/state.json`` across restarts (``lti_gateway.local.persistence``);
``--fresh`` (``make run FRESH=1``) starts empty and replaces it. A state file that cannot be read
stops the start with a message saying so (never silently replaced).

LTI 1.3 platform URLs may be http and on loopback here (test platforms run on 127.0.0.1);
``ALLOW_INSECURE_PLATFORM_URLS=false`` in the environment starts it with the deployed stack's rules
instead (https only, globally routable addresses only: the SSRF guard as in AWS).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from lti_gateway.local import persistence
from lti_gateway.local.persistence import StateError
from lti_gateway.local.server import LocalGateway, log
from lti_gateway.local.template import TemplateError

STATE_FILE = "dev-stack.json"


def _parameter(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m lti_gateway.local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 3000), help="default: $PORT or 3000")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback only)")
    parser.add_argument("--template", type=Path, default=None, help="default: ./template.yaml")
    parser.add_argument(
        "--state-dir", type=Path, default=Path(".local"), help="where the state and dev-stack.json are kept (.local)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="start empty: forget the state kept in --state-dir (it is replaced)"
    )
    parser.add_argument(
        "--param", type=_parameter, action="append", default=[], metavar="NAME=VALUE", help="template parameter"
    )
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo organisation")
    parser.add_argument("--quiet", action="store_true", help="no access log")
    return parser.parse_args(argv)


def write_state(stack: dict[str, Any], state_dir: Path) -> Path:
    """``dev-stack.json`` (local secrets only: readable by the owner alone)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return persistence.write_private_json(state_dir / STATE_FILE, stack)


def summary(stack: dict[str, Any], state_path: Path) -> str:
    base = stack["base_url"]
    lines = ["", f"LTI Gateway is running locally (stage {stack.get('stage')}, moto-backed)", ""]
    if stack.get("api_key"):
        bearer = shlex.quote(f"Authorization: Bearer {stack['api_key']}")
        console = stack["console_url"]
        rule = "=" * 100
        lines += [
            rule,
            "  OPEN THIS FIRST (the demo organisation's console, signed in as its owner):",
            "",
            f"    {console}",
            "",
            f"  one-time link, valid 5 minutes; after that sign in at {base}/console with the owner API key below",
            "",
            f"  then launch from the test LMS:  {stack.get('test_lms_url') or base + '/_lms/'}",
            "  (LTI 1.1 or 1.3, any class or unit, a learner or an instructor; launches land on the demo app)",
            rule,
        ]
    urls = {"ApiBaseUrl": base, **stack.get("urls", {}), **stack.get("function_urls", {})}
    width = max(len(n) for n in urls) + 2
    lines += ["", *(f"  {name:<{width}}{url}" for name, url in urls.items())]
    if stack.get("api_key"):
        lines += [
            "",
            f"Demo organisation {stack.get('org_name')!r} ({stack['org_id']})",
            f"  owner API key     {stack['api_key']}",
            f"  consumer key      {stack['consumer_key']}",
            f"  consumer secret   {stack['consumer_secret']}",
            f"  demo app          {stack['app_launch_url']}",
            f"  Class URL         {stack['class_launch_url']}   (Demo Class)",
            *(f"  Unit URL          {u['launch_url']}   ({u['name']})" for u in stack.get("units", [])),
            "",
            "A real LMS: LTI 1.1 = Consumer key + Shared secret + Launch URL = the Class URL (or a Unit URL);",
            "LTI 1.3 (register it first: POST /api/platforms, or Dynamic Registration):",
            f"  Login URL         {base}/lti/orgs/{stack['org_id']}/login",
            f"  Launch URL        {base}/lti/orgs/{stack['org_id']}/launch   (redirect URI; deep linking too)",
            f"  JWKS URL          {base}/lti/orgs/{stack['org_id']}/jwks.json",
            f"  Registration URL  {stack.get('registration_url')}",
            f"  another one       curl -s -X POST -H {bearer} {base}/api/platforms/registration-url",
            f"  Tool settings     curl -s -H {bearer} {base}/api/tool-configuration   (.../canvas: Canvas key JSON)",
            "",
            "Try:",
            f"  curl -s -H {bearer} {base}/api/org",
            f"  curl -s -H {bearer} '{base}/api/classes/{stack['class_id']}/lti-settings?format=csv'",
            "  .venv/bin/lti-gateway orgs create 'Another University' --local",
        ]
    lines += [
        "",
        f"Wrote {state_path}. State kept in {state_path.parent} (FRESH=1: start empty). Ctrl-C stops the gateway.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if not ipaddress.ip_address(args.host).is_loopback:
            log(f"warning: serving on {args.host}: anyone who can reach it can use the demo API key")
    except ValueError:
        pass  # a host name
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    gateway = LocalGateway(
        port=args.port,
        host=args.host,
        template=args.template,
        parameters=dict(args.param),
        seed=not args.no_seed,
        quiet=args.quiet,
        state_dir=args.state_dir,
        fresh=args.fresh,
    )
    try:
        gateway.start()
    except StateError as exc:
        print(
            f"lti-gateway: cannot start: {exc}.\n"
            "  Start anew with `make run FRESH=1` (python -m lti_gateway.local --fresh): the saved state is replaced.",
            file=sys.stderr,
        )
        return 2
    except (TemplateError, OSError) as exc:
        print(f"lti-gateway: cannot start: {exc}", file=sys.stderr)
        return 2
    if gateway.restored:
        log(f"state restored from {args.state_dir / 'state.json'} (--fresh starts empty)")
    if os.environ.get("ALLOW_INSECURE_PLATFORM_URLS", "").strip().lower() in ("0", "false", "no", "off"):
        log("ALLOW_INSECURE_PLATFORM_URLS=false: platform URLs must be https on public addresses (as deployed)")
    try:
        state_path = write_state(gateway.stack, args.state_dir)
        print(summary(gateway.stack, state_path), flush=True)
        while not stop.wait(0.5):
            pass
        log("stopping")
    finally:
        gateway.stop()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is stopped and saved: skip the interpreter's teardown (freeing every moto object one by
    # one took seconds with 10,000 units), so Ctrl-C ends the process at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
