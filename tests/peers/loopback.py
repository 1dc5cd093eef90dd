"""The HTTP server under every peer: ``http.server`` on 127.0.0.1, port 0 (a free port), in a thread.

    with LoopbackServer(Handler) as server:
        requests.get(f"{server.base_url}/path")

It is a ``ThreadingHTTPServer`` (daemon request threads), so ``server_address`` and the rest stay
at hand. ``stop()`` (and leaving the ``with`` block) stops serving, joins the serving thread and
closes the socket; it may be called more than once, and before ``start()``. ``QuietHandler`` is a
request handler that logs nothing and has ``reply`` to answer with a body.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

POLL_SECONDS = 0.05  # how long ``stop()`` may wait for the serving loop to notice


class LoopbackServer(ThreadingHTTPServer):
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self.serve_forever, args=(POLL_SECONDS,), daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:{port}``, no trailing slash."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop the serving loop and join its thread (nothing to do if it is not running)."""
        if self._thread.is_alive():
            super().shutdown()
            self._thread.join()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that keeps the test output clean and answers with ``reply``."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        send_reply(self, status, body, content_type, headers)


def send_reply(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer ``request`` with ``body`` (a client that has stopped reading is not an error)."""
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        request.wfile.write(body)
