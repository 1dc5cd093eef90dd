"""The ``ltik``: a signed token naming one stored launch, handed to the app as ``?ltik=``.

An HS256 JWT (pyjwt) with ``sub`` = launch id, ``org`` = organisation, ``iat`` and ``exp`` = iat + 24 h,
signed with a per-stack 256-bit key that is generated once, sealed with KMS and stored in the keys
table. It names the launch and nothing else: the launch context itself stays in DynamoDB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.utils import base64url_decode

from lti_gateway.core import cache, clock, runtime
from lti_gateway.core.errors import Unauthorized
from lti_gateway.repositories import deps

LIFETIME_SECONDS = 24 * 3600
ALGORITHM = "HS256"
MAX_LENGTH = 2048
_KEY_NAME = "ltik"


@dataclass(frozen=True)
class LtikClaims:
    launch_id: str
    org_id: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class _Key:
    kid: str
    secret: bytes


_lock = threading.Lock()
_keys: dict[str, _Key] = {}
_current: list[_Key] = []

# pyjwt with the ltik's required claims set once (per-call options are merged into a new dict each time);
# exp, iat and nbf are still pyjwt's to check, as in a bare jwt.decode.
_JWT = jwt.PyJWT(options={"require": ["sub", "org", "iat", "exp"]})
_ALGORITHMS = (ALGORITHM,)


def _load_or_create() -> _Key:
    """The stack's ltik key: read it, or create it once (conditional put; a racing creator wins)."""
    repo = deps.keys_repo()
    box = deps.secret_box()
    item = repo.get_tool_key(_KEY_NAME)
    if item is None:
        kid = secrets.token_hex(8)
        raw = base64.b64encode(secrets.token_bytes(32)).decode()
        sealed = box.seal(raw, bound_to=f"ltik-key:{kid}")
        item = repo.create_tool_key(
            _KEY_NAME, {"kid": kid, "created_at": clock.iso(clock.now()), "secret_sealed": sealed}
        )
    secret = base64.b64decode(box.open(item["secret_sealed"], bound_to=f"ltik-key:{item['kid']}"))
    return _Key(item["kid"], secret)


def _signing_key() -> _Key:
    try:
        return _current[0]  # a warm container: no lock
    except IndexError:
        pass
    with _lock:
        if not _current:
            key = _load_or_create()
            _current.append(key)
            _keys[key.kid] = key
        return _current[0]


def issue(launch_id: str, org_id: str, *, now: float | None = None) -> str:
    key = _signing_key()
    issued = int(clock.now() if now is None else now)
    claims = {"sub": launch_id, "org": org_id, "iat": issued, "exp": issued + LIFETIME_SECONDS}
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "ltik"})


def _invalid() -> Unauthorized:
    return Unauthorized("invalid or expired ltik", code="invalid_ltik")


def _header(segment: str) -> Any:
    return json.loads(base64url_decode(segment.encode()))


# Parsed header segments: every ltik of a stack has the same header, decoded once per container (short
# segments only: a flood of made-up headers costs a decode each, never memory).
_HEADERS: cache.Memo[Any] = cache.Memo(_header, max_entries=64, max_key_length=256)


def _kid(token: str) -> Any:
    """The header's kid, read from the header segment alone (get_unverified_header re-scans the whole
    token); None when the segment is not a JSON object."""
    try:
        header = _HEADERS.get(token[: token.find(".")])
    except (ValueError, binascii.Error, RecursionError):
        return None
    return header.get("kid") if isinstance(header, dict) else None


def verify(token: str, *, now: float | None = None) -> LtikClaims:
    """The claims of a valid, unexpired ltik; 401 ``invalid_ltik`` for anything else."""
    if not isinstance(token, str) or not 1 <= len(token) <= MAX_LENGTH or token.count(".") != 2:
        raise _invalid()
    key = _signing_key()
    if _kid(token) != key.kid:
        raise _invalid()
    try:
        claims = _JWT.decode(token, key.secret, algorithms=_ALGORITHMS)
    except jwt.PyJWTError:
        raise _invalid() from None
    current = int(clock.now() if now is None else now)
    if not isinstance(claims["sub"], str) or not isinstance(claims["org"], str) or claims["exp"] <= current:
        raise _invalid()
    return LtikClaims(claims["sub"], claims["org"], int(claims["iat"]), int(claims["exp"]))


def derive(label: str) -> bytes:
    """HMAC-SHA256 of ``label`` under the ltik key (domain-separated from ltik signatures): values
    bound to a launch, such as its service key, that the gateway can recompute and nobody can forge."""
    return hmac.new(_signing_key().secret, b"derive:" + label.encode(), hashlib.sha256).digest()


@runtime.register
def reset() -> None:
    with _lock:
        _keys.clear()
        _current.clear()
