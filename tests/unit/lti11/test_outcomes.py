"""LTI 1.1 Basic Outcomes against a local outcome service that verifies with Authlib, not oauthlib."""

from __future__ import annotations

import math
import socket
import xml.etree.ElementTree as ET

import pytest

from lti_gateway.core.errors import OutcomeFailed, ValidationFailed
from lti_gateway.lti11.outcomes import (
    POX_NS,
    HttpResponse,
    UrllibHttp,
    build_request,
    delete_result,
    format_score,
    parse_response,
    read_result,
    replace_result,
)
from tests.peers.outcome_service import OutcomeService

KEY = "moodle&key%2024!_/prod"
SECRET = "Sk3&t+/=~Zr9_wq8Lm2xNv7"
SOURCEDID = (
    '{"data":{"instanceid":"3","userid":"42","typeid":"1","launchid":1234567890},'
    '"hash":"0f0e0d0c0b0a09080706050403020100a1b2c3d4e5f60718293a4b5c6d7e8f90"}'
)
LOCAL = UrllibHttp(allow_http=True, allow_private_addresses=True, timeout=2.0)


@pytest.fixture
def lms():
    with OutcomeService({KEY: SECRET}, {SOURCEDID, "sid-2"}) as service:
        yield service


def creds(**overrides):
    return {"consumer_key": KEY, "secret": SECRET, "http": LOCAL, **overrides}


def failed(call, code: str) -> OutcomeFailed:
    with pytest.raises(OutcomeFailed) as caught:
        call()
    error = caught.value
    assert error.code == code, error.details
    assert error.status == 502
    assert SECRET not in str(error) and SECRET not in repr(error.details)
    return error


# -- the happy path ----------------------------------------------------------------------------------


def test_replace_read_delete_round_trip(lms):
    replaced = replace_result(lms.url, SOURCEDID, 0.85, **creds())
    assert replaced.code_major == "success" and replaced.operation == "replaceResult"
    assert replaced.message_ref_identifier == replaced.message_identifier
    assert lms.grades[SOURCEDID] == ("0.85", None)

    read = read_result(lms.url, SOURCEDID, **creds())
    assert read.score == pytest.approx(0.85)

    deleted = delete_result(lms.url, SOURCEDID, **creds())
    assert deleted.code_major == "success" and SOURCEDID not in lms.grades
    assert read_result(lms.url, SOURCEDID, **creds()).score is None

    assert lms.rejections == []
    assert [r.operation for r in lms.received] == ["replaceResult", "readResult", "deleteResult", "readResult"]


def test_the_request_is_pox_xml_signed_with_a_body_hash(lms):
    replace_result(lms.url, SOURCEDID, 1, "Très bien — <b>&</b> 👍", **creds())
    received = lms.received[-1]
    assert received.content_type == "application/xml"
    assert received.authorization.startswith("OAuth ") and "oauth_body_hash=" in received.authorization
    assert 'oauth_signature_method="HMAC-SHA1"' in received.authorization
    assert (received.score, received.text) == ("1.0", "Très bien — <b>&</b> 👍")
    root = ET.fromstring(received.body)  # noqa: S314 - our own request
    assert root.tag == f"{{{POX_NS}}}imsx_POXEnvelopeRequest"
    assert root.find(f".//{{{POX_NS}}}resultScore/{{{POX_NS}}}language").text == "en"


def test_message_identifiers_are_unique(lms):
    replace_result(lms.url, "sid-2", 0.5, **creds())
    replace_result(lms.url, "sid-2", 0.5, **creds())
    first, second = (r.message_identifier for r in lms.received)
    assert first != second and len(first) == 32


@pytest.mark.parametrize(
    ("score", "text"), [(0.0, "0.0"), (1.0, "1.0"), (0.5, "0.5"), (1e-05, "0.00001"), (2 / 3, "0.6666666667")]
)
def test_scores_are_plain_decimals(lms, score, text):
    replace_result(lms.url, "sid-2", score, **creds())
    assert lms.received[-1].score == text == format_score(score)


# -- the outcome service verifies independently (negative twins of the happy path) -----------------------


def test_a_wrong_secret_is_refused_by_the_service(lms):
    error = failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds(secret="not-the-secret")), "outcome_failure")
    assert error.code_major == "failure" and error.description == "signature does not verify"
    assert lms.rejections == ["signature does not verify"] and lms.grades == {}


def test_a_body_changed_after_signing_fails_the_body_hash(lms):
    def tampering(url, *, body, headers):
        return LOCAL(url, body=body.replace(b"0.5", b"0.9"), headers=headers)

    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds(http=tampering)), "outcome_failure")
    assert lms.rejections == ["oauth_body_hash does not match the body"] and lms.grades == {}


def test_an_unknown_sourcedid_is_an_lms_failure(lms):
    error = failed(lambda: replace_result(lms.url, "sid-unknown", 0.5, **creds()), "outcome_failure")
    assert error.details == {
        "operation": "replaceResult",
        "code_major": "failure",
        "description": "sourcedid not found",
    }


def test_unsupported_is_its_own_code(lms):
    lms.mode = "unsupported"
    error = failed(lambda: delete_result(lms.url, SOURCEDID, **creds()), "outcome_unsupported")
    assert error.code_major == "unsupported"


# -- validation (400, nothing sent) -----------------------------------------------------------------------


@pytest.mark.parametrize("score", [-0.01, 1.0001, 2, math.nan, math.inf, -math.inf, True, "0.5", None])
def test_a_score_out_of_range_is_400_and_nothing_is_sent(lms, score):
    with pytest.raises(ValidationFailed) as caught:
        replace_result(lms.url, SOURCEDID, score, **creds())
    assert caught.value.status == 400 and caught.value.code == "score_out_of_range"
    assert lms.received == [] and lms.rejections == []


@pytest.mark.parametrize(
    "url", ["ftp://lms.example/x", "javascript:alert(1)", "/relative", "https://u:p@lms.example/", "", None]
)
def test_a_bad_outcome_service_url_is_400(url):
    with pytest.raises(ValidationFailed) as caught:
        replace_result(url, SOURCEDID, 0.5, **creds())
    assert caught.value.code == "invalid_outcome_service_url"


@pytest.mark.parametrize(("sourcedid", "text"), [("", None), ("sid\x00", None), ("sid-2", "bell\x07")])
def test_text_xml_cannot_carry_is_400(lms, sourcedid, text):
    with pytest.raises(ValidationFailed):
        replace_result(lms.url, sourcedid, 0.5, text, **creds())
    assert lms.received == []


# -- transport failures (502) ---------------------------------------------------------------------------------


def test_a_5xx_is_upstream_failed(lms):
    lms.mode = "http500"
    error = failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds()), "outcome_http_error")
    assert error.details["status"] == 500


def test_a_timeout_is_upstream_failed(lms):
    lms.mode = "slow"
    quick = UrllibHttp(allow_http=True, allow_private_addresses=True, timeout=0.3)
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds(http=quick)), "outcome_timeout")


def test_an_unreachable_service_is_upstream_failed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    failed(lambda: replace_result(f"http://127.0.0.1:{port}/x", SOURCEDID, 0.5, **creds()), "outcome_unreachable")


def test_redirects_are_not_followed(lms):
    lms.mode = "redirect"
    error = failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds()), "outcome_http_error")
    assert error.details["status"] == 302


def test_a_doctype_answer_is_refused(lms):
    lms.mode = "doctype"
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds()), "outcome_invalid_response")


def test_a_non_xml_answer_is_refused(lms):
    lms.mode = "garbage"
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds()), "outcome_invalid_response")


def test_an_answer_over_64_kib_is_refused(lms):
    lms.mode = "huge"
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds()), "outcome_response_too_large")


def test_the_default_transport_refuses_http_and_private_addresses(lms):
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds(http=UrllibHttp())), "outcome_url_not_allowed")
    http_ok = UrllibHttp(allow_http=True)
    failed(lambda: replace_result(lms.url, SOURCEDID, 0.5, **creds(http=http_ok)), "outcome_url_not_allowed")
    https_local = "https://127.0.0.1:1/mod/lti/service.php"
    failed(lambda: replace_result(https_local, SOURCEDID, 0.5, **creds(http=UrllibHttp())), "outcome_url_not_allowed")
    assert lms.received == []


@pytest.mark.parametrize(
    ("raised", "code"), [(TimeoutError(), "outcome_timeout"), (ConnectionRefusedError(), "outcome_unreachable")]
)
def test_an_injected_transport_error_is_mapped(raised, code):
    def broken(url, *, body, headers):
        raise raised

    failed(lambda: read_result("https://lms.example/outcomes", SOURCEDID, **creds(http=broken)), code)


# -- parsing answers -------------------------------------------------------------------------------------------


def _answer(status: str, inner: str = "", operation: str = "readResultResponse", ns: str = POX_NS) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><imsx_POXEnvelopeResponse xmlns="{ns}"><imsx_POXHeader>'
        "<imsx_POXResponseHeaderInfo><imsx_version>V1.0</imsx_version><imsx_messageIdentifier>1</imsx_messageIdentifier>"
        f"<imsx_statusInfo><imsx_codeMajor>{status}</imsx_codeMajor><imsx_severity>status</imsx_severity>"
        "<imsx_description>ok</imsx_description><imsx_messageRefIdentifier>m-1</imsx_messageRefIdentifier>"
        f"</imsx_statusInfo></imsx_POXResponseHeaderInfo></imsx_POXHeader><imsx_POXBody><{operation}>{inner}"
        f"</{operation}></imsx_POXBody></imsx_POXEnvelopeResponse>"
    ).encode()


def _score(text: str) -> str:
    return f"<result><resultScore><language>en</language><textString>{text}</textString></resultScore></result>"


def test_a_read_score_is_parsed_in_any_namespace():
    assert parse_response("readResult", _answer("success", _score(" 0.25 ")), "m-1").score == 0.25
    assert parse_response("readResult", _answer("Success", _score("1"), ns="urn:other"), "m-1").score == 1.0
    assert parse_response("readResult", _answer("success", _score("")), "m-1").score is None
    assert parse_response("readResult", _answer("success"), "m-1").score is None


@pytest.mark.parametrize("text", ["1.5", "-0.1", "NaN", "abc"])
def test_a_read_score_out_of_range_is_an_invalid_response(text):
    with pytest.raises(OutcomeFailed) as caught:
        parse_response("readResult", _answer("success", _score(text)), "m-1")
    assert caught.value.code == "outcome_invalid_response"


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<!doctype x><x/>",
        b'<?xml version="1.0" encoding="UTF-16"?>'.decode().encode("utf-16"),  # not a POX envelope either
        b"<imsx_POXEnvelopeResponse/>",  # no codeMajor
        b"<other><imsx_codeMajor>success</imsx_codeMajor></other>",  # not an envelope
        b"",
    ],
)
def test_unsafe_or_unexpected_answers_are_refused(data):
    with pytest.raises(OutcomeFailed) as caught:
        parse_response("replaceResult", data, "m-1")
    assert caught.value.code == "outcome_invalid_response"


def test_a_utf16_doctype_is_refused_too():
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'.encode("utf-16")
    with pytest.raises(OutcomeFailed):
        parse_response("replaceResult", data, "m-1")


def test_the_request_envelope_has_the_pox_shape():
    xml = build_request("replaceResult", "s&<1>", "m-1", score=0.5, text="a")
    root = ET.fromstring(xml)  # noqa: S314 - our own output
    q = f"{{{POX_NS}}}"
    assert root.find(f"{q}imsx_POXHeader/{q}imsx_POXRequestHeaderInfo/{q}imsx_version").text == "V1.0"
    record = root.find(f"{q}imsx_POXBody/{q}replaceResultRequest/{q}resultRecord")
    assert record.find(f"{q}sourcedGUID/{q}sourcedId").text == "s&<1>"
    assert record.find(f"{q}result/{q}resultScore/{q}textString").text == "0.5"
    assert record.find(f"{q}result/{q}resultData/{q}text").text == "a"
    assert build_request("readResult", "s", "m-2").count("<result>") == 0


def test_a_2xx_with_a_failure_body_is_a_failure():
    def answer(url, *, body, headers):
        return HttpResponse(200, _answer("failure", operation="replaceResultResponse"))

    with pytest.raises(OutcomeFailed) as caught:
        replace_result("https://lms.example/outcomes", "sid", 0.5, consumer_key=KEY, secret=SECRET, http=answer)
    assert caught.value.code == "outcome_failure" and caught.value.description == "ok"
