"""A local LTI 1.1 Basic Outcomes service (the LMS side of grade passback), verified with Authlib.

``http.server`` on 127.0.0.1, port 0, in a thread. Every request's ``oauth_body_hash`` is recomputed
with hashlib over the exact bytes received, and its OAuth 1.0a HMAC-SHA1 signature is recomputed with
Authlib (its ``OAuth1Request`` parser and signature primitives; never oauthlib, which the gateway
signs with). Stock ``authlib...verify_hmac_sha1`` is not used: it decodes ``oauth_*`` header values
twice (see ``oauth1_signer``), which real LMSs do not, and would refuse keys containing ``%``.
A request that fails any check gets a POX ``failure`` answer, the way Moodle answers, and the
reason is recorded in ``rejections``.

``mode`` makes the service misbehave: ``unsupported``, ``http500``, ``slow`` (answers after
``slow_seconds``), ``doctype`` (an entity-expansion answer), ``huge`` (over 64 KiB), ``redirect``,
``garbage`` (not XML).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.sax.saxutils import escape

from authlib.oauth1.rfc5849.signature import hmac_sha1_signature
from authlib.oauth1.rfc5849.wrapper import OAuth1Request

from tests.peers.loopback import LoopbackServer, QuietHandler
from tests.peers.oauth1_signer import rfc5849_base_string

POX_NS = "http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0"
WINDOW_SECONDS = 300


@dataclass
class Received:
    operation: str
    sourcedid: str
    message_identifier: str
    score: str | None
    text: str | None
    content_type: str
    authorization: str
    body: bytes
    path: str = ""  # the request's path and query, as it arrived


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find_text(root: ET.Element, name: str) -> str | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return element.text or ""
    return None


class OutcomeService:
    def __init__(self, credentials: dict[str, str], sourcedids: set[str]):
        self.credentials = dict(credentials)
        self.sourcedids = set(sourcedids)
        self.grades: dict[str, tuple[str, str | None]] = {}
        self.received: list[Received] = []
        self.rejections: list[str] = []
        self.mode = "normal"
        self.slow_seconds = 2.0
        self._nonces: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = LoopbackServer(self._handler_class())

    @property
    def url(self) -> str:
        return f"{self._server.base_url}/mod/lti/service.php"

    def __enter__(self) -> OutcomeService:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.stop()

    # -- verification (Authlib + hashlib) ------------------------------------------------------

    def verify(self, uri: str, headers: dict[str, str], body: bytes) -> str | None:
        """None if the request is authentic, else why not."""
        if headers.get("Content-Type") != "application/xml":
            return "content type is not application/xml"
        try:
            request = OAuth1Request("POST", uri, body=body, headers={"Authorization": headers.get("Authorization", "")})
        except Exception as err:  # a peer reports, it does not crash
            return f"unparseable OAuth request: {err}"
        oauth = request.oauth_params
        if request.signature_type != "HEADER":
            return "OAuth parameters not in the Authorization header"
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            return "signature method is not HMAC-SHA1"
        expected_hash = base64.b64encode(hashlib.sha1(body).digest()).decode("ascii")  # noqa: S324
        if oauth.get("oauth_body_hash") != expected_hash:
            return "oauth_body_hash does not match the body"
        secret = self.credentials.get(oauth.get("oauth_consumer_key", ""))
        if secret is None:
            return "unknown consumer key"
        if abs(time.time() - int(oauth.get("oauth_timestamp", "0"))) > WINDOW_SECONDS:
            return "timestamp outside the window"
        expected = hmac_sha1_signature(rfc5849_base_string(request), secret, None)
        if not hmac.compare_digest(expected, request.signature or ""):
            return "signature does not verify"
        nonce = (oauth["oauth_consumer_key"], oauth.get("oauth_nonce", ""))
        with self._lock:
            if not nonce[1] or nonce in self._nonces:
                return "nonce missing or replayed"
            self._nonces.add(nonce)
        return None

    # -- POX -------------------------------------------------------------------------------------

    def handle(self, received: Received) -> tuple[str, str, str]:
        """(code_major, description, body_fragment) for one authentic request."""
        if self.mode == "unsupported":
            return "unsupported", f"{received.operation} is not supported", ""
        if received.sourcedid not in self.sourcedids:
            return "failure", "sourcedid not found", ""
        op = received.operation
        if op == "replaceResult":
            if received.score is None or not 0.0 <= float(received.score) <= 1.0:
                return "failure", "score out of range", ""
            self.grades[received.sourcedid] = (received.score, received.text)
            return "success", f"Score for {received.sourcedid} is now {received.score}", ""
        if op == "readResult":
            score = self.grades.get(received.sourcedid, ("", None))[0]
            fragment = (
                "<result><resultScore><language>en</language>"
                f"<textString>{escape(score)}</textString></resultScore></result>"
            )
            return "success", "Result read", fragment
        if op == "deleteResult":
            self.grades.pop(received.sourcedid, None)
            return "success", "Result deleted", ""
        return "unsupported", f"{op} is not supported", ""

    def _handler_class(self) -> type[QuietHandler]:
        service = self

        class Handler(QuietHandler):
            def _answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.reply(status, body, "application/xml", extra)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if service.mode == "slow":
                    service._release.wait(service.slow_seconds)
                if service.mode == "http500":
                    return self._answer(500, b"<html>Internal Server Error</html>")
                if service.mode == "redirect":
                    return self._answer(302, b"", {"Location": service.url + "?moved=1"})
                if service.mode == "garbage":
                    return self._answer(200, b"<html><body>Moodle is upgrading</body></html")
                if service.mode == "doctype":
                    return self._answer(200, _DOCTYPE_ANSWER)
                if service.mode == "huge":
                    return self._answer(200, b"<x>" + b"a" * (70 * 1024) + b"</x>")
                headers = dict(self.headers.items())
                uri = f"http://{self.headers['Host']}{self.path}"
                reason = service.verify(uri, headers, body)
                received = None
                message_id = ""
                if reason is None:
                    root = ET.fromstring(body)  # noqa: S314 - our own client's XML, in a test peer
                    pox_body = next(e for e in root.iter() if _local(e.tag) == "imsx_POXBody")
                    operation = _local(next(iter(pox_body)).tag).removesuffix("Request")
                    message_id = _find_text(root, "imsx_messageIdentifier") or ""
                    received = Received(
                        operation=operation,
                        sourcedid=_find_text(root, "sourcedId") or "",
                        message_identifier=message_id,
                        score=_find_text(root, "textString"),
                        text=_find_text(root, "text"),
                        content_type=headers.get("Content-Type", ""),
                        authorization=headers.get("Authorization", ""),
                        body=body,
                        path=self.path,
                    )
                    service.received.append(received)
                    code_major, description, fragment = service.handle(received)
                    operation_tag = f"{operation}Response"
                else:
                    service.rejections.append(reason)
                    code_major, description, fragment, operation_tag = "failure", reason, "", "replaceResultResponse"
                answer = _RESPONSE.format(
                    ns=POX_NS,
                    code_major=code_major,
                    description=escape(description),
                    message_ref=escape(message_id),
                    operation=operation_tag,
                    fragment=fragment,
                    response_id=f"lms-{time.monotonic_ns()}",
                )
                return self._answer(200, answer.encode("utf-8"))

        return Handler


_RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<imsx_POXEnvelopeResponse xmlns="{ns}">
  <imsx_POXHeader>
    <imsx_POXResponseHeaderInfo>
      <imsx_version>V1.0</imsx_version>
      <imsx_messageIdentifier>{response_id}</imsx_messageIdentifier>
      <imsx_statusInfo>
        <imsx_codeMajor>{code_major}</imsx_codeMajor>
        <imsx_severity>status</imsx_severity>
        <imsx_description>{description}</imsx_description>
        <imsx_messageRefIdentifier>{message_ref}</imsx_messageRefIdentifier>
      </imsx_statusInfo>
    </imsx_POXResponseHeaderInfo>
  </imsx_POXHeader>
  <imsx_POXBody><{operation}>{fragment}</{operation}></imsx_POXBody>
</imsx_POXEnvelopeResponse>
"""

_DOCTYPE_ANSWER = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<imsx_POXEnvelopeResponse xmlns="http://www.imsglobal.org/services/ltiv1p1/xsd/imsoms_v1p0">
  <imsx_POXHeader><imsx_POXResponseHeaderInfo><imsx_statusInfo>
    <imsx_codeMajor>success</imsx_codeMajor><imsx_description>&lol2;</imsx_description>
  </imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader>
  <imsx_POXBody><replaceResultResponse/></imsx_POXBody>
</imsx_POXEnvelopeResponse>
"""
