"""The URLs of classes and units, and the checks on URLs people store (no open redirect).

- Launch URLs are what an admin pastes into the LMS: ``{base}/lti/launch/{class_id}`` for a class,
  ``{base}/lti/launch/{class_id}/{unit_id}`` for a unit. ``base`` (:func:`event_base_url`, the one
  source of every URL the gateway hands out: launch URLs, tool configuration, registration, exports)
  is the public base URL when configured (``PUBLIC_BASE_URL``, or ``https://`` and the custom domain
  of the template's DomainName parameter), else ``https://{requestContext.domainName}`` of the
  request. Launches are accepted on the public base and on the host they arrive on
  (:func:`launch_bases`).
- An app launch URL is where a launch is handed over with ``?ltik=``. It is set per organisation and
  may be overridden per class and per unit; it must be an https URL (http only for loopback hosts)
  whose origin the organisation allows (:func:`app_origin_allowed`: an owner allowed it by setting an
  app launch URL there, or in the organisation's ``app_origins``). The ``AllowedAppOrigins`` stack
  parameter is an optional operator restriction on top: empty (or ``*``) adds none; otherwise every
  app launch URL must also be on one of its origins.
- A Class LMS URL is the LMS course home students are sent back to: any absolute http(s) URL.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

from lti_gateway.core.config import settings
from lti_gateway.core.errors import ValidationFailed

MAX_URL = 2048
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$")


# -- launch URLs ------------------------------------------------------------------------------------


def base_url(domain_name: str | None) -> str:
    """``PUBLIC_BASE_URL`` if configured, else ``https://{domain_name}`` (the API's own host)."""
    configured = settings().public_base_url
    if configured:
        return configured
    domain = (domain_name or "").strip().lower()
    if not _DOMAIN.match(domain):
        raise ValidationFailed(
            "the request names no valid host to build launch URLs from; set PUBLIC_BASE_URL",
            code="no_public_base_url",
        )
    return f"https://{domain}"


def event_base_url(event: Mapping[str, Any]) -> str:
    """The base URL of every URL handed out in answer to an API Gateway (payload 2.0) or Function URL
    event: the public base URL when configured (the request's host is then never used), else the
    request's host."""
    return base_url(str((event.get("requestContext") or {}).get("domainName") or ""))


def class_launch_url(base: str, class_id: str) -> str:
    return f"{base.rstrip('/')}/lti/launch/{class_id}"


def unit_launch_url(base: str, class_id: str, unit_id: str) -> str:
    return f"{base.rstrip('/')}/lti/launch/{class_id}/{unit_id}"


# -- stored URLs ------------------------------------------------------------------------------------


# Where a URL we call may point: globally routable unicast addresses only. ``ipaddress``'s ``is_global``
# differs between Python versions (3.11 calls 64:ff9b:1::/48, fec0::/10, 2002::/16 and IPv4 multicast
# global; 3.13 does not), so these are refused explicitly as well: the same answer on every runtime.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/3",  # multicast and reserved (240/4), the broadcast address
        "::/96",  # unspecified, loopback, IPv4-compatible (deprecated)
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b:1::/48",  # NAT64, local use
        "100::/64",  # discard only
        "2001::/23",  # IETF protocol assignments (Teredo 2001::/32 among them)
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4 (deprecated)
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing (SRv6) identifiers
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
# Ranges ``is_private`` counts on 3.13 but not on 3.11: named "not globally routable" on both.
_NOT_ROUTABLE_FIRST = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("2002::/16"))
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 transition form carries, each with the form's name."""
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [("an IPv4-mapped", address.ipv4_mapped)]
    if address in _IPV4_TRANSLATED:
        return [("an IPv4-translated", low32)]
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1
        return [("an IPv4-compatible", low32)]
    if any(address in net for net in _NAT64):
        return [("a NAT64", low32)]
    if address.sixtofour is not None:
        return [("a 6to4", address.sixtofour)]
    if address.teredo is not None:
        server, client = address.teredo
        return [("a Teredo", client), ("a Teredo", server)]
    return []


def _kind(address: IPAddress) -> str | None:
    """What kind of address this is when it is not globally routable unicast; None when it is."""
    for test, kind in (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address in _SHARED, "a shared (carrier-grade NAT) address"),
        (any(address in net for net in _NOT_ROUTABLE_FIRST), "not a globally routable address"),
        (address.is_private, "a private address"),
        (any(address in net for net in _NOT_PUBLIC), "not a globally routable address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a globally routable address"),
    ):
        if test:
            return kind
    return None


def _text(address: ipaddress.IPv6Address) -> str:
    """The address as text, the same on every Python (3.13 writes IPv4-mapped ones as ``::ffff:a.b.c.d``,
    3.11 in hex)."""
    return f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped is not None else str(address)


def address_problem(address: IPAddress) -> str | None:
    """Why we must not connect to ``address`` (a sentence naming it), or None when it is globally
    routable unicast. IPv6 transition forms (IPv4-mapped, -compatible, -translated, NAT64 64:ff9b::/96
    and 64:ff9b:1::/48, 6to4, Teredo) are unwrapped: the IPv4 address they carry must be public too."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a scope id (%eth0): it plays no part
        for form, inner in _embedded_ipv4(address):
            kind = _kind(inner)
            if kind:
                return f"{_text(address)} is {form} form of {inner}, {kind}"
        if address.ipv4_mapped is not None or address in _NAT64[0]:
            # ::ffff:a.b.c.d is a.b.c.d, and 64:ff9b::a.b.c.d reaches a.b.c.d through NAT64 (what DNS64
            # answers in an IPv6-only subnet): both judged by the IPv4 address, above.
            return None
    kind = _kind(address)
    return f"{address} is {kind}" if kind else None


def parse_address(host: str) -> IPAddress | None:
    """``host`` as an IP address: a literal (brackets and an IPv6 zone allowed), or an IPv4 address in
    one of the legacy notations resolvers accept (``127.1``, ``0x7f000001``, ``2130706433``); None for a
    name."""
    host = host.strip().strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefx." for c in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def host_problem(host: str) -> str | None:
    """Why ``host`` is not a public host we may call, or None. Names are judged when they are called
    (:class:`lti_gateway.core.http_client.SafeHttp` checks what they resolve to), except ``localhost``."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return f"{name} is a loopback name"
    address = parse_address(name)
    return address_problem(address) if address is not None else None


def local_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or an address that is not globally routable (loopback, private,
    link-local, multicast, reserved, shared, or an IPv6 form of one): the server-side request forgery
    guard for URLs we will call. A name is judged when it is called (:class:`lti_gateway.core.
    http_client.SafeHttp` checks what it resolves to)."""
    return host_problem(host) is not None


def check_url(
    field: str,
    value: Any,
    *,
    schemes: tuple[str, ...] = ("http", "https"),
    max_len: int = MAX_URL,
    strip: bool = False,
    fragment: bool = True,
    query: bool = True,
    public_host: bool = False,
) -> tuple[str, SplitResult, int | None]:
    """The one check of a URL someone gives us: ``(value, its parts, its port)``, else ValidationFailed
    naming ``field``. Always: a non-empty printable ASCII string of at most ``max_len`` characters (hosts
    in punycode), an absolute URL of one of ``schemes``, a host, no user name or password, a valid port.
    On request: no ``#fragment``, no query string, a public host (:func:`local_host`)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed({field: "must be a non-empty string"})
    if strip:
        value = value.strip()
    if len(value) > max_len:
        raise ValidationFailed({field: f"must be at most {max_len} characters"})
    if not value.isascii() or any(c.isspace() or not c.isprintable() for c in value):
        raise ValidationFailed({field: "must be an ASCII URL without spaces or control characters (punycode hosts)"})
    split = urlsplit(value)
    if split.scheme.lower() not in schemes or not split.netloc:
        raise ValidationFailed({field: f"must be an absolute {'/'.join(schemes)} URL"})
    if "@" in split.netloc:
        raise ValidationFailed({field: "must not contain a user name or password"})
    try:
        port = split.port
    except ValueError:
        raise ValidationFailed({field: "has an invalid port"}) from None
    if not split.hostname:
        raise ValidationFailed({field: "must name a host"})
    if not fragment and "#" in value:
        raise ValidationFailed({field: "must not contain a fragment (#…)"})
    if not query and split.query:
        raise ValidationFailed({field: "must not contain a query string"})
    if public_host:
        problem = host_problem(split.hostname)
        if problem:
            raise ValidationFailed({field: f"must be on a public host (not localhost or a private address): {problem}"})
    return value, split, port


def origin(scheme: str, host: str, port: int | None) -> str:
    """``scheme://host[:port]``, lower case, the default port dropped (so equal origins compare equal)."""
    scheme, host = scheme.lower(), host.lower()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _normalised_allowed(allowed: tuple[str, ...]) -> list[str]:
    out = []
    for entry in allowed:
        if entry == "*":
            out.append(entry)
            continue
        split = urlsplit(entry)
        out.append(origin(split.scheme, split.hostname or "", split.port))
    return out


def validate_lms_url(value: Any, *, field: str = "class_lms_url") -> str:
    """A Class LMS URL: absolute http(s), ≤ 2048 characters, no userinfo (fragments are fine)."""
    return check_url(field, value)[0]


def stack_app_origins() -> list[str]:
    """The stack's ``AllowedAppOrigins`` parameter, each origin normalised (``*`` kept)."""
    return _normalised_allowed(settings().allowed_app_origins)


def _stack_restriction() -> list[str] | None:
    """The operator's ``AllowedAppOrigins`` (normalised), or None when it restricts nothing (empty, ``*``)."""
    allowed = stack_app_origins()
    return None if not allowed or "*" in allowed else allowed


def stack_allows(found: str) -> bool:
    """Whether the operator's ``AllowedAppOrigins`` lets app launch URLs use origin ``found``."""
    restriction = _stack_restriction()
    return restriction is None or found in restriction


def _refuse_by_stack(field: str, found: str) -> ValidationFailed:
    return ValidationFailed(
        {
            field: f"origin {found} is not allowed on this stack",
            "allowed_origins": _stack_restriction() or [],
            "hint": "the stack's operators restrict app origins with the AllowedAppOrigins parameter; "
            "ask them to add it",
        },
        code="app_origin_not_allowed",
    )


def _app_url_parts(value: Any, field: str) -> str:
    """The checks every app launch URL passes; its origin."""
    _, split, port = check_url(field, value)
    scheme = split.scheme.lower()
    host = split.hostname.lower()
    if scheme != "https" and host not in LOOPBACK_HOSTS:
        raise ValidationFailed({field: "must use https (http only for 127.0.0.1 or localhost)"})
    if "#" in value:
        raise ValidationFailed({field: "must not contain a fragment (#…); the ltik is added as a query parameter"})
    return origin(scheme, host, port)


def app_url_origin(value: Any, *, field: str = "app_launch_url") -> str:
    """The origin of an app launch URL (:func:`validate_app_launch_url` checks it first)."""
    return _app_url_parts(value, field)


def validate_app_launch_url(value: Any, *, field: str = "app_launch_url") -> str:
    """An app launch URL: https (http only for loopback hosts), no fragment, no user info, ≤ 2048
    characters, and on an origin the stack's ``AllowedAppOrigins`` permits (400
    ``app_origin_not_allowed`` if not; empty or ``*``: any). Whether the *organisation* allows the
    origin is :func:`app_origin_allowed`'s question."""
    found = _app_url_parts(value, field)
    if not stack_allows(found):
        raise _refuse_by_stack(field, found)
    return value


def validate_app_origin(value: Any, *, field: str = "app_origins") -> str:
    """An origin an owner allows app launch URLs on: ``https://host[:port]`` (http only for loopback
    hosts), no path, query, fragment or user info; normalised (lower case, default port dropped)."""
    _, split, port = check_url(field, value, strip=True, fragment=False, query=False, max_len=300)
    if split.path not in ("", "/"):
        raise ValidationFailed({field: f"{value!r} is not an origin like https://app.example.com (no path)"})
    scheme, host = split.scheme.lower(), split.hostname.lower()
    if scheme != "https" and host not in LOOPBACK_HOSTS:
        raise ValidationFailed({field: "origins must use https (http only for 127.0.0.1 or localhost)"})
    if port == 0 or not (_DOMAIN.match(host) or parse_address(host.strip("[]")) is not None):
        raise ValidationFailed(
            {field: f"{value!r} is not an origin like https://app.example.com (a host name or address)"}
        )
    found = origin(scheme, host, port)
    if not stack_allows(found):
        raise _refuse_by_stack(field, found)
    return found


def own_app_origin(org: Mapping[str, Any]) -> str | None:
    """The origin of the organisation's own ``app_launch_url`` (None: none, or not a valid one)."""
    url = org.get("app_launch_url")
    if not url:
        return None
    try:
        return _app_url_parts(url, "app_launch_url")
    except ValidationFailed:
        return None


def organisation_app_origins(org: Mapping[str, Any] | None) -> list[str] | None:
    """The origins ``org`` allows app launch URLs on: its ``app_origins`` and the origin of its own
    ``app_launch_url``, sorted; None for an organisation stored before organisations kept
    ``app_origins`` (its URLs were checked against the stack's list: that list still decides)."""
    if org is None or "app_origins" not in org:
        return None
    found = {str(o) for o in org.get("app_origins") or ()}
    own = own_app_origin(org)
    if own:
        found.add(own)
    return sorted(found)


def app_origin_allowed(org: Mapping[str, Any] | None, found: str) -> bool:
    """Whether app launch URLs of ``org`` may be on origin ``found``: the stack permits it
    (:func:`stack_allows`) and the organisation allows it (its ``app_origins``, or the origin of its own
    ``app_launch_url``). An organisation stored before ``app_origins`` existed (none on its item) keeps
    what the stack's list allowed then: a non-empty ``AllowedAppOrigins`` naming it (or ``*``)."""
    if not stack_allows(found):
        return False
    if org is not None and own_app_origin(org) == found:
        return True
    allowed = organisation_app_origins(org)
    if allowed is not None:
        return found in allowed
    return bool(stack_app_origins())


def effective_app_launch_url(
    org: Mapping[str, Any] | None,
    class_item: Mapping[str, Any] | None,
    unit_item: Mapping[str, Any] | None = None,
    *,
    recheck: bool = True,
) -> str | None:
    """Where a launch goes: the unit's app launch URL, else the class's, else the organisation's.

    ``None`` when none is set. With ``recheck`` (the default) the chosen URL is validated again and its
    origin must be allowed for ``org`` (:func:`app_origin_allowed`; never another organisation's list),
    so an origin an owner removed from ``app_origins``, or the operator from ``AllowedAppOrigins``,
    after the URL was stored is refused at launch time (``ValidationFailed`` with code
    ``app_origin_not_allowed``).
    """
    for source in (unit_item, class_item, org):
        url = (source or {}).get("app_launch_url")
        if not url:
            continue
        if not recheck:
            return str(url)
        found = _app_url_parts(url, "app_launch_url")
        if not app_origin_allowed(org, found):
            raise ValidationFailed(
                {
                    "app_launch_url": f"origin {found} is not allowed for this organisation",
                    "hint": "an organisation owner allows an origin by setting an app launch URL on it, or "
                    "by adding it to app_origins (PATCH /api/org)",
                },
                code="app_origin_not_allowed",
            )
        return str(url)
    return None


def url_origin(url: Any) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL (lower case, default port dropped), else None:
    the LMS origins a Class LMS URL may point at, and the LMS site an LTI 1.1 launch came from (the
    origin of its outcome service: one consumer key may serve two sites whose ids overlap)."""
    if not isinstance(url, str):
        return None
    try:
        split = urlsplit(url)
        port = split.port
    except ValueError:
        return None
    if split.scheme.lower() not in ("http", "https") or not split.hostname or "@" in split.netloc:
        return None
    return origin(split.scheme, split.hostname, port)


def web_url(value: str | None) -> str | None:
    """``value`` if it is an absolute http(s) URL, else None: a URL an LMS sent that we may redirect a
    browser to or call (a return URL, an outcome service), never ``javascript:`` or a relative path."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def with_query(url: str, **params: str) -> str:
    """``url`` with ``params`` appended to its query string (the ``ltik`` handover, ``lti_errormsg``, the
    app API's paging and filters); no params, ``url`` unchanged."""
    if not params:
        return url
    split = urlsplit(url)
    query = "&".join(q for q in (split.query, urlencode(params)) if q)
    return urlunsplit((split.scheme, split.netloc, split.path, query, split.fragment))


def launch_bases(event: Mapping[str, Any]) -> list[str]:
    """The base URLs a launch URL of this gateway may start with: the public one (``PUBLIC_BASE_URL``
    or the custom domain, what every URL handed out starts with), the host the request arrived on (an
    LMS still using the execute-api URL after the stack moved onto a custom domain keeps launching) and
    ``LAUNCH_BASE_URL``."""
    own = str((event.get("requestContext") or {}).get("domainName") or "").strip().lower()
    candidates = (settings().public_base_url, f"https://{own}" if _DOMAIN.match(own) else None)
    bases: list[str] = []
    for base in (*candidates, settings().launch_base_url):
        if base and base not in bases:
            bases.append(base)
    return bases or [event_base_url(event)]  # none: the 400 no_public_base_url
