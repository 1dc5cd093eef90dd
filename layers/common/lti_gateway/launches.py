"""LTI 1.1 launches into a class or a unit: verify, resolve, store the launch context, hand over.

The flow (see docs/architecture.md): parse the form → rebuild the URL the LMS signed → verify OAuth
1.0a, timestamp window and nonce (:mod:`oauth1_launch`) → resolve the class/unit named by the URL and
check it belongs to the consumer key's organisation and has LTI enabled → record the LMS context on
the class the first time it is seen → store the launch context (24 h) → 302 to the app with ``ltik``.

A warm launch makes two DynamoDB writes (nonce, launch context): consumer keys, organisations and
classes are cached per container for ``CONSUMER_KEY_CACHE_SECONDS``.
"""

from __future__ import annotations

import html
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from . import classes, clock, consumer_keys, deps, ltik, oauth1_launch
from .cache import TtlCache
from .config import settings
from .errors import Conflict, GatewayError, NotFound
from .launch_urls import effective_app_launch_url

LAUNCH_LIFETIME_SECONDS = ltik.LIFETIME_SECONDS

_orgs: TtlCache[dict[str, Any] | None] = TtlCache()
_classes: TtlCache[tuple[dict[str, Any], dict[str, Any] | None]] = TtlCache()


class LaunchRefused(GatewayError):
    """A verified launch that cannot proceed (unknown class, LTI disabled, no app configured).

    ``return_url`` is set: the signature verified, so the LMS may be sent back with ``lti_errormsg``.
    """

    def __init__(self, details: Any, *, code: str, status: int, return_url: str | None):
        super().__init__(details, code=code, status=status)
        self.return_url = return_url


@dataclass(frozen=True)
class Handover:
    location: str
    launch_id: str
    org_id: str
    class_id: str
    unit_id: str | None


class DynamoNonceStore:
    """OAuth nonces, one conditional put each, kept for the timestamp window plus skew."""

    def add_once(self, consumer_key: str, nonce: str, ttl_seconds: int) -> bool:
        now = int(clock.now())
        return deps.launch_repo().add_once(f"oauth1#{consumer_key}", nonce, now=now, expires_at=now + ttl_seconds)


_nonces = DynamoNonceStore()


def _ttl() -> int:
    return settings().consumer_key_cache_seconds


def _resolve(org_id: str, class_id: str, unit_id: str | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    class_item, unit_item = _classes.get(
        f"{class_id}/{unit_id}", lambda: classes.get_for_launch(class_id, unit_id), ttl_seconds=_ttl()
    )
    if class_item.get("org_id") != org_id:
        # Another organisation's class: exactly as if it did not exist.
        raise NotFound({"class_id": "no such class"})
    return class_item, unit_item


def _organisation(org_id: str) -> dict[str, Any] | None:
    return _orgs.get(org_id, lambda: deps.keys_repo().get_organisation(org_id), ttl_seconds=_ttl())


def with_query(url: str, **params: str) -> str:
    split = urlsplit(url)
    query = "&".join(q for q in (split.query, urlencode(params)) if q)
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


def _context_record(verified: oauth1_launch.VerifiedLaunch, org_id: str, class_id: str, unit_id: str | None) -> dict:
    record = {k: v for k, v in asdict(verified).items() if k not in ("consumer", "params") and v not in (None, {}, ())}
    record |= {
        "lti_version_family": "1.1",
        "org_id": org_id,
        "class_id": class_id,
        "unit_id": unit_id,
        "roles": list(verified.roles),
        "params": [list(p) for p in verified.params],
        "created_at": clock.iso(clock.now()),
    }
    return {k: v for k, v in record.items() if v is not None}


def lti11_launch(event: dict[str, Any], class_id: str, unit_id: str | None) -> Handover:
    params = oauth1_launch.parse_form_body(event)
    url = oauth1_launch.public_url(event, public_base_url=settings().launch_base_url)
    verified = oauth1_launch.verify_launch(
        "POST",
        url,
        params,
        lookup_secret=consumer_keys.launch_credentials,
        nonce_store=_nonces,
        now=clock.now(),
        window_seconds=settings().launch_window_seconds,
    )
    org_id = verified.consumer.org_id
    back = verified.launch_presentation_return_url
    try:
        class_item, unit_item = _resolve(org_id, class_id, unit_id)
        if not class_item.get("lti_enabled"):
            raise Conflict("LTI is not enabled for this class", code="lti_disabled")
        app_url = effective_app_launch_url(_organisation(org_id), class_item, unit_item)
        if not app_url:
            raise Conflict("no app launch URL is configured for this class or organisation", code="no_app_launch_url")
    except GatewayError as error:
        raise LaunchRefused(error.details, code=error.code, status=error.status, return_url=back) from None
    if verified.context_id:
        classes.record_launch_context(class_item, verified.context_id, verified.consumer_key)
    launch_id = secrets.token_urlsafe(18)
    now = int(clock.now())
    deps.launch_repo().put_launch_context(
        launch_id,
        _context_record(verified, org_id, class_id, unit_id),
        expires_at=now + LAUNCH_LIFETIME_SECONDS,
    )
    token = ltik.issue(launch_id, org_id, now=now)
    return Handover(with_query(app_url, ltik=token), launch_id, org_id, class_id, unit_id)


# -- what a person in the LMS iframe sees when a launch fails -----------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Launch failed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}}
code{{background:#f3f3f3;padding:.1rem .3rem}}</style></head>
<body><h1>This launch could not be completed</h1>
<p>{message}</p>
<p>Reason: <code>{code}</code><br>Reference: <code>{correlation_id}</code></p>
<p>If this keeps happening, send the reference to your LMS administrator.</p>
</body></html>
"""

_MESSAGES = {
    "invalid_signature": "The LMS signed this launch with a key and secret that do not match. Check the "
    "consumer key and secret configured in the LMS.",
    "unknown_consumer_key": "The consumer key configured in the LMS is not known to this tool.",
    "consumer_key_revoked": "The consumer key configured in the LMS has been revoked.",
    "timestamp_expired": "The launch request is too old. Check the LMS server's clock, then launch again.",
    "timestamp_in_future": "The launch request is dated in the future. Check the LMS server's clock.",
    "nonce_replayed": "This launch was already used. Go back to the course and launch again.",
    "content_item_not_supported": "Selecting content from this tool (Content-Item) is not supported yet. "
    "Add the tool as an assignment or link instead.",
    "lti_disabled": "LTI is not enabled for this class.",
    "no_app_launch_url": "This class is not connected to an application yet.",
    "not_found": "The class or unit this link points to does not exist.",
}


def error_page(error: GatewayError, correlation_id: str) -> str:
    message = _MESSAGES.get(error.code)
    if message is None:
        details = error.details if isinstance(error.details, str) else None
        message = details or "The launch request was not valid."
    return _PAGE.format(
        message=html.escape(message), code=html.escape(error.code), correlation_id=html.escape(correlation_id)
    )


def error_return_url(error: GatewayError) -> str | None:
    """The LMS return URL with ``lti_errormsg``, only for failures after the signature verified."""
    back = getattr(error, "return_url", None)
    if not back:
        return None
    message = _MESSAGES.get(error.code) or (error.details if isinstance(error.details, str) else error.code)
    return with_query(back, lti_errormsg=str(message)[:500])


def clear_caches() -> None:
    _orgs.clear()
    _classes.clear()
