"""Secrets never leak: every main flow run with logging at DEBUG (Powertools' logger *and* the root
logger, as Lambda's ``ApplicationLogLevel=DEBUG`` would set it, so botocore's and Powertools' own
DEBUG lines are captured too), and no consumer secret, API key (or its secret half), service key,
ltik, tool private key (PEM or JWK ``d``), platform access token, registration token, registration
URL token or KMS data key appears in any log line, error body or listing.

Sealed values in logs are fine (they are ciphertext); plaintext is not. The test peers' own
libraries (Authlib, joserfc, the LMS fakes) run in this process but are not the gateway: their log
lines are left out.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from lti_gateway.app_api import ltik
from lti_gateway.lti13 import tool_keys
from lti_gateway.repositories import deps
from tests.functional.launch import test_lti13_launch as l13
from tests.functional.lti11.test_learnosity_data_api import signed_form
from tests.peers.registration_platform import RegistrationPlatform
from tests.support.app_api import ltik_auth, service_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403
from tests.support.events import vary

# Libraries of the test peers, not of the gateway (they sign with the secrets on purpose).
PEER_LOGGERS = ("authlib", "joserfc", "lti1p3platform", "learnosity_sdk", "moto", "werkzeug", "ltiaas")
_RECORD_FIELDS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class Capture(logging.Handler):
    """Every record at DEBUG and up: the rendered message and every extra field."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in PEER_LOGGERS:
            return
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: keep both
            message = f"{record.msg!r} {record.args!r}"
        extras = {k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS}
        exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        self.lines.append(f"{record.name}: {message} {extras!r} {exc}")


@pytest.fixture
def debug_logs(capsys):
    """DEBUG everywhere for the test; yields ``lines()``: every log line and everything printed."""
    from lti_gateway.core.observability import logger

    capture = Capture()
    root = logging.getLogger()
    saved = (root.level, logger.log_level)
    root.setLevel(logging.DEBUG)
    logger.setLevel("DEBUG")
    root.addHandler(capture)
    if not logger._logger.propagate:
        logger._logger.addHandler(capture)
    printed: list[str] = []

    def lines() -> list[str]:
        printed.append(capsys.readouterr().out)
        return capture.lines + printed

    try:
        yield lines
    finally:
        root.removeHandler(capture)
        logger._logger.removeHandler(capture)
        root.setLevel(saved[0])
        logger.setLevel(saved[1])


def forms(secret: str) -> set[str]:
    """A secret as it could show up: as is, percent-encoded, and (for short binary-ish keys) base64."""
    return {secret, quote(secret, safe="")}


def assert_absent(secrets: dict[str, str], texts: Iterable[str], where: str) -> None:
    texts = list(texts)
    for name, secret in secrets.items():
        assert secret and len(secret) >= 16, name
        for form in forms(secret):
            for text in texts:
                assert form not in text, f"{name} appears in {where}: …{_around(text, form)}…"


def _around(text: str, secret: str) -> str:
    i = text.index(secret)
    return text[max(0, i - 80) : i].replace(secret, "<SECRET>") + "<SECRET>"


def kms_data_key() -> dict[str, str]:
    """The plaintext data key of this container's secret box (botocore DEBUG would print it)."""
    current = deps.secret_box()._current
    return {"kms data key": base64.b64encode(current[1]).decode()} if current else {}


def tool_private_keys(org_id: str) -> dict[str, str]:
    """The current private key of ``org_id``'s key set (what its client assertions are signed with)."""
    from cryptography.hazmat.primitives import serialization

    found: dict[str, str] = {}
    for owner in (org_id,):
        kid, key = tool_keys.signing_key(owner)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        d = base64.urlsafe_b64encode(key.private_numbers().d.to_bytes(256, "big")).rstrip(b"=").decode()
        body = "".join(pem.splitlines()[1:-1])
        found |= {f"tool private key {kid} (PEM body line)": body[64:128], f"tool private key {kid} (JWK d)": d}
    return found


def ltik_key() -> dict[str, str]:
    return {"ltik HMAC key": base64.b64encode(ltik._signing_key().secret).decode()}


# -- the JSON API: credentials, consumer keys, the Learnosity endpoint, listings -----------------------------


def test_key_management_flows_leak_nothing(debug_logs, keys_fn, platforms_fn, org, stack):
    secrets: dict[str, str] = {"owner API key": org.api_key, "owner API key secret": org.api_key.split(".")[1]}
    bearer = {"api_key": org.api_key}
    errors, listings = [], []

    created = keys_fn(vary("keys-create.json", **bearer, body={"label": "Canvas"}, headers={"idempotency-key": "k-1"}))
    assert created.status == 201
    secrets["consumer secret"] = created.body["secret"]
    key = created.body["key"]
    rotated = keys_fn(vary("keys-rotate.json", **bearer, path_params={"key": key}))
    assert rotated.status == 200
    secrets["rotated consumer secret"] = rotated.body["secret"]
    supplied = keys_fn(
        vary("keys-create.json", **bearer, body={"key": "supplied-key-0001", "secret": "supplied-secret-01"})
    )
    secrets["supplied consumer secret"] = "supplied-secret-01"
    assert supplied.status == 201
    via_data_api = keys_fn(vary("learnosity-keys-set.json", form=signed_form(org, {"label": "Moodle"})))
    assert via_data_api.status == 200
    secrets["Data API consumer secret"] = via_data_api.body["data"]["secret"]
    credential = keys_fn(vary("credentials-create.json", **bearer, body={"role": "member"}))
    assert credential.status == 201
    secrets["member API key"] = credential.body["api_key"]
    secrets["member API key secret"] = credential.body["api_key"].split(".")[1]

    # Listings and reads: never a secret.
    for event in (
        vary("keys-list.json", **bearer),
        vary("keys-get.json", **bearer, path_params={"key": key}),
        vary("credentials-list.json", **bearer),
        vary("org-get.json", **bearer),
        vary("learnosity-keys-set.json", form=signed_form(org, {"limit": 10}, "get")),
    ):
        answer = keys_fn(event)
        assert answer.status == 200, answer.raw
        listings.append(answer.raw)
    # Refusals that carry a secret in the request must not echo it.
    wrong_secret = org.api_key.split(".")[0] + "." + secrets["member API key secret"]
    secrets_in_requests = [
        vary("keys-list.json", api_key=wrong_secret),
        vary("keys-list.json", headers={"authorization": f"Basic {secrets['consumer secret']}"}),
        vary("keys-create.json", **bearer, body={"key": key, "secret": secrets["rotated consumer secret"]}),
        vary("keys-create.json", **bearer, body={"key": "short", "secret": secrets["consumer secret"]}),
        vary("learnosity-keys-set.json", form=signed_form(org, {"label": "x"}, secret=secrets["consumer secret"])),
        vary("credentials-create.json", api_key=credential.body["api_key"], body={}),
    ]
    for event in secrets_in_requests:
        answer = keys_fn(event)
        assert 400 <= answer.status < 500, answer.raw
        errors.append(answer.raw)

    secrets |= kms_data_key()
    assert_absent(secrets, debug_logs(), "the logs")
    assert_absent(secrets, errors, "an error body")
    assert_absent(secrets, listings, "a listing")


# -- LTI 1.1: launch, app API (id token, service key, score), outcome refusal --------------------------------


def test_an_lti11_launch_and_its_app_api_calls_leak_nothing(debug_logs, lti11, token_fn, launch_fn, outcome_lms):
    api_key, token = lti11["api_key"], lti11["ltik"]
    secrets = {"consumer secret": lti11["secret"], "API key": api_key, "ltik": token}
    errors = []

    idtoken = token_fn(token_event("GET", "/api/idtoken", authorization=ltik_auth(api_key, token)))
    assert idtoken.status == 200
    service_key = idtoken.body["services"]["serviceKey"]
    secrets["service key"] = service_key
    items = token_fn(token_event("GET", "/api/lineitems", authorization=service_auth(api_key, service_key)))
    item_id = items.body["lineItems"][0]["id"]
    score = {
        "userId": dict(lti11["params"])["user_id"],
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "scoreGiven": 1,
        "scoreMaximum": 2,
    }
    scored = token_fn(
        token_event("POST", f"/api/lineitems/{item_id}/scores", authorization=ltik_auth(api_key, token), body=score)
    )
    assert scored.status == 204, scored.raw
    outcome_lms.mode = "http500"
    failed = token_fn(
        token_event("POST", f"/api/lineitems/{item_id}/scores", authorization=ltik_auth(api_key, token), body=score)
    )
    assert failed.status == 502
    errors.append(failed.raw)
    for authorization in (
        ltik_auth(api_key, token + "x"),
        ltik_auth(api_key[:-2] + "zz", token),
        service_auth(api_key, service_key[:-1]),
        f"LTIK-AUTH-V1 Token={token}, Additional=Bearer {api_key}x",
        f"Bearer {token}",
    ):
        answer = token_fn(token_event("GET", "/api/idtoken", authorization=authorization))
        assert answer.status == 401
        errors.append(answer.raw)
    # A launch signed with the wrong secret, and one replayed: the page names no secret.
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import launch_event, sign_launch
    from tests.support.app_api import HOST

    url = lti11["class"]["launch_url"]
    bad = sign_launch(url, CANVAS, consumer_key=lti11["key"], secret=lti11["secret"][::-1])
    answer = launch_fn(launch_event(bad, host=HOST, raw_path=urlsplit(url).path))
    assert answer.status == 401
    errors.append(answer.raw)

    secrets |= kms_data_key() | ltik_key()
    assert_absent(secrets, debug_logs(), "the logs")
    assert_absent(secrets, errors, "an error body")


# -- LTI 1.3: launch through the launch function ----------------------------------------------------------


def test_an_lti13_launch_leaks_nothing(debug_logs, world, launch_fn):
    answer, auth = l13.full_launch(launch_fn, world["class"]["launch_url"])
    assert answer.status == 302, answer.raw
    token = parse_qs(urlsplit(answer.headers["location"]).query)["ltik"][0]
    replay = launch_fn(l13.launch_post({"id_token": "x.y.z", "state": auth["state"]}))
    assert replay.status in (400, 401)

    [cookie] = l13.BROWSER.cookies_for(auth["state"])  # the login's browser binding (its value is a secret)
    secrets = {"ltik": token, "login state": auth["state"], "state cookie": cookie.split("=", 1)[1]}
    secrets |= kms_data_key() | ltik_key()
    assert_absent(secrets, debug_logs(), "the logs")
    assert_absent(secrets, [replay.raw], "an error body")


# -- LTI 1.3 app API (platform access token), platform registration, tool key rotation ---------------------


def test_lti13_services_platforms_and_tool_keys_leak_nothing(debug_logs, lti13, token_fn, platforms_fn, stack):
    api_key, token, lms = lti13["api_key"], lti13["ltik"], lti13["lms"]
    bearer = {"api_key": api_key}
    secrets = {"API key": api_key, "ltik": token}
    errors, listings = [], []

    members = token_fn(token_event("GET", "/api/memberships", authorization=ltik_auth(api_key, token)))
    assert members.status == 200, members.raw
    secrets |= {f"platform access token {i}": t for i, t in enumerate(lms._tokens)}
    assert len(secrets) > 2
    idtoken = token_fn(token_event("GET", "/api/idtoken", authorization=ltik_auth(api_key, token)))
    secrets["service key"] = idtoken.body["services"]["serviceKey"]
    lms.fail_next(500, b'{"error": "down"}')
    failed = token_fn(token_event("GET", "/api/memberships", authorization=ltik_auth(api_key, token)))
    assert failed.status == 502
    errors.append(failed.raw)

    created = platforms_fn(vary("platforms-create.json", **bearer))
    assert created.status == 201, created.raw
    secrets |= tool_private_keys(lti13["org"].org_id)
    rotated = platforms_fn(vary("platforms-rotate-key.json", **bearer))
    assert rotated.status == 200, rotated.raw
    tool_keys.reset()
    secrets |= tool_private_keys(lti13["org"].org_id)
    for event in (
        vary("platforms-list.json", **bearer),
        vary("platforms-get.json", **bearer, path_params={"platform_id": created.body["id"]}),
        vary("platforms-jwks.json"),
        vary("tool-configuration.json", **bearer),
        vary("tool-configuration-canvas.json", **bearer, query={"inline_jwk": "true"}),
    ):
        answer = platforms_fn(event)
        assert answer.status == 200, answer.raw
        listings.append(answer.raw)
    duplicate = platforms_fn(vary("platforms-create.json", **bearer))
    assert duplicate.status == 409
    errors.append(duplicate.raw)

    secrets |= kms_data_key() | ltik_key()
    assert_absent(secrets, debug_logs(), "the logs")
    assert_absent(secrets, errors, "an error body")
    assert_absent(secrets, listings, "a listing")


def test_dynamic_registration_leaks_neither_token(debug_logs, platforms_fn, org, stack, monkeypatch):
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")
    config.settings.cache_clear()
    lms = RegistrationPlatform(registration_token="reg-token-0123456789abcdef").start()
    try:
        made = platforms_fn(vary("platforms-registration-url.json", api_key=org.api_key, body={}))
        url_token = made.body["registration_url"].rsplit("/", 1)[1]
        query = {"openid_configuration": lms.config_url, "registration_token": lms.registration_token}
        ok = platforms_fn(vary("platforms-register.json", path_params={"token": url_token}, query=query))
        assert ok.status == 200, ok.raw
        again = platforms_fn(vary("platforms-register.json", path_params={"token": url_token}, query=query))
        assert again.status == 404
    finally:
        lms.stop()
        config.settings.cache_clear()

    secrets = {"registration URL token": url_token, "registration token": lms.registration_token}
    assert_absent(secrets, debug_logs(), "the logs")
    assert_absent(secrets, [ok.raw, again.raw], "a page")
