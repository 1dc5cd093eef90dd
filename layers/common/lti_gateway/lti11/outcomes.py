"""LTI 1.1 Basic Outcomes (grade passback): replaceResult, readResult and deleteResult.

Each operation POSTs an IMS POX envelope (``application/xml``) to the ``lis_outcome_service_url``
of a launch, signed with OAuth 1.0a HMAC-SHA1 in the ``Authorization`` header by **oauthlib**'s
``Client``, which adds ``oauth_body_hash`` (base64 SHA-1 of the body, draft-eaton-oauth-bodyhash)
for non-form bodies. The answer's ``imsx_codeMajor`` decides: ``success`` (or ``processing``)
returns an :class:`OutcomeResult`; anything else raises :class:`OutcomeFailed` (502).

Responses are parsed with the standard library only (defusedxml is not a dependency): a document
with a DOCTYPE (hence any entity declaration) is refused before ElementTree sees it, so neither
external entities nor entity expansion bombs apply.

Network: an injectable ``http`` callable; the default, :class:`UrllibHttp`, sends over https only,
refuses loopback/private/link-local addresses, follows no redirect, waits 5 s and reads 64 KiB at
most. Nothing raised here carries the consumer secret.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit
from xml.parsers import expat

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client

from lti_gateway.core import runtime
from lti_gateway.core.errors import OutboundRefused, OutcomeFailed, ValidationFailed
from lti_gateway.core.http_client import HttpResponse, SafeHttp
from lti_gateway.core.validation import NOT_XML

POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
CONTENT_TYPE = "application/xml"
_DESCRIPTION_LIMIT = 500
_OK_CODES = ("success", "processing")


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeResult:
    operation: str  # replaceResult, readResult, deleteResult
    code_major: str  # success or processing
    severity: str | None
    description: str | None
    message_identifier: str  # ours
    message_ref_identifier: str | None  # the LMS's echo of ours
    score: float | None = None  # readResult only; None when the LMS holds no score


# -- transport ---------------------------------------------------------------------------------------


class OutcomeHttp(Protocol):
    """POST ``body`` to ``url``; answer any HTTP status as a response.

    May raise :class:`OutcomeFailed`; ``TimeoutError`` and other ``OSError`` are mapped to
    ``outcome_timeout`` and ``outcome_unreachable``.
    """

    def __call__(self, url: str, *, body: bytes, headers: Mapping[str, str]) -> HttpResponse: ...


# Kept as the outcomes' name for the shared transport (tests and callers build it with test flags).
UrllibHttp = SafeHttp


@runtime.cached
def default_http() -> SafeHttp:
    return SafeHttp()


# -- POX ------------------------------------------------------------------------------------------------


def _q(tag: str) -> str:
    return f"{{{POX_NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, _q(tag))
    if text is not None:
        child.text = text
    return child


def _xml_text(value: str, what: str) -> str:
    if NOT_XML.search(value):
        raise ValidationFailed({what: "contains characters XML cannot carry"}, code=f"invalid_{what}")
    return value


def format_score(score: float) -> str:
    """A score as LTI 1.1 wants it: a plain decimal in 0.0-1.0 (no exponent, "." separator)."""
    text = f"{score:.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def build_request(
    operation: str,
    sourcedid: str,
    message_identifier: str,
    *,
    score: float | None = None,
    text: str | None = None,
) -> str:
    """The imsx_POXEnvelopeRequest for ``operation`` (``replaceResult`` etc.) as a UTF-8 XML string."""
    envelope = ET.Element(_q("imsx_POXEnvelopeRequest"))
    info = _sub(_sub(envelope, "imsx_POXHeader"), "imsx_POXRequestHeaderInfo")
    _sub(info, "imsx_version", "V1.0")
    _sub(info, "imsx_messageIdentifier", message_identifier)
    record = _sub(_sub(_sub(envelope, "imsx_POXBody"), f"{operation}Request"), "resultRecord")
    _sub(_sub(record, "sourcedGUID"), "sourcedId", sourcedid)
    if score is not None:
        result = _sub(record, "result")
        result_score = _sub(result, "resultScore")
        _sub(result_score, "language", "en")
        _sub(result_score, "textString", format_score(score))
        if text is not None:
            _sub(_sub(result, "resultData"), "text", text)
    body = ET.tostring(envelope, encoding="unicode", default_namespace=POX_NS)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _refuse_dtd(*_args: Any) -> None:
    raise ValueError("DOCTYPE and entity declarations are not accepted")


def _parse_xml(data: bytes) -> ET.Element:
    """Parse an untrusted XML answer; refuse any DOCTYPE or entity declaration first.

    A raw expat pass with handlers that raise on a DOCTYPE, an entity declaration or an external
    entity reference stops before any entity is defined or expanded; only a document without a DTD
    reaches ElementTree.
    """
    guard = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse_dtd
    guard.EntityDeclHandler = _refuse_dtd
    guard.ExternalEntityRefHandler = _refuse_dtd
    guard.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        guard.Parse(data, True)
        return ET.fromstring(data)  # noqa: S314 - DTD-free after the guard pass above
    except (ValueError, expat.ExpatError, ET.ParseError):
        raise OutcomeFailed({"reason": "response is not acceptable XML"}, code="outcome_invalid_response") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, *path: str) -> ET.Element | None:
    """The first element at ``path`` of local names below ``root``, at any depth, any namespace."""
    for element in root.iter():
        if _local(element.tag) != path[0]:
            continue
        if len(path) == 1:
            return element
        found = _find(element, *path[1:])
        if found is not None:
            return found
    return None


def _text(root: ET.Element, *path: str) -> str | None:
    element = _find(root, *path)
    return None if element is None or element.text is None else element.text.strip()


def _parse_score(raw: str | None) -> float | None:
    if raw is None or raw == "":
        return None
    try:
        score = float(raw)
    except ValueError:
        score = math.nan
    if not 0.0 <= score <= 1.0:
        raise OutcomeFailed({"reason": "score in response is not in 0.0-1.0"}, code="outcome_invalid_response")
    return score


def parse_response(operation: str, data: bytes, message_identifier: str) -> OutcomeResult:
    root = _parse_xml(data)
    if _local(root.tag) != "imsx_POXEnvelopeResponse":
        raise OutcomeFailed({"reason": "not an imsx_POXEnvelopeResponse"}, code="outcome_invalid_response")
    code_major = _text(root, "imsx_statusInfo", "imsx_codeMajor")
    if not code_major:
        raise OutcomeFailed({"reason": "no imsx_codeMajor"}, code="outcome_invalid_response")
    code_major = code_major.lower()
    description = _text(root, "imsx_statusInfo", "imsx_description")
    description = description[:_DESCRIPTION_LIMIT] if description else None
    if code_major not in _OK_CODES:
        code = "outcome_unsupported" if code_major == "unsupported" else "outcome_failure"
        raise OutcomeFailed(
            {"operation": operation, "code_major": code_major, "description": description},
            code=code,
            code_major=code_major,
            description=description,
        )
    score = None
    if operation == "readResult":
        score = _parse_score(_text(root, "readResultResponse", "result", "resultScore", "textString"))
    return OutcomeResult(
        operation=operation,
        code_major=code_major,
        severity=_text(root, "imsx_statusInfo", "imsx_severity"),
        description=description,
        message_identifier=message_identifier,
        message_ref_identifier=_text(root, "imsx_statusInfo", "imsx_messageRefIdentifier"),
        score=score,
    )


# -- signing and sending ------------------------------------------------------------------------------


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.isascii() or any(c.isspace() for c in url):
        raise ValidationFailed({"url": "not an absolute http(s) URL"}, code="invalid_outcome_service_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationFailed({"url": "not an absolute http(s) URL"}, code="invalid_outcome_service_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.fragment:
        raise ValidationFailed({"url": "not an absolute http(s) URL"}, code="invalid_outcome_service_url")
    return url


def _check_sourcedid(sourcedid: Any) -> str:
    if not isinstance(sourcedid, str) or not sourcedid.strip():
        raise ValidationFailed({"sourcedid": "required"}, code="invalid_sourcedid")
    return _xml_text(sourcedid, "sourcedid")


def _check_score(score: Any) -> float:
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ValidationFailed({"score": "must be a number from 0.0 to 1.0"}, code="score_out_of_range")
    value = float(score)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValidationFailed({"score": "must be a number from 0.0 to 1.0"}, code="score_out_of_range")
    return value


def sign_request(url: str, xml_body: str, *, consumer_key: str, secret: str) -> dict[str, str]:
    """The headers of a signed POX POST: Content-Type and an OAuth Authorization with a body hash."""
    client = Client(
        consumer_key,
        client_secret=secret,
        signature_method=SIGNATURE_HMAC_SHA1,
        signature_type=SIGNATURE_TYPE_AUTH_HEADER,
    )
    try:
        _uri, headers, _body = client.sign(url, "POST", body=xml_body, headers={"Content-Type": CONTENT_TYPE})
    except ValueError:
        raise ValidationFailed({"url": "cannot be signed"}, code="invalid_outcome_service_url") from None
    # oauthlib adds the body hash for non-form bodies; make sure it hashed exactly the bytes we send.
    body_hash = base64.b64encode(hashlib.sha1(xml_body.encode("utf-8")).digest()).decode("ascii")  # noqa: S324
    if f'oauth_body_hash="{quote(body_hash, safe="~")}"' not in headers.get("Authorization", ""):
        raise RuntimeError("oauthlib did not sign the oauth_body_hash of the body being sent")
    return {"Content-Type": CONTENT_TYPE, "Accept": CONTENT_TYPE, "Authorization": headers["Authorization"]}


def _send(
    operation: str,
    url: str,
    sourcedid: str,
    *,
    consumer_key: str,
    secret: str,
    http: OutcomeHttp | None,
    score: float | None = None,
    text: str | None = None,
) -> OutcomeResult:
    url = _check_url(url)
    sourcedid = _check_sourcedid(sourcedid)
    if not consumer_key or not secret:
        raise ValidationFailed({"credentials": "consumer key and secret are required"}, code="missing_credentials")
    message_identifier = secrets.token_hex(16)
    xml_body = build_request(operation, sourcedid, message_identifier, score=score, text=text)
    headers = sign_request(url, xml_body, consumer_key=consumer_key, secret=secret)
    transport = http or default_http()
    try:
        answer = transport(url, body=xml_body.encode("utf-8"), headers=headers)
    except OutcomeFailed:
        raise
    except OutboundRefused as refused:
        raise OutcomeFailed(refused.details, code=f"outcome_{refused.kind}") from None
    except TimeoutError:
        raise OutcomeFailed({"operation": operation, "reason": "timed out"}, code="outcome_timeout") from None
    except OSError as err:
        reason = getattr(err, "reason", None)
        if isinstance(reason, TimeoutError):
            raise OutcomeFailed({"operation": operation, "reason": "timed out"}, code="outcome_timeout") from None
        raise OutcomeFailed({"operation": operation, "reason": "unreachable"}, code="outcome_unreachable") from None
    if not 200 <= answer.status < 300:
        raise OutcomeFailed({"operation": operation, "status": answer.status}, code="outcome_http_error")
    return parse_response(operation, answer.body, message_identifier)


def replace_result(
    url: str,
    sourcedid: str,
    score: float,
    text: str | None = None,
    *,
    consumer_key: str,
    secret: str,
    http: OutcomeHttp | None = None,
) -> OutcomeResult:
    """Set the LMS grade of ``sourcedid`` to ``score`` (0.0-1.0), with an optional comment ``text``."""
    value = _check_score(score)
    if text is not None:
        if not isinstance(text, str):
            raise ValidationFailed({"text": "must be a string"}, code="invalid_text")
        text = _xml_text(text, "text")
    return _send(
        "replaceResult", url, sourcedid, consumer_key=consumer_key, secret=secret, http=http, score=value, text=text
    )


def read_result(
    url: str, sourcedid: str, *, consumer_key: str, secret: str, http: OutcomeHttp | None = None
) -> OutcomeResult:
    """The LMS grade of ``sourcedid`` (``score`` None when there is none)."""
    return _send("readResult", url, sourcedid, consumer_key=consumer_key, secret=secret, http=http)


def delete_result(
    url: str, sourcedid: str, *, consumer_key: str, secret: str, http: OutcomeHttp | None = None
) -> OutcomeResult:
    """Remove the LMS grade of ``sourcedid``."""
    return _send("deleteResult", url, sourcedid, consumer_key=consumer_key, secret=secret, http=http)
