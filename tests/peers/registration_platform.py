"""A local LMS for LTI Dynamic Registration 1.0: its OpenID configuration and registration endpoint.

``http.server`` on 127.0.0.1, port 0, in a thread. Both endpoints require the registration token as
a bearer (as Canvas does). The registration endpoint checks the tool's payload against the spec
(§3.3: application_type, response/grant types, login and redirect URIs, JWKS, private_key_jwt, the
LTI tool configuration with its messages) and answers a ``client_id`` and a ``deployment_id``.
Anything it refuses is answered 400 and recorded in ``rejections``.

``config_overrides`` changes the configuration served; ``mode`` makes it misbehave: ``huge_config``
(over 64 KiB), ``garbage_config``, ``config_500``, ``register_400``, ``register_500``,
``no_client_id``, ``slow`` (answers after ``slow_seconds``).
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.peers.loopback import LoopbackServer, QuietHandler

CONFIG_PATH = "/api/lti/security/openid-configuration"
REGISTER_PATH = "/api/lti/registrations"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"


class RegistrationPlatform:
    def __init__(self, *, registration_token: str | None = "reg-token-abc.123", product: str = "moodle"):  # noqa: S107
        self.registration_token = registration_token
        self.product = product
        self.client_ids = iter(f"client-{i}" for i in range(1, 1000))
        self.deployment_id = "deployment-1"
        self.mode: str | None = None
        self.slow_seconds = 1.0
        self.config_overrides: dict[str, Any] = {}
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.registrations: list[dict[str, Any]] = []
        self.rejections: list[str] = []
        self._server = LoopbackServer(self._handler())

    @property
    def origin(self) -> str:
        return self._server.base_url

    @property
    def config_url(self) -> str:
        return self.origin + CONFIG_PATH

    def configuration(self) -> dict[str, Any]:
        config = {
            "issuer": self.origin,
            "authorization_endpoint": self.origin + "/api/lti/authorize_redirect",
            "token_endpoint": self.origin + "/login/oauth2/token",
            "jwks_uri": self.origin + "/api/lti/security/jwks",
            "registration_endpoint": self.origin + REGISTER_PATH,
            "scopes_supported": ["openid", "https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "response_types_supported": ["id_token"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "claims_supported": ["iss", "sub", "name", "email"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": self.product,
                "version": "4.3",
                "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
            },
        }
        config.update(self.config_overrides)
        return config

    def start(self) -> RegistrationPlatform:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    # -- checks of what the tool sends ----------------------------------------------------------------
    def _authorised(self, headers: dict[str, str]) -> bool:
        if self.registration_token is None:
            return True
        return headers.get("authorization") == f"Bearer {self.registration_token}"

    def _payload_problems(self, headers: dict[str, str], body: bytes) -> list[str]:
        problems = []
        if headers.get("content-type", "").split(";")[0] != "application/json":
            problems.append("content type is not application/json")
        try:
            payload = json.loads(body)
        except ValueError:
            return ["body is not JSON"]
        expected = {
            "application_type": "web",
            "response_types": ["id_token"],
            "token_endpoint_auth_method": "private_key_jwt",
        }
        for name, value in expected.items():
            if payload.get(name) != value:
                problems.append(f"{name} is {payload.get(name)!r}")
        if set(payload.get("grant_types") or []) != {"implicit", "client_credentials"}:
            problems.append("grant_types")
        for name in ("initiate_login_uri", "jwks_uri", "client_name"):
            if not isinstance(payload.get(name), str) or not payload[name]:
                problems.append(f"{name} missing")
        if not isinstance(payload.get("redirect_uris"), list) or not payload["redirect_uris"]:
            problems.append("redirect_uris missing")
        if not isinstance(payload.get("scope"), str):
            problems.append("scope is not a space-separated string")
        tool = payload.get(TOOL_CONFIGURATION)
        if not isinstance(tool, dict):
            return [*problems, "no LTI tool configuration"]
        for name in ("domain", "target_link_uri"):
            if not isinstance(tool.get(name), str) or not tool[name]:
                problems.append(f"tool configuration {name} missing")
        types = [m.get("type") for m in tool.get("messages") or []]
        if "LtiResourceLinkRequest" not in types or "LtiDeepLinkingRequest" not in types:
            problems.append(f"messages are {types}")
        return problems

    def _handler(self) -> type[QuietHandler]:
        platform = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                if platform.mode == "slow":
                    time.sleep(platform.slow_seconds)
                self.reply(status, body, content_type)

            def _json(self, status: int, value: Any) -> None:
                self._send(status, json.dumps(value).encode())

            def _record(self, body: bytes = b"") -> dict[str, str]:
                headers = {k.lower(): v for k, v in self.headers.items()}
                platform.requests.append((self.command, self.path, headers, body))
                return headers

            def do_GET(self) -> None:
                headers = self._record()
                if self.path != CONFIG_PATH:
                    return self._json(404, {"error": "not found"})
                if not platform._authorised(headers):
                    platform.rejections.append("configuration requested without the registration token")
                    return self._json(401, {"error": "unauthorized"})
                if platform.mode == "huge_config":
                    return self._json(200, {**platform.configuration(), "padding": "x" * 70_000})
                if platform.mode == "garbage_config":
                    return self._send(200, b"<html>not json</html>", "text/html")
                if platform.mode == "config_500":
                    return self._json(500, {"error": "boom"})
                return self._json(200, platform.configuration())

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = self._record(body)
                if self.path != REGISTER_PATH:
                    return self._json(404, {"error": "not found"})
                if not platform._authorised(headers):
                    platform.rejections.append("registration without the registration token")
                    return self._json(401, {"error": "unauthorized"})
                problems = platform._payload_problems(headers, body)
                if problems:
                    platform.rejections.extend(problems)
                    return self._json(400, {"error": "invalid_client_metadata", "problems": problems})
                if platform.mode == "register_400":
                    return self._json(400, {"error": "invalid_redirect_uri"})
                if platform.mode == "register_500":
                    return self._json(500, {"error": "boom"})
                payload = json.loads(body)
                platform.registrations.append(payload)
                answer = {**payload, "client_id": next(platform.client_ids)}
                answer[TOOL_CONFIGURATION] = {**payload[TOOL_CONFIGURATION], "deployment_id": platform.deployment_id}
                if platform.mode == "no_client_id":
                    answer.pop("client_id")
                return self._json(200, answer)

        return Handler
