"""The one outbound HTTP client: LMS outcome services, platform JWKS and OpenID configurations,
token endpoints and LTI Advantage services all go through :class:`SafeHttp`.

``urllib.request`` (no extra dependency) with a timeout, a response size cap, no redirects, no
proxies, https only, and a refusal of every address that is not globally routable (server-side request
forgery: :func:`lti_gateway.core.urls.address_problem`, which also unwraps the IPv6 forms of IPv4
addresses — mapped, compatible, NAT64, 6to4, Teredo).

The host is resolved **once**; every address it resolves to is checked, and the connection goes to
those checked addresses, never to a second resolution of the name, so a name that answers a public
address to the check and a private one to the connection (DNS rebinding) cannot switch it. TLS still
verifies the certificate against the URL's host name (SNI and the hostname check of the default
context), and the ``Host`` header is the URL's host.

``allow_http`` and ``allow_private_addresses`` exist for local test peers on 127.0.0.1 (the local
gateway, ``ALLOW_INSECURE_PLATFORM_URLS``); the connection is pinned to the resolved address then too.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lti_gateway.core.errors import OutboundRefused
from lti_gateway.core.urls import address_problem, host_problem, parse_address

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is answered as it is, never followed


# -- connections pinned to the checked addresses ------------------------------------------------------


class _PinnedConnection(http.client.HTTPConnection):
    """Opens its TCP connection to ``pinned`` (the checked addresses, in resolver order), never to a
    new resolution of ``host``. ``host`` stays what the ``Host`` header and TLS (SNI, certificate) use."""

    pinned: tuple[str, ...] = ()

    def connect(self) -> None:
        error: OSError = OSError("no address to connect to")
        for address in self.pinned:
            try:
                sock = socket.create_connection((address, self.port), self.timeout, self.source_address)
            except OSError as exc:
                error = exc
                continue
            with contextlib.suppress(OSError):  # platforms without TCP_NODELAY
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = sock
            return
        raise error


class _PinnedHTTPSConnection(http.client.HTTPSConnection, _PinnedConnection):
    """``HTTPSConnection.connect`` calls ``super().connect()`` — here :meth:`_PinnedConnection.connect` —
    then wraps the socket with its context and ``server_hostname=self.host``: the URL's host name."""


def _pinned(cls: type[_PinnedConnection], addresses: tuple[str, ...]) -> Callable[..., _PinnedConnection]:
    def connection(host: str, **kwargs: Any) -> _PinnedConnection:
        conn = cls(host, **kwargs)
        conn.pinned = addresses
        return conn

    return connection


class _PinnedHttpHandler(urllib.request.HTTPHandler):
    def __init__(self, addresses: tuple[str, ...]):
        super().__init__()
        self._addresses = addresses

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_pinned(_PinnedConnection, self._addresses), req)


class _PinnedHttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, addresses: tuple[str, ...]):
        super().__init__()
        self._addresses = addresses

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        context = _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        return self.do_open(_pinned(_PinnedHTTPSConnection, self._addresses), req, context=context)


@functools.lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    """The default context (certificates verified against the system's CAs, hostname checked), built
    once per warm container: loading the CA store costs ~20 ms, every outbound call paid it. Keyed by
    the variables that choose the CA store (``create_default_context`` reads them)."""
    del cafile, capath  # the cache key only
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


# -- the client ----------------------------------------------------------------------------------------


class SafeHttp:
    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        allow_http: bool = False,
        allow_private_addresses: bool = False,
    ):
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.allow_http = allow_http
        self.allow_private_addresses = allow_private_addresses

    def check_url(self, url: str) -> None:
        """Refuse (:class:`OutboundRefused`) what :meth:`request` would refuse before connecting."""
        self._addresses(url)

    def _addresses(self, url: str) -> tuple[str, ...]:
        """The addresses a request to ``url`` may connect to: its host resolved once, each checked."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise OutboundRefused({"reason": "URL is malformed"}, kind="url_not_allowed") from None
        scheme = parts.scheme.lower()
        if scheme != "https" and not (self.allow_http and scheme == "http"):
            raise OutboundRefused({"reason": "URL must be https"}, kind="url_not_allowed")
        host = parts.hostname
        if not host:
            raise OutboundRefused({"reason": "URL names no host"}, kind="url_not_allowed")
        if not self.allow_private_addresses:
            problem = host_problem(host)  # a literal address, or localhost: named in the refusal
            if problem:
                raise OutboundRefused({"reason": f"host is not a public address: {problem}"}, kind="url_not_allowed")
        literal = parse_address(host)
        try:
            infos = socket.getaddrinfo(
                str(literal) if literal is not None else host,
                port or _DEFAULT_PORTS[scheme],
                type=socket.SOCK_STREAM,
                proto=socket.IPPROTO_TCP,
            )
        except (OSError, UnicodeError):
            raise OutboundRefused({"reason": "host does not resolve"}, kind="unreachable") from None
        addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise OutboundRefused({"reason": "host does not resolve"}, kind="unreachable")
        if not self.allow_private_addresses:
            for address in addresses:
                parsed = parse_address(address)
                if parsed is None or address_problem(parsed):
                    # What a name resolves to is not echoed (no map of internal DNS through our errors).
                    raise OutboundRefused(
                        {"reason": f"host {host} resolves to an address that is not public"},
                        kind="url_not_allowed",
                    )
        return addresses

    def _read(self, stream: Any) -> bytes:
        data = stream.read(self.max_response_bytes + 1)
        if len(data) > self.max_response_bytes:
            raise OutboundRefused({"max_bytes": self.max_response_bytes}, kind="response_too_large")
        return data

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """Any HTTP status comes back as a response; refusals raise :class:`OutboundRefused`; a platform
        that cannot be reached raises ``urllib.error.URLError`` (an ``OSError``) as before."""
        addresses = self._addresses(url)
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),  # no proxy from the environment: we connect where we checked
            _NoRedirect(),
            _PinnedHttpHandler(addresses),
            _PinnedHttpsHandler(addresses),
        )
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)  # noqa: S310
        try:
            with opener.open(request, timeout=self.timeout) as answer:
                return HttpResponse(answer.status, self._read(answer), dict(answer.headers.items()))
        except urllib.error.HTTPError as err:
            with err:
                data = self._read(err) if err.fp is not None else b""
                return HttpResponse(err.code, data, dict((err.headers or {}).items()))
        except http.client.HTTPException:  # a broken answer: bad status line, truncated body
            raise OutboundRefused({"reason": "malformed HTTP answer"}, kind="invalid_response") from None

    def __call__(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> HttpResponse:
        """POST (the shape outcome services take)."""
        return self.request("POST", url, body=body, headers=headers)
