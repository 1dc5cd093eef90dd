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

import base64
import contextlib
import functools
import io
import json
import os
import sys
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

    # Each answer's x-amzn-requestid: 52 characters drawn one random.choice at a time (~2% of a call).
    from moto.utilities import aws_headers

    def request_id(headerdict: dict[str, Any] | None = None) -> str:
        req_id = os.urandom(26).hex().upper()
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = req_id
        return req_id

    aws_headers.gen_amzn_requestid_long = request_id  # type: ignore[assignment]
    responses.gen_amzn_requestid_long = request_id  # type: ignore[attr-defined]
    _fast_dynamodb_results()
    _parse_update_expressions_once()
    _parse_condition_expressions_once()
    _installed = True


def _parse_update_expressions_once() -> None:
    """moto parses an UpdateItem's expression twice per call (its handler, then its backend), the same
    few strings every time (~5% of a call): each string is parsed once. Both only read the tree
    (``find_clauses``) or deep-copy it before changing it (``Validator.__init__``); a string that does
    not parse raises as before and is not kept.

    That deep copy (``copy.deepcopy`` of a tree of a few dozen nodes with parent links: ~4% of a unit)
    is made from the tree's pickle, taken when the string was parsed: the same objects, built by
    ``pickle.loads`` in C. Anything else the validators deep-copy goes through ``copy.deepcopy``."""
    import copy
    import pickle

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    if getattr(make, "_once", False):
        return
    parsed: dict[str, Any] = {}
    pristine: dict[int, tuple[Any, bytes]] = {}

    def once(cls: type, expression: str) -> Any:
        tree = parsed.get(expression)
        if tree is None:
            tree = make(cls, expression)
            if len(parsed) >= 512:  # a bound: an expression with values inlined could be new every call
                parsed.clear()
                pristine.clear()
            parsed[expression] = tree
            with contextlib.suppress(Exception):  # not picklable: copy.deepcopy, as before
                pristine[id(tree)] = (tree, pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
        return tree

    deepcopy = copy.deepcopy

    def copied(value: Any, memo: Any = None) -> Any:
        known = pristine.get(id(value))
        if known is not None and known[0] is value and memo is None:
            return pickle.loads(known[1])  # noqa: S301 - our own pickle of moto's tree, made in this process
        return deepcopy(value, memo)

    once._once = True  # type: ignore[attr-defined]
    once._parsed = parsed  # type: ignore[attr-defined]
    once._original = make  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(once)  # type: ignore[method-assign,assignment]
    validators.deepcopy = copied  # type: ignore[attr-defined]


def _parse_condition_expressions_once() -> None:
    """moto parses a write's ConditionExpression twice per call (its handler, for the names and values
    it uses, then its backend, to evaluate it): each (expression, names, values) is parsed once. The
    parser resolves names and values into the tree, so all three are the key (the values as their JSON).
    The tree is only evaluated afterwards (``expr``/``get_type`` read it), and the cached tree is a deep
    copy, so it holds nothing of the request that built it. Anything that does not parse raises as
    before and is not kept; values that are not JSON are parsed every time, as before."""
    import copy

    from moto.dynamodb.comparisons import ConditionExpressionParser

    parse = ConditionExpressionParser.parse
    if getattr(parse, "_once", False):
        return
    parsed: dict[tuple[str, tuple[tuple[str, str], ...], str], tuple[Any, list[str], list[str]]] = {}

    def once(self: Any) -> Any:
        expression = self.condition_expression
        if not expression:
            return parse(self)
        try:
            key = (
                expression,
                tuple((self.expression_attribute_names or {}).items()),
                json.dumps(self.expression_attribute_values, sort_keys=True),
            )
            hash(key)
        except TypeError:
            return parse(self)
        known = parsed.get(key)
        if known is None:
            names_before = len(self.expr_attr_names_found)
            values_before = len(self.expr_attr_values_found)
            tree = parse(self)
            known = (
                copy.deepcopy(tree),
                self.expr_attr_names_found[names_before:],
                self.expr_attr_values_found[values_before:],
            )
            if len(parsed) >= 512:  # a bound: values differ from call to call in most expressions
                parsed.clear()
            parsed[key] = known
            return tree
        tree, names_found, values_found = known
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return tree

    once._once = True  # type: ignore[attr-defined]
    once._parsed = parsed  # type: ignore[attr-defined]
    once._original = parse  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = once  # type: ignore[method-assign]


# DynamoDB's item operations: their results are plain JSON (dicts, lists, strings, numbers, booleans)
# plus raw bytes for binary attributes. moto serialises every result by walking the operation's output
# shape, looking each member up under five possible aliases (~40% of moto's time for a GetItem of a
# dozen attributes); for these results that walk gives exactly the JSON of the result with bytes in
# base64 and None members left out, which is what _plain_json writes.
FAST_DYNAMODB_OPERATIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)


class _NotPlain(Exception):
    """A value _plain_json does not know (a datetime, a model object): moto's own serialiser writes it."""


def _plain(value: Any) -> Any:
    if isinstance(value, str) or value is True or value is False:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if type(value) in (int, float):
        return value
    raise _NotPlain(type(value).__name__)


def _plain_json(result: Any) -> str:
    return json.dumps(_plain(result), separators=(",", ":"))


def _fast_dynamodb_results() -> None:
    from moto.core.serialize import JSONSerializer
    from moto.dynamodb.responses import DynamoResult

    if getattr(DynamoResult.execute_result, "_fast", False):
        return
    original = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        if (
            context.serializer_class is JSONSerializer
            and context.operation_model.name in FAST_DYNAMODB_OPERATIONS
            and isinstance(self.result, dict)
        ):
            try:
                body = _plain_json(self.result)
            except _NotPlain:
                pass
            else:
                status = context.operation_model.http.get("responseCode", 200)
                version = context.service_model.metadata.get("jsonVersion", "1.0")
                return status, {"Content-Type": f"application/x-amz-json-{version}"}, body
        return original(self, context)

    execute_result._fast = True  # type: ignore[attr-defined]
    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


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
    (``lti-gateway orgs create --local``) still reach it over HTTP; any other URL is left alone.

    moto's own in-process path (``botocore_stubber.process_request``) matches the URL against every
    service's URL patterns on each call; the handler of each of our two services is looked up once.
    """

    SERVICES = ("dynamodb", "kms")

    def __init__(self, base_url: str, region: str):
        self.prefix = base_url.rstrip("/") + "/"
        self.region = region
        self._dispatch: dict[str, Callable[..., Any]] = {}
        self.signers: list[tuple[str, Callable[..., Any]]] = []  # choose-signer handlers (route_in_process)
        self.active = True  # False once unrouted (sessions made meanwhile still hold these handlers)

    def unsigned(self, **_: Any) -> Any:
        """``choose-signer`` for a served service: no SigV4 signature while routed (moto checks none).
        A botocore session keeps the handlers it was made with: once unrouted, its clients sign again."""
        if not self.active:
            return None
        from botocore import UNSIGNED

        return UNSIGNED

    def _handler(self, service: str, aws_url: str) -> Callable[..., Any] | None:
        handler = self._dispatch.get(service)
        if handler is None:
            import re

            import moto.backends as backends
            from moto.core import DEFAULT_ACCOUNT_ID

            backend = backends.get_backend(service)[DEFAULT_ACCOUNT_ID][self.region]  # type: ignore[call-overload]
            for pattern, method in backend.urls.items():
                if re.compile(pattern).match(aws_url):
                    handler = self._dispatch[service] = method
                    break
        return handler

    def __call__(self, event_name: str, request: Any, **_: Any) -> Any:
        url = request.url
        if not self.active or not (url == self.prefix[:-1] or url.startswith(self.prefix)):
            return None
        service = event_name.split(".")[1] if event_name.count(".") >= 1 else ""
        if service not in self.SERVICES:
            return None
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.exceptions import HTTPException
        from moto.core.request import normalize_request

        aws_url = f"https://{service}.{self.region}.amazonaws.com/" + url[len(self.prefix) :]
        handler = self._handler(service, aws_url.split("?", 1)[0])
        if handler is None:
            return None
        normalized = _request(request, service, self.region, aws_url)
        if normalized is None:
            request.url = aws_url
            try:
                normalized = normalize_request(request)
            finally:
                request.url = url
        try:
            status, headers, body = handler(normalized, normalized.raw_url, normalized.headers)
        except HTTPException as exc:
            status, headers, body = exc.code, exc.get_headers(), exc.get_body()
        return AWSResponse(url, status, headers, MockRawResponse(body))


def _request(request: Any, service: str, region: str, aws_url: str) -> Any:
    """moto's request for a botocore JSON POST to ``/`` (every DynamoDB and KMS call), from the WSGI
    environ werkzeug's ``EnvironBuilder`` would make for it (moto builds it with that builder: a fifth
    of a call's cost in moto). Anything else (a query string, a streamed body): None, moto's own way."""
    from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY, Request

    body = request.body
    if request.method != "POST" or "?" in aws_url or not aws_url.endswith("/") or not isinstance(body, bytes):
        return None
    host = f"{service}.{region}.amazonaws.com"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
        PRESERVED_HEADER_NAMES_ENVIRON_KEY: {},
    }
    for name, value in request.headers.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8")
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        elif key not in ("HOST", "TRANSFER_ENCODING"):
            environ["HTTP_" + key] = value
    environ["CONTENT_LENGTH"] = str(len(body))
    return Request(environ)


def route_in_process(base_url: str, region: str, services: tuple[str, ...] = InProcess.SERVICES) -> InProcess:
    """Answer this process's calls to ``base_url`` in-process (clients created from now on).

    ``services``: those whose endpoint in this process is ``base_url`` (the embedded moto). Their
    requests are not signed either: signing is a fifth of botocore's work per call and moto, whose
    IAM checks are off, reads nothing from it (the account is moto's default one either way, the region
    comes from the URL the handler gives moto).
    """
    from botocore.handlers import BUILTIN_HANDLERS

    handler = InProcess(base_url, region)
    BUILTIN_HANDLERS.append(("before-send", handler))
    handler.signers = [(f"choose-signer.{service}", handler.unsigned) for service in services]
    BUILTIN_HANDLERS.extend(handler.signers)
    return handler


def unroute(handler: InProcess) -> None:
    from botocore.handlers import BUILTIN_HANDLERS

    handler.active = False
    for entry in [("before-send", handler), *handler.signers]:
        if entry in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.remove(entry)
