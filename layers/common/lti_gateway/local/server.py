"""The local gateway: template.yaml's HTTP API and Function URLs served on 127.0.0.1.

Each request becomes the payload format 2.0 event API Gateway would send, routed the way API Gateway
selects routes, and is handed to the function's ``lambda_handler``. Like Lambda, a function runs in
"containers": a container is one import of its ``app.py`` and serves one request at a time; parallel
requests get more containers (cold starts), so module-level state (the resolver's current event) is
never shared between two requests in flight.

HTTP is served by waitress (a maintained WSGI server: request parsing, keep-alive, chunked bodies, a
1024-connection listen backlog), never hand-parsed here. The access log (stderr, unless ``quiet``)
names each request without anything that could be a credential (:func:`redacted_target`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import json
import os
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from waitress import wasyncore
from waitress.server import create_server

from lti_gateway.local import persistence
from lti_gateway.local import template as tpl
from lti_gateway.local.demo_app import DEMO_APP_PATH, DEMO_POST_PATHS, demo_app_get, demo_app_post
from lti_gateway.local.events import InvalidResponse, LambdaContext, http_api_event, http_response, split_target
from lti_gateway.local.stack import LocalStack, start_stack
from lti_gateway.local.test_lms import LMS_PATH, LocalLms, Target

MAX_BODY = 10 * 1024 * 1024  # HTTP APIs accept 10 MB payloads
MAX_CONTAINERS = 16  # per function; further parallel requests wait for a free one
DEFAULT_PARAMETERS = {"Stage": "local"}
_COLD_START = threading.Lock()


def default_template() -> Path:
    """``./template.yaml``, else the repository's (this file is layers/common/lti_gateway/local/)."""
    cwd = Path.cwd() / "template.yaml"
    return cwd if cwd.exists() else Path(__file__).resolve().parents[4] / "template.yaml"


_LOG = threading.Lock()


def log(message: str) -> None:
    """One line on stderr (whole lines: requests in parallel never interleave)."""
    with _LOG:
        sys.stderr.write(f"[lti-gateway] {message}\n")
        sys.stderr.flush()


def reset_caches() -> None:
    """Forget every per-container client, setting and repository (they read the env we just set)."""
    from lti_gateway.core import runtime

    runtime.reset()


# ------------------------------------------------------------------------------------- functions


class LocalFunction:
    """One template function: a pool of warm "containers" (separate imports of its handler module)."""

    def __init__(self, spec: tpl.FunctionSpec, region: str):
        self.spec = spec
        self.region = region
        self._idle: list[Callable[..., Any]] = []
        self._count = 0
        self._available = threading.Condition()

    def _cold_start(self, index: int) -> Callable[..., Any]:
        spec = self.spec
        if not spec.module_file.exists():
            raise FileNotFoundError(f"{spec.logical_id}: {spec.module_file} does not exist")
        name = spec.module_name if index == 0 else f"{spec.module_name}_{index}"
        module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
        assert module_spec is not None and module_spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(module_spec)
        with _COLD_START:  # one at a time: sys.path is shared
            sys.modules[name] = module
            sys.path.insert(0, str(spec.code_dir))  # the task root, for sibling imports at import time
            try:
                module_spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            finally:
                sys.path.remove(str(spec.code_dir))
        return getattr(module, spec.attribute)

    def _acquire(self) -> Callable[..., Any]:
        """A warm container's handler, or a cold start when every container is busy."""
        with self._available:
            while not self._idle and self._count >= MAX_CONTAINERS:
                self._available.wait()
            if self._idle:
                return self._idle.pop()
            index = self._count
            self._count += 1
        try:
            return self._cold_start(index)
        except BaseException:
            with self._available:
                self._count -= 1
                self._available.notify()
            raise

    def invoke(self, event: dict[str, Any]) -> Any:
        handler = self._acquire()
        try:
            spec = self.spec
            context = LambdaContext(
                spec.logical_id, memory_mb=spec.memory_mb, timeout_s=spec.timeout_s, region=self.region
            )
            return handler(event, context)
        finally:
            with self._available:
                self._idle.append(handler)
                self._available.notify()


# ------------------------------------------------------------------------------------------- HTTP
#
# HTTP itself is waitress's (request parsing, keep-alive, chunked bodies, the listen backlog, its own 400
# for a malformed request such as two different Content-Lengths, 413 past MAX_BODY): _App is a WSGI app
# that only turns a parsed request into the function's event and its answer back into a response.

# Methods no HTTP API route serves and that only ever help an attacker (cross-site tracing, tunnelling):
# 405 before routing. Any other method is routed as API Gateway does (no such route: 404).
REFUSED_METHODS = frozenset({"TRACE", "CONNECT"})
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
SERVER_THREADS = 2 * MAX_CONTAINERS  # requests in flight; more wait in waitress's queue, never refused
LISTEN_BACKLOG = 1024  # connections the kernel holds before accept(): a burst is queued, not reset
CONNECTION_LIMIT = 1000  # open connections before waitress stops accepting (they wait in the backlog)

# The access log names a request without anything that could be a credential: the route's template
# with only these parameters' values filled in (ids, never tokens: /lti/register/{token} stays as is),
# query parameter names without their values (?ltik=[redacted]); headers are never logged.
REDACTED = "[redacted]"
LOGGED_PARAMETERS = frozenset(
    {"class_id", "unit_id", "org_id", "platform_id", "binding_id", "credential_id", "key", "lts_version"}
)
# A longer id, segment or name is logged as [redacted] too: every token the gateway issues is longer
# (registration URL tokens 43 characters, API keys 63, ltiks and state far more); its ids are shorter.
_MAX_LOGGED = 32
_PLAIN = re.compile(r"[A-Za-z0-9._~%@:+-]*")


def _loggable(text: str) -> str:
    """``text`` if it is short and plain, else ``[redacted]`` (also what is not printable ASCII)."""
    return text if len(text) <= _MAX_LOGGED and _PLAIN.fullmatch(text) else REDACTED


def redacted_target(raw_path: str, raw_query: str, route_path: str | None, params: dict[str, str] | None) -> str:
    """The request target as the access log shows it.

    A routed request: the route's path template (``/lti/register/{token}``, ``/api/lineitems/{id+}``)
    with only :data:`LOGGED_PARAMETERS` replaced by their (short, plain) values. Anything else (no
    route, a Function URL): each path segment kept only if short and plain. The query: names only, every
    value ``[redacted]``.
    """
    if route_path and route_path != "$default":
        path = route_path
        for name, value in (params or {}).items():
            if name in LOGGED_PARAMETERS:
                path = path.replace("{" + name + "}", _loggable(value))
    else:
        path = "/".join(_loggable(segment) for segment in raw_path.split("/")) or "/"
    if not raw_query:
        return path
    names = [
        _loggable(pair.partition("=")[0]) + ("=" + REDACTED if "=" in pair else "") for pair in raw_query.split("&")
    ]
    return f"{path}?{'&'.join(names)}"


def _json(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    return status, headers, json.dumps(body).encode()


def _request_target(environ: dict[str, Any]) -> str:
    """The request target exactly as sent (percent-encoding kept: ``rawPath``), origin-form."""
    target = environ.get("REQUEST_URI") or "/"
    if not target.startswith("/"):  # absolute-form (a proxy request): its path and query only
        parts = urlsplit(target)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


def _request_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers as (lower-case name, value); repeats arrive joined by waitress."""
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").lower(), value))
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((key.replace("_", "-").lower(), value))
    return headers


class _App:
    """The WSGI application of one listener: the HTTP API (``function_url_of`` None) or a Function URL."""

    def __init__(self, gateway: LocalGateway, function_url_of: str | None = None):
        self.gateway = gateway
        self.function_url_of = function_url_of

    def _answer(
        self, environ: dict[str, Any], method: str, target: str, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes, str | None, str]:
        """``(status, headers, body, function id, target as logged)``."""
        gateway = self.gateway
        raw_path, raw_query = split_target(target)
        if method in REFUSED_METHODS:
            answer = _json(405, {"error": "method_not_allowed", "details": f"{method} is not served"})
            return (
                answer[0],
                [*answer[1], ("Allow", ALLOWED_METHODS)],
                answer[2],
                None,
                redacted_target(raw_path, raw_query, None, None),
            )
        function_id, route_key, params, route_path = self.function_url_of, "$default", None, None
        if function_id is None:
            local = self._local_page(environ, method, raw_path, raw_query, target)
            if local is not None:
                return (*local, None, redacted_target(raw_path, raw_query, None, None))
            matched = gateway.router.match(method, raw_path)
            if matched is None:
                logged = redacted_target(raw_path, raw_query, None, None)
                answer = _json(404, {"error": "not_found", "details": f"no route for {method} {raw_path}"})
                return (*answer, None, logged)
            route, params = matched
            function_id, route_key, route_path = route.function_id, route.route_key, route.path
        logged = redacted_target(raw_path, raw_query, route_path, params)
        body = environ["wsgi.input"].read()  # waitress read it whole (de-chunked, at most MAX_BODY)
        event = http_api_event(
            method=method,
            target=target,
            headers=_request_headers(environ),
            body=body,
            route_key=route_key,
            path_parameters=params,
            source_ip=environ.get("REMOTE_ADDR") or "127.0.0.1",
            protocol=environ.get("SERVER_PROTOCOL") or "HTTP/1.1",
            api_id=gateway.api_id if self.function_url_of is None else function_id.lower(),
            request_id=request_id,
        )
        return (*gateway.invoke(function_id, event, request_id), function_id, logged)

    def _local_page(
        self, environ: dict[str, Any], method: str, raw_path: str, raw_query: str, target: str
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The local-only pages (never deployed): the demo app and the test LMS; None for anything else.

        The test LMS and the demo app's forms answer loopback clients only (the gateway itself calls the
        test LMS's services from this machine).
        """
        gateway = self.gateway
        if raw_path == DEMO_APP_PATH and method in ("GET", "HEAD"):
            return demo_app_get(target, base_url=gateway.base_url, api_key=gateway.api_key)
        is_lms = raw_path == LMS_PATH or raw_path.startswith(LMS_PATH + "/")
        is_demo_post = raw_path in DEMO_POST_PATHS
        if not is_lms and not is_demo_post:
            return None
        if not _loopback(environ.get("REMOTE_ADDR")):
            return _json(403, {"error": "loopback_only", "details": "the test LMS and demo app answer 127.0.0.1 only"})
        if is_demo_post and method != "POST":
            status, headers, payload = _json(405, {"error": "method_not_allowed", "details": "POST only"})
            return status, [*headers, ("Allow", "POST")], payload
        body = environ["wsgi.input"].read()
        headers = dict(_request_headers(environ))
        if is_demo_post:
            return demo_app_post(raw_path, headers, body, base_url=gateway.base_url, api_key=gateway.api_key)
        if gateway.lms is None:
            return _json(404, {"error": "not_found", "details": "no test LMS: the gateway was started with --no-seed"})
        return gateway.lms.handle(method, raw_path, raw_query, headers, body)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        method = environ["REQUEST_METHOD"]
        target = _request_target(environ)
        try:
            status, headers, payload, function_id, logged = self._answer(environ, method, target, request_id)
        except Exception:  # never waitress's own error path: it would log the path (a token, maybe)
            log(f"local gateway error (correlation_id={request_id}):\n{traceback.format_exc()}")
            status, headers, payload = _json(
                500, {"error": "local_gateway_error", "details": {"correlation_id": request_id}}
            )
            function_id, logged = None, REDACTED
        out = [(n, v) for n, v in headers if n.lower() not in _HOP_BY_HOP]
        out += [("Content-Length", str(len(payload))), ("apigw-requestid", request_id)]
        start_response(f"{status} {_reason(status)}", out)
        if not self.gateway.quiet:
            elapsed = (time.monotonic() - started) * 1000
            client = environ.get("REMOTE_ADDR", "-")
            log(f'{client} "{method} {logged}" {status} {elapsed:.0f}ms {function_id or "-"}')
        return [] if method == "HEAD" else [payload]


# Hop-by-hop headers are the server's to send (waitress: Connection, Transfer-Encoding, ...).
_HOP_BY_HOP = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authenticate",
        "proxy-authorization",
    }
)


def _loopback(address: str | None) -> bool:
    try:
        return ipaddress.ip_address((address or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Server:
    """One waitress listener (bound at once: the port is known before anything is served)."""

    def __init__(self, address: tuple[str, int], gateway: LocalGateway, function_url_of: str | None = None):
        self.function_url_of = function_url_of  # None: the HTTP API; else the function behind this URL
        self._server = create_server(
            _App(gateway, function_url_of),
            host=address[0],
            port=address[1],
            threads=SERVER_THREADS,
            backlog=LISTEN_BACKLOG,
            connection_limit=CONNECTION_LIMIT,
            max_request_body_size=MAX_BODY,
            clear_untrusted_proxy_headers=False,  # X-Forwarded-* reach the event as API Gateway passes them
            ident="lti-gateway-local",
            expose_tracebacks=False,
            asyncore_use_poll=True,
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.effective_host, self._server.effective_port
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name=f"lti-gateway {self.base_url}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every socket from the server's own loop thread (its trigger), so its loop ends cleanly."""
        server = self._server
        server.task_dispatcher.shutdown(timeout=5)
        if self._thread is not None and self._thread.is_alive():
            server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
            self._thread.join(timeout=5)
        else:
            wasyncore.close_all(server._map)
        self._thread = None


# ---------------------------------------------------------------------------------------- gateway


@dataclass
class Organisation:
    org_id: str
    credential_id: str
    api_key: str
    name: str = ""


# What `stack` shows of the demo organisation, as the seeding made it (and the saved state keeps it).
_DEMO_SHOWN = (
    "org_name",
    "org_id",
    "credential_id",
    "api_key",
    "consumer_key",
    "consumer_secret",
    "registration_url",
    "test_lms_platform_id",
)


class LocalGateway:
    """template.yaml on 127.0.0.1: ``LocalGateway(port=0).start()`` returns the base URL.

    ``stack`` is the dev-stack dict (what ``make run`` prints and writes to ``.local/dev-stack.json``).
    ``start()`` sets ``os.environ`` (fake credentials, endpoints, the template's Lambda environment);
    callers that share the process with other code restore it themselves after ``stop()``.
    """

    api_id = "local"

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        template: str | Path | None = None,
        parameters: dict[str, str] | None = None,
        seed: bool = True,
        quiet: bool = False,
        state_dir: str | Path | None = None,
        fresh: bool = False,
        aws_in_process: bool = True,
    ):
        """``state_dir``: keep the state there across restarts (``persistence``; None: start empty and
        keep nothing, as tests do); ``fresh``: start empty even if a state is saved there (and replace it).

        ``aws_in_process``: this process's own DynamoDB and KMS calls to the embedded moto are answered by
        calling moto directly, unsigned (``moto_serial.InProcess``: no socket, no HTTP, no SigV4; the
        default, several times cheaper per call). False: every call goes over loopback HTTP to the moto
        server, signed, as other processes' calls do (a benchmark that compares against bare HTTP calls
        needs that). No effect when DynamoDB and KMS are external endpoints."""
        self.host = host
        self.port = port
        self.template_path = Path(template) if template else default_template()
        self.parameters = {**DEFAULT_PARAMETERS, **(parameters or {})}
        self.seed = seed
        self.quiet = quiet
        self.stack: dict[str, Any] = {}
        self.router = tpl.Router([])
        self._functions: dict[str, LocalFunction] = {}
        self._servers: list[_Server] = []
        self._aws: LocalStack | None = None
        self.lms: LocalLms | None = None  # the test LMS at /_lms/ (set by the seeding)
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.fresh = fresh
        self.aws_in_process = aws_in_process
        self.restored = False  # started from a saved state
        self._demo: dict[str, Any] | None = None  # what the seeding made (kept in the state)
        self._saver: persistence.Saver | None = None

    # The fixture's and the CLI's view of the seeded demo organisation.
    base_url = property(lambda self: self.stack.get("base_url"))
    org_id = property(lambda self: self.stack.get("org_id"))
    api_key = property(lambda self: self.stack.get("api_key"))
    consumer_key = property(lambda self: self.stack.get("consumer_key"))
    consumer_secret = property(lambda self: self.stack.get("consumer_secret"))

    def start(self) -> str:
        template = tpl.load_template(self.template_path)
        specs = tpl.functions(template)
        self.router = tpl.Router(tpl.routes(template))
        unknown = set(self.parameters) - set(template.get("Parameters") or {})
        if unknown:
            raise tpl.TemplateError(f"unknown template parameters: {', '.join(sorted(unknown))}")
        parameters = {name: str(p.get("Default", "")) for name, p in (template.get("Parameters") or {}).items()}
        parameters.update(self.parameters)
        saved = None
        if self.state_dir is not None and not self.fresh:
            saved = persistence.read(self.state_dir)  # StateError: the caller says what to do
        try:
            # Bind first: PUBLIC_BASE_URL and the Outputs need the real ports.
            api = _Server((self.host, self.port), self)
            self._servers.append(api)
            function_urls = {}
            for i, spec in enumerate(s for s in specs.values() if s.function_url):
                port = self.port + 1 + i if self.port else 0
                server = _Server((self.host, port), self, function_url_of=spec.logical_id)
                self._servers.append(server)
                function_urls[spec.logical_id] = server.base_url + "/"
            self._aws = start_stack(
                template, saved=saved if saved is not None else None, in_process=self.aws_in_process
            )
            self.restored = self._aws.restored_items is not None
            if saved is not None and not self.restored:
                log(f"warning: {self.state_dir} is not used: DynamoDB or KMS is not the embedded moto")
            local = self._aws.resources(template, parameters)
            for api_name in tpl.resources(template, "AWS::Serverless::HttpApi"):
                local.attributes[f"{api_name}.ApiEndpoint"] = api.base_url
            for logical_id, url in function_urls.items():
                local.attributes[f"{logical_id}Url.FunctionUrl"] = url
            environment = self._set_environment(specs, local, api.base_url)
            self._functions = {fid: LocalFunction(spec, self._aws.region) for fid, spec in specs.items()}
            for spec in specs.values():
                if not spec.module_file.exists():
                    log(f"warning: {spec.logical_id}: {spec.module_file} does not exist yet (its routes answer 502)")
            self.stack = {
                "base_url": api.base_url,
                "region": self._aws.region,
                "stage": parameters.get("Stage"),
                "dynamodb_endpoint_url": self._aws.dynamodb_endpoint_url,
                "kms_endpoint_url": self._aws.kms_endpoint_url,
                "tables": dict(self._aws.tables),
                "kms_key_id": next((k["KeyId"] for k in self._aws.kms_keys.values()), None),
                "function_urls": function_urls,
                "environment": environment,  # the functions' resolved environment (no secrets)
                # Every URL output of template.yaml, localised: add an Output there and it shows up here.
                "urls": {
                    name: value
                    for name, value in tpl.outputs(template, local, api.base_url, warn=log).items()
                    if value.startswith("http")
                },
            }
            for server in self._servers:
                server.start()
            demo = (saved or {}).get("demo") if self.restored else None
            if self.seed and demo:
                self._restore_demo(demo)
            elif self.seed:
                self._seed()
            else:
                self._demo = demo
            if self.state_dir is not None and self._aws.persistent:
                self._saver = persistence.Saver(self.state_dir, self._state, log=log)
                if not self.restored:
                    self._saver.save(force=True)  # a fresh start replaces any earlier state at once
                self._saver.start()
        except BaseException:
            self.stop()
            raise
        return api.base_url

    def _set_environment(
        self, specs: dict[str, tpl.FunctionSpec], local: tpl.LocalResources, base_url: str
    ) -> dict[str, str]:
        """One process hosts every function: their environments are merged (a conflict is reported)."""
        merged: dict[str, str] = {}
        for spec in specs.values():
            for name, value in tpl.function_environment(spec, local).items():
                if merged.get(name, value) != value:
                    log(f"warning: {name} differs between functions; the local gateway uses {value!r}")
                merged[name] = value
        merged["PUBLIC_BASE_URL"] = base_url
        # The demo app (served below at /_demo/app) is where seeded launches are handed over: the seeding
        # allows its origin for the demo organisation (as an owner setting an app launch URL does). An
        # AllowedAppOrigins given here is the operator's restriction on top; it lets the demo app through.
        origins = [o for o in merged.get("ALLOWED_APP_ORIGINS", "").split(",") if o.strip()]
        if origins:
            merged["ALLOWED_APP_ORIGINS"] = ",".join([*origins, base_url])
        # LTI 1.3 test platforms run on loopback over http (their JWKS, auth and token endpoints). An
        # ALLOW_INSECURE_PLATFORM_URLS in our own environment wins: false gives the deployed stack's rules.
        explicit = os.environ.get("ALLOW_INSECURE_PLATFORM_URLS", "").strip()
        merged["ALLOW_INSECURE_PLATFORM_URLS"] = explicit or merged.get("ALLOW_INSECURE_PLATFORM_URLS", "true")
        os.environ.update(merged)
        reset_caches()
        return merged

    def _seed(self) -> None:
        from lti_gateway.admin import classes, orgs

        org = self.create_organisation("Demo University")
        key = self.create_consumer_key(org.org_id, label="Demo LMS")
        owner = orgs.Principal(org.org_id, org.credential_id, "owner")
        base = self.stack["base_url"]
        demo_app = f"{base}{DEMO_APP_PATH}"
        orgs.update_settings(owner, {"app_launch_url": demo_app})
        demo_class = classes.create_class(
            owner,
            {
                "name": "Demo Class",
                "class_lms_url": "https://lms.example.edu/courses/101",
                "class_lms_url_confirmed": True,  # an owner vouches for it: no launch came from there yet
            },
            base=base,
        )
        units = [
            classes.create_unit(owner, demo_class["class_id"], {"name": name}, base=base)
            for name in ("Unit 1: Getting started", "Unit 2: Practice")
        ]
        # A dynamic-registration URL for LTI 1.3 platforms (reusable while the local gateway runs).
        from lti_gateway.lti13 import dynamic_registration

        registration = dynamic_registration.create_registration_url(owner, {"reusable": True}, base=base)
        # The test LMS at /_lms/, registered as an LTI 1.3 platform of the organisation as an owner would
        # (POST /api/platforms' own domain function), so a 1.3 launch from it works with no setup.
        from lti_gateway.core.config import settings
        from lti_gateway.lti13 import platforms

        self._demo = {
            "org_name": org.name,
            "org_id": org.org_id,
            "credential_id": org.credential_id,
            "api_key": org.api_key,
            "consumer_key": key["key"],
            "consumer_secret": key["secret"],
            "class_id": demo_class["class_id"],
            "unit_ids": [u["unit_id"] for u in units],
            "registration_url": registration["registration_url"],
            "test_lms_platform_id": None,
            "base_url": base,
        }
        self.lms = self._demo_lms(owner)
        if settings().allow_insecure_platform_urls:
            self.lms.platform_id = platforms.create_platform(owner, self.lms.registration_body())["id"]
            self._demo["test_lms_platform_id"] = self.lms.platform_id
        else:  # the deployed stack's rules: an http platform on loopback is refused, as it should be
            log("ALLOW_INSECURE_PLATFORM_URLS=false: the test LMS launches with LTI 1.1 only")
        self._publish_demo(owner, demo_class, units)

    def _demo_lms(self, owner: Any) -> LocalLms:
        """The test LMS at /_lms/, launching into the demo organisation (``_demo``) with its consumer key."""
        assert self._demo is not None
        demo, base = self._demo, self.stack["base_url"]
        return LocalLms(
            base_url=base,
            org_id=demo["org_id"],
            org_name=demo["org_name"],
            consumer_key=demo["consumer_key"],
            consumer_secret=demo["consumer_secret"],
            list_targets=lambda: _targets(owner, base),
        )

    def _publish_demo(self, owner: Any, demo_class: dict[str, Any], units: list[dict[str, Any]]) -> None:
        """The demo organisation (``_demo``) in ``stack``, what `make run` prints and dev-stack.json keeps,
        with a new one-time console link."""
        assert self._demo is not None
        demo, base = self._demo, self.stack["base_url"]
        console = self.console_sign_in_link(owner)
        self.stack.update(
            {
                **{name: demo[name] for name in _DEMO_SHOWN},
                "app_launch_url": f"{base}{DEMO_APP_PATH}",
                "class_id": demo_class["class_id"],
                "class_launch_url": demo_class["launch_url"],
                "units": [{"unit_id": u["unit_id"], "name": u["name"], "launch_url": u["launch_url"]} for u in units],
                "test_lms_url": f"{base}{LMS_PATH}/",
                "console_url": console["url"],
                "console_url_expires_at": console["expires_at"],
            }
        )

    def _restore_demo(self, demo: dict[str, Any]) -> None:
        """The demo organisation of the saved state, as the seeding left it (nothing created again): the
        test LMS is set up for it, and if the gateway now listens elsewhere (another port), the demo
        app launch URL and the test LMS's platform are pointed at the new address."""
        from lti_gateway.admin import classes, orgs
        from lti_gateway.core.errors import GatewayError
        from lti_gateway.lti13 import platforms

        base = self.stack["base_url"]
        owner = orgs.Principal(demo["org_id"], demo["credential_id"], "owner")
        demo_app = f"{base}{DEMO_APP_PATH}"
        self._demo = demo = {"test_lms_platform_id": None, **demo}
        self.lms = self._demo_lms(owner)
        self.lms.platform_id = demo["test_lms_platform_id"]
        registration = str(demo.get("registration_url") or "")
        old_base = str(demo.get("base_url") or base)
        if old_base != base:
            log(f"the gateway moved from {old_base} to {base}: pointing the demo organisation at it")
            try:
                orgs.update_settings(owner, {"app_launch_url": demo_app})
                if self.lms.platform_id:
                    platforms.update_platform(owner, self.lms.platform_id, self.lms.registration_body())
            except Exception as exc:  # the owner may have changed or deleted them: theirs now
                log(f"warning: the demo organisation was not updated ({exc}); `make run FRESH=1` starts anew")
            if registration.startswith(old_base):
                registration = base + registration[len(old_base) :]
        self._demo = {**demo, "base_url": base, "registration_url": registration}
        units = []
        try:
            demo_class = classes.get_class(owner, demo["class_id"], base=base)
            for unit_id in demo.get("unit_ids", []):
                with contextlib.suppress(GatewayError):  # deleted by its owner since
                    units.append(classes.get_unit(owner, demo["class_id"], unit_id, base=base))
        except GatewayError:
            demo_class = {"class_id": demo["class_id"], "launch_url": None}
        self._publish_demo(owner, demo_class, units)

    def _state(self) -> dict[str, Any]:
        """What :class:`persistence.Saver` writes: the tables, the KMS keys, the demo organisation."""
        assert self._aws is not None
        return {**persistence.snapshot(self._aws.tables, self._aws.kms_keys, self._aws.region), "demo": self._demo}

    def save_state(self) -> bool:
        """Write the state now if anything changed (True if written); False without a state dir."""
        return self._saver.save() if self._saver is not None else False

    def console_sign_in_link(self, principal: Any) -> dict[str, Any]:
        """A one-time console sign-in link (5 minutes) for ``principal``: ``{"url", "expires_at"}``."""
        from lti_gateway.admin.console_sessions import create_sign_in_link

        return create_sign_in_link(principal, base=self.stack["base_url"])

    def owner_principal(self) -> Any:
        """The demo organisation's owner (the credential of its owner API key)."""
        from lti_gateway.admin import orgs

        return orgs.Principal(self.stack["org_id"], self.stack["credential_id"], "owner")

    def create_organisation(self, name: str) -> Organisation:
        """A new organisation and its owner API key, straight through the domain API."""
        from lti_gateway.admin import orgs

        created = orgs.create_organisation(name)
        return Organisation(created.org_id, created.credential_id, created.api_key, getattr(created, "name", name))

    def create_consumer_key(self, org_id: str, *, label: str | None = None) -> dict[str, Any]:
        """A new LTI 1.1 consumer key of ``org_id``: ``{"key", "secret", "label", ...}``."""
        from lti_gateway.lti11 import consumer_keys

        return consumer_keys.create_consumer_key(org_id, label=label)

    def invoke(
        self, function_id: str, event: dict[str, Any], request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Run one function on one event; a crash or a malformed answer is a 502 with a correlation id."""
        try:
            return http_response(self._functions[function_id].invoke(event))
        except InvalidResponse as exc:
            log(f"{function_id} returned an invalid response (correlation_id={request_id}): {exc}")
            return _json(502, {"error": "invalid_handler_response", "details": {"correlation_id": request_id}})
        except Exception:
            log(f"{function_id} crashed (correlation_id={request_id}):\n{traceback.format_exc()}")
            return _json(502, {"error": "handler_crashed", "details": {"correlation_id": request_id}})

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers = []
        if self._saver is not None:
            saver, self._saver = self._saver, None
            try:
                saver.stop()  # the last changes
            except Exception as exc:
                log(f"could not save the local state: {exc}")
        if self._aws is not None:
            self._aws.stop()
            self._aws = None


def _targets(owner: Any, base: str) -> list[Target]:
    """The organisation's classes and units (the first 100 of each), through the domain, as the LMS lists them."""
    from lti_gateway.admin import classes

    found: list[Target] = []
    for item in classes.list_classes(owner, limit=100, token=None, base=base)["classes"]:
        found.append(Target(item["class_id"], item["class_id"], item["name"], None, None, item["launch_url"]))
        units = classes.list_units(owner, item["class_id"], limit=100, token=None, base=base)["units"]
        found += [
            Target(
                f"{item['class_id']}/{u['unit_id']}",
                item["class_id"],
                item["name"],
                u["unit_id"],
                u["name"],
                u["launch_url"],
            )
            for u in units
        ]
    return found
