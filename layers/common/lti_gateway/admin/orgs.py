"""Organisations (tenants) and their API credentials.

An API key is ``<credential_id>.<secret>``: the id is public (it is the Learnosity ``consumer_key``),
the secret is 256 random bits. The table keeps a SHA-256 of the secret for bearer checks and the
secret sealed with KMS (Learnosity-style requests are HMACs made with it, so it must be recoverable).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from lti_gateway.core import clock, validation
from lti_gateway.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from lti_gateway.core.urls import validate_app_launch_url
from lti_gateway.repositories import deps

Role = Literal["owner", "member"]
ROLES: tuple[str, ...] = ("owner", "member")
MAX_AUTHORIZATION = 4096
_CREDENTIAL_ID = re.compile(r"^ak_[0-9a-f]{16}$")
_DUMMY_HASH = hashlib.sha256(b"no such credential").hexdigest()
_TOUCH_EVERY_SECONDS = 3600
_LAST_OWNER = {
    "credential_id": "this is the organisation's last active owner credential; "
    "create another owner credential before revoking it"
}


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a credential, the only source of an organisation id."""

    org_id: str
    credential_id: str
    role: str

    def require_owner(self) -> None:
        if self.role != "owner":
            raise Forbidden("only organisation owners may do this", code="owner_role_required")


@dataclass(frozen=True)
class CreatedOrganisation:
    org_id: str
    name: str
    credential_id: str
    api_key: str  # shown once


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_credential(org_id: str, role: str, label: str | None) -> tuple[dict[str, Any], str]:
    credential_id = f"ak_{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    item = {
        "credential_id": credential_id,
        "org_id": org_id,
        "role": role,
        "label": label,
        "status": "active",
        "created_at": clock.iso(clock.now()),
        "secret_hash": _hash(secret),
        "secret_sealed": deps.secret_box().seal(secret, bound_to=f"api-credential:{credential_id}"),
    }
    return item, f"{credential_id}.{secret}"


def public_credential(item: dict[str, Any]) -> dict[str, Any]:
    fields = ("credential_id", "role", "label", "status", "created_at", "last_used_at", "revoked_at")
    return {f: item.get(f) for f in fields}


def create_organisation(name: Any) -> CreatedOrganisation:
    name = validation.text("name", name, max_len=200)
    org_id = f"org_{secrets.token_hex(8)}"
    credential, api_key = _new_credential(org_id, "owner", "initial owner")
    org = {"org_id": org_id, "name": name, "created_at": credential["created_at"]}
    deps.keys_repo().put_organisation(org, credential)
    return CreatedOrganisation(org_id, name, credential["credential_id"], api_key)


def get_organisation(principal: Principal) -> dict[str, Any]:
    org = deps.keys_repo().get_organisation(principal.org_id)
    if org is None:
        raise NotFound("organisation not found")
    return _organisation_view(org, principal)


def _organisation_view(org: dict[str, Any], principal: Principal) -> dict[str, Any]:
    return {
        "org_id": org["org_id"],
        "name": org["name"],
        "created_at": org["created_at"],
        "app_launch_url": org.get("app_launch_url"),
        "credential": {"credential_id": principal.credential_id, "role": principal.role},
    }


def create_credential(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    principal.require_owner()
    role = body.get("role", "member")
    if role not in ROLES:
        raise ValidationFailed({"role": f"must be one of {', '.join(ROLES)}"})
    label = validation.optional_text("label", body.get("label"), max_len=255)
    item, api_key = _new_credential(principal.org_id, role, label)
    deps.keys_repo().put_credential(item)
    return {**public_credential(item), "api_key": api_key}


def list_credentials(principal: Principal, *, limit: int, token: str | None) -> dict[str, Any]:
    principal.require_owner()
    items, next_token = deps.keys_repo().list_credentials(principal.org_id, limit=limit, token=token)
    return {"credentials": [public_credential(i) for i in items], "next": next_token}


def revoke_credential(principal: Principal, credential_id: str) -> dict[str, Any]:
    """Revoke a credential of the caller's organisation. The last active owner credential is never
    revoked (409 ``last_owner``): the repository decrements the organisation's owner counter in the
    same transaction, conditional on it staying above zero, so two owners revoking each other at the
    same moment cannot both succeed. A credential never revokes itself (409 ``cannot_revoke_self``),
    unless it is the last owner, which is answered ``last_owner`` (the reason that matters)."""
    principal.require_owner()
    if not _CREDENTIAL_ID.match(credential_id):
        raise NotFound({"credential_id": "no such credential"})
    if credential_id == principal.credential_id:
        if deps.keys_repo().active_owner_count(principal.org_id) <= 1:
            raise Conflict(_LAST_OWNER, code="last_owner")
        raise Conflict("a credential cannot revoke itself; use another owner credential", code="cannot_revoke_self")
    item = deps.keys_repo().revoke_credential(principal.org_id, credential_id, clock.iso(clock.now()))
    return public_credential(item)


def _load_active(credential_id: str, secret: str) -> dict[str, Any]:
    """One read; the secret hash is compared even for unknown ids so every failure costs the same."""
    item = deps.keys_repo().get_credential(credential_id) if _CREDENTIAL_ID.match(credential_id) else None
    expected = item["secret_hash"] if item else _DUMMY_HASH
    if not hmac.compare_digest(expected, _hash(secret)) or item is None:
        raise Unauthorized("invalid API key", code="invalid_api_key")
    if item.get("status") != "active":
        raise Unauthorized("this API key has been revoked", code="api_key_revoked")
    return item


def authenticate_api_key(api_key: str) -> Principal:
    credential_id, _, secret = api_key.partition(".")
    item = _load_active(credential_id, secret)
    now = clock.now()
    last = item.get("last_used_at")
    if last is None or last < clock.iso(now - _TOUCH_EVERY_SECONDS):
        deps.keys_repo().touch_credential(
            credential_id, clock.iso(now), older_than=clock.iso(now - _TOUCH_EVERY_SECONDS)
        )
    return Principal(org_id=item["org_id"], credential_id=credential_id, role=item["role"])


def authenticate_bearer(authorization: str | None) -> Principal:
    """``Authorization: Bearer <API_KEY>`` → the calling principal, or 401."""
    if not authorization:
        raise Unauthorized("missing Authorization header (Bearer <API_KEY>)", code="missing_credentials")
    if len(authorization) > MAX_AUTHORIZATION:
        raise Unauthorized("Authorization header too long", code="invalid_api_key")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected Authorization: Bearer <API_KEY>", code="invalid_authorization_scheme")
    return authenticate_api_key(token.strip())


def credential_secret_for_signature(credential_id: str) -> tuple[dict[str, Any], str] | None:
    """The credential and its plaintext secret (for HMAC request signatures), or None if unusable."""
    item = deps.keys_repo().get_credential(credential_id) if _CREDENTIAL_ID.match(credential_id) else None
    if item is None or item.get("status") != "active":
        return None
    secret = deps.secret_box().open(item["secret_sealed"], bound_to=f"api-credential:{credential_id}")
    return item, secret


# -- organisation settings --------------------------------------------------------------------------

ORG_SETTINGS = ("app_launch_url",)


def update_settings(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Owners set the organisation's defaults: ``app_launch_url`` (where launches are handed over
    with ``?ltik=``, unless a class or unit overrides it; ``null`` clears it). Answers like GET /api/org."""
    principal.require_owner()
    unknown = sorted(set(body) - set(ORG_SETTINGS))
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))
    if not body:
        raise ValidationFailed(f"send at least one of {', '.join(ORG_SETTINGS)}", code="nothing_to_update")
    url = body["app_launch_url"]
    fields = {"app_launch_url": None if url is None else validate_app_launch_url(url)}
    org = deps.keys_repo().update_organisation_settings(principal.org_id, fields, clock.iso(clock.now()))
    return _organisation_view(org, principal)
