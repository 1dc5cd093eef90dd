"""`make bench` (``python -m benchmarks [--quick] [--only NAME ...]``): every figure of issue #7, each
printed with the baseline timed in the same process, the ratio and the target.

Absolute times depend on the machine; ratios against a baseline measured alongside do not (much).
Timing targets are reported, never enforced (``--quick`` is for CI: each figure once, few
iterations). The exit status is 1 only for correctness checks made along the way: errors under
load, a forbidden module in a handler's cold start, a layer over 10 MB or without 3.13 bytecode.
The hard gates on call counts and module lists are tests (tests/performance/, run by ``make test``).

Sections (``--only``): lti13, lti11, ltik, storage, exports, coldstart, package, load, e2e, local.
``--json FILE`` also writes the summary (with the interpreter it ran on) as JSON.
See docs/performance.md for what each measures and the figures of a reference run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

from benchmarks.timing import Mode, Report, heading, per_call, summary, write_json

SECTIONS = ("lti13", "lti11", "ltik", "storage", "exports", "coldstart", "package", "load", "e2e", "local")


def storage(mode: Mode) -> None:
    """Warm paths through moto in-process: informational (moto's costs are not DynamoDB's)."""
    import boto3
    from moto import mock_aws

    from tests.support.events import vary
    from tests.support.lambda_context import FakeContext
    from tests.support.stack import create_stack, load_function

    heading("Warm paths on moto in-process (informational: read as our overhead on top of the same calls)")
    with mock_aws():
        os.environ.update(create_stack(prefix="bench"))
        from lti_gateway.admin import orgs
        from lti_gateway.core import runtime
        from lti_gateway.lti11 import consumer_keys

        runtime.reset()
        created = orgs.create_organisation("Bench University")
        key = consumer_keys.create_consumer_key(created.org_id, label="bench")["key"]
        keys_app = load_function("keys")
        table = boto3.resource("dynamodb").Table(os.environ["KEYS_TABLE"])
        org_event = vary("org-get.json", api_key=created.api_key)
        times = per_call(
            {
                "getitem": lambda: table.get_item(Key={"pk": f"ORG#{created.org_id}", "sk": "META"}),
                "org": lambda: keys_app.lambda_handler(org_event, FakeContext()),
                "warm": lambda: consumer_keys.launch_credentials(key),
                "cold": lambda: (consumer_keys.clear_cache(), consumer_keys.launch_credentials(key)),
            },
            number=mode.iterations(100, 10),
            rounds=mode.rounds(5, 1),
        )
        runtime.reset()
    base = times["getitem"]
    print(f"  baseline: one DynamoDB GetItem on moto = {base * 1e6:.0f} µs")
    for label, name in (
        ("GET /api/org through the handler (bearer check + org read)", "org"),
        ("launch credential lookup, warm (consistent GetItem; secret opened for this version before)", "warm"),
        ("launch credential lookup, cold (consistent GetItem + opening the sealed secret)", "cold"),
    ):
        print(f"  {times[name] / base:8.3f}x baseline  {label}")


def exports(mode: Mode, report: Report) -> None:
    from benchmarks import exports as export_benchmark  # its own moto account
    from benchmarks.timing import ratio_row

    heading("Export: 1,000 vs 10,000 units, time per row and peak memory")
    results = export_benchmark.main(quick=mode.quick)
    small, large = export_benchmark.SIZES
    for fmt in export_benchmark.FORMATS:
        (_, small_peak), (_, large_peak) = results[(fmt, small)], results[(fmt, large)]
        ratio_row(report, f"export {fmt}: peak memory 10k / 1k units", large_peak, small_peak, 1.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each figure once, few iterations (CI)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="NAME", help=f"some of: {', '.join(SECTIONS)}")
    parser.add_argument("--json", metavar="FILE", help="also write the summary, with the interpreter, as JSON")
    args = parser.parse_args(argv)
    mode, report = Mode(quick=args.quick), Report()
    chosen = args.only or SECTIONS
    started = time.perf_counter()
    print(
        f"LTI Gateway benchmarks{' (quick)' if mode.quick else ''}: Python {platform.python_version()} on "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform(terse=True)}"
    )
    if "lti13" in chosen:
        from benchmarks import lti13

        lti13.run(mode, report)
    if "lti11" in chosen:
        from benchmarks import lti11

        lti11.run(mode, report)
    if "ltik" in chosen:
        from benchmarks import ltik_check

        ltik_check.run(mode, report)
    if "storage" in chosen:
        storage(mode)
    if "exports" in chosen:
        exports(mode, report)
    if "coldstart" in chosen:
        from benchmarks import coldstart

        coldstart.run(mode, report)
    if "package" in chosen:
        from benchmarks import package

        package.run(report)
    if "load" in chosen:
        from benchmarks import load

        load.run(report, quick=mode.quick)
    if "e2e" in chosen:
        from benchmarks import launch_e2e

        launch_e2e.run(report, quick=mode.quick)
    if "local" in chosen:
        from benchmarks import local_scale

        local_scale.run(report, quick=mode.quick)
    summary(report, quick=mode.quick)
    if args.json:
        write_json(report, args.json, quick=mode.quick)
    print(f"\n  total {time.perf_counter() - started:.0f} s")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
