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
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from lti_gateway.core import clock, validation
from lti_gateway.core.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from lti_gateway.core.urls import (
    MAX_URL,
    app_origin_allowed,
    app_url_origin,
    check_url,
    organisation_app_origins,
    own_app_origin,
    stack_app_origins,
    validate_app_launch_url,
    validate_app_origin,
)
from lti_gateway.repositories import deps

Role = Literal["owner", "member"]
ROLES: tuple[str, ...] = ("owner", "member")
MAX_AUTHORIZATION = 4096
_CREDENTIAL_ID = re.compile(r"^ak_[0-9a-f]{16}$")
_ORG_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the organisation ids of URLs (lti13/oidc.py's ORG_ID_RE)
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
    # app_origins: the origins its app launch URLs may use, none until an owner sets one (see below).
    org = {"org_id": org_id, "name": name, "created_at": credential["created_at"], "app_origins": []}
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
        "app_origins": allowed_app_origins(org),
        **{name: org.get(name) for name in TOOL_SETTINGS},
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

TOOL_SETTINGS = ("tool_name", "tool_description", "tool_icon_url")
ORG_SETTINGS = ("app_launch_url", "app_origins", *TOOL_SETTINGS)
MAX_TOOL_NAME = 100
MAX_TOOL_DESCRIPTION = 1000
MAX_APP_ORIGINS = 50
_APP_ORIGIN_HINT = (
    "an organisation owner allows an origin by setting an app launch URL on it (the organisation's, a "
    "class's or a unit's), or by adding it to app_origins with PATCH /api/org"
)


def _tool_text(field: str, value: Any, *, max_len: int, multiline: bool) -> str:
    """Well-formed text of 1..``max_len`` characters without control characters (line breaks and tabs
    in a ``multiline`` one), stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({field: "must be a non-empty string"})
    if len(value) > max_len:
        raise ValidationFailed({field: f"must be at most {max_len} characters"})
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValidationFailed({field: "must not contain control characters"})
    validation.well_formed(field, value)
    return value.strip()


def _tool_icon_url(value: Any) -> str:
    return check_url("tool_icon_url", value, schemes=("https",), max_len=MAX_URL, public_host=True)[0]


def _tool_fields(body: dict[str, Any]) -> dict[str, Any]:
    checks = {
        "tool_name": lambda v: _tool_text("tool_name", v, max_len=MAX_TOOL_NAME, multiline=False),
        "tool_description": lambda v: _tool_text("tool_description", v, max_len=MAX_TOOL_DESCRIPTION, multiline=True),
        "tool_icon_url": _tool_icon_url,
    }
    return {name: None if body[name] is None else checks[name](body[name]) for name in TOOL_SETTINGS if name in body}


def _explicit_origins(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ValidationFailed({"app_origins": "must be a list of origins like https://app.example.com"})
    if len(value) > MAX_APP_ORIGINS:
        raise ValidationFailed({"app_origins": f"at most {MAX_APP_ORIGINS} origins"})
    return sorted({validate_app_origin(v) for v in value})


def allowed_app_origins(org: dict[str, Any]) -> list[str]:
    """The origins the organisation allows app launch URLs on, as shown to its callers. An organisation
    stored before it kept ``app_origins`` still allows what the stack's ``AllowedAppOrigins`` allowed
    (``*``: any), and the origin of its own app launch URL."""
    found = organisation_app_origins(org)
    if found is not None:
        return found
    legacy = set(stack_app_origins()) | {own_app_origin(org)} - {None}
    return sorted(o for o in legacy if o == "*" or app_origin_allowed(org, o))


def _legacy_origins(org_id: str, org: dict[str, Any] | None) -> list[str]:
    """For an organisation stored before ``app_origins`` existed: the origins of the app launch URLs on
    it and on its classes and units that still work (the stack's list allows them). They become its
    first ``app_origins`` when an owner allows another origin, so nothing that launched stops."""
    urls = [(org or {}).get("app_launch_url")]
    repo = deps.classes_repo()
    token: str | None = None
    while True:
        items, token = repo.list_classes(org_id, limit=100, token=token)
        for item in items:
            urls.append(item.get("app_launch_url"))
            urls += [u.get("app_launch_url") for u in repo.all_units(item["class_id"])]
        if not token:
            break
    found: set[str] = set()
    for url in urls:
        if not url:
            continue
        try:
            candidate = app_url_origin(url)
        except ValidationFailed:
            continue
        if app_origin_allowed(org, candidate):
            found.add(candidate)
    return sorted(found)


def _organisation_for_write(org_id: str) -> dict[str, Any]:
    org = deps.keys_repo().get_organisation(org_id, consistent=True)
    if org is None:
        raise NotFound("organisation not found")
    return org


def _seed(org: dict[str, Any]) -> tuple[str, ...]:
    return () if "app_origins" in org else tuple(_legacy_origins(org["org_id"], org))


def allow_app_launch_url(principal: Principal, url: str, *, field: str = "app_launch_url") -> None:
    """Before a class or unit stores app launch URL ``url`` (checked by ``validate_app_launch_url``):
    its origin must be one the organisation allows. An owner setting it is what allows it (added to the
    organisation's ``app_origins``); a member may only use an allowed one, else 400
    ``app_origin_not_allowed`` naming the allowed origins."""
    found = app_url_origin(url, field=field)
    org = _organisation_for_write(principal.org_id)
    if app_origin_allowed(org, found):
        return
    if principal.role != "owner":
        raise ValidationFailed(
            {
                field: f"origin {found} is not allowed for this organisation",
                "allowed_origins": allowed_app_origins(org),
                "hint": _APP_ORIGIN_HINT,
            },
            code="app_origin_not_allowed",
        )
    deps.keys_repo().update_organisation_settings(
        principal.org_id, {}, clock.iso(clock.now()), allow_origin=found, seed_origins=_seed(org)
    )


def update_settings(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """Owners set the organisation's settings (``null`` clears one). Answers like GET /api/org.

    - ``app_launch_url``: where launches are handed over with ``?ltik=`` unless a class or unit
      overrides it; setting it allows its origin for the organisation (added to ``app_origins``).
    - ``app_origins``: the origins app launch URLs of the organisation may use, replaced as a whole
      (an owner removes an origin this way; the origin of the organisation's own ``app_launch_url``
      stays allowed while it is set). Launches to a removed origin are refused.
    - ``tool_name``, ``tool_description``, ``tool_icon_url``: how the tool presents itself to LMSs
      (dynamic registration, platform configuration, Common Cartridge); unset: the stack's defaults.

    Every origin must also pass the stack's ``AllowedAppOrigins`` when the operator set one."""
    principal.require_owner()
    unknown = sorted(set(body) - set(ORG_SETTINGS))
    if unknown:
        raise ValidationFailed(dict.fromkeys(unknown, "unknown field"))
    if not body:
        raise ValidationFailed(f"send at least one of {', '.join(ORG_SETTINGS)}", code="nothing_to_update")
    fields: dict[str, Any] = {}
    new_origin = None
    if "app_launch_url" in body:
        url = body["app_launch_url"]
        fields["app_launch_url"] = None if url is None else validate_app_launch_url(url)
        new_origin = None if url is None else app_url_origin(url)
    if "app_origins" in body:
        explicit = [] if body["app_origins"] is None else _explicit_origins(body["app_origins"])
        fields["app_origins"] = sorted({*explicit, *([new_origin] if new_origin else [])})
    fields.update(_tool_fields(body))
    seed: tuple[str, ...] = ()
    if new_origin and "app_origins" not in fields:
        org = _organisation_for_write(principal.org_id)
        if app_origin_allowed(org, new_origin) and "app_origins" in org:
            new_origin = None  # allowed already: a plain update
        else:
            seed = _seed(org)
    org = deps.keys_repo().update_organisation_settings(
        principal.org_id, fields, clock.iso(clock.now()), allow_origin=new_origin, seed_origins=seed
    )
    return _organisation_view(org, principal)


# -- every organisation of the stack (the operator's CLI; appended) ---------------------------------


def list_organisations() -> list[dict[str, Any]]:
    """Every organisation of the stack, oldest first: ``org_id``, ``name``, ``created_at`` only.

    For the operator (``lti-gateway orgs list``), who holds the stack's own AWS permissions: no route
    calls it, since no organisation may see another. A Scan of the keys table (no index lists
    organisations across tenants)."""
    found = [
        {"org_id": item["org_id"], "name": item.get("name"), "created_at": item.get("created_at")}
        for item in deps.keys_repo().scan_organisations()
        if item.get("org_id")
    ]
    return sorted(found, key=lambda org: (str(org["created_at"] or ""), org["org_id"]))


def organisation_view(org_id: str) -> dict[str, Any]:
    """An organisation's settings as GET /api/org answers them, without a caller's credential (the
    operator's ``lti-gateway orgs show``); NotFound for an unknown one."""
    known = isinstance(org_id, str) and _ORG_ID.fullmatch(org_id) is not None
    org = deps.keys_repo().get_organisation(org_id) if known else None
    if org is None or org.get("kind", "org") != "org":
        raise NotFound("organisation not found")
    view = _organisation_view(org, Principal(org_id=org_id, credential_id="", role="owner"))
    view.pop("credential")
    return view
