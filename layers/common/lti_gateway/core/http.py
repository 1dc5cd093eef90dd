"""Reading an HTTP request as API Gateway (HTTP API, payload 2.0) or a Lambda Function URL delivers it.

The one place that decodes request bodies and reads request headers:

* :func:`json_body` — a JSON object (the admin API and the app API);
* :func:`form_pairs` / :func:`form_body` — an ``application/x-www-form-urlencoded`` body (LTI
  launches, OIDC logins, the Learnosity Data API), in order, repeated names and empty values kept,
  strictly UTF-8;
* :func:`public_url` — the URL a client signed (OAuth 1.0a signs it), rebuilt from the forwarded
  headers or from a configured public base URL.

Limits are checked before anything is decoded (a huge body is never decoded), and every failure is a
4xx :class:`~lti_gateway.core.errors.GatewayError` naming what is wrong: 413 over the size limit, 415
for another media type or charset, 400 for bad base64, bad UTF-8 or too many fields.

Text is well-formed or refused here, once for every route (400 ``invalid_text`` naming the field,
:mod:`lti_gateway.core.validation`): a JSON body's strings and names may not hold a lone surrogate
(``"\\ud800"`` decodes to one) or NUL; a form is strict UTF-8 (an encoded surrogate is invalid
UTF-8) and its names and values may not hold NUL. Paths and query strings: ``web.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lti_gateway.core import validation
from lti_gateway.core.errors import BodyTooLarge, InvalidJson, UnsupportedMediaType, ValidationFailed

MAX_JSON_BYTES = 16 * 1024
MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 2000
FORM_URLENCODED = "application/x-www-form-urlencoded"
MAX_COOKIE_VALUES = 8  # of one cookie name: a browser sends one or two; more is someone's noise

# Compiled by re on first use (cached there): only the LTI 1.1 launch reads it.
_HOST = r"(?P<host>[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def lower_headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = event.get("headers") or {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def request_header(event: Mapping[str, Any], name: str) -> str | None:
    """The request's header ``name`` (lower case), stripped; None when it is absent or not text."""
    headers = event.get("headers")
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == name and isinstance(value, str):
                return value.strip()
    return None


def request_cookies(event: Mapping[str, Any], name: str) -> list[str]:
    """Every value the request carries for cookie ``name`` (at most :data:`MAX_COOKIE_VALUES`): HTTP API
    v2 and Function URLs hand cookies over in ``cookies``; a ``Cookie`` header (other front doors) is
    read too."""
    pieces: list[str] = []
    cookies = event.get("cookies")
    if isinstance(cookies, list):
        pieces.extend(c for c in cookies if isinstance(c, str))
    headers = event.get("headers")
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == "cookie" and isinstance(value, str):
                pieces.extend(value.split(";"))
    found = []
    for piece in pieces:
        key, sep, value = piece.strip().partition("=")
        if sep and key.strip() == name:
            found.append(value.strip().strip('"'))
    return found[:MAX_COOKIE_VALUES]


def _first(value: str | None) -> str:
    """The client-facing entry of a forwarded header (a proxy chain appends with commas)."""
    return (value or "").split(",")[0].strip()


def _netloc(scheme: str, host: str, port: int | None) -> str:
    if port is None or _DEFAULT_PORTS[scheme] == port:
        return host
    return f"{host}:{port}"


def _port(raw: str, what: str) -> int:
    # ASCII digits only: str.isdigit() is also true for "²", which int() refuses (a 500, found by fuzzing).
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= 65535:
        raise ValidationFailed({what: "not a TCP port"}, code="invalid_forwarded_header")
    return int(raw)


def _path_and_query(event: Mapping[str, Any]) -> tuple[str, str]:
    raw_path = event.get("rawPath") or "/"
    if not isinstance(raw_path, str) or not raw_path.startswith("/"):
        raise ValidationFailed({"rawPath": "must start with /"}, code="invalid_request_path")
    raw_query = event.get("rawQueryString") or ""
    return raw_path, f"?{raw_query}" if raw_query else ""


def public_url(event: Mapping[str, Any], *, public_base_url: str | None = None) -> str:
    """The URL the LMS signed, rebuilt from an HTTP API (payload 2.0) or Function URL event.

    With ``public_base_url`` (a custom domain in front, or ``http://127.0.0.1:3000`` locally) its
    scheme, host, port and path prefix are used and the request's headers are ignored. Otherwise the
    scheme comes from ``X-Forwarded-Proto`` (default https), the host from ``Host`` (falling back to
    ``requestContext.domainName``) and the port from ``Host`` or ``X-Forwarded-Port``; default ports
    are dropped. The raw query string is kept: it is part of the signature base string.
    """
    raw_path, query = _path_and_query(event)
    if public_base_url:
        base = urlsplit(public_base_url)
        if base.scheme not in _DEFAULT_PORTS or not base.hostname:
            raise ValueError(f"public_base_url {public_base_url!r} is not an absolute http(s) URL")
        host = f"[{base.hostname}]" if ":" in base.hostname else base.hostname
        netloc = _netloc(base.scheme, host.lower(), base.port)
        return f"{base.scheme}://{netloc}{base.path.rstrip('/')}{raw_path}{query}"

    headers = lower_headers(event)
    scheme = _first(headers.get("x-forwarded-proto")).lower() or "https"
    if scheme not in _DEFAULT_PORTS:
        raise ValidationFailed({"x-forwarded-proto": "must be http or https"}, code="invalid_forwarded_header")
    host_header = _first(headers.get("host")) or str((event.get("requestContext") or {}).get("domainName") or "")
    match = re.fullmatch(_HOST, host_header.lower())
    if not match:
        raise ValidationFailed({"host": "missing or not a host name"}, code="invalid_host_header")
    port: int | None = None
    if match["port"]:
        port = _port(match["port"], "host")
    elif forwarded_port := _first(headers.get("x-forwarded-port")):
        port = _port(forwarded_port, "x-forwarded-port")
    return f"{scheme}://{_netloc(scheme, match['host'], port)}{raw_path}{query}"


# -- bodies ------------------------------------------------------------------------------------------------


def _raw_event(event: Any) -> Mapping[str, Any]:
    """The event as API Gateway sends it (a Powertools event object carries it as ``raw_event``)."""
    return getattr(event, "raw_event", event)


def _media_type(headers: Mapping[str, str]) -> tuple[str, str]:
    media_type, _, rest = headers.get("content-type", "").partition(";")
    return media_type.strip().lower(), rest


def body_bytes(event: Any, max_bytes: int, *, invalid: str = "invalid_body") -> bytes:
    """The body, base64-decoded when ``isBase64Encoded``; 413 over ``max_bytes`` (checked before
    decoding), 400 ``invalid`` for bad base64 or a body that is not text."""
    event = _raw_event(event)
    body = event.get("body") or ""
    too_large = BodyTooLarge(f"body must be at most {max_bytes} bytes")
    if not isinstance(body, str):
        raise ValidationFailed({"body": "not text"}, code=invalid)
    if event.get("isBase64Encoded"):
        # Refuse before decoding: base64 is 4/3 of the payload.
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationFailed({"body": "invalid base64"}, code=invalid) from None
    else:
        if len(body) > max_bytes:
            raise too_large
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise too_large
    return raw


def json_body(event: Any, *, max_bytes: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """The JSON object sent, ``{}`` for an empty body; 413 too large, 415 another media type
    (``application/json`` or ``*+json``; none is taken as JSON), 400 not a JSON object."""
    raw = body_bytes(event, max_bytes)
    if not raw.strip():
        return {}
    media_type, _ = _media_type(lower_headers(_raw_event(event)))
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: "[[[[…" nested deep
        raise InvalidJson(f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(value, dict):
        raise InvalidJson("body must be a JSON object")
    validation.check_json(value)
    return value


def _check_form_type(headers: Mapping[str, str]) -> None:
    media_type, rest = _media_type(headers)
    if media_type != FORM_URLENCODED:
        raise UnsupportedMediaType({"content-type": f"must be {FORM_URLENCODED}"})
    for parameter in rest.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise UnsupportedMediaType({"content-type": "charset must be UTF-8"}, code="unsupported_charset")


def form_pairs(event: Any, *, max_bytes: int = MAX_FORM_BYTES) -> list[tuple[str, str]]:
    """An ``application/x-www-form-urlencoded`` body's parameters, in order, repeated names and empty
    values kept, strictly UTF-8: 413 over ``max_bytes``, 415 another media type or charset, 400
    ``invalid_form_body`` for bad base64, bad UTF-8 or more than ``MAX_FORM_FIELDS`` fields."""
    _check_form_type(lower_headers(_raw_event(event)))
    raw = body_bytes(event, max_bytes, invalid="invalid_form_body")
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise ValidationFailed({"body": "not valid UTF-8"}, code="invalid_form_body") from None
    except ValueError:  # more than MAX_FORM_FIELDS fields
        raise ValidationFailed({"body": f"more than {MAX_FORM_FIELDS} fields"}, code="invalid_form_body") from None
    for name, value in pairs:  # strict UTF-8 has no surrogates: only NUL is left to refuse
        if "\x00" in name:
            raise ValidationFailed({"body": "a field name: must not contain NUL"}, code=validation.INVALID_TEXT)
        validation.well_formed(name, value)
    return pairs


def form_body(event: Any, *, max_bytes: int = MAX_FORM_BYTES) -> dict[str, list[str]]:
    """:func:`form_pairs` as ``{name: [values…]}`` (the Learnosity Data API's form)."""
    fields: dict[str, list[str]] = {}
    for name, value in form_pairs(event, max_bytes=max_bytes):
        fields.setdefault(name, []).append(value)
    return fields
