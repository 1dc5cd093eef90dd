"""`make bench`: warm-path costs of the gateway, each as a ratio to a baseline timed in the same run.

Absolute times depend on the machine; ratios against a baseline measured alongside do not (much).
Runs on moto in-process, so DynamoDB calls cost microseconds here, not the milliseconds they cost in
AWS: read the ratios as "our code's overhead on top of the same storage calls".
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)


def timed(fn: Callable[[], object], *, rounds: int = 7, number: int = 200) -> float:
    """Median seconds per call over ``rounds`` batches of ``number`` calls (after a warm-up batch)."""
    for _ in range(number):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main() -> None:
    import boto3
    from moto import mock_aws

    from tests.support.events import vary
    from tests.support.lambda_context import FakeContext
    from tests.support.stack import create_stack, load_function

    with mock_aws():
        os.environ.update(create_stack(prefix="bench"))
        from lti_gateway import consumer_keys, deps, orgs

        deps.reset()
        created = orgs.create_organisation("Bench University")
        key = consumer_keys.create_consumer_key(created.org_id, label="bench")["key"]
        keys_app = load_function("keys")
        table = boto3.resource("dynamodb").Table(os.environ["KEYS_TABLE"])
        org_event = vary("org-get.json", api_key=created.api_key)

        baseline = timed(lambda: table.get_item(Key={"pk": f"ORG#{created.org_id}", "sk": "META"}))
        rows = [
            (
                "GET /api/org through the handler (bearer check + org read)",
                timed(lambda: keys_app.lambda_handler(org_event, FakeContext())),
            ),
            ("launch credential lookup, warm cache", timed(lambda: consumer_keys.launch_credentials(key))),
            (
                "launch credential lookup, no cache",
                timed(lambda: consumer_keys.launch_credentials(key, cache_seconds=0)),
            ),
        ]
    print(f"baseline: one DynamoDB GetItem on moto = {baseline * 1e6:.0f} µs")
    for name, seconds in rows:
        print(f"{seconds / baseline:8.3f}x baseline  {name}")

    from benchmarks import exports as export_benchmark  # its own moto account: flat time and memory per row

    print()
    export_benchmark.main()


if __name__ == "__main__":
    main()
