"""Export benchmark: 1,000 vs 10,000 units — time per row and peak memory, as ratios.

The export is streamed (one Query page at a time, rows written as they arrive), so both the time per
row and the peak memory should stay flat as a class grows: the ratios printed are 10,000-unit figures
over 1,000-unit ones, ~1.0x when flat.

The domain code runs for real (class read, consumer keys, rendering) on moto; only the unit pages
come from a stand-in repository that builds each 1,000-item page on demand, because moto answers a
GSI Query in time proportional to the whole partition (10,000 units cost it seconds per page, which
DynamoDB does not). The output goes to a sink that keeps nothing, so peak memory is the exporter's
own, not the file's. One more line runs the whole handler on moto for the Query count.

    python -m benchmarks.exports            (also part of `make bench`)
"""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

SIZES = (1_000, 10_000)
FORMATS = ("csv", "json", "cc")
BASE = "https://abc123.execute-api.us-east-1.amazonaws.com"


class NullSink(io.RawIOBase):
    """A write-only binary stream that keeps nothing (not seekable: zipfile then streams)."""

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        return len(b)


def _synthetic_repository(base_repo: Any, counts: dict[str, int]) -> Any:
    from lti_gateway.repositories.exports import ExportsRepository

    class Synthetic(ExportsRepository):
        """Unit pages made on demand (one page in memory at a time), like DynamoDB's."""

        def units(self, class_id: str) -> Iterator[dict[str, Any]]:
            total, page = counts[class_id], self.page_size
            for start in range(0, total, page):
                batch = [
                    {
                        "unit_id": f"unt_{i:016x}",
                        "class_id": class_id,
                        "name": f'Unit {i}: a realistic, "quoted" name — ünïcödé',
                        "position": i,
                    }
                    for i in range(start, min(start + page, total))
                ]
                yield from batch
                del batch  # as the repository does: one page in memory, never two

    return Synthetic(base_repo._classes, base_repo._keys)


def _measure(render: Any, runs: int = 2) -> tuple[float, int]:
    """(best seconds of ``runs`` plain runs, peak bytes of one traced run)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        render(NullSink())
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    try:
        render(NullSink())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return best, peak


def run(*, quick: bool = False) -> dict[tuple[str, int], tuple[float, int]]:
    """Print the table; answer {(format, units): (seconds, peak bytes)}."""
    from lti_gateway.admin import classes, exports, orgs
    from lti_gateway.lti11 import consumer_keys
    from lti_gateway.repositories import deps

    created = orgs.create_organisation("Bench University")
    consumer_keys.create_consumer_key(created.org_id, label="Canvas")
    owner = orgs.Principal(created.org_id, created.credential_id, "owner")
    counts = {classes.create_class(owner, {"name": f"Class of {n}"}, base=BASE)["class_id"]: n for n in SIZES}
    real = deps.exports_repo
    synthetic = _synthetic_repository(real(), counts)
    deps.exports_repo = lambda: synthetic  # type: ignore[assignment]
    results: dict[tuple[str, int], tuple[float, int]] = {}
    try:
        for fmt in FORMATS:
            for class_id, n in counts.items():
                _, _, render = exports.render_class(owner, class_id, fmt, base=BASE)
                results[(fmt, n)] = _measure(render, runs=1 if quick else 2)
    finally:
        deps.exports_repo = real

    print("export, 1,000 vs 10,000 units (unit pages simulated, output discarded):")
    print(f"  {'format':<7}{'units':>8}{'µs/row':>10}{'peak KiB':>11}")
    for fmt in FORMATS:
        for n in SIZES:
            seconds, peak = results[(fmt, n)]
            print(f"  {fmt:<7}{n:>8,}{seconds / n * 1e6:>10.1f}{peak / 1024:>11.0f}")
        (t1, m1), (t2, m2) = results[(fmt, SIZES[0])], results[(fmt, SIZES[1])]
        ratio_time = (t2 / SIZES[1]) / (t1 / SIZES[0])
        print(f"  {fmt:<7}ratio 10k/1k: time per row {ratio_time:.2f}x, peak memory {m2 / m1:.2f}x")
    _end_to_end(owner)
    return results


def _end_to_end(owner: Any, units: int = 1_000) -> None:
    """The handler on moto: one class of ``units`` units, DynamoDB calls counted."""
    import boto3

    from lti_gateway.admin import classes
    from lti_gateway.repositories import aws
    from lti_gateway.repositories.schema import class_pk, unit_order_key, unit_sk, units_partition
    from tests.support.events import vary
    from tests.support.lambda_context import FakeContext
    from tests.support.stack import load_function

    cls = classes.create_class(owner, {"name": "End to end"}, base=BASE)
    table = boto3.resource("dynamodb").Table(os.environ["CLASSES_TABLE"])
    with table.batch_writer() as batch:
        for i in range(units):
            unit_id = f"unt_{i:016x}"
            batch.put_item(
                Item={
                    "pk": class_pk(cls["class_id"]),
                    "sk": unit_sk(unit_id),
                    "gsi1pk": units_partition(cls["class_id"]),
                    "gsi1sk": unit_order_key(i, i + 1, unit_id),
                    "unit_id": unit_id,
                    "class_id": cls["class_id"],
                    "org_id": owner.org_id,
                    "name": f"Unit {i}",
                    "position": i,
                }
            )
    from lti_gateway.admin import orgs

    api_key = orgs.create_credential(owner, {"role": "member"})["api_key"]
    app = load_function("export")
    event = vary(
        "exports-class.json", api_key=api_key, path_params={"class_id": cls["class_id"]}, query={"format": "csv"}
    )
    calls: list[str] = []
    client = aws.dynamodb().meta.client

    def count(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.dynamodb", count)
    try:
        start = time.perf_counter()
        result = app.lambda_handler(event, FakeContext())
        elapsed = time.perf_counter() - start
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)
    assert result["statusCode"] == 200, result
    queries = calls.count("Query")
    print(
        f"  handler on moto, {units:,} units as CSV: {elapsed * 1e3:.0f} ms, DynamoDB calls {len(calls)} "
        f"({queries} Query, {calls.count('Scan')} Scan)"
    )


def main(*, quick: bool = False) -> dict[tuple[str, int], tuple[float, int]]:
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    )
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from moto import mock_aws

    from lti_gateway.core import runtime
    from tests.support.stack import create_stack

    with mock_aws():
        os.environ.update(create_stack(prefix="bench-exports"))
        runtime.reset()
        return run(quick=quick)


if __name__ == "__main__":
    main()
