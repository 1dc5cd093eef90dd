"""LTI 1.3 launch validation CPU, warm: ours against a bare pyjwt decode and against pylti1p3.

All three verify the same RS256 id_token (a realistic Moodle/Canvas-shaped launch, ~2 KB):

* **ours**: ``id_token.LaunchValidation(...).validate()``, the whole chain the launch function runs —
  format, header, state, registration, signature, audience, times, nonce, deployment, version,
  message type, message, roles, subject. Warm container: the platform's key is parsed and cached by
  ``platform_jwks.PlatformKeys`` (its JWKS "fetched" once from an in-memory answer); the state store
  and the registration lookup are in-memory fakes (in Lambda they are one DeleteItem and a cached read).
* **pyjwt**: ``jwt.decode(token, key, algorithms=["RS256"], audience=…, issuer=…)`` with the parsed
  key object — the floor any RS256 validation pays.
* **pylti1p3** (2.x, framework-free classes): ``MessageLaunch.validate()`` with a ``ToolConfDict``
  holding the platform's JWKS (so it fetches nothing), a fake request with an in-memory session
  (``SessionDataStorage``), a cookie service answering the state, and one shared ``requests.Session``.
  It converts the JWK to PEM and pyjwt re-parses that PEM on every launch; that is its warm path.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks.timing import Mode, Report, heading, line, per_call, ratio_row

ISS = "https://lms.example.edu"
CLIENT_ID = "tool-client-42"
DEPLOYMENT = "deployment-1"
KID = "platform-key-1"
JWKS_URL = f"{ISS}/mod/lti/certs.php"
TARGET = "https://abc123.execute-api.us-east-1.amazonaws.com/lti/launch/cls_0123456789abcdef"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"


def _claims(nonce: str, now: int) -> dict[str, Any]:
    return {
        "iss": ISS,
        "aud": CLIENT_ID,
        "sub": "user-7",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "name": "Ada Lovelace",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "email": "ada@example.edu",
        LTI + "message_type": "LtiResourceLinkRequest",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": DEPLOYMENT,
        LTI + "target_link_uri": TARGET,
        LTI + "resource_link": {"id": "link-1", "title": "Week 1: Waves"},
        LTI + "roles": [
            "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
            "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
        ],
        LTI + "context": {"id": "course-1", "label": "PHYS101", "title": "Physics", "type": ["CourseSection"]},
        LTI + "tool_platform": {"guid": "moodle-1", "name": "Example Moodle", "product_family_code": "moodle"},
        LTI + "launch_presentation": {"return_url": f"{ISS}/course/view.php?id=1", "document_target": "iframe"},
        LTI + "custom": {"canvas_course_id": "1234", "unit": "waves"},
        LTI + "lis": {"person_sourcedid": "sis-42", "course_section_sourcedid": "PHYS101-A"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
            "scope": ["https://purl.imsglobal.org/spec/lti-ags/scope/score"],
            "lineitems": f"{ISS}/mod/lti/services.php/1/lineitems?type_id=1",
        },
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": f"{ISS}/mod/lti/services.php/CourseSection/1/bindings/1/memberships",
            "service_versions": ["1.0", "2.0"],
        },
    }


class _Answer:
    def __init__(self, body: bytes):
        self.status = 200
        self.body = body


class _JwksHttp:
    """Stands in for SafeHttp: the platform's JWKS, answered from memory (fetched once, then cached)."""

    def __init__(self, jwks: dict[str, Any]):
        self._body = json.dumps(jwks).encode()

    def request(self, method: str, url: str, **_: Any) -> _Answer:
        return _Answer(self._body)


class _States:
    """Stands in for the launch table: every read and consume finds the login's state (a GetItem, then a
    DeleteItem in AWS), each a fresh item as boto3 returns one."""

    def __init__(self, item: dict[str, Any]):
        from lti_gateway.repositories.launch import ConsumedState

        self._item = item
        self._found = ConsumedState

    def read_state(self, state: str, now: int) -> Any:
        return self._found("ok", dict(self._item))

    def consume_state(self, state: str, now: int) -> Any:
        return self._found("ok", dict(self._item))


def _ours(token: str, state: str, nonce: str, jwks: dict[str, Any]):
    from lti_gateway.lti13 import id_token, platform_jwks
    from lti_gateway.lti13.platforms import Registration

    registration = Registration(
        platform_id="plt_bench",
        org_id="org_bench",
        name="Example Moodle",
        issuer=ISS,
        client_id=CLIENT_ID,
        deployment_ids=(DEPLOYMENT,),
        auth_login_url=f"{ISS}/mod/lti/auth.php",
        auth_token_url=f"{ISS}/mod/lti/token.php",
        jwks_url=JWKS_URL,
        public_key=None,
        auth_server=None,
        active=True,
        allow_anonymous=False,
    )
    keys = platform_jwks.PlatformKeys(lambda: _JwksHttp(jwks))  # type: ignore[arg-type, return-value]
    states = _States(
        {
            "pk": f"STATE#{state}",
            "issuer": ISS,
            "client_id": CLIENT_ID,
            "platform_id": "plt_bench",
            "org_id": "org_bench",
            "nonce": nonce,
            "target_link_uri": TARGET,
            "expires_at": int(time.time()) + 600,
        }
    )

    def find(issuer: str, client_id: str, platform_id: str = "") -> Registration:
        return registration

    def validate() -> Any:
        return id_token.LaunchValidation(
            token, state, states=states, registrations=find, keys=keys, now=time.time()
        ).validate()

    return validate, keys


def _pylti1p3(token: str, state: str, nonce: str, jwks: dict[str, Any]):
    import requests
    from pylti1p3.cookie import CookieService
    from pylti1p3.message_launch import MessageLaunch
    from pylti1p3.request import Request
    from pylti1p3.session import SessionService
    from pylti1p3.tool_config import ToolConfDict

    class FakeRequest(Request):
        def __init__(self, params: dict[str, str]):
            self._params = params
            self._session: dict[str, Any] = {}

        @property
        def session(self) -> dict[str, Any]:
            return self._session

        def is_secure(self) -> bool:
            return True

        def get_param(self, key: str) -> str:
            return self._params.get(key, "")

    class FakeCookies(CookieService):
        def __init__(self, cookies: dict[str, str]):
            self._cookies = cookies

        def get_cookie(self, name: str) -> str | None:
            return self._cookies.get(name)

        def set_cookie(self, name: str, value: Any, exp: int | None = 3600) -> None:
            self._cookies[name] = str(value)

    class Launch(MessageLaunch):
        def _get_request_param(self, key: str) -> str:
            return self._request.get_param(key)

    config = ToolConfDict(
        {
            ISS: [
                {
                    "default": True,
                    "client_id": CLIENT_ID,
                    "auth_login_url": f"{ISS}/mod/lti/auth.php",
                    "auth_token_url": f"{ISS}/mod/lti/token.php",
                    "key_set_url": None,
                    "key_set": jwks,
                    "deployment_ids": [DEPLOYMENT],
                }
            ]
        }
    )
    request = FakeRequest({"id_token": token, "state": state})
    sessions = SessionService(request)
    sessions.save_nonce(nonce)
    cookies = FakeCookies({state: state})
    http = requests.Session()

    def validate() -> Any:
        return Launch(
            request, config, session_service=sessions, cookie_service=cookies, requests_session=http
        ).validate()

    return validate


def run(mode: Mode, report: Report) -> None:
    heading("LTI 1.3 launch validation CPU (warm: platform key cached, storage in memory)")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    jwks = {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}
    nonce, state = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    token = jwt.encode(_claims(nonce, int(time.time())), private, algorithm="RS256", headers={"kid": KID})

    ours, keys = _ours(token, state, nonce, jwks)
    peer = _pylti1p3(token, state, nonce, jwks)
    assert ours().claims["nonce"] == nonce and keys.fetches == 1  # the key is fetched once, then cached
    peer()

    def bare() -> Any:
        return jwt.decode(token, public, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISS)

    times = per_call(
        {"ours": ours, "pyjwt": bare, "pylti1p3": peer},
        number=mode.iterations(300, 20),
        rounds=mode.rounds(),
    )
    assert keys.fetches == 1, "the warm path must not refetch the platform's keys"
    print(f"  id_token: {len(token):,} bytes, RS256, 2048-bit key")
    line("ours: id_token.LaunchValidation(...).validate()", times["ours"])
    line("baseline: pyjwt jwt.decode (RS256, key object, aud + iss)", times["pyjwt"])
    line("peer: pylti1p3 2.x MessageLaunch.validate()", times["pylti1p3"])
    ratio_row(report, "LTI 1.3 validation vs bare pyjwt decode", times["ours"], times["pyjwt"], 1.05)
    ratio_row(report, "LTI 1.3 validation vs pylti1p3 validate()", times["ours"], times["pylti1p3"], 0.5)
