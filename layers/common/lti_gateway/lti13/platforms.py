"""LTI 1.3 platform registrations: the owner API (LTIAAS platform shapes) and the lookups launches use.

A registration is ``{issuer, client_id, deployment_ids, auth_login_url, auth_token_url, jwks_url or
public_key, auth_server?}`` owned by one organisation. One issuer may have many client ids (every
hosted Canvas shares ``https://canvas.instructure.com``), so a login is matched by issuer + client id
*inside the organisation its URL names* (``/lti/orgs/{org_id}/login``): the pair is unique within one
organisation (409 ``platform_exists``), and another organisation registering the same pair changes
nothing for this one. A launch finds exactly the registration its login matched (by the platform id
the login state names). Each registration signs with its organisation's own key set
(:attr:`Registration.key_owner`).

Registrations made before tenant scoping (no ``tenant_scoped``) keep working as they were: the
stack-wide ``/lti/login`` reads their stack-wide index, the organisation's own login URL finds them
too, and they sign with the stack-wide key set their LMS was given. Changing such a registration's
issuer or client id makes it tenant-scoped (the new pair is a new registration for the LMS).

API JSON (``/api/platforms``), as the LTIAAS Node SDK's ``Platform`` plus our own keys::

    {id, url, clientId, name, authenticationEndpoint, accesstokenEndpoint,
     authConfig: {method: JWK_SET | JWK_KEY | RSA_KEY, key}, authorizationServer?, active,
     publicKey (the current public key of the key set it signs with, PEM), deploymentIds, allowAnonymous,
     tenantScoped (false: registered before tenant scoping, see above), createdAt, updatedAt, version}

``public_key`` (stored) is a PEM (``RSA_KEY``) or a JSON-encoded JWK (``JWK_KEY``, starts with ``{``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from lti_gateway.admin.orgs import Principal
from lti_gateway.core import clock, validation
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.core.errors import (
    Conflict,
    GatewayError,
    NotFound,
    PlatformInactive,
    UnknownPlatform,
    ValidationFailed,
)
from lti_gateway.core.urls import check_url
from lti_gateway.lti13 import tool_keys
from lti_gateway.repositories import deps
from lti_gateway.repositories.dynamo import strip_none
from lti_gateway.repositories.platforms import STORED_FIELDS

MAX_ISSUER = 1024  # the index item's partition key is "ISS#" + issuer (DynamoDB allows 2048 bytes)
MAX_URL = 2048
MAX_NAME = 200
MAX_ID = 255
MAX_DEPLOYMENTS = 100
MAX_PUBLIC_KEY = 8192
MIN_KEY_BITS = 2048
AUTH_METHODS = ("JWK_SET", "JWK_KEY", "RSA_KEY")

REQUIRED = ("url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint", "authConfig")
OPTIONAL = ("authorizationServer", "deploymentIds", "allowAnonymous", "active", "version")
# Sent back unchanged by clients that PUT what they read: accepted and ignored.
READ_ONLY = ("id", "publicKey", "createdAt", "updatedAt", "tenantScoped")
STORED = STORED_FIELDS


@dataclass(frozen=True)
class Registration:
    """What a login or launch needs of a platform registration (read-only, cached per container)."""

    platform_id: str
    org_id: str
    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    jwks_url: str | None
    public_key: str | None  # a PEM, or a JSON-encoded JWK (starts with "{"), when there is no jwks_url
    auth_server: str | None  # the token request's `aud` when it is not auth_token_url
    active: bool
    allow_anonymous: bool
    key_owner: str | None = None  # whose key set signs for it: the organisation; None: stack-wide (legacy)


def key_owner(item: dict[str, Any]) -> str | None:
    """The key set a stored registration signs with: its organisation's, or (registered before tenant
    scoping) the stack-wide set its LMS was given."""
    return str(item["org_id"]) if item.get("tenant_scoped") else None


def registration_of(item: dict[str, Any]) -> Registration:
    return Registration(
        platform_id=item["platform_id"],
        org_id=item["org_id"],
        name=item["name"],
        issuer=item["issuer"],
        client_id=item["client_id"],
        deployment_ids=tuple(item.get("deployment_ids") or ()),
        auth_login_url=item["auth_login_url"],
        auth_token_url=item["auth_token_url"],
        jwks_url=item.get("jwks_url"),
        public_key=item.get("public_key"),
        auth_server=item.get("auth_server"),
        active=bool(item.get("active", True)),
        allow_anonymous=bool(item.get("allow_anonymous", False)),
        key_owner=key_owner(item),
    )


# -- validation ---------------------------------------------------------------------------------------


def insecure_urls_allowed() -> bool:
    return settings().allow_insecure_platform_urls


def check_platform_url(field: str, value: Any, *, max_len: int = MAX_URL, issuer: bool = False) -> str:
    """An absolute https URL on a public host (http and local hosts only with ALLOW_INSECURE_PLATFORM_URLS),
    without a fragment; an issuer without a query string."""
    insecure = insecure_urls_allowed()
    checked, _, _ = check_url(
        field,
        value,
        schemes=("https", "http") if insecure else ("https",),
        max_len=max_len,
        strip=True,
        fragment=False,
        query=not issuer,
        public_host=not insecure,
    )
    return checked


def _exact_text(field: str, value: Any, *, max_len: int) -> str:
    """An identifier compared byte for byte with what the platform sends: no surrounding blanks."""
    checked = validation.text(field, value, max_len=max_len)
    if checked != value:
        raise ValidationFailed({field: "must not start or end with blanks"})
    return checked


def _deployment_ids(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationFailed({"deploymentIds": "must be a list of strings"})
    if len(value) > MAX_DEPLOYMENTS:
        raise ValidationFailed({"deploymentIds": f"at most {MAX_DEPLOYMENTS} deployment ids"})
    ids: list[str] = []
    for i, one in enumerate(value):
        checked = _exact_text(f"deploymentIds[{i}]", one, max_len=MAX_ID)
        if checked not in ids:
            ids.append(checked)
    return ids


def _rsa_public_key(field: str, loaded: Any) -> None:
    if not isinstance(loaded, rsa.RSAPublicKey):
        raise ValidationFailed({field: "must be an RSA public key"})
    if loaded.key_size < MIN_KEY_BITS:
        raise ValidationFailed({field: f"the RSA key must have at least {MIN_KEY_BITS} bits"})


def _jwk_key(value: Any) -> str:
    field = "authConfig.key"
    if isinstance(value, str):
        if len(value) > MAX_PUBLIC_KEY:
            raise ValidationFailed({field: f"must be at most {MAX_PUBLIC_KEY} characters"})
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValidationFailed({field: "must be a JWK (a JSON object)"}) from None
    if not isinstance(value, dict):
        raise ValidationFailed({field: "must be a JWK (a JSON object)"})
    if value.get("kty") != "RSA" or not isinstance(value.get("n"), str) or not isinstance(value.get("e"), str):
        raise ValidationFailed({field: "must be an RSA JWK with kty, n and e"})
    if any(private in value for private in ("d", "p", "q", "dp", "dq", "qi")):
        raise ValidationFailed({field: "must be the platform's public key, not a private key"})
    try:
        loaded = RSAAlgorithm.from_jwk(value)
    except Exception:  # pyjwt raises InvalidKeyError, ValueError… on malformed members
        raise ValidationFailed({field: "is not a valid RSA JWK"}) from None
    _rsa_public_key(field, loaded)
    compact = json.dumps(value, separators=(",", ":"), sort_keys=True)
    if len(compact) > MAX_PUBLIC_KEY:
        raise ValidationFailed({field: f"must be at most {MAX_PUBLIC_KEY} characters"})
    return compact


def _pem_key(value: Any) -> str:
    field = "authConfig.key"
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({field: "must be a PEM public key"})
    if len(value) > MAX_PUBLIC_KEY:
        raise ValidationFailed({field: f"must be at most {MAX_PUBLIC_KEY} characters"})
    if "PRIVATE KEY" in value:
        raise ValidationFailed({field: "must be the platform's public key, not a private key"})
    try:
        loaded = serialization.load_pem_public_key(value.strip().encode())
    except (ValueError, TypeError):
        raise ValidationFailed({field: "is not a PEM public key (-----BEGIN PUBLIC KEY-----)"}) from None
    _rsa_public_key(field, loaded)
    return value.strip()


def _auth_config(value: Any) -> tuple[str | None, str | None]:
    """``(jwks_url, public_key)``: exactly one is set."""
    if not isinstance(value, dict):
        raise ValidationFailed({"authConfig": "must be an object {method, key}"})
    unknown = sorted(set(value) - {"method", "key"})
    if unknown:
        raise ValidationFailed({f"authConfig.{k}": "unknown field" for k in unknown})
    method = value.get("method")
    if method not in AUTH_METHODS:
        raise ValidationFailed({"authConfig.method": f"must be one of {', '.join(AUTH_METHODS)}"})
    if method == "JWK_SET":
        return check_platform_url("authConfig.key", value.get("key")), None
    if method == "JWK_KEY":
        return None, _jwk_key(value.get("key"))
    return None, _pem_key(value.get("key"))


def _stored_fields(body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """The registration fields after applying ``body`` (a create, or an update over ``current``)."""
    if not isinstance(body, dict):
        raise ValidationFailed("body must be a JSON object")
    validation.reject_unknown(body, (*REQUIRED, *OPTIONAL, *READ_ONLY))
    if current is None:
        missing = [name for name in REQUIRED if name not in body]
        if missing:
            raise ValidationFailed(dict.fromkeys(missing, "is required"))
        out: dict[str, Any] = {"deployment_ids": [], "active": True, "allow_anonymous": False, "auth_server": None}
    else:
        out = {name: current.get(name) for name in STORED}
    if "url" in body:
        out["issuer"] = check_platform_url("url", body["url"], max_len=MAX_ISSUER, issuer=True)
    if "clientId" in body:
        out["client_id"] = _exact_text("clientId", body["clientId"], max_len=MAX_ID)
    if "name" in body:
        out["name"] = validation.text("name", body["name"], max_len=MAX_NAME)
    if "authenticationEndpoint" in body:
        out["auth_login_url"] = check_platform_url("authenticationEndpoint", body["authenticationEndpoint"])
    if "accesstokenEndpoint" in body:
        out["auth_token_url"] = check_platform_url("accesstokenEndpoint", body["accesstokenEndpoint"])
    if "authConfig" in body:
        out["jwks_url"], out["public_key"] = _auth_config(body["authConfig"])
    if "authorizationServer" in body:
        server = body["authorizationServer"]
        out["auth_server"] = None if server is None else validation.text("authorizationServer", server, max_len=MAX_URL)
    if "deploymentIds" in body:
        out["deployment_ids"] = _deployment_ids(body["deploymentIds"])
    if "allowAnonymous" in body:
        out["allow_anonymous"] = validation.boolean("allowAnonymous", body["allowAnonymous"])
    if "active" in body:
        out["active"] = validation.boolean("active", body["active"])
    return out


# -- API views ----------------------------------------------------------------------------------------


def _auth_view(item: dict[str, Any]) -> dict[str, str]:
    if item.get("jwks_url"):
        return {"method": "JWK_SET", "key": item["jwks_url"]}
    key = item.get("public_key") or ""
    return {"method": "JWK_KEY" if key.lstrip().startswith("{") else "RSA_KEY", "key": key}


def _public_pem(owner: str | None) -> str | None:
    try:
        return tool_keys.current_public_key(owner).pem
    except GatewayError:  # a legacy registration on a stack whose stack-wide set is gone
        return None


def view(item: dict[str, Any], *, tool_public_key: str | None = None) -> dict[str, Any]:
    """The LTIAAS ``Platform`` JSON (plus our keys) of a stored platform; ``tool_public_key`` is the
    organisation's current public key when the caller has it already (listings)."""
    owner = key_owner(item)
    out: dict[str, Any] = {
        "id": item["platform_id"],
        "url": item["issuer"],
        "clientId": item["client_id"],
        "name": item["name"],
        "authenticationEndpoint": item["auth_login_url"],
        "accesstokenEndpoint": item["auth_token_url"],
        "authConfig": _auth_view(item),
        "active": bool(item.get("active", True)),
        "publicKey": (tool_public_key if owner is not None and tool_public_key else None) or _public_pem(owner),
        "deploymentIds": list(item.get("deployment_ids") or []),
        "allowAnonymous": bool(item.get("allow_anonymous", False)),
        "tenantScoped": owner is not None,
        "createdAt": item["created_at"],
        "updatedAt": item.get("updated_at", item["created_at"]),
        "version": int(item["version"]),
    }
    if item.get("auth_server"):
        out["authorizationServer"] = item["auth_server"]
    return out


# -- owner operations ---------------------------------------------------------------------------------


def _new_item(org_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    now = clock.iso(clock.now())
    return strip_none(
        {
            **fields,
            "platform_id": f"plt_{secrets.token_hex(8)}",
            "org_id": org_id,
            "tenant_scoped": True,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
    )


def create_platform(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    principal.require_owner()
    item = _new_item(principal.org_id, _stored_fields(body, None))
    deps.platforms_repo().put_platform(item)
    clear_cache()
    return view(item)


def register_platform(
    org_id: str, fields: dict[str, Any], *, registration_url: tuple[str, bool, int] | None = None
) -> dict[str, Any]:
    """Store a platform registered by other means (dynamic registration): ``fields`` use the API names
    and are validated like ``POST /api/platforms``. Returns the stored item."""
    item = _new_item(org_id, _stored_fields(fields, None))
    deps.platforms_repo().put_platform(item, registration_url=registration_url)
    clear_cache()
    return item


def _owned(principal: Principal, platform_id: str, *, consistent: bool = False) -> dict[str, Any]:
    principal.require_owner()
    item = None
    if isinstance(platform_id, str) and len(platform_id) <= 64 and platform_id.startswith("plt_"):
        item = deps.platforms_repo().get_platform(platform_id, consistent=consistent)
    if item is None or item.get("org_id") != principal.org_id:
        raise NotFound({"platform_id": "no such platform"})
    return item


def owned(principal: Principal, platform_id: str) -> dict[str, Any]:
    """The stored platform if it is the principal's organisation's (owners only): 403 / 404 otherwise."""
    return _owned(principal, platform_id)


def get_platform(principal: Principal, platform_id: str) -> dict[str, Any]:
    return view(_owned(principal, platform_id))


def list_platforms(
    principal: Principal, *, limit: int, token: str | None, url: str | None = None, client_id: str | None = None
) -> dict[str, Any]:
    """One page of the organisation's platforms; ``url`` (issuer) and ``clientId`` filter exactly."""
    principal.require_owner()
    items, next_token = deps.platforms_repo().list_platforms(
        principal.org_id, limit=limit, token=token, issuer=url or None, client_id=client_id or None
    )
    pem = tool_keys.current_public_key(principal.org_id).pem
    return {"platforms": [view(i, tool_public_key=pem) for i in items], "next": next_token}


def update_platform(principal: Principal, platform_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT: the fields sent replace the stored ones (omitted fields keep their values, ``null`` clears
    ``authorizationServer``), conditional on the version read — or on ``version`` when the body sends it."""
    current = _owned(principal, platform_id, consistent=True)
    fields = _stored_fields(body, current)
    if not body or set(body) <= set(READ_ONLY) | {"version"}:
        raise ValidationFailed("send at least one field to change", code="nothing_to_update")
    if "version" in body:
        expected = body["version"]
        if isinstance(expected, bool) or not isinstance(expected, int):
            raise ValidationFailed({"version": "must be a whole number"})
        if expected != int(current["version"]):
            raise Conflict(
                "the platform changed since that version was read; read it again and retry", code="concurrent_change"
            )
    after = strip_none(
        {
            **{k: v for k, v in current.items() if k not in STORED},
            **fields,
            "updated_at": clock.iso(clock.now()),
            "version": int(current["version"]) + 1,
        }
    )
    for key in ("pk", "sk", "kind", "gsi1pk", "gsi1sk"):
        after.pop(key, None)
    if (after["issuer"], after["client_id"]) != (current["issuer"], current["client_id"]):
        after["tenant_scoped"] = True  # a new pair is a new registration: its organisation's index and keys
    deps.platforms_repo().replace_platform(current, after)
    clear_cache()
    return view(after)


def set_active(principal: Principal, platform_id: str, active: bool) -> dict[str, Any]:
    _owned(principal, platform_id)
    item = deps.platforms_repo().set_active(principal.org_id, platform_id, active, clock.iso(clock.now()))
    clear_cache()
    return view(item)


def delete_platform(principal: Principal, platform_id: str) -> dict[str, Any]:
    """Delete the registration and free its issuer + client id (deactivate to keep it instead)."""
    item = _owned(principal, platform_id, consistent=True)
    deps.platforms_repo().delete_platform(item)
    clear_cache()
    return {**view(item), "deleted": True}


# -- lookups for the OIDC login and the id_token launch -----------------------------------------------

_registrations: TtlCache[Registration] = TtlCache()


def _ttl() -> int:
    return settings().consumer_key_cache_seconds


def _usable(value: Any, max_len: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_len


def _load_platform(
    platform_id: str, unknown: GatewayError, *, consistent: bool = False, org_id: str | None = None
) -> Registration:
    """The registration ``platform_id`` names (of ``org_id`` when given), else ``unknown``; a miss is
    never cached, so a platform registered a moment ago works at once."""
    item = deps.platforms_repo().get_platform(platform_id, consistent=consistent) if platform_id else None
    if item is None or (org_id is not None and item.get("org_id") != org_id):
        raise unknown
    return registration_of(item)


def _by_pair(org_id: str | None, issuer: str, client_id: str, unknown: GatewayError) -> Registration:
    """(issuer, client id) inside ``org_id``: its own index, else a legacy registration of that same
    organisation; ``org_id`` None (the stack-wide legacy login URL): the legacy index only. Never
    cached: a deactivated or deleted registration starts no login, at once."""
    repo = deps.platforms_repo()
    index = repo.get_index(issuer, client_id, org_id=org_id)
    if index is None and org_id is not None:
        index = repo.get_index(issuer, client_id, org_id=None)  # a legacy one, if it is this organisation's
    platform_id = str(index["platform_id"]) if index else ""
    return _load_platform(platform_id, unknown, consistent=True, org_id=org_id)


def _active(registration: Registration) -> Registration:
    if not registration.active:
        raise PlatformInactive("this platform registration has been deactivated by the tool's administrators")
    return registration


def find_for_login(issuer: str, client_id: str | None, org_id: str | None = None) -> Registration:
    """The registration an OIDC login initiation names, inside the organisation its URL names.

    ``org_id`` is the ``{org_id}`` of ``/lti/orgs/{org_id}/login``: only that organisation's
    registrations match (its own, and its legacy ones). Never cached (consistent reads: the index
    item, then the registration), so a deactivated or deleted registration starts no login at once.
    ``None`` is the stack-wide legacy ``/lti/login``: registrations made before tenant scoping only.
    With ``client_id``: that pair. Without: the issuer's only registration there; 400
    ``client_id_required`` when it has several (hosted Canvas). 400 ``unknown_platform``; 403
    ``platform_inactive``.
    """
    unknown = UnknownPlatform("this platform (issuer and client id) is not registered with the tool")
    if not _usable(issuer, MAX_ISSUER):
        raise unknown
    if client_id:
        if not _usable(client_id, MAX_ID):
            raise unknown
        return _active(_by_pair(org_id, issuer, client_id, unknown))

    repo = deps.platforms_repo()
    clients = repo.issuer_clients(issuer, limit=2, org_id=org_id)
    if org_id is not None and len(clients) < 2:
        clients = clients + repo.legacy_issuer_clients(issuer, org_id, limit=2 - len(clients))
    if not clients:
        raise unknown
    if len(clients) > 1:
        raise ValidationFailed(
            "this issuer has several registrations: the login request must name its client_id",
            code="client_id_required",
        )
    return _active(_load_platform(str(clients[0]["platform_id"]), unknown, consistent=True, org_id=org_id))


def find_for_launch(issuer: str, client_id: str, platform_id: str, org_id: str | None = None) -> Registration:
    """The registration an id_token launch was started for: the platform its login state names
    (whatever organisation that login matched in), which must still have that issuer and client id
    (and belong to ``org_id`` when the launch was posted to ``/lti/orgs/{org_id}/launch``).

    401 ``unknown_platform`` (the token cannot be verified against anything); 403 ``platform_inactive``.
    Cached per warm container for CONSUMER_KEY_CACHE_SECONDS. Deployment checks are the caller's.
    """
    unknown = UnknownPlatform("this platform (issuer and client id) is not registered with the tool", status=401)
    if not _usable(issuer, MAX_ISSUER) or not _usable(client_id, MAX_ID) or not _usable(platform_id, 64):
        raise unknown
    registration = _registrations.get(
        f"platform\n{platform_id}", lambda: _load_platform(platform_id, unknown), ttl_seconds=_ttl()
    )
    if (registration.issuer, registration.client_id) != (issuer, client_id):
        raise unknown  # changed since the login
    if org_id is not None and registration.org_id != org_id:
        raise unknown  # a login of another organisation posted to this one's launch URL
    return _active(registration)


def clear_cache() -> None:
    _registrations.clear()
