"""Deep linking's target (issue 13, item 6): the signed response goes only to the stored launch's
``deep_link_return_url``, and only if it is https (loopback http in local mode). A ``javascript:`` or
``data:`` URL from a malicious platform, or plain http outside local mode, is a 400 before anything is
signed; nothing in the request body can name another target.
"""

from __future__ import annotations

import html

import pytest
from ltiaas.resources.deep_linking.types import DeepLinkingForm, DeepLinkingFormComponents
from ltiaas.utils.validation import validate

from tests.functional.app_api.test_app_auth import assert_contract_error
from tests.support.app_api import ltik_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403

ENDPOINTS = ("/api/deeplinking", "/api/deeplinking/form")
ITEM = {"type": "ltiResourceLink", "title": "Waves", "url": "https://app.example.com/waves"}
EVIL = "javascript:alert(document.domain)"


@pytest.fixture
def signed(monkeypatch):
    """Every JWT the tool key signs during the test."""
    from lti_gateway.lti13 import tool_keys

    calls: list[dict] = []
    real = tool_keys.sign

    def spy(claims, *args, **kwargs):
        calls.append(claims)
        return real(claims, *args, **kwargs)

    monkeypatch.setattr(tool_keys, "sign", spy)
    return calls


@pytest.fixture
def secure_mode(lti13, monkeypatch):
    """The deployed setting: ALLOW_INSECURE_PLATFORM_URLS unset (the lti13 fixture sets it for its peer)."""
    from lti_gateway.core import config

    monkeypatch.delenv("ALLOW_INSECURE_PLATFORM_URLS", raising=False)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def dl_launch(lti13, return_url: str) -> dict:
    settings = {"deep_link_return_url": return_url, "accept_types": ["ltiResourceLink"], "data": "d"}
    return {**lti13, **lti13["launch"](message_type="LtiDeepLinkingRequest", deep_linking=settings)}


def post(token_fn, launched, target, body):
    auth = ltik_auth(launched["api_key"], launched["ltik"])
    return token_fn(token_event("POST", target, authorization=auth, body=body))


def assert_refused(answer, signed, url):
    body = assert_contract_error(answer, 400, "MISSING_DEEP_LINK_SETTINGS")
    assert body["details"]["errors"][0]["field"] == "deep_link_return_url"
    assert "form" not in body and "message" not in body and "target" not in body
    assert "<form" not in answer.raw
    if url:
        assert url not in answer.raw and html.escape(url) not in answer.raw
    assert signed == []


BAD = [
    EVIL,
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    'https://lms.example/dl" onmouseover="alert(1)',
    "//evil.example/dl",
    "/relative/return",
    "https://user:pw@lms.example/dl",
    "",
]


@pytest.mark.parametrize("url", BAD)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_script_or_malformed_return_url_is_refused_in_local_mode(lti13, token_fn, signed, endpoint, url):
    launched = dl_launch(lti13, url)

    assert_refused(post(token_fn, launched, endpoint, {"contentItems": [ITEM]}), signed, url)


@pytest.mark.parametrize("url", [*BAD, "http://evil.example/dl", "http://127.0.0.1:8080/dl", "http://localhost/dl"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_only_https_return_urls_outside_local_mode(lti13, secure_mode, token_fn, signed, endpoint, url):
    launched = dl_launch(lti13, url)

    assert_refused(post(token_fn, launched, endpoint, {"contentItems": [ITEM]}), signed, url)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_local_mode_allows_http_to_loopback_only(lti13, token_fn, signed, endpoint):
    refused = dl_launch(lti13, "http://evil.example/dl")
    assert_refused(post(token_fn, refused, endpoint, {"contentItems": [ITEM]}), signed, "http://evil.example/dl")

    loopback = dl_launch(lti13, "http://127.0.0.1:9/dl-return")
    answer = post(token_fn, loopback, endpoint, {"contentItems": [ITEM]})

    assert answer.status == 200, answer.raw
    assert len(signed) == 1
    if endpoint.endswith("/form"):
        assert 'action="http://127.0.0.1:9/dl-return"' in validate(DeepLinkingForm, answer.body).form
    else:
        assert validate(DeepLinkingFormComponents, answer.body).target == "http://127.0.0.1:9/dl-return"


OVERRIDES = {
    "target": EVIL,
    "returnUrl": EVIL,
    "return_url": EVIL,
    "deepLinkReturnUrl": EVIL,
    "deep_link_return_url": EVIL,
    "action": EVIL,
    "url": EVIL,
    "options": {"message": "Added", "target": EVIL, "returnUrl": EVIL},
    "settings": {"deep_link_return_url": EVIL},
}


def test_the_request_body_cannot_choose_the_target(lti13, secure_mode, token_fn, signed):
    launched = dl_launch(lti13, "https://lms.example/dl/return?a=1&b=2")

    message = post(token_fn, launched, "/api/deeplinking", {"contentItems": [ITEM], **OVERRIDES})
    form = post(token_fn, launched, "/api/deeplinking/form", {"contentItems": [ITEM], **OVERRIDES})

    assert message.status == 200 and form.status == 200, (message.raw, form.raw)
    assert validate(DeepLinkingFormComponents, message.body).target == "https://lms.example/dl/return?a=1&b=2"
    page = validate(DeepLinkingForm, form.body).form
    assert page.count("action=") == 1 and 'action="https://lms.example/dl/return?a=1&amp;b=2"' in page
    assert "javascript" not in message.raw.lower() and "javascript" not in form.raw.lower()
    assert len(signed) == 2 and all("javascript" not in repr(claims).lower() for claims in signed)


def test_an_https_return_url_still_gets_its_form_and_message(lti13, secure_mode, token_fn, signed):
    launched = dl_launch(lti13, "https://lms.example/dl/return")

    message = post(token_fn, launched, "/api/deeplinking", {"contentItems": [ITEM], "options": {"message": "ok"}})
    form = post(token_fn, launched, "/api/deeplinking/form", {"contentItems": [ITEM]})

    parts = validate(DeepLinkingFormComponents, message.body)
    assert parts.target == "https://lms.example/dl/return" and parts.message.count(".") == 2
    page = validate(DeepLinkingForm, form.body).form
    assert page.startswith('<form id="ltiaas_dl" style="display: none;" action="https://lms.example/dl/return"')
    assert '<input type="hidden" name="JWT" value="ey' in page
    assert len(signed) == 2
