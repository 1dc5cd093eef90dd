"""Calls to a platform's LTI Advantage services (AGS, NRPS) on behalf of one launch context.

Never a confused deputy. Every outbound service call of the app API (AGS, NRPS, and the LTI 1.1
outcome service) passes :func:`check_url` first, with the URL it is about to call, whichever way that
URL arrived (the claim's own endpoints, a ``url`` query parameter, a line item id in the path, a
``results``/``scores`` URL derived from one). Two rules, in order:

1. **Origin** (``ltiaas-api.md`` §5.1.4): a well-formed absolute URL, https (http only with
   ``ALLOW_INSECURE_PLATFORM_URLS``, the local test setting), on the origin (scheme, host, port) of
   the context's own service endpoints. Otherwise 400 ``INVALID_URL_PARAMETER``.
2. **Scope — the call stays inside its launch**: on that origin, only what the launch context named:

   - NRPS: the ``context_memberships_url`` path exactly (its paging ``next`` links share the path);
   - AGS: the ``lineitems`` container path exactly (listing, creating, paging), the launch's own
     ``lineitem`` path (a context's service key: every resource link's ``lineitem`` seen in the
     context's launches) and its ``/results`` and ``/scores``, and any path *under* the container
     (``{container path}/`` + one or more segments: the line items of that container and their
     results and scores — Canvas ``/api/lti/courses/7/line_items/12``, Moodle
     ``/mod/lti/services.php/7/lineitems/3/lineitem?type_id=1``, Blackboard, D2L, Sakai alike);
   - the query parameters the claim URL itself carries (Moodle's ``type_id``) keep their values;
     other parameters (filters, paging) are free;
   - under the container, a dot segment (``..``, ``%2e%2e``, ``..;``), an empty segment, or an encoded
     ``/``, ``\\`` or control character is refused: a server could resolve it outside the container;
   - LTI 1.1 outcomes: exactly the ``lis_outcome_service_url`` the launch stored (a context's service
     key: the one the graded learner's own launch of that resource link stored).

   Otherwise 403 ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT``. Either way nothing is sent and the platform
   access token goes nowhere else. A line item of the same LMS that the LMS keeps outside the
   container path (and that is not the launch's own ``lineitem``) is therefore refused too.

The transport (:class:`~lti_gateway.core.http_client.SafeHttp`) follows no redirect and refuses
private addresses.

An LMS 401 drops the cached access token and retries once with a fresh one. LMS 400/403/404/409/422
are mirrored, anything else non-2xx is a 502; both in the contract's shape with ``externalError``,
``externalUrl`` and the LMS body (truncated) in ``bodyReceived``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from lti_gateway.app_api import platform_tokens
from lti_gateway.app_api.errors import UNREGISTERED_OR_INACTIVE_PLATFORM, invalid_url, not_available, platform_failed
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.core import runtime
from lti_gateway.core.cache import TtlCache
from lti_gateway.core.config import settings
from lti_gateway.core.errors import ApiError, OutboundRefused
from lti_gateway.core.http_client import SafeHttp
from lti_gateway.core.vocabulary import SCOPE_NRPS

Service = Literal["ags", "nrps"]
Scoped = Literal["ags", "nrps", "outcomes"]
TIMEOUT_SECONDS = 6.0
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
MIRRORED = (400, 403, 404, 409, 422)
_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))""", re.IGNORECASE)


@runtime.cached
def outbound_http() -> SafeHttp:
    """The services' transport: https and public addresses only, unless the local test setting."""
    insecure = settings().allow_insecure_platform_urls
    return SafeHttp(
        timeout=TIMEOUT_SECONDS,
        max_response_bytes=MAX_RESPONSE_BYTES,
        allow_http=insecure,
        allow_private_addresses=insecure,
    )


# -- where a context may send its token ------------------------------------------------------------------


def origin(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    port = port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname.lower()}:{port}"


def service_urls(ctx: ServiceContext, service: Service) -> list[str]:
    if service == "nrps":
        url = (ctx.nrps or {}).get("context_memberships_url")
        return [url] if isinstance(url, str) else []
    ags = ctx.ags or {}
    own = [u for u in (ags.get("lineitems"), ags.get("lineitem")) if isinstance(u, str)]
    return own + [u for u in ctx.line_items_seen if isinstance(u, str) and u not in own]


def check_url(ctx: ServiceContext, url: str, service: Scoped) -> str:
    """``url`` if ``ctx`` may call it for ``service``: the one gate of every outbound service call.

    400 ``INVALID_URL_PARAMETER`` for a malformed URL or another origin; 403
    ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT`` for a URL of the right origin outside the launch's context.
    """
    if service == "outcomes":
        if not (ctx.family == "1.1" and ctx.outcome_url and url == ctx.outcome_url):
            raise not_available("Only this launch's own LTI 1.1 outcome service URL may be called.")
        return url
    if not isinstance(url, str) or not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise invalid_url("The URL is not a valid absolute URL.")
    target = origin(url)
    if target is None or urlsplit(url).fragment:
        raise invalid_url("The URL is not a valid absolute URL.")
    if not target.startswith("https://") and not settings().allow_insecure_platform_urls:
        raise invalid_url("The URL must be https.")
    allowed = {origin(u) for u in service_urls(ctx, service)} - {None}
    if target not in allowed:
        raise invalid_url("The URL is not on the origin of this context's platform service endpoints.")
    if not in_context(ctx, url, service):
        raise not_available(_outside_description(service))
    return url


def in_context(ctx: ServiceContext, url: str, service: Service) -> bool:
    """Whether ``url`` (already on the right origin) is one the launch context named (module doc, rule 2)."""
    target = urlsplit(url)
    if service == "nrps":
        return any(_same_resource(target, urlsplit(u)) for u in service_urls(ctx, "nrps"))
    ags = ctx.ags or {}
    container = ags.get("lineitems")
    # The launch's own line item; for a context's service key, every resource link's own line item seen.
    for own in (ags.get("lineitem"), *ctx.line_items_seen):
        if not isinstance(own, str):
            continue
        item = urlsplit(own)
        if any(_same_resource(target, item, suffix) for suffix in ("", "/results", "/scores")):
            return True
    if isinstance(container, str):
        base = urlsplit(container)
        return _same_resource(target, base) or _under(target, base)
    return False


def _same_origin(a: Any, b: Any) -> bool:
    return origin(a.geturl()) == origin(b.geturl())


def _keeps_query(target: Any, named: Any) -> bool:
    """Every query parameter of the claim URL is in ``target`` with the same value(s)."""
    wanted: dict[str, list[str]] = {}
    for key, value in parse_qsl(named.query, keep_blank_values=True):
        wanted.setdefault(key, []).append(value)
    if not wanted:
        return True
    found: dict[str, list[str]] = {}
    for key, value in parse_qsl(target.query, keep_blank_values=True):
        if key in wanted:
            found.setdefault(key, []).append(value)
    return all(sorted(found.get(key, [])) == sorted(values) for key, values in wanted.items())


def _same_resource(target: Any, named: Any, suffix: str = "") -> bool:
    path = named.path.rstrip("/") + suffix if suffix else named.path
    return _same_origin(target, named) and target.path == path and _keeps_query(target, named)


def _under(target: Any, container: Any) -> bool:
    """``target`` is ``{container path}/`` + one or more plain segments (no dot, empty or encoded
    separator segments that a server could resolve outside the container)."""
    prefix = container.path.rstrip("/") + "/"
    if prefix == "/" or not (_same_origin(target, container) and target.path.startswith(prefix)):
        return False
    rest = target.path[len(prefix) :]
    for segment in rest.split("/"):
        plain = unquote(segment)
        if (
            not segment
            or plain.split(";", 1)[0] in (".", "..")  # "..;" too: Tomcat drops path parameters first
            or any(c in plain for c in "/\\")
            or any(ord(c) < 32 or ord(c) == 127 for c in plain)
        ):
            return False
    return _keeps_query(target, container)


def _outside_description(service: Service) -> str:
    if service == "nrps":
        return (
            "The URL is outside this launch's context: Names and Roles may only call the context's own "
            "memberships URL (context_memberships_url) and its paging links."
        )
    return (
        "The URL is outside this launch's context: Assignment and Grades may only call the context's "
        "line items container (lineitems), the line items under it, and the launch's own line item "
        "(lineitem), with their results and scores."
    )


# -- the registration behind a 1.3 context ------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformAccess:
    """What a context needs to get an access token: the registration's token endpoint."""

    endpoint: platform_tokens.TokenEndpoint
    scopes: tuple[str, ...]


_registrations: TtlCache[Any] = TtlCache()


def _default_registration(ctx: ServiceContext) -> Any:
    """The registration (``platforms.Registration``) behind ``ctx``, by its platform id; None when it is
    gone or belongs to another organisation. Cached per warm container like consumer keys."""
    from lti_gateway.lti13 import platforms
    from lti_gateway.repositories import deps

    if not ctx.platform_id:
        return None

    def load() -> Any:
        item = deps.platforms_repo().get_platform(ctx.platform_id)
        return platforms.registration_of(item) if item is not None else None

    registration = _registrations.get(ctx.platform_id, load, ttl_seconds=settings().consumer_key_cache_seconds)
    if registration is None or registration.org_id != ctx.org_id:
        return None
    return registration


# Tests replace this to use a hand-built registration; production reads the platforms module.
registration_lookup: Callable[[ServiceContext], Any] = _default_registration


def _field(registration: Any, *names: str) -> Any:
    for name in names:
        value = registration.get(name) if isinstance(registration, Mapping) else getattr(registration, name, None)
        if value not in (None, ""):
            return value
    return None


def access_for(ctx: ServiceContext) -> PlatformAccess:
    registration = registration_lookup(ctx)
    if registration is None or _field(registration, "active", "status") in (False, "inactive", "deleted"):
        raise ApiError(
            401, UNREGISTERED_OR_INACTIVE_PLATFORM, "The platform of this launch is not registered or not active."
        )
    client_id = str(_field(registration, "client_id") or ctx.client_id or "")
    issuer = _field(registration, "issuer")
    if (ctx.client_id and client_id != ctx.client_id) or (ctx.issuer and issuer and issuer != ctx.issuer):
        raise ApiError(401, UNREGISTERED_OR_INACTIVE_PLATFORM, "The platform registration changed since this launch.")
    endpoint = platform_tokens.endpoint_for(
        str(ctx.issuer or _field(registration, "issuer") or ""),
        client_id,
        _field(registration, "auth_token_url", "access_token_url", "token_url"),
        _field(registration, "auth_server", "authorization_server"),
        key_owner=_field(registration, "key_owner"),  # the registration's organisation signs, never the claims'
    )
    return PlatformAccess(endpoint, scopes_of(ctx))


def clear_cache() -> None:
    _registrations.clear()


def scopes_of(ctx: ServiceContext) -> tuple[str, ...]:
    """Every scope the launch allows (one token serves every call of the context)."""
    scopes = set(ctx.ags_scopes)
    if ctx.nrps:
        scopes.add(SCOPE_NRPS)
    return tuple(sorted(scopes))


# -- calling ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LmsAnswer:
    status: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)

    def links(self) -> dict[str, str]:
        """``rel -> URL`` of the RFC 8288 ``Link`` header (AGS and NRPS paging)."""
        header = next((v for k, v in self.headers.items() if k.lower() == "link"), "")
        found: dict[str, str] = {}
        for match in _LINK.finditer(header or ""):
            url, params = match.group(1).strip(), match.group(2)
            for rel_match in _REL.finditer(params):
                for rel in (rel_match.group(1) or rel_match.group(2) or "").split():
                    found.setdefault(rel.lower(), url)
        return found


def call(
    ctx: ServiceContext,
    service: Service,
    method: str,
    url: str,
    *,
    accept: str,
    content_type: str | None = None,
    body: Any = None,
    access: PlatformAccess | None = None,
    http: SafeHttp | None = None,
) -> LmsAnswer:
    """One service call with the context's access token (one refresh on a 401)."""
    check_url(ctx, url, service)
    access = access or access_for(ctx)
    http = http or outbound_http()
    payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    answer = None
    for attempt in range(2):
        token = platform_tokens.access_token(access.endpoint, access.scopes, http=http)
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            answer = http.request(method, url, body=payload, headers=headers)
        except OutboundRefused as refused:
            raise platform_failed(f"The platform service could not be called ({refused.kind}).", url=url) from None
        except OSError:
            raise platform_failed("The platform service did not answer in time.", url=url) from None
        if answer.status == 401 and attempt == 0:
            platform_tokens.invalidate(access.endpoint, access.scopes)
            continue
        break
    assert answer is not None
    if not 200 <= answer.status < 300:
        status = answer.status if answer.status in MIRRORED else 502
        raise platform_failed(
            f"The platform answered HTTP {answer.status} to {method} {service.upper()}.",
            status=status,
            url=url,
            body=answer.body,
        )
    data: Any = None
    if answer.body and answer.status != 204:
        try:
            data = json.loads(answer.body)
        except (ValueError, RecursionError):
            raise platform_failed(
                "The platform answered something that is not JSON.", url=url, body=answer.body
            ) from None
    return LmsAnswer(answer.status, data, answer.headers)


def require(ctx: ServiceContext, service: Service, *any_of_scopes: str) -> None:
    """403 ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT`` unless the context has ``service`` (and a scope)."""
    if ctx.family != "1.3":
        raise not_available("This LTI 1.1 launch has no LTI Advantage services.")
    if not service_urls(ctx, service):
        name = "Names and Roles" if service == "nrps" else "Assignment and Grades"
        raise not_available(f"The platform offers no {name} service for this context.")
    if any_of_scopes and not set(any_of_scopes) & set(ctx.ags_scopes):
        raise not_available("The platform did not grant the scope this call needs.")
