"""The local gateway at catalogue scale (issue 16): ``make run`` with 10,000 units.

Runs the real ``python -m lti_gateway.local`` in a subprocess with a temporary ``--state-dir`` (never
the developer's ``.local/``), then:

* creates one class and 10,000 units in it through the HTTP API (``POST /api/classes/{id}/units``),
  from 8 parallel clients on keep-alive connections: units/s and the total time (target: 60 s);
* samples the server's resident memory every 0.5 s throughout (``VmRSS``; target: 600 MB at most);
* sends SIGINT (Ctrl-C) and times the exit, which includes saving the state (target: 2 s);
* starts it again on the same state and checks that every unit is listed, in position order.

The three targets are shown as ratios against their budget (a time per unit against 60 s / 10,000,
the peak against 600 MB, the stop against 2 s). Errors (any answer but 201) and a restart that lost a
unit are correctness failures. ``--quick``: 300 units.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.timing import Report, heading, ratio_row
from tests.support.local_process import LocalProcess

UNITS, QUICK_UNITS = 10_000, 300
CLIENTS = 8
BUDGET_SECONDS, BUDGET_UNITS = 60.0, 10_000  # the target: 10,000 units in 60 s
RSS_TARGET_MB = 600
STOP_TARGET_S = 2.0
START_TIMEOUT = 120


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB (Linux /proc; None elsewhere or once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Gateway(LocalProcess):
    """The gateway under measurement, with keep-alive HTTP connections to it."""

    def __init__(self, state_dir: Path):
        super().__init__(state_dir)
        self.started(START_TIMEOUT)
        self.headers = {**self.headers, "Content-Type": "application/json"}

    def connection(self) -> http.client.HTTPConnection:
        parts = urlsplit(self.base)
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    def call(self, connection: http.client.HTTPConnection, method: str, path: str, body: object = None):
        connection.request(method, path, body=None if body is None else json.dumps(body), headers=self.headers)
        answer = connection.getresponse()
        return answer.status, answer.read()


def create_units(gateway: Gateway, class_id: str, count: int) -> tuple[float, int, str]:
    """``count`` units from :data:`CLIENTS` threads, each on its own keep-alive connection:
    ``(seconds, errors, first error)``."""
    next_index = iter(range(count))
    lock = threading.Lock()
    errors: list[str] = []

    def client() -> None:
        connection = gateway.connection()
        try:
            while True:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                status, body = gateway.call(
                    connection, "POST", f"/api/classes/{class_id}/units", {"name": f"Unit {index}"}
                )
                if status != 201:
                    with lock:
                        errors.append(f"{status} {body[:200]!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, len(errors), errors[0] if errors else ""


def listed_units(gateway: Gateway, class_id: str) -> list[dict]:
    connection = gateway.connection()
    units: list[dict] = []
    token = None
    try:
        while True:
            path = f"/api/classes/{class_id}/units?limit=100" + (f"&next={token}" if token else "")
            status, body = gateway.call(connection, "GET", path)
            if status != 200:
                raise RuntimeError(f"listing units: {status} {body[:200]!r}")
            page = json.loads(body)
            units += page["units"]
            token = page.get("next")
            if not token:
                return units
    finally:
        connection.close()


def run(report: Report, *, quick: bool = False) -> None:
    count = QUICK_UNITS if quick else UNITS
    heading(f"The local gateway at catalogue scale: {count:,} units through the API, memory, Ctrl-C, restart")
    state_dir = Path(tempfile.mkdtemp(prefix="lti-gateway-bench-"))
    gateway = None
    try:
        gateway = Gateway(state_dir)
        connection = gateway.connection()
        status, body = gateway.call(connection, "POST", "/api/classes", {"name": "Catalogue"})
        connection.close()
        if status != 201:
            report.failures.append(f"local: creating the class answered {status}")
            return
        class_id = json.loads(body)["class_id"]
        samples: list[float] = []
        sampling = threading.Event()

        def sample() -> None:
            while not sampling.wait(0.5):
                if (mb := rss_mb(gateway.process.pid)) is not None:
                    samples.append(mb)

        before = rss_mb(gateway.process.pid)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        seconds, errors, first_error = create_units(gateway, class_id, count)
        sampling.set()
        sampler.join()
        after = rss_mb(gateway.process.pid)
        peak = max([m for m in (before, after, *samples) if m is not None], default=float("nan"))
        stop = gateway.interrupt()
        state_mb = (state_dir / "state.json").stat().st_size / 1e6 if (state_dir / "state.json").exists() else 0.0
        gateway = Gateway(state_dir)
        units = listed_units(gateway, class_id)
        positions = [u["position"] for u in units]
        kept = len(units) == count - errors and positions == sorted(positions) and len(set(positions)) == len(units)
        gateway.interrupt()
        gateway = None

        print(
            f"  {count:,} units from {CLIENTS} clients: {seconds:.1f} s, {count / seconds:.0f} units/s, {errors} errors"
        )
        memory = f"{before or 0:.0f} MB before, peak {peak:.0f} MB, {after or 0:.0f} MB after"
        print(f"  server memory (VmRSS every 0.5 s): {memory}")
        print(f"  Ctrl-C (SIGINT) to exit, state saved: {stop:.2f} s; state file {state_mb:.1f} MB")
        print(f"  restart on the same state: {len(units):,} units listed, in order: {'yes' if kept else 'NO'}")
        budget = BUDGET_SECONDS / BUDGET_UNITS
        ratio_row(report, "local gateway: time per unit vs 10,000 units in 60 s", seconds / count, budget, 1.0)
        ratio_row(report, "local gateway: peak memory vs 600 MB", peak, RSS_TARGET_MB, 1.0)
        ratio_row(report, "local gateway: Ctrl-C exit vs 2 s", stop, STOP_TARGET_S, 1.0)
        if errors:
            report.failures.append(f"local: {errors} unit creations failed (first: {first_error})")
        if not kept:
            report.failures.append(f"local: after a restart {len(units)} units listed, {count - errors} created")
    finally:
        if gateway is not None:
            gateway.kill()
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    from benchmarks.timing import summary

    report = Report()
    run(report, quick="--quick" in sys.argv)
    summary(report, quick="--quick" in sys.argv)
    sys.exit(1 if report.failures else 0)
