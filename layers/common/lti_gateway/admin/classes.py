"""Classes and units: the mapping of LMS courses and assignments onto the product's classes.

A class (``cls_`` + 16 hex) is Codio's class: ``name``, the "Enable LTI" switch ``lti_enabled``, the
"Class LMS URL" ``class_lms_url`` (the LMS course home students are sent back to) and an optional
``app_launch_url`` overriding the organisation's (on an origin the organisation allows: an owner setting
it allows its origin, a member may only use an allowed one). Its *class launch URL* is what an LMS course links
to; the LMS context ids that launched into it are recorded on it (a copied LMS course, new context
id, same URL, lands in the same class and is recorded alongside).

A unit (``unt_`` + 16 hex) belongs to one class: ``name``, ``position`` (an ordering key: listings are
by position, ties in creation order; appending takes the class's next free position; reorder rewrites them
as 0..n-1) and an optional ``app_launch_url``. Its *unit launch URL* is what an LMS assignment points at.

The Class LMS URL is where the public link ``/classes/{id}/open`` sends people, so it may not point
anywhere: it must be on the origin of an LMS this organisation launched from (an LTI 1.1 or 1.3
launch recorded it, :func:`remember_launch_origins`) or of one of its active LTI 1.3 platforms'
issuers; any other origin only when an owner confirms it (``"class_lms_url_confirmed": true``, stored
on the class as ``class_lms_url_confirmation``). The link redirects only to such a URL; any other
stored URL (written before this rule) gets a page saying where it leaves for (:func:`open_target`).

Owners and members of an organisation may both manage its classes; another organisation's class
or unit is a 404, as is a malformed id. Every operation takes the calling :class:`Principal`; the
organisation id never comes from the request. Deleting a class deletes its units.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from lti_gateway.admin.orgs import Principal, allow_app_launch_url
from lti_gateway.core import clock, runtime, validation
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.urls import (
    LOOPBACK_HOSTS,
    class_launch_url,
    unit_launch_url,
    url_origin,
    validate_app_launch_url,
    validate_lms_url,
)
from lti_gateway.repositories import deps
from lti_gateway.repositories.classes import MAX_TRANSACTION_ITEMS, context_key

CLASS_ID = re.compile(r"^cls_[0-9a-f]{16}$")
UNIT_ID = re.compile(r"^unt_[0-9a-f]{16}$")
MAX_NAME = 200
MAX_POSITION = 1_000_000
MAX_CONTEXT_ID = 1024
# A reorder is one transaction: the class's units guard plus one update per unit that moves.
MAX_REORDER_CHANGES = MAX_TRANSACTION_ITEMS - 1
MAX_REORDER_IDS = 1000
ATTEMPTS = 3  # optimistic writes re-read and retry this often before answering 409

CLASS_FIELDS = ("name", "lti_enabled", "class_lms_url", "app_launch_url", "class_lms_url_confirmed")
UNIT_FIELDS = ("name", "position", "app_launch_url")


# -- validation -------------------------------------------------------------------------------------


def _name(value: Any) -> str:
    return validation.text("name", value, max_len=MAX_NAME)


def _optional(value: Any, check: Any) -> Any:
    return None if value is None else check(value)


def _class_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in body or not partial:
        fields["name"] = _name(body.get("name"))
    if "lti_enabled" in body or not partial:
        fields["lti_enabled"] = validation.boolean("lti_enabled", body.get("lti_enabled", True))
    if "class_lms_url" in body:
        fields["class_lms_url"] = _optional(body["class_lms_url"], validate_lms_url)
    if "app_launch_url" in body:
        fields["app_launch_url"] = _optional(body["app_launch_url"], validate_app_launch_url)
    return fields


def _unit_fields(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in body or not partial:
        fields["name"] = _name(body.get("name"))
    if "position" in body and (partial or body["position"] is not None):
        fields["position"] = validation.whole_number("position", body["position"], low=0, high=MAX_POSITION)
    if "app_launch_url" in body:
        fields["app_launch_url"] = _optional(body["app_launch_url"], validate_app_launch_url)
    return fields


def _allow_app_url(principal: Principal, fields: dict[str, Any]) -> None:
    """An app launch URL being set must be on an origin the organisation allows; an owner setting it
    allows it (:func:`lti_gateway.admin.orgs.allow_app_launch_url`). Called after every other check
    and before the write."""
    if fields.get("app_launch_url"):
        allow_app_launch_url(principal, fields["app_launch_url"])


def _patch(body: dict[str, Any], allowed: tuple[str, ...]) -> int | None:
    """Checks common to PATCH bodies; returns the client's expected ``version``, if it sent one."""
    validation.reject_unknown(body, (*allowed, "version"))
    if not set(body) - {"version"}:
        raise ValidationFailed(f"send at least one of {', '.join(allowed)}", code="nothing_to_update")
    if "version" not in body:
        return None
    return validation.whole_number("version", body["version"], low=1, high=2**53)


# -- views ------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def public_class(item: dict[str, Any], base: str) -> dict[str, Any]:
    contexts = sorted(
        ({k: _plain(v) for k, v in entry.items()} for entry in (item.get("lms_contexts") or {}).values()),
        key=lambda c: (str(c.get("first_seen_at")), str(c.get("context_id"))),
    )
    return {
        "class_id": item["class_id"],
        "name": item["name"],
        "lti_enabled": bool(item.get("lti_enabled", True)),
        "class_lms_url": item.get("class_lms_url"),
        "class_lms_url_confirmed": bool(item.get(CONFIRMATION)),
        "app_launch_url": item.get("app_launch_url"),
        "launch_url": class_launch_url(base, item["class_id"]),
        "lms_context_ids": sorted(item.get("lms_context_ids") or ()),
        "lms_contexts": contexts,
        "created_at": item["created_at"],
        "updated_at": item.get("updated_at"),
        "version": int(item["version"]),
    }


def public_unit(item: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "unit_id": item["unit_id"],
        "class_id": item["class_id"],
        "name": item["name"],
        "position": int(item["position"]),
        "app_launch_url": item.get("app_launch_url"),
        "launch_url": unit_launch_url(base, item["class_id"], item["unit_id"]),
        "created_at": item["created_at"],
        "updated_at": item.get("updated_at"),
        "version": int(item["version"]),
    }


# -- classes ----------------------------------------------------------------------------------------


def _class_not_found() -> NotFound:
    return NotFound({"class_id": "no such class"})


def _unit_not_found() -> NotFound:
    return NotFound({"unit_id": "no such unit"})


def _owned_class(principal: Principal, class_id: str, *, consistent: bool = False) -> dict[str, Any]:
    item = deps.classes_repo().get_class(class_id, consistent=consistent) if CLASS_ID.match(class_id) else None
    if item is None or item.get("org_id") != principal.org_id:
        raise _class_not_found()
    return item


def create_class(principal: Principal, body: dict[str, Any], *, base: str) -> dict[str, Any]:
    validation.reject_unknown(body, CLASS_FIELDS)
    fields = _class_fields(body, partial=False)
    _check_lms_url(principal, body, fields)
    _allow_app_url(principal, fields)
    now = clock.iso(clock.now())
    item = {
        **fields,
        "class_id": f"cls_{secrets.token_hex(8)}",
        "org_id": principal.org_id,
        "created_at": now,
        "updated_at": now,
    }
    return public_class(deps.classes_repo().put_class(item), base)


def get_class(principal: Principal, class_id: str, *, base: str) -> dict[str, Any]:
    return public_class(_owned_class(principal, class_id), base)


def list_classes(principal: Principal, *, limit: int, token: str | None, base: str) -> dict[str, Any]:
    items, next_token = deps.classes_repo().list_classes(principal.org_id, limit=limit, token=token)
    return {"classes": [public_class(i, base) for i in items], "next": next_token}


def update_class(principal: Principal, class_id: str, body: dict[str, Any], *, base: str) -> dict[str, Any]:
    """Partial update. With ``version`` in the body: applied only at that version (else 409
    ``concurrent_change``). Without: applied to the version just read, re-read and retried on a race."""
    expected = _patch(body, CLASS_FIELDS)
    fields = _class_fields(body, partial=True)
    _check_lms_url(principal, body, fields)
    if not CLASS_ID.match(class_id):
        raise _class_not_found()
    _allow_app_url(principal, fields)
    repo = deps.classes_repo()
    for attempt in range(ATTEMPTS):
        if expected is not None:
            version = expected  # the repository tells a missing class (404) from a moved one (409)
        else:
            version = int(_owned_class(principal, class_id, consistent=True)["version"])
        try:
            updated = repo.update_class(
                principal.org_id, class_id, fields, expected_version=version, at=clock.iso(clock.now())
            )
        except Conflict:
            if expected is not None or attempt == ATTEMPTS - 1:
                raise
            continue
        return public_class(updated, base)
    raise AssertionError("unreachable")


def delete_class(principal: Principal, class_id: str) -> int:
    """Delete a class and every unit of it; returns how many units were deleted."""
    if not CLASS_ID.match(class_id):
        raise _class_not_found()
    return deps.classes_repo().delete_class(principal.org_id, class_id)


# -- units ------------------------------------------------------------------------------------------


def _guarded(principal: Principal, class_id: str, write: Any) -> Any:
    """Run ``write(class_item)`` (a units-guarded transaction) on a fresh read, retrying on races."""
    for attempt in range(ATTEMPTS):
        class_item = _owned_class(principal, class_id, consistent=True)
        try:
            return write(class_item)
        except Conflict:
            if attempt == ATTEMPTS - 1:
                _owned_class(principal, class_id, consistent=True)  # gone meanwhile → 404, not 409
                raise
    raise AssertionError("unreachable")


def _owned_unit(principal: Principal, class_id: str, unit_id: str, *, consistent: bool = False) -> dict[str, Any]:
    if not (CLASS_ID.match(class_id) and UNIT_ID.match(unit_id)):
        raise _unit_not_found()
    item = deps.classes_repo().get_unit(class_id, unit_id, consistent=consistent)
    if item is None or item.get("org_id") != principal.org_id:
        raise _unit_not_found()
    return item


def create_unit(principal: Principal, class_id: str, body: dict[str, Any], *, base: str) -> dict[str, Any]:
    """A new unit: appended (the class's next position, reserved atomically: parallel appends never
    conflict) unless the body gives a ``position``. 404 if the class is not the caller's."""
    validation.reject_unknown(body, UNIT_FIELDS)
    fields = _unit_fields(body, partial=False)
    if not CLASS_ID.match(class_id):
        raise _class_not_found()
    if fields.get("app_launch_url"):
        _owned_class(principal, class_id)  # another organisation's class: 404 before any origin is allowed
        _allow_app_url(principal, fields)
    repo = deps.classes_repo()
    position, seq = repo.reserve_unit(principal.org_id, class_id, fields.get("position"))
    now = clock.iso(clock.now())
    item = {
        **fields,
        "position": position,
        "unit_id": f"unt_{secrets.token_hex(8)}",
        "class_id": class_id,
        "org_id": principal.org_id,
        "created_at": now,
        "updated_at": now,
    }
    return public_unit(repo.put_unit(item, seq=seq), base)


def get_unit(principal: Principal, class_id: str, unit_id: str, *, base: str) -> dict[str, Any]:
    return public_unit(_owned_unit(principal, class_id, unit_id), base)


def list_units(principal: Principal, class_id: str, *, limit: int, token: str | None, base: str) -> dict[str, Any]:
    _owned_class(principal, class_id)
    items, next_token = deps.classes_repo().list_units(class_id, limit=limit, token=token)
    return {"units": [public_unit(i, base) for i in items], "next": next_token}


def update_unit(
    principal: Principal, class_id: str, unit_id: str, body: dict[str, Any], *, base: str
) -> dict[str, Any]:
    """Partial update, optimistic like :func:`update_class` (``version`` in the body is honoured): only
    another edit of the same unit can make it a 409, never an edit of another unit or an append."""
    expected = _patch(body, UNIT_FIELDS)
    fields = _unit_fields(body, partial=True)
    if not UNIT_ID.match(unit_id):
        raise _unit_not_found()
    if fields.get("app_launch_url"):
        _owned_unit(principal, class_id, unit_id)
        _allow_app_url(principal, fields)
    repo = deps.classes_repo()
    for attempt in range(ATTEMPTS):
        _owned_class(principal, class_id, consistent=True)
        unit = _owned_unit(principal, class_id, unit_id, consistent=True)
        if expected is not None and int(unit["version"]) != expected:
            raise Conflict("the unit changed since that version; read it and retry", code="concurrent_change")
        try:
            updated = repo.update_unit(
                principal.org_id, unit, fields, expected_version=int(unit["version"]), at=clock.iso(clock.now())
            )
        except Conflict:
            if attempt == ATTEMPTS - 1:
                _owned_unit(principal, class_id, unit_id, consistent=True)  # gone meanwhile → 404, not 409
                raise
            continue
        return public_unit(updated, base)
    raise AssertionError("unreachable")


def delete_unit(principal: Principal, class_id: str, unit_id: str) -> None:
    if not (CLASS_ID.match(class_id) and UNIT_ID.match(unit_id)):
        raise _unit_not_found()
    deps.classes_repo().delete_unit(principal.org_id, class_id, unit_id)


def _reorder_ids(body: dict[str, Any]) -> list[str]:
    validation.reject_unknown(body, ("unit_ids",))
    ids = body.get("unit_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ValidationFailed({"unit_ids": "must be a list of unit ids"})
    if len(ids) > MAX_REORDER_IDS:
        raise ValidationFailed({"unit_ids": f"at most {MAX_REORDER_IDS} ids"})
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValidationFailed({"unit_ids": "each unit must appear once", "duplicates": duplicates})
    return ids


def _in_order(units: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(units, key=lambda u: (int(u["position"]), int(u["seq"]), u["unit_id"]))


def reorder_units(principal: Principal, class_id: str, body: dict[str, Any], *, base: str) -> dict[str, Any]:
    """Give the class's units the order of ``unit_ids`` (exactly the class's unit ids): positions 0..n-1.

    One transaction, conditional on no unit having been created, moved or deleted since they were
    read; only units whose position changes are written (at most 99 per reorder).
    """
    ids = _reorder_ids(body)
    repo = deps.classes_repo()

    def write(class_item: dict[str, Any]) -> None:
        current = {u["unit_id"]: u for u in repo.all_units(class_id)}
        missing = sorted(set(current) - set(ids))
        unknown = [i for i in ids if i not in current]
        if missing or unknown:
            raise ValidationFailed(
                {"unit_ids": "must be exactly the class's unit ids", "missing": missing, "unknown": unknown},
                code="unit_ids_mismatch",
            )
        changes = [(current[i], p) for p, i in enumerate(ids) if int(current[i]["position"]) != p]
        if len(changes) > MAX_REORDER_CHANGES:
            raise ValidationFailed(
                {"unit_ids": f"a reorder may move at most {MAX_REORDER_CHANGES} units; move the rest with PATCH"},
                code="too_many_changes",
            )
        if changes:
            repo.reorder_units(
                principal.org_id,
                class_id,
                changes,
                seen_units_version=int(class_item["units_version"]),
                at=clock.iso(clock.now()),
            )

    _guarded(principal, class_id, write)
    return {"units": [public_unit(u, base) for u in _in_order(repo.all_units(class_id))]}


# -- the Class LMS URL's origin: an LMS the organisation launched from, or owner-confirmed ----------

CONFIRMED = "class_lms_url_confirmed"  # the request field: an owner vouches for the URL's origin
CONFIRMATION = "class_lms_url_confirmation"  # stored on the class: {"origin", "by", "at"} of that
MAX_KNOWN_SHOWN = 20  # origins a refusal lists
MAX_RECORDED = 4096
# The URLs of a verified launch that name its LMS (each signed by the organisation's consumer key or
# platform): LTI 1.3's issuer and return URL; LTI 1.1's return URL, outcome service and instance URL.
LAUNCH_URL_FIELDS = ("issuer", "launch_presentation_return_url", "lis_outcome_service_url")
LAUNCH_URL_PARAMS = ("tool_consumer_instance_url",)

_known: TtlCache[bool] = TtlCache()  # "{org}\x00{origin}" found known (only positive answers are kept)
_recorded: set[tuple[str, str]] = set()  # (org, origin) this container's launches have written
runtime.register(_recorded.clear)


def lms_origin(url: Any) -> str | None:
    """The origin of ``url`` when it may be an LMS's: https; http only on a loopback host and only where
    ``ALLOW_INSECURE_PLATFORM_URLS`` is set (the local gateway's test LMSs)."""
    found = url_origin(url)
    if found is None or found.startswith("https://"):
        return found
    insecure = settings().allow_insecure_platform_urls
    return found if insecure and urlsplit(found).hostname in LOOPBACK_HOSTS else None


def launch_origins(record: Mapping[str, Any]) -> list[str]:
    """The LMS origins a verified launch's context ``record`` names (:data:`LAUNCH_URL_FIELDS`, and the
    LTI 1.1 form parameters of :data:`LAUNCH_URL_PARAMS`), each once."""
    candidates = [record.get(name) for name in LAUNCH_URL_FIELDS]
    candidates += [p[1] for p in record.get("params") or () if len(p) == 2 and p[0] in LAUNCH_URL_PARAMS]
    found: list[str] = []
    for candidate in candidates:
        lms = lms_origin(candidate)
        if lms and lms not in found:
            found.append(lms)
    return found


def remember_launch_origins(org_id: str, record: Mapping[str, Any]) -> None:
    """Record the LMS origins of a verified launch of ``org_id`` (:func:`launch_origins`): one UpdateItem
    per origin this container has not written yet, no read. A failure is logged and never fails the
    launch it follows (the next launch from that origin writes it)."""
    family = str(record.get("lti_version_family") or "")
    for found in launch_origins(record):
        if (org_id, found) in _recorded:
            continue
        try:
            deps.lms_origins_repo().record(org_id, found, family=family, at=clock.iso(clock.now()))
        except Exception:  # the launch succeeded: this is bookkeeping for later launches
            logger.warning("LMS origin not recorded", exc_info=True, extra={"lms_origin": found})
            continue
        if len(_recorded) >= MAX_RECORDED:
            _recorded.clear()
        _recorded.add((org_id, found))


def _platform_origins(org_id: str) -> set[str]:
    return {o for o in (lms_origin(i) for i in deps.lms_origins_repo().platform_issuers(org_id)) if o}


def origin_known(org_id: str, found: str) -> bool:
    """Whether ``found`` is an LMS origin of ``org_id``: a launch of it came from there, or it is the
    issuer origin of one of its active LTI 1.3 platforms. A yes is kept per container
    (``CONSUMER_KEY_CACHE_SECONDS``)."""
    key = f"{org_id}\x00{found}"
    if _known.peek(key):
        return True
    known = deps.lms_origins_repo().is_recorded(org_id, found) or found in _platform_origins(org_id)
    if known:
        _known.put(key, True, ttl_seconds=settings().consumer_key_cache_seconds)
    return known


def _check_lms_url(principal: Principal, body: dict[str, Any], fields: dict[str, Any]) -> None:
    """A Class LMS URL being set must be on an LMS origin of the caller's organisation
    (:func:`origin_known`), else 400 ``class_lms_url_unknown_origin``, unless an owner confirms it
    (``class_lms_url_confirmed: true``; a member doing so is a 403). Adds to ``fields`` the stored
    confirmation of the new URL, or its removal (a confirmation belongs to the URL it came with)."""
    confirmed = validation.boolean(CONFIRMED, body[CONFIRMED]) if CONFIRMED in body else False
    if "class_lms_url" not in fields:
        if CONFIRMED in body:
            raise ValidationFailed(
                {CONFIRMED: "send it together with the class_lms_url it confirms"}, code="class_lms_url_missing"
            )
        return
    url = fields["class_lms_url"]
    if url is None:
        fields[CONFIRMATION] = None
        return
    found = url_origin(url)  # validate_lms_url passed: an absolute http(s) URL with a host
    if confirmed:
        if principal.role != "owner":
            raise Forbidden(
                {CONFIRMED: "only an organisation owner may confirm a Class LMS URL on an origin no launch came from"},
                code="owner_role_required",
            )
        fields[CONFIRMATION] = {"origin": found, "by": principal.credential_id, "at": clock.iso(clock.now())}
        return
    if found is not None and origin_known(principal.org_id, found):
        fields[CONFIRMATION] = None
        return
    shown = sorted(
        set(deps.lms_origins_repo().recorded(principal.org_id, limit=MAX_KNOWN_SHOWN))
        | _platform_origins(principal.org_id)
    )[:MAX_KNOWN_SHOWN]
    raise ValidationFailed(
        {
            "class_lms_url": f"{found} is not the origin of an LMS this organisation has launched from",
            "known_origins": shown,
            "hint": "launch from that LMS first (LTI 1.1 or 1.3, any course), or ask an organisation owner to "
            'set it with "class_lms_url_confirmed": true',
        },
        code="class_lms_url_unknown_origin",
    )


# -- the public "send students back" link -----------------------------------------------------------


@dataclass(frozen=True)
class OpenTarget:
    url: str
    origin: str
    direct: bool  # on an LMS origin of the class's organisation, or owner-confirmed: a plain redirect


def open_target(class_id: str) -> OpenTarget:
    """Where the public link of a class goes: its Class LMS URL, ``direct`` when that is on an LMS origin
    of the class's organisation or confirmed by an owner (else the caller shows where it leaves for);
    NotFound, or Conflict ``lti_disabled``/``no_class_lms_url``/``invalid_class_lms_url``."""
    item = deps.classes_repo().get_class(class_id) if CLASS_ID.match(class_id) else None
    if item is None:
        raise _class_not_found()
    if not item.get("lti_enabled", True):
        raise Conflict("LTI is not enabled for this class", code="lti_disabled")
    if not item.get("class_lms_url"):
        raise Conflict("no Class LMS URL is set for this class", code="no_class_lms_url")
    url = str(item["class_lms_url"])
    try:  # stored before today's checks? never a link to anything but an http(s) URL
        validate_lms_url(url)
    except ValidationFailed:
        raise Conflict("the Class LMS URL of this class is not a web address", code="invalid_class_lms_url") from None
    found = url_origin(url)
    if found is None:
        raise Conflict("the Class LMS URL of this class is not a web address", code="invalid_class_lms_url")
    confirmation = item.get(CONFIRMATION) or {}
    direct = confirmation.get("origin") == found or origin_known(str(item["org_id"]), found)
    return OpenTarget(url, found, direct)


# -- for the launch function ------------------------------------------------------------------------


def get_for_launch(
    class_id: str, unit_id: str | None = None, *, org_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The class (and unit) a launch URL names, in one strongly consistent read (so LTI switched off, or
    the class or unit deleted, refuses the very next launch); NotFound for unknown or malformed ids.
    With ``org_id``, another organisation's class comes back (its unit found or not) for the caller to
    refuse exactly as it refuses every other organisation's class.

    The items are returned as stored (``org_id``, ``lti_enabled``, ``app_launch_url``, ``lms_contexts`` …);
    the caller checks that ``org_id`` is the consumer key's or platform's organisation and that LTI is
    enabled, and resolves the app launch URL with :func:`lti_gateway.core.urls.effective_app_launch_url`.
    """
    if not CLASS_ID.match(class_id):
        raise _class_not_found()
    repo = deps.classes_repo()
    if unit_id is None:
        item = repo.get_class(class_id, consistent=True)
        if item is None:
            raise _class_not_found()
        return item, None
    if not UNIT_ID.match(unit_id):
        raise _unit_not_found()
    class_item, unit_item = repo.get_class_and_unit(class_id, unit_id)
    if class_item is None:
        raise _class_not_found()
    if unit_item is None and (org_id is None or class_item.get("org_id") == org_id):
        # Another organisation's class (``org_id`` given) is answered by the caller as if it did not
        # exist: "no such unit" would tell a stranger that the class does.
        raise _unit_not_found()
    return class_item, unit_item


def record_launch_context(class_item: dict[str, Any], context_id: str, source: str, *, at: str | None = None) -> bool:
    """Record that LMS context ``context_id`` (seen with consumer key or issuer ``source``) launched
    into this class; no write when ``class_item`` (as read for the launch) already has it. True if written."""
    if not isinstance(context_id, str) or not context_id or len(context_id) > MAX_CONTEXT_ID:
        raise ValidationFailed({"context_id": f"must be 1-{MAX_CONTEXT_ID} characters"})
    if context_key(source, context_id) in (class_item.get("lms_contexts") or {}):
        return False
    deps.classes_repo().record_context(
        class_item["org_id"], class_item["class_id"], context_id, source, at or clock.iso(clock.now())
    )
    return True
