"""LTI 1.1 launch verification CPU: ours against oauthlib's ``SignatureOnlyEndpoint`` on the same launch.

The same Canvas-shaped launch (31 LTI parameters, HMAC-SHA1, signed by the Authlib-based LMS peer) is
signed once per nonce beforehand; each side verifies its own sequence of them, with its own
in-memory nonce store, so every verification is a first use.

* **ours**: what the launch function does before touching storage — ``http.form_pairs`` (base64
  body), ``public_url`` and ``oauth1_launch.verify_launch`` with an in-memory secret lookup and
  ``InMemoryNonceStore`` (the LTI parameter checks and the ``VerifiedLaunch`` included).
* **oauthlib**: one ``SignatureOnlyEndpoint.validate_request(url, "POST", body, headers)`` with a
  ``RequestValidator`` that knows the key and secret and keeps nonces in a set: the least a tool
  built directly on oauthlib does.

We verify **every launch against at least two candidate secrets on purpose** (current and, during a
rotation grace period, previous; padded with a dummy otherwise) so that a known key, an unknown key
and a key mid-rotation all cost the same — no timing oracle on key existence. The base string is
built once (oauthlib's RFC 5849 helpers) and only the HMAC is repeated per candidate, so the second
candidate costs a few µs; the one-candidate line (padding switched off, not how it ships) shows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from benchmarks.timing import Mode, Report, heading, line, per_call, ratio_row

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
PATH = "/lti/launch/cls_0123456789abcdef"
URL = f"https://{HOST}{PATH}"
KEY = "bench-consumer-key-0123456789"
SECRET = "bench-secret-0123456789abcdefghijklmnopqrstuv"  # noqa: S105 - a benchmark's own key
FORM = "application/x-www-form-urlencoded"


def _signed(count: int) -> list[Any]:
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import sign_launch

    now = int(time.time())
    return [
        sign_launch(URL, CANVAS, consumer_key=KEY, secret=SECRET, nonce=f"bench-nonce-{i:08d}", timestamp=now)
        for i in range(count)
    ]


def _events(launches: list[Any]) -> list[dict[str, Any]]:
    """Each signed launch as the API Gateway event that carries it (built before timing: the event is
    the input, as the URL, body and headers are oauthlib's)."""
    from tests.peers.oauth1_signer import launch_event

    return [launch_event(signed, host=HOST, raw_path=PATH) for signed in launches]


def _ours(events: Iterator[dict[str, Any]], *, candidates: int | None = None):
    """Our verification; ``candidates=1`` switches the constant-work padding off (not how it ships)."""
    from lti_gateway.core import http
    from lti_gateway.lti11 import oauth1_launch

    nonces = oauth1_launch.InMemoryNonceStore()
    credentials = oauth1_launch.ConsumerSecrets.active(SECRET, details={"org_id": "org_bench"})

    def lookup(key: str) -> Any:
        return credentials if key == KEY else None

    def verify() -> Any:
        event = next(events)
        params = http.form_pairs(event)
        url = http.public_url(event)
        return oauth1_launch.verify_launch(
            "POST", url, params, lookup_secret=lookup, nonce_store=nonces, now=time.time()
        )

    if candidates is None:
        return verify

    def padded_to(count: int) -> Any:
        saved = oauth1_launch._MIN_CANDIDATES
        oauth1_launch._MIN_CANDIDATES = count
        try:
            return verify()
        finally:
            oauth1_launch._MIN_CANDIDATES = saved

    return lambda: padded_to(candidates)


def _oauthlib(launches: Iterator[Any]):
    from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, RequestValidator, SignatureOnlyEndpoint

    seen: set[tuple[str, str]] = set()

    class PeerValidator(RequestValidator):
        allowed_signature_methods = (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256)
        enforce_ssl = False
        dummy_client = "dummy-consumer"

        def check_client_key(self, client_key: str) -> bool:
            return True

        def check_nonce(self, nonce: str) -> bool:
            return True

        def validate_client_key(self, client_key: str, request: Any) -> bool:
            return client_key == KEY

        def get_client_secret(self, client_key: str, request: Any) -> str:
            return SECRET

        def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request, request_token=None,
                                         access_token=None) -> bool:  # fmt: skip
            if (client_key, nonce) in seen:
                return False
            seen.add((client_key, nonce))
            return True

    endpoint = SignatureOnlyEndpoint(PeerValidator())

    def verify() -> bool:
        signed = next(launches)
        valid, _ = endpoint.validate_request(
            signed.url, http_method="POST", body=signed.body, headers={"Content-Type": FORM}
        )
        if not valid:
            raise AssertionError("oauthlib refused the benchmark launch")
        return valid

    return verify


def _floor(launches: Iterator[Any]):
    """The least any verification through oauthlib's signature functions does: the body parsed once
    (``parse_qsl``), then ``normalize_parameters``, ``base_string_uri``, ``signature_base_string`` and
    two ``sign_hmac_sha1_with_client`` (the two candidates) — no checks, no nonce, no LTI parameters."""
    from urllib.parse import parse_qsl, urlsplit, urlunsplit

    from oauthlib.oauth1.rfc5849 import signature

    class Client:
        client_secret = SECRET
        resource_owner_secret = ""

    client = Client()

    def verify() -> bool:
        signed = next(launches)
        parts = urlsplit(signed.url)
        pairs = parse_qsl(signed.body, keep_blank_values=True) + parse_qsl(parts.query, keep_blank_values=True)
        sent = dict(pairs)["oauth_signature"]
        normalized = signature.normalize_parameters([(k, v) for k, v in pairs if k != "oauth_signature"])
        uri = signature.base_string_uri(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
        base = signature.signature_base_string("POST", uri, normalized)
        matched = False
        for _ in range(2):
            matched |= signature.sign_hmac_sha1_with_client(base, client) == sent
        if not matched:
            raise AssertionError("the floor refused the benchmark launch")
        return matched

    return verify


def run(mode: Mode, report: Report) -> None:
    heading("LTI 1.1 launch verification CPU (in-memory secret lookup and nonce store)")
    number, rounds = mode.iterations(200, 20), mode.rounds()
    needed = max(1, number // 4) + number * rounds
    launches = _signed(needed)
    events = _events(launches)
    print(f"  {len(launches):,} launches signed beforehand (HMAC-SHA1, {len(launches[0].params)} form parameters)")
    ours = _ours(iter(events))
    assert ours().consumer_key == KEY  # a real verification, then the timed ones
    times = per_call(
        {
            "ours": _ours(iter(events)),
            "oauthlib": _oauthlib(iter(launches)),
            "one": _ours(iter(events), candidates=1),
            "floor": _floor(iter(launches)),
        },
        number=number,
        rounds=rounds,
    )
    one, floor = times["one"], times["floor"]
    line("ours: form_pairs + public_url + verify_launch (2 candidates)", times["ours"])
    line("baseline: oauthlib SignatureOnlyEndpoint.validate_request", times["oauthlib"])
    line("ours with one candidate secret (padding off; not how it ships)", one)
    line("floor: parse_qsl + oauthlib's signature functions, 2 HMACs", floor)
    print(f"  (the floor is {floor / times['oauthlib']:.2f}x of the baseline: no verification through")
    print("   oauthlib's own signature functions can go below it; ours adds the checks to it)")
    ratio_row(
        report,
        "LTI 1.1 verification vs oauthlib SignatureOnlyEndpoint",
        times["ours"],
        times["oauthlib"],
        0.5,
        note=f"(two candidates on purpose; with one: {one / times['oauthlib']:.2f}x; the floor: "
        f"{floor / times['oauthlib']:.2f}x)",
    )
