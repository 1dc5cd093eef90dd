"""The tool's LTI 1.3 RSA signing keys, one set per organisation: generated on first use, sealed with
KMS, published as each organisation's JWKS (``/lti/orgs/{org_id}/jwks.json``).

Every function takes the set's ``owner``: an organisation id, or ``None`` for the stack-wide set that
registrations made before tenant scoping still sign with (published at ``/.well-known/jwks.json``,
never created anew, rotated by the operator only). A registration names its set
(``platforms.Registration.key_owner``), so a client assertion or deep-linking response is signed with
the key of the organisation that owns the registration: an LMS that trusts one organisation's JWKS
cannot be made to accept a token another organisation's registration asked for.

- RSA 2048 (``cryptography``), ``kid`` = the key's RFC 7638 JWK thumbprint. The private key (PKCS#8
  PEM) is sealed by :class:`SecretBox` bound to ``tool-rsa:{kid}``; the public key is stored in clear.
- The first caller of a new stack creates the key with a conditional write, so concurrent cold starts
  agree on one ``kid`` (see :mod:`repositories.tool_keys`).
- :func:`rotate`: current → previous, a new current, the old previous → retired (private key
  dropped). The JWKS publishes current and previous, so a token signed just before a rotation (or by
  a warm container that has not noticed it yet) still verifies.
- Per warm container: which key is current is cached per set for ``STATE_CACHE_SECONDS``; each
  private key is opened and parsed once per ``kid``. :func:`public_jwks` always reads the table (one
  Query), so the published set is never behind a rotation another container made.
- :func:`rotate_due`: the scheduled rotation (``functions/rotation``) rotates every set whose current
  key is older than its age limit; the previous key stays published until the next rotation.

Used by the token API (client assertions, deep-linking responses) and by the platform API (our
public key in each platform answer).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_gateway.core import clock, runtime
from lti_gateway.core.errors import GatewayError, NotFound
from lti_gateway.repositories import deps

KEY_SIZE = 2048
ALGORITHM = "RS256"
STATE_CACHE_SECONDS = 60.0


@dataclass(frozen=True)
class PublicKey:
    kid: str
    status: str  # current | previous | retired
    created_at: str
    pem: str
    jwk: dict[str, str]  # kty, n, e, kid, alg, use


@dataclass(frozen=True)
class _State:
    current: PublicKey
    previous: PublicKey | None
    version: int
    sealed: dict[str, str]  # kid -> sealed private key (current and previous)


_lock = threading.Lock()
_cached: dict[str | None, tuple[float, _State]] = {}
_private: dict[str, rsa.RSAPrivateKey] = {}
_public: dict[str, PublicKey] = {}


def _bound(kid: str) -> str:
    return f"tool-rsa:{kid}"  # the kid is the key's thumbprint: unique across every set


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _b64(numbers.n), "e": _b64(numbers.e), "kid": kid, "alg": ALGORITHM, "use": "sig"}


def thumbprint(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, base64url."""
    numbers = public_key.public_numbers()
    canonical = json.dumps({"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _new_key_item() -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    kid = thumbprint(private.public_key())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    item = {
        "kid": kid,
        "status": "current",
        "created_at": clock.iso(clock.now()),
        "algorithm": ALGORITHM,
        "public_key_pem": public_pem,
        "private_key_sealed": deps.secret_box().seal(pem, bound_to=_bound(kid)),
    }
    with _lock:
        _private[kid] = private  # the creator need not open what it just sealed
    return item


def _public_key(item: dict[str, Any], status: str) -> PublicKey:
    kid = item["kid"]
    known = _public.get(kid)
    if known is None or known.status != status:
        loaded = serialization.load_pem_public_key(item["public_key_pem"].encode())
        assert isinstance(loaded, rsa.RSAPublicKey)
        known = PublicKey(kid, status, item["created_at"], item["public_key_pem"], _jwk(loaded, kid))
        with _lock:
            _public[kid] = known
    return known


def _read(owner: str | None, *, create: bool) -> _State | None:
    """The stored state of ``owner``'s set, creating its first key when there is none (and ``create``;
    the stack-wide set is never created)."""
    repo = deps.tool_keys_repo()
    pointer, keys = repo.load(owner)
    if pointer is None:
        if not create or owner is None:
            return None
        # False: a racing creator won; read theirs
        repo.create_first(owner, _new_key_item(), clock.iso(clock.now()))
        pointer, keys = repo.load(owner)
        assert pointer is not None
    current_item = keys.get(pointer["kid"])
    if current_item is None:
        raise GatewayError("the tool's current signing key is missing", code="tool_key_missing", status=500)
    previous_item = keys.get(pointer.get("previous_kid") or "")
    sealed = {
        item["kid"]: item["private_key_sealed"]
        for item in (current_item, previous_item)
        if item is not None and item.get("private_key_sealed")
    }
    return _State(
        current=_public_key(current_item, "current"),
        previous=_public_key(previous_item, "previous") if previous_item else None,
        version=int(pointer["version"]),
        sealed=sealed,
    )


def _remember(owner: str | None, state: _State) -> _State:
    with _lock:
        _cached[owner] = (time.monotonic() + STATE_CACHE_SECONDS, state)
    return state


def _no_key_set() -> GatewayError:
    return GatewayError(
        "this registration signs with the stack-wide key set, which does not exist on this stack",
        code="tool_key_missing",
        status=409,
    )


def _state(owner: str | None, *, fresh: bool = False) -> _State:
    if not fresh:
        hit = _cached.get(owner)
        if hit and hit[0] > time.monotonic():
            return hit[1]
    state = _read(owner, create=True)
    if state is None:
        raise _no_key_set()
    return _remember(owner, state)


def _private_key(state: _State, kid: str) -> rsa.RSAPrivateKey:
    key = _private.get(kid)
    if key is None:
        pem = deps.secret_box().open(state.sealed[kid], bound_to=_bound(kid))
        loaded = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        with _lock:
            key = _private.setdefault(kid, loaded)
    return key


# -- the API other modules use -------------------------------------------------------------------------


def signing_key(owner: str | None) -> tuple[str, rsa.RSAPrivateKey]:
    """``(kid, private key)`` of the current key of ``owner``'s set (created on first use); parsed once
    per container."""
    state = _state(owner)
    return state.current.kid, _private_key(state, state.current.kid)


def sign(claims: dict[str, Any], *, owner: str | None, headers: dict[str, Any] | None = None) -> str:
    """An RS256 JWT over ``claims`` signed with the current key of ``owner``'s set, ``kid`` in its header."""
    kid, key = signing_key(owner)
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={**(headers or {}), "kid": kid})


def public_jwks(owner: str | None, *, create: bool = True) -> dict[str, list[dict[str, str]]]:
    """``{"keys": [current, previous?]}`` of ``owner``'s set; always read from the table (one Query),
    never behind a rotation. Without ``create`` (and always for the stack-wide set) a set that does
    not exist publishes no key."""
    state = _read(owner, create=create)
    if state is None:
        return {"keys": []}
    _remember(owner, state)
    return {"keys": [k.jwk for k in (state.current, state.previous) if k is not None]}


def organisation_jwks(org_id: str) -> dict[str, list[dict[str, str]]]:
    """``GET /lti/orgs/{org_id}/jwks.json`` (public): the organisation's keys, its set created on the
    first fetch if its LMS asks before anything was signed; 404 for an organisation that does not
    exist (a stranger cannot make the stack create key sets)."""
    published = public_jwks(org_id, create=False)
    if published["keys"]:
        return published
    if deps.keys_repo().get_organisation(org_id) is None:
        raise NotFound({"org_id": "no such organisation"})
    return public_jwks(org_id)


def current_public_key(owner: str | None) -> PublicKey:
    """The current key's public half (PEM and JWK) of ``owner``'s set, e.g. for platform answers."""
    return _state(owner).current


def rotate(owner: str | None) -> dict[str, Any]:
    """New current key of ``owner``'s set; the old current stays published as previous; the old
    previous is retired.

    409 ``concurrent_change`` if another rotation got there first. An organisation without keys gets
    its first one; the stack-wide set, when it does not exist, is not created (409 ``tool_key_missing``).
    """
    before = _read(owner, create=False)
    if before is None:
        state = _state(owner, fresh=True)  # creates the first key and remembers it
        return _rotation_view(state, rotated=False)
    new_item = _new_key_item()
    deps.tool_keys_repo().rotate(
        owner,
        expected_version=before.version,
        current_kid=before.current.kid,
        previous_kid=before.previous.kid if before.previous else None,
        new_key=new_item,
        at=clock.iso(clock.now()),
    )
    state = _state(owner, fresh=True)
    retired = before.previous.kid if before.previous else None
    with _lock:
        if retired:
            _private.pop(retired, None)
    return _rotation_view(state, rotated=True, retired=retired)


def _rotation_view(state: _State, *, rotated: bool, retired: str | None = None) -> dict[str, Any]:
    def one(key: PublicKey | None) -> dict[str, str] | None:
        return None if key is None else {"kid": key.kid, "created_at": key.created_at}

    return {
        "rotated": rotated,
        "current": one(state.current),
        "previous": one(state.previous),
        "retired_kid": retired,
    }


def rotate_due(max_age_days: int, *, now: float | None = None) -> list[dict[str, Any]]:
    """The scheduled rotation: every key set whose current key is older than ``max_age_days`` rotated
    once (its previous key stays published until the next run). One set failing (e.g. a concurrent
    rotation) does not stop the others; each outcome is reported."""
    limit = (clock.now() if now is None else now) - max_age_days * 86400
    outcomes: list[dict[str, Any]] = []
    repo = deps.tool_keys_repo()
    pointers = repo.key_sets()
    if all(p.get("owner") is not None for p in pointers):
        # The stack-wide set of an upgraded stack was created before key sets were listed: one read.
        legacy, _ = repo.load(None)
        if legacy is not None:
            pointers.append({**legacy, "owner": None})
    for pointer in pointers:
        owner = pointer.get("owner")
        rotated_at = clock.parse_iso(str(pointer.get("updated_at") or ""))
        if rotated_at is not None and rotated_at > limit:
            continue
        try:
            view = rotate(owner)
        except GatewayError as error:
            outcomes.append({"owner": owner, "rotated": False, "error": error.code})
            continue
        outcomes.append({"owner": owner, **view})
    return outcomes


@runtime.register
def reset() -> None:
    """Forget every cached key (tests; a new container)."""
    with _lock:
        _cached.clear()
        _private.clear()
        _public.clear()
