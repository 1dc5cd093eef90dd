"""The one handover both protocols end with: the class and app a verified launch goes to, the LMS
course recorded on the class, the launch context stored, and the redirect to the app with ``?ltik=``.

:func:`destination` refuses another organisation's class (404, exactly as if it did not exist), LTI
disabled (409 ``lti_disabled``) and no app launch URL (409 ``no_app_launch_url``); the app launch URL
is the unit's, else the class's, else the organisation's, re-checked against ``AllowedAppOrigins``.
:func:`hand_over` mints the ltik *before* it stores the launch context, so a cold KMS failure leaves
no orphan context. :func:`after_verification` turns a refusal past this point into a
:class:`LaunchRefused` that carries the LMS return URL (only a verified launch may send the user back
there with ``lti_errormsg``; before that it would be an open redirect).

The class (and unit) is read on every launch, strongly consistent (one GetItem, or one BatchGetItem
with the unit): switching **Enable LTI** off, or deleting the class or unit, refuses the very next
launch on every container. Organisations (only their default app launch URL is read here) are cached
per container for ``CONSUMER_KEY_CACHE_SECONDS``. A new LMS context adds one write, the first time it
is seen.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lti_gateway.admin import classes
from lti_gateway.app_api import ltik
from lti_gateway.core import clock
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.core.errors import Conflict, GatewayError, LaunchRefused, NotFound, ValidationFailed
from lti_gateway.core.urls import effective_app_launch_url, with_query
from lti_gateway.repositories import deps

LAUNCH_LIFETIME_SECONDS = ltik.LIFETIME_SECONDS

_orgs: TtlCache[dict[str, Any] | None] = TtlCache()


@dataclass(frozen=True)
class Handover:
    location: str
    launch_id: str
    org_id: str
    class_id: str | None  # None: an LTI 1.3 deep-linking request that names no class
    unit_id: str | None
    lti_version_family: str = "1.1"


@dataclass(frozen=True)
class Destination:
    """Where a verified launch goes: the class and unit it names (as read now) and the app launch URL."""

    class_item: dict[str, Any] | None
    unit_item: dict[str, Any] | None
    app_url: str


@contextmanager
def after_verification(
    return_url: str | None, *, org_id: str | None = None, facts: dict[str, Any] | None = None
) -> Iterator[None]:
    """Refusals raised inside carry ``return_url`` (see the module docstring), and for the launch error
    record (:mod:`lti_gateway.launch.error_records`) the organisation the verified launch belongs to and
    what it named (key or platform, LMS ids): the record goes to that organisation, never to the one
    whose class the URL named."""
    try:
        yield
    except GatewayError as error:
        raise LaunchRefused(
            error.details,
            code=error.code,
            status=error.status,
            return_url=return_url,
            org_id=org_id,
            launch_facts={k: v for k, v in (facts or {}).items() if isinstance(v, str) and v},
        ) from None


def _ttl() -> int:
    return settings().consumer_key_cache_seconds


def _resolve(org_id: str, class_id: str, unit_id: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    try:
        class_item, unit_item = classes.get_for_launch(class_id, unit_id, org_id=org_id)  # read now, never cached
    except NotFound as error:
        if isinstance(error.details, dict) and "class_id" in error.details:
            raise _not_in_organisation() from None
        raise
    if class_item.get("org_id") != org_id:
        raise _not_in_organisation()
    return class_item, unit_item


def _not_in_organisation() -> NotFound:
    """Another organisation's class and no class at all get this one answer, saying which side to check
    (the key or registration belongs to another organisation than the URL's class, or the URL is wrong),
    never whose class it is nor whether it exists."""
    return NotFound(
        {"class_id": "no class with this id belongs to the organisation of this consumer key or platform"},
        code="class_not_in_organisation",
    )


def _organisation(org_id: str) -> dict[str, Any] | None:
    return _orgs.get(org_id, lambda: deps.keys_repo().get_organisation(org_id), ttl_seconds=_ttl())


def _app_launch_url(org_id: str, class_item: dict[str, Any] | None, unit_item: dict[str, Any] | None) -> str | None:
    """The app launch URL (unit's, class's, organisation's), its origin allowed for the organisation. A
    refusal on the cached organisation is checked once more against a fresh read: an owner may have
    allowed the origin a moment ago on another container."""
    try:
        return effective_app_launch_url(_organisation(org_id), class_item, unit_item)
    except ValidationFailed as error:
        if error.code != "app_origin_not_allowed":
            raise
        _orgs.discard(org_id)
        return effective_app_launch_url(_organisation(org_id), class_item, unit_item)


def destination(org_id: str, class_id: str | None, unit_id: str | None) -> Destination:
    """The class a launch names (none for a deep-linking request without one) and the app launch URL."""
    class_item = unit_item = None
    if class_id is not None:
        class_item, unit_item = _resolve(org_id, class_id, unit_id)
        if not class_item.get("lti_enabled"):
            raise Conflict("LTI is not enabled for this class", code="lti_disabled")
    app_url = _app_launch_url(org_id, class_item, unit_item)
    if not app_url:
        raise Conflict("no app launch URL is configured for this class or organisation", code="no_app_launch_url")
    return Destination(class_item, unit_item, app_url)


def gateway_side(where: Destination, launch_url: str | None) -> dict[str, Any]:
    """The gateway's own side of a launch, stored with its context and shown to the app
    (``gateway`` of ``/api/idtoken``): the class and unit as named when it was launched, and the URL
    the LMS used. Read from the items :func:`destination` already read: no extra DynamoDB call."""
    class_item, unit_item = where.class_item or {}, where.unit_item or {}
    side = {
        "class_name": class_item.get("name"),
        "unit_name": unit_item.get("name"),
        "launch_url": launch_url,
    }
    return {k: v for k, v in side.items() if v is not None}


def remember_context(class_item: dict[str, Any] | None, context_id: str | None, source: str) -> None:
    """Record the LMS context on the class once (the class item read by this launch tells whether it is known)."""
    if class_item is None or not context_id:
        return
    classes.record_launch_context(class_item, context_id, source)


def hand_over(
    app_url: str,
    record: dict[str, Any],
    *,
    org_id: str,
    class_id: str | None,
    unit_id: str | None,
    family: str,
    learner_outcome: dict[str, Any] | None = None,
) -> Handover:
    """Store the launch context ``record`` (24 h) and answer where the browser goes: ``app_url?ltik=…``.
    ``learner_outcome``: an LTI 1.1 learner's outcome service data, kept per (context, resource link,
    learner) for grading from a back end, written in the same DynamoDB call as the context."""
    launch_id = secrets.token_urlsafe(18)
    now = int(clock.now())
    token = ltik.issue(launch_id, org_id, now=now)  # first: a cold KMS failure leaves no orphan context
    expires_at = now + LAUNCH_LIFETIME_SECONDS
    if learner_outcome is None:
        deps.launch_repo().put_launch_context(launch_id, record, expires_at=expires_at)
    else:
        deps.launch_repo().put_launch_context(launch_id, record, expires_at=expires_at, learner_outcome=learner_outcome)
    classes.remember_launch_origins(org_id, record)  # the LMS origins a Class LMS URL may point at
    return Handover(with_query(app_url, ltik=token), launch_id, org_id, class_id, unit_id, family)
