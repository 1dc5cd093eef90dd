"""The local gateway: template.yaml's HTTP API and Function URLs served on 127.0.0.1.

Each request becomes the payload format 2.0 event API Gateway would send, routed the way API Gateway
selects routes, and is handed to the function's ``lambda_handler``. Like Lambda, a function runs in
"containers": a container is one import of its ``app.py`` and serves one request at a time; parallel
requests get more containers (cold starts), so module-level state (the resolver's current event) is
never shared between two requests in flight.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from lti_gateway.local import template as tpl
from lti_gateway.local.demo_app import DEMO_APP_PATH, demo_app_page
from lti_gateway.local.events import InvalidResponse, LambdaContext, http_api_event, http_response, split_target
from lti_gateway.local.stack import LocalStack, start_stack

MAX_BODY = 10 * 1024 * 1024  # HTTP APIs accept 10 MB payloads
MAX_CONTAINERS = 16  # per function; further parallel requests wait for a free one
DEFAULT_PARAMETERS = {"Stage": "local"}
_COLD_START = threading.Lock()


def default_template() -> Path:
    """``./template.yaml``, else the repository's (this file is layers/common/lti_gateway/local/)."""
    cwd = Path.cwd() / "template.yaml"
    return cwd if cwd.exists() else Path(__file__).resolve().parents[4] / "template.yaml"


def log(message: str) -> None:
    print(f"[lti-gateway] {message}", file=sys.stderr, flush=True)


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


def _json(status: int, body: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], gateway: LocalGateway, function_url_of: str | None = None):
        super().__init__(address, _Handler)
        self.gateway = gateway
        self.function_url_of = function_url_of  # None: the HTTP API; else the function behind this URL

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away is not news
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "lti-gateway-local"
    # Headers and body go out in separate writes: with Nagle on, a keep-alive client's delayed ACK
    # holds the body back ~40 ms, on every request (measured: 53 ms -> 10 ms for GET /api/keys).
    disable_nagle_algorithm = True

    def _read_body(self) -> bytes | None:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, request_id: str) -> tuple[int, list[tuple[str, str]], bytes, str | None]:
        """``(status, headers, body, function id)`` for the request being handled."""
        gateway = self.server.gateway
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            return (*_json(400, {"error": "bad_request", "details": "malformed chunked body"}), None)
        if body is None:
            self.close_connection = True
            return (*_json(413, {"error": "body_too_large", "details": f"at most {MAX_BODY} bytes"}), None)
        raw_path, _ = split_target(self.path)
        function_id, route_key, params = self.server.function_url_of, "$default", None
        if function_id is None and raw_path == DEMO_APP_PATH and self.command == "GET":
            page = demo_app_page(self.path, base_url=gateway.base_url, api_key=gateway.api_key)
            return 200, [("Content-Type", "text/html; charset=utf-8")], page.encode(), None
        if function_id is None:
            matched = gateway.router.match(self.command, raw_path)
            if matched is None:
                return (*_json(404, {"error": "not_found", "details": f"no route for {self.command} {raw_path}"}), None)
            route, params = matched
            function_id, route_key = route.function_id, route.route_key
        event = http_api_event(
            method=self.command,
            target=self.path,
            headers=self.headers.items(),
            body=body,
            route_key=route_key,
            path_parameters=params,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            api_id=gateway.api_id if self.server.function_url_of is None else function_id.lower(),
            request_id=request_id,
        )
        return (*gateway.invoke(function_id, event, request_id), function_id)

    def _dispatch(self) -> None:
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        status, headers, payload, function_id = self._answer(request_id)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("apigw-requestid", request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        if not self.server.gateway.quiet:
            elapsed = (time.monotonic() - started) * 1000
            path = split_target(self.path)[0]  # the path only: query strings may carry tokens
            log(f'{self.client_address[0]} "{self.command} {path}" {status} {elapsed:.0f}ms {function_id or "-"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # _dispatch logs, without query strings

    def log_error(self, format: str, *args: Any) -> None:
        if not self.server.gateway.quiet:
            log(format % args)


# ---------------------------------------------------------------------------------------- gateway


@dataclass
class Organisation:
    org_id: str
    credential_id: str
    api_key: str
    name: str = ""


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
    ):
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
        self._serving: list[tuple[_Server, threading.Thread]] = []
        self._aws: LocalStack | None = None

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
            self._aws = start_stack(template)
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
                thread = threading.Thread(
                    target=server.serve_forever, args=(0.1,), name=f"lti-gateway {server.base_url}", daemon=True
                )
                thread.start()
                self._serving.append((server, thread))
            if self.seed:
                self._seed()
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
        # The demo app (served below at /_demo/app) is where seeded launches are handed over.
        origins = [o for o in merged.get("ALLOWED_APP_ORIGINS", "").split(",") if o.strip()]
        merged["ALLOWED_APP_ORIGINS"] = ",".join([*origins, base_url])
        # LTI 1.3 test platforms run on loopback over http (their JWKS, auth and token endpoints).
        merged.setdefault("ALLOW_INSECURE_PLATFORM_URLS", "true")
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
            owner, {"name": "Demo Class", "class_lms_url": "https://lms.example.edu/courses/101"}, base=base
        )
        units = [
            classes.create_unit(owner, demo_class["class_id"], {"name": name}, base=base)
            for name in ("Unit 1: Getting started", "Unit 2: Practice")
        ]
        # A dynamic-registration URL for LTI 1.3 platforms (reusable while the local gateway runs).
        from lti_gateway.lti13 import dynamic_registration

        registration = dynamic_registration.create_registration_url(owner, {"reusable": True}, base=base)
        self.stack.update(
            {
                "org_name": org.name,
                "org_id": org.org_id,
                "credential_id": org.credential_id,
                "api_key": org.api_key,
                "consumer_key": key["key"],
                "consumer_secret": key["secret"],
                "app_launch_url": demo_app,
                "class_id": demo_class["class_id"],
                "class_launch_url": demo_class["launch_url"],
                "units": [{"unit_id": u["unit_id"], "name": u["name"], "launch_url": u["launch_url"]} for u in units],
                "registration_url": registration["registration_url"],
            }
        )

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
        for server, thread in self._serving:
            server.shutdown()
            thread.join(timeout=5)
        for server in self._servers:
            server.server_close()
        self._servers, self._serving = [], []
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
