"""End-to-end launches over HTTP on loopback, against the same DynamoDB and KMS calls made bare.

``LocalGateway(port=0)`` (``make run``'s gateway: waitress, template.yaml's routes, each function in warm
"containers", DynamoDB and KMS on a moto server, the stack's default LogLevel INFO) on 127.0.0.1. A
client with one keep-alive connection sends, one after the other:

* **LTI 1.1 launches**: ``POST /lti/launch/{class_id}``, Canvas-shaped, HMAC-SHA1, each signed by the
  LMS peer (tests/peers/oauth1_signer.py, as benchmarks/load.py does) with its own nonce; 302 + ltik.
* **LTI 1.3 launches**: an independent platform on loopback (tests/peers/lti13_platform.py,
  ``lti1p3platform`` from PyPI, registered through ``POST /api/platforms``) starts the login;
  ``GET /lti/orgs/{org_id}/login`` (timed) answers 302 to the platform, whose ``/auth`` builds and
  signs the id_token (not timed: the platform's work); ``POST /lti/orgs/{org_id}/launch`` with the
  form and the login's cookie (timed) answers 302 + ltik. "Ours" is the two gateway requests.

The baseline, in the same run: every DynamoDB and KMS call one launch made is recorded (what botocore
was about to send: ``BaseClient._convert_to_request_dict``, so the resource layer's Python values are
already DynamoDB JSON) and, right after that launch, the same calls are made bare — one low-level
boto3 client per service, the same botocore config, against the same moto server — on copies of the
tables taken before the measured launches (the copies see the same writes in the same order, so every
conditional write of the replay succeeds as the launch's did). For LTI 1.3 the replay idles between the
login's calls and the launch's as long as the launch did (the platform's /auth; a call after an idle gap
costs more than one right after another, on both sides; sleeping costs no CPU and is not timed).
Launch and replay alternate, so a slow
patch of the machine hits both. Both sides make their calls over loopback HTTP to moto
(``LocalGateway(aws_in_process=False)``).
The ratio ``ours / bare`` is our overhead: HTTP parsing, routing, the handler's CPU (signature or
id_token checks, building the answer), logging, metrics and the boto3 resource layer — target ≤ 1.3x.
The figure is the ratio of the medians of the process's CPU time per launch (every thread: client,
server, handler, moto; nothing else runs meanwhile), which is what the launch costs and what a busy
machine leaves alone; the ratio of the wall-time medians is printed beside it (on this 2-CPU machine
at load 5-8 it moved between 1.20x and 1.42x for LTI 1.1 over four runs, the CPU ratio between 1.19x
and 1.24x).

Also printed: the handler's own duration (inside the local "Lambda", moto calls included), the
DynamoDB capacity units the recorded calls consume by DynamoDB's rules (item sizes, consistent or
not), the bytes our log and metric lines take per launch — what docs/performance.md's "Cost on paper"
is computed from — and, in full mode, LTI 1.1 launches from 4 concurrent clients against the same
calls replayed by 4 threads. Everything shares one Python process and its GIL: ratios, not absolute
figures, are what carry over to Lambda.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import logging
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

import botocore.client
from botocore import xform_name

from benchmarks.timing import Report, fmt_time, heading, ratio_row

TARGET = 1.3
FORM = "application/x-www-form-urlencoded"
CONCURRENCY = 4
BARE_SUFFIX = "-bare"


# -- recording the calls a launch makes ----------------------------------------------------------------


class Recorder:
    """Every AWS call any client is about to send while ``on``: (service, operation, wire params), and
    the seconds spent in those calls as our code makes them (``_make_api_call``: the boto3 resource
    layer's serialisation of Python values and of its answers included)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.call_seconds = 0.0
        self.per_call: list[float] = []  # seconds of each recorded call, in order
        self.on = False
        self._original = botocore.client.BaseClient._convert_to_request_dict
        self._original_call = botocore.client.BaseClient._make_api_call

    def install(self) -> None:
        recorder, original, original_call = self, self._original, self._original_call

        def convert(client: Any, api_params: Any, operation_model: Any, *args: Any, **kwargs: Any) -> Any:
            if recorder.on:
                recorder.calls.append((client.meta.service_model.service_name, operation_model.name, api_params))
            return original(client, api_params, operation_model, *args, **kwargs)

        def call(client: Any, operation: str, params: Any) -> Any:
            if not recorder.on:
                return original_call(client, operation, params)
            start = time.perf_counter()
            try:
                return original_call(client, operation, params)
            finally:
                elapsed = time.perf_counter() - start
                recorder.call_seconds += elapsed
                recorder.per_call.append(elapsed)

        botocore.client.BaseClient._convert_to_request_dict = convert  # type: ignore[method-assign]
        botocore.client.BaseClient._make_api_call = call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        botocore.client.BaseClient._convert_to_request_dict = self._original  # type: ignore[method-assign]
        botocore.client.BaseClient._make_api_call = self._original_call  # type: ignore[method-assign]

    @contextlib.contextmanager
    def recording(self) -> Any:
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def take(self) -> list[tuple[str, str, dict[str, Any]]]:
        calls, self.calls = self.calls, []
        return calls

    def take_seconds(self) -> tuple[float, list[float]]:
        seconds, self.call_seconds = self.call_seconds, 0.0
        per_call, self.per_call = self.per_call, []
        return seconds, per_call


def retarget(operation: str, params: dict[str, Any], suffix: str) -> dict[str, Any]:
    """``params`` with every table name given ``suffix`` (the baseline's copies of the tables)."""
    params = dict(params)
    if "TableName" in params:
        params["TableName"] += suffix
    if "RequestItems" in params:
        params["RequestItems"] = {name + suffix: items for name, items in params["RequestItems"].items()}
    if "TransactItems" in params:
        params["TransactItems"] = [
            {kind: {**body, "TableName": body["TableName"] + suffix} for kind, body in item.items()}
            for item in params["TransactItems"]
        ]
    return params


def copy_tables(client: Any, tables: list[str], suffix: str) -> None:
    """Each table, its key schema, indexes and items, as ``<name><suffix>`` (before the measured launches)."""
    for name in tables:
        table = client.describe_table(TableName=name)["Table"]
        create: dict[str, Any] = {
            "TableName": name + suffix,
            "KeySchema": table["KeySchema"],
            "AttributeDefinitions": table["AttributeDefinitions"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        indexes = [
            {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
            for i in table.get("GlobalSecondaryIndexes", [])
        ]
        if indexes:
            create["GlobalSecondaryIndexes"] = indexes
        client.create_table(**create)
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=name):  # a benchmark's copy, not the gateway
            items += page["Items"]
        for start in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            client.batch_write_item(RequestItems={name + suffix: batch})


# -- DynamoDB capacity by DynamoDB's rules (for the cost on paper) ---------------------------------------


def attribute_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in inner)
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def capacity(calls: list[tuple[str, str, dict[str, Any]]], answers: list[Any]) -> list[tuple[str, float, float]]:
    """(operation, read units, write units) of each DynamoDB call of one launch, from the items.

    Reads: 1 unit per 4 KB strongly consistent, half that eventually consistent (a miss costs the
    minimum). Writes: 1 unit per KB of each item written (a batch: of each item); a delete by the
    item's size, taken from the item the same launch (or its login) put, else 1 KB.
    """
    units: list[tuple[str, float, float]] = []
    written: dict[str, int] = {}

    def key_of(key: dict[str, Any]) -> str:
        return repr(sorted(key.items()))

    for (service, operation, params), answer in zip(calls, answers, strict=True):
        if service != "dynamodb":
            continue
        reads = writes = 0.0
        if operation in ("GetItem", "Query"):
            items = [answer["Item"]] if answer.get("Item") else answer.get("Items", [])
            size = sum(item_size(i) for i in items)
            reads = max(1, -(-size // 4096)) * (1 if params.get("ConsistentRead") else 0.5)
        elif operation == "PutItem":
            item = params["Item"]
            written[key_of({k: item[k] for k in ("pk", "sk") if k in item})] = item_size(item)
            writes = max(1, -(-item_size(item) // 1024))
        elif operation == "UpdateItem":
            writes = max(1, -(-(item_size(answer.get("Attributes") or {}) or 1024) // 1024))
        elif operation == "DeleteItem":
            writes = max(1, -(-written.get(key_of(params["Key"]), 1024) // 1024))
        elif operation == "BatchWriteItem":
            for requests_ in params["RequestItems"].values():
                for request in requests_:
                    item = request.get("PutRequest", {}).get("Item") or {}
                    writes += max(1, -(-item_size(item) // 1024))
        units.append((operation, reads, writes))
    return units


# -- the HTTP client ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    ours: float  # seconds of the gateway's requests for one launch
    bare: float  # seconds of the same calls made bare
    calls: list[tuple[str, str]]
    handler: float = 0.0  # seconds inside the handlers (the local "Lambda" durations)
    in_calls: float = 0.0  # seconds of the handlers' AWS calls as our code makes them
    ours_per_call: list[float] = field(default_factory=list)
    bare_per_call: list[float] = field(default_factory=list)
    ours_cpu: float = 0.0  # the process's CPU time (all its threads: client, server, handler, moto) per launch
    bare_cpu: float = 0.0
    units: list[tuple[str, float, float]] = field(default_factory=list)  # per DynamoDB call: (op, read, write)

    @property
    def read_units(self) -> float:
        return sum(r for _, r, _ in self.units)

    @property
    def write_units(self) -> float:
        return sum(w for _, _, w in self.units)


@dataclass
class Result:
    name: str
    samples: list[Sample] = field(default_factory=list)
    log_bytes: int = 0
    errors: list[str] = field(default_factory=list)

    def ours(self) -> list[float]:
        return [s.ours for s in self.samples]

    def bare(self) -> list[float]:
        return [s.bare for s in self.samples]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def send(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> tuple[http.client.HTTPResponse, bytes, float]:
    start = time.perf_counter()
    connection.request(method, target, body=body, headers=headers)
    answer = connection.getresponse()
    content = answer.read()
    return answer, content, time.perf_counter() - start


class Bench:
    """The gateway, a platform, the recorder, the bare clients and the handler-duration probe."""

    def __init__(self, gateway: Any, platform: Any) -> None:
        import boto3

        from lti_gateway.local import server
        from lti_gateway.repositories.aws import _BOTO_CONFIG

        self.gateway, self.platform = gateway, platform
        self.port = urlsplit(gateway.base_url).port
        self.host = f"127.0.0.1:{self.port}"
        self.recorder = Recorder()
        region = gateway.stack["region"]
        self.clients = {
            "dynamodb": boto3.client(
                "dynamodb", endpoint_url=gateway.stack["dynamodb_endpoint_url"], region_name=region, config=_BOTO_CONFIG
            ),
            "kms": boto3.client(
                "kms", endpoint_url=gateway.stack["kms_endpoint_url"], region_name=region, config=_BOTO_CONFIG
            ),
        }
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        self.handler_seconds = 0.0  # summed by the probe below around each function invocation
        self.pause: tuple[int, float] | None = None  # LTI 1.3: (the launch's first call, idle seconds before it)
        self.cpu_seconds = 0.0  # the process's CPU time during the gateway's requests (``timed``)
        original = server.LocalFunction.invoke
        bench = self

        def timed(function: Any, event: dict[str, Any]) -> Any:
            start = time.perf_counter()
            try:
                return original(function, event)
            finally:
                bench.handler_seconds += time.perf_counter() - start

        self._restore_invoke = lambda: setattr(server.LocalFunction, "invoke", original)
        server.LocalFunction.invoke = timed  # type: ignore[method-assign]

    def close(self) -> None:
        self._restore_invoke()
        self.recorder.uninstall()
        self.connection.close()

    # -- bare ----------------------------------------------------------------------------------------------
    def bare_calls(self, calls: list[tuple[str, str, dict[str, Any]]], suffix: str = BARE_SUFFIX) -> list[Any]:
        """Prepared: (bound client method, params) per recorded call, table names given ``suffix``."""
        return [
            (getattr(self.clients[service], xform_name(operation)), retarget(operation, params, suffix))
            for service, operation, params in calls
        ]

    @staticmethod
    def replay(
        prepared: list[Any], per_call: list[float] | None = None, pause: tuple[int, float] | None = None
    ) -> tuple[float, list[Any]]:
        """The calls made bare; seconds spent in them. ``pause`` = (index, seconds): idle that long before
        call ``index``, as the launch did between its two requests (the platform's /auth), untimed and
        costing no CPU: a call after an idle gap is slower than one right after another, on both sides."""
        answers = []
        seconds = 0.0
        for index, (method, params) in enumerate(prepared):
            if pause is not None and index == pause[0] and pause[1] > 0:
                time.sleep(pause[1])
            start = time.perf_counter()
            answers.append(method(**params))
            took = time.perf_counter() - start
            seconds += took
            if per_call is not None:
                per_call.append(took)
        return seconds, answers

    # -- launches ------------------------------------------------------------------------------------------
    def timed(self, *args: Any) -> tuple[http.client.HTTPResponse, bytes, float]:
        """``send`` to the gateway, adding the process's CPU time meanwhile (every thread's) to ``cpu_seconds``."""
        start = time.process_time()
        try:
            return send(*args)
        finally:
            self.cpu_seconds += time.process_time() - start

    def lti11_launch(self, body: bytes, target: str) -> tuple[float, list[tuple[str, str, dict[str, Any]]]]:
        headers = {"Content-Type": FORM, "Host": self.host}
        with self.recorder.recording():
            answer, content, seconds = self.timed(self.connection, "POST", target, headers, body)
        if answer.status != 302 or "ltik=" not in (answer.getheader("Location") or ""):
            raise RuntimeError(f"LTI 1.1 launch answered {answer.status}: {content[:300]!r}")
        return seconds, self.recorder.take()

    def lti13_launch(self, pending: Any) -> tuple[float, list[tuple[str, str, dict[str, Any]]]]:
        login_url = self.platform.login_url(f"{self.gateway.base_url}/lti/orgs/{self.gateway.org_id}/login", pending)
        parts = urlsplit(login_url)
        with self.recorder.recording():
            answer, content, login_seconds = self.timed(
                self.connection, "GET", f"{parts.path}?{parts.query}", {"Host": self.host}
            )
        if answer.status != 302:
            raise RuntimeError(f"LTI 1.3 login answered {answer.status}: {content[:300]!r}")
        login_calls, idle_from = len(self.recorder.calls), time.perf_counter()
        cookie = SimpleCookie()
        for header in answer.headers.get_all("Set-Cookie") or []:
            cookie.load(header)
        # The platform's part (not timed): its /auth validates our authentication request, signs the id_token.
        auth = urlsplit(answer.getheader("Location") or "")
        platform = http.client.HTTPConnection(auth.hostname or "127.0.0.1", auth.port, timeout=30)
        try:
            page_answer, page, _ = send(platform, "GET", f"{auth.path}?{auth.query}", {})
        finally:
            platform.close()
        if page_answer.status != 200:
            raise RuntimeError(f"the platform refused our authentication request: {page[:300]!r}")
        from tests.peers.lti13_platform import AutoSubmitForm

        form = AutoSubmitForm(page.decode())
        headers = {
            "Content-Type": FORM,
            "Host": self.host,
            "Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items()),
        }
        self.pause = (login_calls, time.perf_counter() - idle_from)
        with self.recorder.recording():
            answer, content, launch_seconds = self.timed(
                self.connection, "POST", urlsplit(form.action or "").path, headers, urlencode(form.fields).encode()
            )
        if answer.status != 302 or "ltik=" not in (answer.getheader("Location") or ""):
            raise RuntimeError(f"LTI 1.3 launch answered {answer.status}: {content[:300]!r}")
        return login_seconds + launch_seconds, self.recorder.take()

    def measure(self, name: str, launch: Callable[[], tuple[float, list[Any]]], count: int, log: io.StringIO) -> Result:
        """``count`` launches, each followed by its calls made bare."""
        result = Result(name)
        log.seek(0)
        log.truncate()
        for _ in range(count):
            self.handler_seconds = self.cpu_seconds = 0.0
            self.pause = None
            self.recorder.take_seconds()
            ours, calls = launch()
            handler, (in_calls, ours_per_call) = self.handler_seconds, self.recorder.take_seconds()
            ours_cpu = self.cpu_seconds
            bare_per_call: list[float] = []
            prepared = self.bare_calls(calls)
            start_cpu = time.process_time()
            bare, answers = self.replay(prepared, bare_per_call, self.pause)
            bare_cpu = time.process_time() - start_cpu
            kinds = [(s, o) for s, o, _ in calls]
            sample = Sample(ours, bare, kinds, handler, in_calls, ours_per_call, bare_per_call, ours_cpu, bare_cpu)
            sample.units = capacity(calls, answers)
            result.samples.append(sample)
        result.log_bytes = len(log.getvalue().encode())
        return result


def concurrent(bench: Bench, launches: list[tuple[bytes, str]], groups: list[list[Any]]) -> tuple[Result, float, float]:
    """LTI 1.1 launches from ``CONCURRENCY`` clients, then the recorded calls of as many launches replayed
    by as many threads (on a second copy of the tables); answers (latencies, ours/s, bare/s)."""
    result = Result(f"LTI 1.1 launch, {CONCURRENCY} clients")
    lock = threading.Lock()
    ours: list[float] = []
    bare: list[float] = []

    def ours_worker(items: list[tuple[bytes, str]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=30)
        for body, target in items:
            answer, _, seconds = send(connection, "POST", target, {"Content-Type": FORM, "Host": bench.host}, body)
            with lock:
                ours.append(seconds)
                if answer.status != 302:
                    result.errors.append(f"status {answer.status}")
        connection.close()

    def bare_worker(items: list[list[Any]]) -> None:
        for prepared in items:
            seconds, _ = bench.replay(prepared)
            with lock:
                bare.append(seconds)

    def run(worker: Callable[[Any], None], items: list[Any]) -> float:
        threads = [threading.Thread(target=worker, args=(items[i::CONCURRENCY],)) for i in range(CONCURRENCY)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - start

    ours_wall = run(ours_worker, launches)
    bare_wall = run(bare_worker, groups)
    result.samples = [Sample(o, b, []) for o, b in zip(ours, bare, strict=False)]
    return result, len(ours) / ours_wall, len(bare) / bare_wall


def run(report: Report, *, quick: bool) -> None:
    from lti_gateway.local.server import LocalGateway, reset_caches
    from tests.peers.lti13_platform import Lti13Platform

    count, warm = (8, 3) if quick else (200, 20)
    heading(
        f"End-to-end launches over HTTP (local gateway on loopback, {count} launches per protocol, one client) "
        "vs the same DynamoDB/KMS calls made bare"
    )
    saved = dict(os.environ)
    for name in ("DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL", "AWS_ENDPOINT_URL", "POWERTOOLS_LOG_LEVEL"):
        os.environ.pop(name, None)
    # The stack's default LogLevel (INFO), as deployed. aws_in_process=False: the gateway's DynamoDB and
    # KMS calls go over loopback HTTP to moto, signed, like the bare calls they are compared with (by
    # default the local gateway answers them in-process: no socket, and DynamoDB and KMS are across a
    # network from Lambda).
    gateway = LocalGateway(port=0, quiet=True, aws_in_process=False)
    platform = Lti13Platform(deployment_id="deployment-1", name="benchmark platform")
    log = io.StringIO()
    bench = None
    handlers: list[logging.StreamHandler] = []
    streams: list[Any] = []
    try:
        gateway.start()
        platform.start()
        from lti_gateway.core.observability import logger
        from lti_gateway.lti13 import platforms

        platforms.create_platform(gateway.owner_principal(), platform.registration_body())
        # Our log lines and metrics (EMF on stdout) go to a buffer: counted per launch, kept out of the report.
        handlers = [h for h in logging.getLogger(logger.name).handlers if isinstance(h, logging.StreamHandler)]
        streams = [h.setStream(log) for h in handlers]
        with contextlib.redirect_stdout(log):
            bench = Bench(gateway, platform)
            bench.recorder.install()
            results = _measure(bench, gateway, count=count, warm=warm, quick=quick, log=log)
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)
        if bench is not None:
            bench.close()
        platform.stop()
        gateway.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()
        import boto3

        boto3.DEFAULT_SESSION = None  # made here (endpoints of this run): the next section's session starts afresh
    _print(report, results, quick=quick)


def _measure(bench: Bench, gateway: Any, *, count: int, warm: int, quick: bool, log: io.StringIO) -> dict[str, Any]:
    from benchmarks.load import _launches
    from tests.peers.lti13_platform import LEARNER, Course, PendingLaunch, User

    target = urlsplit(gateway.stack["class_launch_url"]).path
    signed = [(r.body, target) for r in _launches(gateway, warm + count + (0 if quick else count))]
    student, course = User("student-1", (LEARNER,), "Alan Turing", "alan@example.edu"), Course("course-42", "Physics")
    pending = lambda: PendingLaunch(gateway.stack["class_launch_url"], student, course)  # noqa: E731
    for _ in range(warm):  # cold starts, the platform's keys fetched, the LMS context recorded on the class
        bench.lti11_launch(*signed.pop())
        bench.lti13_launch(pending())
    bench.recorder.take()
    tables = list(gateway.stack["tables"].values())
    copy_tables(bench.clients["dynamodb"], tables, BARE_SUFFIX)
    if not quick:
        copy_tables(bench.clients["dynamodb"], tables, BARE_SUFFIX + "2")
    results: dict[str, Any] = {}
    lti11_calls: list[list[Any]] = []

    def lti11() -> tuple[float, list[Any]]:
        seconds, calls = bench.lti11_launch(*signed.pop())
        lti11_calls.append(calls)
        return seconds, calls

    results["lti11"] = bench.measure("LTI 1.1 launch", lti11, count, log)
    results["lti13"] = bench.measure("LTI 1.3 login + launch", lambda: bench.lti13_launch(pending()), count, log)
    if not quick:
        groups = [bench.bare_calls(calls, BARE_SUFFIX + "2") for calls in lti11_calls]
        results["concurrent"] = concurrent(bench, signed[:count], groups)
    return results


def _print(report: Report, results: dict[str, Any], *, quick: bool) -> None:
    print(
        f"  {'':<26}{'launches':>9}{'launches/s':>11}{'p50':>10}{'p99':>10}"
        f"{'bare p50':>10}{'bare p99':>10}{'in handler':>12}"
    )
    for key in ("lti11", "lti13"):
        r: Result = results[key]
        ours, bare = r.ours(), r.bare()
        handler = statistics.median(s.handler for s in r.samples)
        print(
            f"  {r.name:<26}{len(ours):>9}{len(ours) / sum(ours):>11.0f}{fmt_time(percentile(ours, 50)):>10}"
            f"{fmt_time(percentile(ours, 99)):>10}{fmt_time(percentile(bare, 50)):>10}"
            f"{fmt_time(percentile(bare, 99)):>10}{fmt_time(handler):>12}"
        )
    for key in ("lti11", "lti13"):
        r = results[key]
        reads = statistics.median(s.read_units for s in r.samples)
        writes = statistics.median(s.write_units for s in r.samples)
        kms = sum(1 for s in r.samples for service, _ in s.calls if service == "kms")
        usual_sample = Counter(tuple(s.calls) for s in r.samples).most_common(1)[0][0]
        sample = next(s for s in r.samples if tuple(s.calls) == usual_sample)
        kinds = ", ".join(
            f"{operation} {f'{reads:g}R' if reads else f'{writes:g}W'}" for operation, reads, writes in sample.units
        )
        print(f"  {r.name}: DynamoDB calls (capacity units by DynamoDB's rules): {kinds}")
        print(
            f"    per launch (medians): {reads:g} read units, {writes:g} write units,"
            f" {kms / len(r.samples):g} KMS calls; our log and metric lines {r.log_bytes / len(r.samples):,.0f} bytes"
        )
        cpu_ours = statistics.median(s.ours_cpu for s in r.samples)
        cpu_bare = statistics.median(s.bare_cpu for s in r.samples)
        pairs = statistics.median(s.ours / s.bare for s in r.samples)
        print(
            f"    CPU time of the process per launch (every thread; medians): ours {fmt_time(cpu_ours)}, bare "
            f"{fmt_time(cpu_bare)} = {cpu_ours / cpu_bare:.2f}x; per-launch wall ratios: median {pairs:.2f}x"
        )
        own = statistics.median(s.ours - s.bare for s in r.samples)
        print(f"    ours minus bare (our overhead per launch, median of the differences): {fmt_time(own)}; of which")
        http_layer = statistics.median(s.ours - s.handler for s in r.samples)
        outside = statistics.median(s.handler - s.in_calls for s in r.samples)
        layering = statistics.median(s.in_calls - s.bare for s in r.samples)
        print(
            f"    (medians) HTTP server, event and client {fmt_time(http_layer)}; the handler outside its AWS calls "
            f"{fmt_time(outside)}; its AWS calls as our code makes them (boto3 resource layer) minus bare "
            f"{fmt_time(layering)}"
        )
        # The launches that made the most common list of calls (a cache refreshed now and then adds one).
        usual, _ = Counter(tuple(s.calls) for s in r.samples).most_common(1)[0]
        aligned = [s for s in r.samples if tuple(s.calls) == usual and len(s.ours_per_call) == len(s.bare_per_call)]
        others = [s for s in r.samples if tuple(s.calls) != usual]
        if others:
            print(
                f"    {len(others)} of {len(r.samples)} launches made other calls, e.g. "
                f"{', '.join(f'{svc}:{op}' for svc, op in others[0].calls)}"
            )
        if aligned:
            per_call = ", ".join(
                f"{operation} {fmt_time(statistics.median(s.ours_per_call[i] for s in aligned))}"
                f" / {fmt_time(statistics.median(s.bare_per_call[i] for s in aligned))}"
                for i, (_, operation) in enumerate(aligned[-1].calls)
            )
            print(f"    each call as our code makes it / bare (medians): {per_call}")
    if "concurrent" in results:
        r, ours_rate, bare_rate = results["concurrent"]
        ours, bare = r.ours(), r.bare()
        print(
            f"  {r.name}: {ours_rate:.0f} launches/s, p50 {fmt_time(percentile(ours, 50))}, p99 "
            f"{fmt_time(percentile(ours, 99))}; the same calls from {CONCURRENCY} threads: {bare_rate:.0f}/s, p50 "
            f"{fmt_time(percentile(bare, 50))}, p99 {fmt_time(percentile(bare, 99))}; ratio of rates "
            f"{bare_rate / ours_rate:.2f}x (informational){'; errors: ' + str(len(r.errors)) if r.errors else ''}"
        )
        if r.errors:
            report.failures.append(f"launch e2e: {len(r.errors)} concurrent launches failed ({r.errors[0]})")
    for key in ("lti11", "lti13"):
        r = results[key]
        ratio_row(
            report,
            f"{r.name} over HTTP vs its DynamoDB/KMS calls bare",
            statistics.median(s.ours_cpu for s in r.samples),
            statistics.median(s.bare_cpu for s in r.samples),
            TARGET,
            note=f"(CPU time, medians of {len(r.samples)}{', quick' if quick else ''}; wall p50s "
            f"{statistics.median(r.ours()) / statistics.median(r.bare()):.2f}x)",
        )
