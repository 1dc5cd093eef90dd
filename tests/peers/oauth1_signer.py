"""An LMS-side OAuth 1.0a signer built on Authlib (independent of oauthlib, which the gateway uses).

Two deliberate departures from stock Authlib ``ClientAuth``:

* **HMAC-SHA256** (D2L Brightspace's default) is registered; Authlib only has HMAC-SHA1, RSA-SHA1 and
  PLAINTEXT. It is Authlib's HMAC construction with a SHA-256 digest.
* **The signature base string decodes each parameter once** (RFC 5849 §3.4.1.3.1). Authlib's
  ``construct_base_string`` percent-decodes ``oauth_*`` values a second time after its request
  parser already decoded them, so a consumer key such as ``acme%2024`` is signed as ``acme 24``
  (oauthlib 4.0.1 does the same to ``oauth_*`` parameters in a form body or query). PHP, Ruby and
  Java LMS libraries decode once; so does :func:`rfc5849_base_string`, built from Authlib's own
  normalisation primitives. ``stock_authlib_signature`` keeps the unmodified behaviour so a test
  can show the difference.

Nonce and timestamp can be fixed (stale, future, replayed, Moodle- or Canvas-shaped nonces).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from authlib.oauth1.rfc5849.client_auth import ClientAuth
from authlib.oauth1.rfc5849.signature import (
    hmac_sha1_signature,
    normalize_base_string_uri,
    normalize_parameters,
    plaintext_signature,
    rsa_sha1_signature,
)
from authlib.oauth1.rfc5849.util import escape
from authlib.oauth1.rfc5849.wrapper import OAuth1Request

FORM = "application/x-www-form-urlencoded"


def rfc5849_base_string(request: OAuth1Request) -> str:
    """The signature base string of RFC 5849 §3.4.1, every parameter decoded exactly once.

    ``OAuth1Request`` has already decoded the query, the form body and the Authorization header
    once; only ``oauth_signature`` and the header's ``realm`` are left out (§3.4.1.3.1).
    """
    params = [(k, v) for k, v in request.query_params + request.body_params if k != "oauth_signature"]
    params += [(k, v) for k, v in request.auth_params if k not in ("oauth_signature", "realm")]
    return "&".join(
        [
            escape(request.method.upper()),
            escape(normalize_base_string_uri(request.uri, request.headers.get("Host"))),
            escape(normalize_parameters(params)),
        ]
    )


def hmac_sha256_signature(base_string: str, client_secret: str, token_secret: str | None) -> str:
    key = escape(client_secret or "") + "&" + escape(token_secret or "")
    digest = hmac.new(key.encode("utf-8"), base_string.encode("utf-8"), hashlib.sha256).digest()
    return binascii.b2a_base64(digest)[:-1].decode("ascii")


def _hmac_sha1(client: ClientAuth, request: OAuth1Request) -> str:
    return hmac_sha1_signature(rfc5849_base_string(request), client.client_secret, client.token_secret)


def _hmac_sha256(client: ClientAuth, request: OAuth1Request) -> str:
    return hmac_sha256_signature(rfc5849_base_string(request), client.client_secret, client.token_secret)


def _rsa_sha1(client: ClientAuth, request: OAuth1Request) -> str:
    return rsa_sha1_signature(rfc5849_base_string(request), client.rsa_key)


def _plaintext(client: ClientAuth, request: OAuth1Request) -> str:
    return plaintext_signature(client.client_secret, client.token_secret)


class LmsSigner(ClientAuth):
    # A copy: registering on ClientAuth itself would change Authlib for every other user.
    SIGNATURE_METHODS = {
        "HMAC-SHA1": _hmac_sha1,
        "HMAC-SHA256": _hmac_sha256,
        "RSA-SHA1": _rsa_sha1,
        "PLAINTEXT": _plaintext,
    }

    def __init__(self, *args, nonce: str | None = None, timestamp: int | str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._nonce = nonce
        self._timestamp = None if timestamp is None else str(timestamp)

    def get_oauth_params(self, nonce, timestamp):
        return super().get_oauth_params(self._nonce or nonce, self._timestamp or timestamp)


class _StockSigner(LmsSigner):
    SIGNATURE_METHODS = dict(ClientAuth.SIGNATURE_METHODS)


@dataclass(frozen=True)
class SignedLaunch:
    url: str
    body: str  # application/x-www-form-urlencoded, as the LMS posts it

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body, keep_blank_values=True)


def sign_launch(
    url: str,
    params: Sequence[tuple[str, str]],
    *,
    consumer_key: str,
    secret: str,
    method: str = "HMAC-SHA1",
    nonce: str | None = None,
    timestamp: int | None = None,
    rsa_key: str | None = None,
    stock_authlib: bool = False,
) -> SignedLaunch:
    """Sign an LTI launch the way an LMS does: OAuth parameters in the form body."""
    signer = (_StockSigner if stock_authlib else LmsSigner)(
        consumer_key,
        client_secret=secret,
        signature_method=method,
        signature_type="BODY",
        rsa_key=rsa_key,
        # LTI 1.0/1.1 say oauth_callback=about:blank; Moodle and others send it.
        redirect_uri="about:blank",
        nonce=nonce,
        timestamp=timestamp if timestamp is not None else int(time.time()),
    )
    body = urlencode(list(params), quote_via=quote)
    signed_url, _headers, signed_body = signer.sign("POST", url, {"Content-Type": FORM}, body)
    return SignedLaunch(signed_url, signed_body)


def launch_event(
    signed: SignedLaunch | str,
    *,
    host: str,
    raw_path: str,
    raw_query: str = "",
    proto: str | None = "https",
    port: str | None = "443",
    function_url: bool = False,
    content_type: str = FORM,
    base64_body: bool = True,
) -> dict:
    """An HTTP API (payload 2.0) or Lambda Function URL event carrying the form body."""
    body = signed.body if isinstance(signed, SignedLaunch) else signed
    headers = {"host": host, "content-type": content_type, "user-agent": "Mozilla/5.0"}
    if proto is not None:
        headers["x-forwarded-proto"] = proto
    if port is not None:
        headers["x-forwarded-port"] = port
    context = {
        "domainName": host.split(":")[0],
        "http": {"method": "POST", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "stage": "$default",
    }
    if function_url:
        context["domainPrefix"] = host.split(".")[0]
    else:
        context["apiId"] = "abc123"
    return {
        "version": "2.0",
        "routeKey": "$default" if function_url else "POST /launch/{proxy+}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": context,
        "body": base64.b64encode(body.encode("utf-8")).decode("ascii") if base64_body else body,
        "isBase64Encoded": base64_body,
    }
