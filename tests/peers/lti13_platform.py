"""An independent LTI 1.3 platform on loopback, built on ``lti1p3platform`` (PyPI), for the e2e tests.

The platform side of the protocol is the library's: it builds the third-party initiated login URL
(``OIDCLoginAbstract.prepare_preflight_url``), validates the tool's authentication request
(``MessageLaunchAbstract.validate_preflight_response``: nonce, state, redirect_uri, client_id), builds
and signs the id_token with its RSA key (``Registration.platform_encode_and_sign``, kid = the key's
RFC 7638 thumbprint) and publishes its JWKS (``Registration.get_jwks``). This module only adds the
HTTP server a browser talks to, on 127.0.0.1 and port 0:

    GET /jwks    the platform's public keys
    GET /auth    the OIDC authorization endpoint: answers the auto-submitting form a browser would
                 post to the tool's redirect_uri (``id_token``, ``state``)

    with Lti13Platform(client_id="...", deployment_id="1") as platform:
        ... register platform.issuer / platform.auth_url / platform.jwks_url with the tool ...
        login_url = platform.login_url(tool_login, target_link_uri, user=STUDENT, context=COURSE)
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest

from tests.peers.loopback import LoopbackServer, QuietHandler

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
INSTRUCTOR = f"{LIS}membership#Instructor"
LEARNER = f"{LIS}membership#Learner"
MENTOR = f"{LIS}membership#Mentor"
ADMIN = f"{LIS}institution/person#Administrator"


@dataclass(frozen=True)
class User:
    id: str
    roles: tuple[str, ...]
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Course:
    id: str
    title: str = "Course"
    label: str = "C1"


@dataclass
class PendingLaunch:
    """What the platform will launch once the tool's authentication request comes back."""

    target_link_uri: str
    user: User
    context: Course | None
    deep_linking: bool = False
    custom: dict[str, str] = field(default_factory=dict)
    resource_link_id: str = "resource-link-1"


# -- lti1p3platform's ports ----------------------------------------------------------------------------


class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _AuthRequest(Request):
    def build_metadata(self, request: Any) -> TRequest:
        return {
            "method": "GET",
            "get_data": dict(parse_qsl(urlsplit(request).query, keep_blank_values=True)),
            "form_data": {},
            "headers": {},
            "content_type": None,
            "path": urlsplit(request).path,
            "json": None,
        }


class _Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        fields = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(str(launch_data[name]))}">'
            for name in ("id_token", "state")
        )
        action = html.escape(str(launch_data["launch_url"]))
        return (
            f'<!doctype html><html><body onload="document.forms[0].submit()">'
            f'<form method="post" action="{action}">{fields}</form></body></html>'
        )


# -- the platform ------------------------------------------------------------------------------------


class Lti13Platform:
    def __init__(self, *, client_id: str | None = None, deployment_id: str = "deployment-1", name: str = "Test LMS"):
        self.client_id = client_id or f"client-{secrets.token_hex(6)}"
        self.deployment_id = deployment_id
        self.name = name
        self.pending: dict[str, PendingLaunch] = {}
        self.auth_requests: list[dict[str, str]] = []
        self.jwks_requests = 0
        self._server: LoopbackServer | None = None
        self.rotate_key()

    # -- keys --------------------------------------------------------------------------------------
    def rotate_key(self) -> None:
        """A new RSA key (and so a new kid); the JWKS then publishes only the new key."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def _registration(self, launch_url: str | None = None) -> Registration:
        registration = (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_platform_private_key(self.private_pem)
            .set_platform_public_key(self.public_pem)
        )
        if launch_url:
            registration.set_launch_url(launch_url).set_deeplink_launch_url(launch_url)
        return registration

    @property
    def kid(self) -> str | None:
        return self._registration().get_kid()

    # -- URLs --------------------------------------------------------------------------------------
    @property
    def issuer(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_url(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/token"

    def registration_body(self) -> dict[str, Any]:
        """This platform as the gateway's ``POST /api/platforms`` wants it."""
        return {
            "url": self.issuer,
            "clientId": self.client_id,
            "name": self.name,
            "authenticationEndpoint": self.auth_url,
            "accesstokenEndpoint": self.token_url,
            "authConfig": {"method": "JWK_SET", "key": self.jwks_url},
            "deploymentIds": [self.deployment_id],
        }

    # -- the launch ----------------------------------------------------------------------------------
    def login_url(self, tool_login_url: str, launch: PendingLaunch) -> str:
        """The third-party initiated login URL (the library builds it) for one pending launch."""
        hint = secrets.token_urlsafe(12)
        self.pending[hint] = launch
        registration = self._registration(launch.target_link_uri).set_oidc_login_url(tool_login_url)
        login = _Login(None, _Config(registration=registration))
        login.set_lti_message_hint(hint=hint)
        login.set_launch_url(launch.target_link_uri)
        return str(login.initiate_login(launch.user.id))

    def _authorize(self, url: str) -> tuple[int, str]:
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        self.auth_requests.append(query)
        pending = self.pending.pop(query.get("lti_message_hint", ""), None)
        if pending is None or query.get("login_hint") != pending.user.id:
            return 400, "unknown login"
        for name, expected in (
            ("scope", "openid"),
            ("response_type", "id_token"),
            ("response_mode", "form_post"),
            ("prompt", "none"),
        ):
            if query.get(name) != expected:
                return 400, f"{name} must be {expected}"
        config = _Config(registration=self._registration(pending.target_link_uri))
        launch = _Launch(_AuthRequest(url), config)
        launch.set_launch_url(pending.target_link_uri)
        launch.set_user_data(pending.user.id, list(pending.user.roles), pending.user.name, pending.user.email)
        launch.set_resource_link_claim(pending.resource_link_id, title="Week 1")
        launch.set_launch_presentation_claim("iframe", f"{self.issuer}/return")
        if pending.context is not None:
            launch.set_launch_context_claim(
                pending.context.id,
                [f"{LIS}course#CourseOffering"],
                pending.context.title,
                pending.context.label,
            )
            launch.set_nrps(f"{self.issuer}/api/contexts/{pending.context.id}/memberships")
            launch.set_ags(f"{self.issuer}/api/contexts/{pending.context.id}/lineitems")
        if pending.custom:
            launch.set_custom_parameters_claim(pending.custom)
        if pending.deep_linking:
            launch.set_dl(f"{self.issuer}/deep-link-return", title="Pick content", accept_types={"ltiResourceLink"})
        try:
            return 200, launch.lti_launch()
        except Exception as exc:  # the library refused the tool's authentication request
            return 400, f"{type(exc).__name__}: {exc}"

    # -- HTTP --------------------------------------------------------------------------------------------
    def start(self) -> Lti13Platform:
        platform = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/jwks":
                    platform.jwks_requests += 1
                    status, body, kind = 200, json.dumps({"keys": platform._registration().get_jwks()}), "json"
                elif path == "/auth":
                    status, body = platform._authorize(self.path)
                    kind = "html"
                else:
                    return platform.serve_other(self)
                self.reply(status, body.encode(), f"{'application' if kind == 'json' else 'text'}/{kind}")

            def do_POST(self) -> None:
                platform.serve_other(self)

            do_PUT = do_DELETE = do_POST

        self._server = LoopbackServer(Handler).start()
        return self

    def serve_other(self, request: QuietHandler) -> None:
        """Any request but ``GET /jwks`` and ``GET /auth``: 404 here; a subclass may answer more."""
        request.reply(404, b"not found", "text/plain")

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Lti13Platform:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()


class AutoSubmitForm(HTMLParser):
    """The form a browser would submit: its action and hidden fields."""

    def __init__(self, page: str):
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action")
        elif tag == "input" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""
