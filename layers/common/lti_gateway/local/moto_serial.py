"""Make moto answer one request at a time, as a linearizable DynamoDB would, and keep its memory flat.

moto's backends are not thread-safe (``TransactWriteItems`` deep-copies a table while another thread
writes it: ``RuntimeError: dictionary changed size during iteration``). Real DynamoDB serialises
writes per item, so the local gateway and the race tests serialise moto's dispatch: requests still
race each other in our code (read, decide, conditional write); only moto's own bookkeeping is locked.

moto also keeps a reference to every model object it ever creates (``BaseModel.instances_tracked``, for
``reset()`` under ``mock_aws`` and its ``/moto-api/data.json``). A DynamoDB ``Item`` is such a model, and
each ``TransactWriteItems`` deep-copies every table it names (its rollback copy): every copy of every
item stayed alive for good. Creating 1,500 units (one transaction each) grew the local gateway from
124 MB to 5.1 GB and made each transaction slower than the last. DynamoDB's and KMS's models are not
tracked here (nothing of ours reads that list); other services' are, as moto made them.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
_installed = False
_observer: Callable[[str, str], None] | None = None
UNTRACKED = ("moto.dynamodb", "moto.kms")


def lock() -> threading.RLock:
    """The lock moto's dispatch holds: hold it to read moto's backends in a consistent state."""
    return _LOCK


def observe(observer: Callable[[str, str], None] | None) -> None:
    """Call ``observer(handler module, action)`` after each request moto answered (None: stop)."""
    global _observer
    _observer = observer


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.core.common_models import BaseModel
    from moto.core.responses import BaseResponse

    original = BaseResponse._dispatch

    @functools.wraps(original)
    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            answer = original(self, *args, **kwargs)
        observer = _observer
        if observer is not None:
            try:
                action = self._get_action()
            except Exception:
                action = ""
            observer(type(self).__module__, action)
        return answer

    BaseResponse._dispatch = serialised  # type: ignore[method-assign]

    def new(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = object.__new__(cls)
        if not cls.__module__.startswith(UNTRACKED):
            cls.instances_tracked.append(instance)  # type: ignore[attr-defined]
        return instance

    BaseModel.__new__ = new  # type: ignore[method-assign,assignment]

    # Every call lists its handler class's methods with inspect.getmembers (~5% of a call): once per class.
    from moto.core import responses

    names: dict[type, list[str]] = {}
    listed = responses.method_names_from_class

    def method_names(clazz: Any) -> list[str]:
        if clazz not in names:
            names[clazz] = listed(clazz)
        return names[clazz]

    responses.method_names_from_class = method_names  # type: ignore[assignment]
    _installed = True


def tune_server() -> None:
    """moto's HTTP server, made cheaper per request: HTTP/1.1 keep-alive (werkzeug's default handler
    speaks HTTP/1.0: a new TCP connection per call) and its list of service folders read once (it lists
    moto's package directory, ~60 ``stat`` calls, on every request)."""
    from moto import backends
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    if not getattr(backends.list_of_moto_modules, "_cached", False):
        modules = tuple(backends.list_of_moto_modules())

        def cached() -> tuple[str, ...]:
            return modules

        cached._cached = True  # type: ignore[attr-defined]
        backends.list_of_moto_modules = cached  # type: ignore[assignment]
    MotoRequestHandler.protocol_version = "HTTP/1.1"
    # Its answer goes out in several small writes: without TCP_NODELAY, Nagle's algorithm holds the
    # last one until the client's delayed ACK (~40 ms) — per call, on a kept-alive connection.
    MotoRequestHandler.disable_nagle_algorithm = True


class InProcess:
    """A botocore ``before-send`` handler that answers this process's DynamoDB and KMS calls to the
    embedded moto server (``base_url``) by calling moto directly: no HTTP, no socket, no werkzeug/Flask
    round trip (about half the cost of each call; the same backends, the same lock). Other processes
    (``lti-gateway org create --local``) still reach it over HTTP; any other URL is left alone."""

    SERVICES = ("dynamodb", "kms")

    def __init__(self, base_url: str, region: str):
        self.prefix = base_url.rstrip("/") + "/"
        self.region = region

    def __call__(self, event_name: str, request: Any, **_: Any) -> Any:
        url = request.url
        if not (url == self.prefix[:-1] or url.startswith(self.prefix)):
            return None
        service = event_name.split(".")[1] if event_name.count(".") >= 1 else ""
        if service not in self.SERVICES:
            return None
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.models import botocore_stubber

        request.url = f"https://{service}.{self.region}.amazonaws.com/" + url[len(self.prefix) :]
        try:
            answered = botocore_stubber.process_request(request)
        finally:
            request.url = url
        if answered is None:
            return None
        status, headers, body = answered
        return AWSResponse(url, status, headers, MockRawResponse(body))


def route_in_process(base_url: str, region: str) -> InProcess:
    """Answer this process's calls to ``base_url`` in-process (clients created from now on)."""
    from botocore.handlers import BUILTIN_HANDLERS

    handler = InProcess(base_url, region)
    BUILTIN_HANDLERS.append(("before-send", handler))
    return handler


def unroute(handler: InProcess) -> None:
    from botocore.handlers import BUILTIN_HANDLERS

    if ("before-send", handler) in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS.remove(("before-send", handler))
