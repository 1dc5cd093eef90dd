"""Line item ids of the app API (``ltiaas-api.md`` §5.3).

Out: opaque, URL-safe ids, ``li_`` + base64url(LMS line item URL) without padding, so ``quote()``,
``encodeURIComponent()``, API Gateway's path decoding and the client's ``//`` leave them unchanged
and no lookup is needed. In: the opaque form, or a raw LMS URL in any of the three encodings the
clients send (``https%3A//host/...`` from the Python client, ``%2F`` from the Node SDK and the docs,
or already decoded). The caller still checks the decoded URL against the context's own service
endpoints (origin, then scope: ``platform_services.check_url``): an id is a URL the caller chose.

LTI 1.1 launches have one synthetic line item per resource link: ``li11_`` + 22 characters derived
from the launch's slot (organisation, consumer key, context, resource link), stable across launches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from urllib.parse import unquote, urlsplit

from lti_gateway.app_api.launch_context import ServiceContext

PREFIX = "li_"
LTI11_PREFIX = "li11_"
MAX_LENGTH = 4096
_COLLAPSED_SCHEME = re.compile(r"^(https?):/(?!/)", re.IGNORECASE)


def encode(url: str) -> str:
    return PREFIX + base64.urlsafe_b64encode(url.encode()).rstrip(b"=").decode()


def lti11_id(ctx: ServiceContext) -> str:
    digest = hashlib.sha256(("lti11-line-item:" + ctx.slot_identity()).encode()).digest()[:16]
    return LTI11_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def decode(raw: str) -> str | None:
    """The line item id named in a request path (still percent-encoded): an opaque id's URL, a raw
    URL (slashes repaired if a proxy collapsed ``https://``), an ``li11_`` id as is, or None."""
    if not raw or len(raw) > MAX_LENGTH:
        return None
    value = unquote(raw)
    if value.startswith(LTI11_PREFIX):
        return value
    if value.startswith(PREFIX):
        body = value[len(PREFIX) :]
        if not re.fullmatch(r"[A-Za-z0-9_-]+", body):
            return None
        try:
            value = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
    value = _COLLAPSED_SCHEME.sub(r"\1://", value)
    return value if is_url(value) else None


def is_url(value: str) -> bool:
    if not value.isascii() or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username
