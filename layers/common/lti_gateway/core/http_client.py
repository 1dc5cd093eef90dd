"""The one outbound HTTP client: LMS outcome services, platform JWKS and OpenID configurations,
token endpoints and LTI Advantage services all go through :class:`SafeHttp`.

``urllib.request`` (no extra dependency) with a timeout, a response size cap, no redirects, https
only, and a refusal of loopback/private/link-local addresses (server-side request forgery: the same
:func:`lti_gateway.core.urls.local_host` that refuses such hosts when a URL is stored).
``allow_http`` and ``allow_private_addresses`` exist for local test peers on 127.0.0.1. The address
check resolves the host before connecting; it stops configuration mistakes and plain SSRF, not DNS
rebinding between the check and the connection.
"""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lti_gateway.core.errors import OutboundRefused
from lti_gateway.core.urls import local_host

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is answered as it is, never followed


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
        self._opener = urllib.request.build_opener(_NoRedirect())

    def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            raise OutboundRefused({"reason": "URL must be https"}, kind="url_not_allowed")
        if not parts.hostname:
            raise OutboundRefused({"reason": "URL names no host"}, kind="url_not_allowed")
        if self.allow_private_addresses:
            return
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            raise OutboundRefused({"reason": "host does not resolve"}, kind="unreachable") from None
        for info in infos:
            if local_host(str(info[4][0])):
                raise OutboundRefused({"reason": "host is not a public address"}, kind="url_not_allowed")

    def _read(self, stream: Any) -> bytes:
        data = stream.read(self.max_response_bytes + 1)
        if len(data) > self.max_response_bytes:
            raise OutboundRefused({"max_bytes": self.max_response_bytes}, kind="response_too_large")
        return data

    def request(
        self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None
    ) -> HttpResponse:
        """Any HTTP status comes back as a response; refusals raise :class:`OutboundRefused`."""
        self.check_url(url)
        request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)  # noqa: S310
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
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
