"""Load on loopback: the local gateway under a bounded concurrent load, per route.

``LocalGateway(port=0)`` (what ``make run`` serves: template.yaml's routes, each function in warm
"containers", DynamoDB and KMS on a moto server) on 127.0.0.1 only. A Python load loop — 8 worker
threads, each with its own keep-alive connection — drives one route at a time for a fixed time or a
fixed number of requests, whichever comes first, after a warm-up that takes the cold starts:

* ``POST /lti/launch/{class_id}``: LTI 1.1 launches (Canvas-shaped, HMAC-SHA1), each signed beforehand
  with its own nonce; expects 302 with an ltik;
* ``GET /api/idtoken``: the app's ltik call (``LTIK-AUTH-V2``) for one launch; expects 200;
* ``GET /api/classes/{class_id}/lti-settings?format=csv``: an export of a 50-unit class; expects 200.

Everything — the load loop, the HTTP server, the handlers and moto — shares one Python process and
its GIL on this machine, and moto is serialised: requests/s here is a floor for the gateway's own
code path, not a Lambda figure (there each container serves one request on its own CPU share).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from benchmarks.timing import Report, heading

WORKERS = 8
FORM = "application/x-www-form-urlencoded"


@dataclass
class Request:
    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes | None = None


@dataclass
class RouteResult:
    name: str
    count: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def drive(
    port: int,
    name: str,
    next_request: Callable[[], Request | None],
    expect: int,
    *,
    seconds: float,
    max_requests: int,
    workers: int = WORKERS,
) -> RouteResult:
    """Run ``workers`` threads until ``seconds`` passed or ``max_requests`` were sent (or requests ran out)."""
    result = RouteResult(name)
    lock = threading.Lock()
    sent = [0]
    deadline = time.perf_counter() + seconds

    def take() -> Request | None:
        with lock:
            if sent[0] >= max_requests or time.perf_counter() >= deadline:
                return None
            request = next_request()
            if request is not None:
                sent[0] += 1
            return request

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies: list[float] = []
        errors, first_error = 0, ""
        while (request := take()) is not None:
            start = time.perf_counter()
            try:
                connection.request(request.method, request.target, body=request.body, headers=request.headers)
                answer = connection.getresponse()
                answer.read()
                ok = answer.status == expect
                problem = "" if ok else f"status {answer.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            latencies.append(time.perf_counter() - start)
            if not ok:
                errors += 1
                first_error = first_error or problem
        connection.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            result.first_error = result.first_error or first_error

    threads = [threading.Thread(target=worker, name=f"load-{i}") for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    result.count = len(result.latencies)
    return result


def _launches(gateway, count: int) -> list[Request]:
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import sign_launch

    url = gateway.stack["class_launch_url"]
    target = urlsplit(url).path
    host = urlsplit(url).netloc
    now = int(time.time())
    requests_ = []
    for i in range(count):
        signed = sign_launch(
            url,
            CANVAS,
            consumer_key=gateway.consumer_key,
            secret=gateway.consumer_secret,
            nonce=f"load-{now}-{i:07d}",
            timestamp=now,
        )
        requests_.append(Request("POST", target, {"Content-Type": FORM, "Host": host}, signed.body.encode()))
    return requests_


def _sequence(items: list[Request]) -> Callable[[], Request | None]:
    iterator = iter(items)
    return lambda: next(iterator, None)


def _repeat(request: Request) -> Callable[[], Request]:
    return lambda: request


def _send(port: int, request: Request, *, expect: int) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(request.method, request.target, body=request.body, headers=request.headers)
        answer = connection.getresponse()
        answer.read()
    finally:
        connection.close()
    if answer.status != expect:
        raise RuntimeError(f"{request.method} {request.target} answered {answer.status}, not {expect}")
    return answer


def _run_routes(gateway, *, seconds: float, max_requests: int) -> list[tuple[RouteResult, RouteResult]]:
    """Per route: the warm-up (its containers' cold starts, all at once) and the measured run."""
    from lti_gateway.admin import classes, orgs

    port = urlsplit(gateway.base_url).port
    assert port is not None
    host = f"127.0.0.1:{port}"
    owner = orgs.Principal(gateway.org_id, gateway.stack["credential_id"], "owner")
    for i in range(50):
        classes.create_unit(owner, gateway.stack["class_id"], {"name": f"Unit {i + 3}"}, base=gateway.base_url)

    warm = WORKERS * 4
    launches = _launches(gateway, warm + max_requests + 1)
    # One launch for the ltik the idtoken route uses.
    answer = _send(port, launches.pop(), expect=302)
    ltik = answer.getheader("Location", "").split("ltik=", 1)[1].split("&")[0]
    idtoken = Request("GET", "/api/idtoken", {"Authorization": f"LTIK-AUTH-V2 {gateway.api_key}:{ltik}", "Host": host})
    # The launch has an outcome service: its first /api/idtoken issues a service key (a transaction).
    # Issue it now, while the tables are small: moto deep-copies every table on each TransactWriteItems,
    # which after the launch route's thousands of launches takes seconds (DynamoDB does not).
    _send(port, idtoken, expect=200)
    export = Request(
        "GET",
        f"/api/classes/{gateway.stack['class_id']}/lti-settings?format=csv",
        {"Authorization": f"Bearer {gateway.api_key}", "Host": host},
    )
    routes = [
        ("POST /lti/launch/{class_id} (LTI 1.1)", _sequence(launches), 302),
        ("GET /api/idtoken (ltik)", _repeat(idtoken), 200),
        ("GET /api/classes/{class_id}/lti-settings?format=csv (50 units)", _repeat(export), 200),
    ]
    results = []
    for name, source, expect in routes:
        warm_up = drive(port, name, source, expect, seconds=30, max_requests=warm)  # cold starts of up to 8 containers
        results.append((warm_up, drive(port, name, source, expect, seconds=seconds, max_requests=max_requests)))
    return results


def run(report: Report, *, quick: bool) -> None:
    from lti_gateway.local.server import LocalGateway, reset_caches

    seconds, max_requests = (2.0, 100) if quick else (30.0, 3000)
    heading(
        f"Load on loopback: local gateway, {WORKERS} workers, ≤ {seconds:g} s or ≤ {max_requests:,} requests per route"
    )
    saved = dict(os.environ)
    for name in ("DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    gateway = LocalGateway(port=0, quiet=True, parameters={"LogLevel": "WARNING"})
    try:
        gateway.start()
        # Metrics go to stdout as EMF, one blob per launch: keep them out of the report.
        with contextlib.redirect_stdout(io.StringIO()):
            results = _run_routes(gateway, seconds=seconds, max_requests=max_requests)
    finally:
        gateway.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()
    print(f"  {'route':<62}{'requests':>9}{'req/s':>8}{'p50':>9}{'p99':>9}{'errors':>8}")
    for _, r in results:
        print(
            f"  {r.name:<62}{r.count:>9,}{r.count / r.seconds:>8.0f}"
            f"{r.percentile(50) * 1e3:>7.1f}ms{r.percentile(99) * 1e3:>7.1f}ms{r.errors:>8}"
        )
        if r.errors:
            report.failures.append(f"load: {r.name}: {r.errors} errors (first: {r.first_error})")
        if r.count == 0:
            report.failures.append(f"load: {r.name}: no request completed")
    warm_errors = [(w, r) for w, r in results if w.errors]
    for warm_up, r in warm_errors:  # reported, not a failure: see the note printed below
        print(
            f"  warm-up of {r.name.split(' (')[0]}: {warm_up.errors} of {warm_up.count} answered otherwise"
            f" (first: {warm_up.first_error})"
        )
    if warm_errors:
        print(
            "  (the warm-up starts up to 8 cold containers at once in this one process, against the moto server;"
            " a storage call\n   that times out there is answered 503 with Retry-After, as on AWS)"
        )
