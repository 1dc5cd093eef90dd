"""A platform's key endpoint on loopback: ``http.server`` on 127.0.0.1, port 0, in a thread.

It serves ``{"keys": [...]}`` at ``/jwks`` from a list the test changes (key rotation), counts the
requests, and can fail on demand (``status``). The gateway reaches it only with
``ALLOW_INSECURE_PLATFORM_URLS`` set (http, loopback), as in the local gateway.

    with JwksServer() as jwks:
        jwks.publish(private_key, kid="k1")
        ... register a platform with jwks.url ...
"""

from __future__ import annotations

import json
import threading
from typing import Any

import jwt

from tests.peers.loopback import LoopbackServer, QuietHandler


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


class JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.requests = 0
        self._lock = threading.Lock()
        self._server: LoopbackServer | None = None

    def publish(self, private_key: Any, kid: str, *, replace: bool = False) -> None:
        """Publish the public half of ``private_key`` under ``kid`` (``replace``: withdraw the others)."""
        with self._lock:
            self.keys = [*([] if replace else self.keys), public_jwk(private_key, kid)]

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"{self._server.base_url}/jwks"

    def start(self) -> JwksServer:
        peer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with peer._lock:
                    peer.requests += 1
                    body = json.dumps({"keys": peer.keys}).encode()
                    status = peer.status
                self.reply(status, body, "application/json")

        self._server = LoopbackServer(Handler).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> JwksServer:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()
