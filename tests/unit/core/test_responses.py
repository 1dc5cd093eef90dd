"""core/responses: the one renderer of every error answer, and the one exception -> GatewayError path.

Every format (JSON envelope, LTIAAS contract, Learnosity envelope, HTML page, return to the LMS), the
classification (a GatewayError as is, an AWS fault a 503, a bug a 500 naming only the correlation id),
the correlation id, and hostile details: NUL, lone surrogates, markup, a megabyte. Pure: no AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest

from lti_gateway.core import responses
from lti_gateway.core.errors import (
    ApiError,
    BodyTooLarge,
    GatewayError,
    InternalError,
    NotFound,
    ServiceUnavailable,
    Throttled,
    ValidationFailed,
)

HOSTILE = [
    "nul\x00byte",
    "lone \ud800 surrogate and \udfff",
    "<script>alert('x')</script>&\"'",
    "x" * (1024 * 1024),
    "\x1b[31m\x7f\x0c",
    "",
]


def never_unavailable(_error: BaseException) -> GatewayError | None:
    return None


def busy(_error: BaseException) -> GatewayError | None:
    unavailable = ServiceUnavailable("a storage or key service of the gateway is busy", retry_after=2)
    unavailable.aws_error = "ThrottlingException"
    return unavailable


def log_lines(logs) -> list[dict]:
    return [json.loads(line) for line in logs.getvalue().splitlines() if line.startswith("{")]


def json_body(response) -> object:
    assert response.headers["Content-Type"] == "application/json"
    assert response.body.isascii()  # json.dumps escapes: every byte valid, whatever the details hold
    return json.loads(response.body)


# -- the correlation id -----------------------------------------------------------------------------------


def test_the_correlation_id_is_the_request_id_the_logs_carry():
    event = {"requestContext": {"requestId": "req-1"}}
    assert responses.correlation_id(event, SimpleNamespace(aws_request_id="lambda-1")) == "req-1"


@pytest.mark.parametrize("event", [{}, {"requestContext": {}}, {"requestContext": {"requestId": ""}}, None])
def test_without_a_request_id_it_is_lambdas_then_a_uuid4(event):
    assert responses.correlation_id(event, SimpleNamespace(aws_request_id="lambda-1")) == "lambda-1"
    first, second = responses.correlation_id(event), responses.correlation_id(event, SimpleNamespace())
    assert uuid.UUID(first).version == 4 and first != second


# -- one classification, one log line -----------------------------------------------------------------------


def test_a_gateway_error_is_itself_and_logged_once(logs):
    refused = NotFound("no such class")

    assert responses.failure(refused, "ref-1", busy) is refused

    [line] = log_lines(logs)
    assert (line["message"], line["level"], line["error"], line["status"]) == (
        "request rejected",
        "INFO",
        "not_found",
        404,
    )
    assert "no such class" not in json.dumps(line)  # the code, never the details


def test_a_route_names_its_refusal_and_a_5xx_is_a_warning(logs):
    responses.failure(ServiceUnavailable("busy", code="kms_unavailable"), "ref-1", busy, message="launch rejected")
    responses.failure(ValidationFailed({"x": "bad"}), "ref-2", busy, message="launch rejected")

    warning, info = log_lines(logs)
    assert (warning["message"], warning["level"], warning["error"]) == ("launch rejected", "WARNING", "kms_unavailable")
    assert (info["message"], info["level"], info["status"]) == ("launch rejected", "INFO", 400)


def test_an_aws_fault_is_the_503_the_mapping_gives_logged_with_its_aws_error(logs):
    error = responses.failure(RuntimeError("throttled"), "ref-1", busy)

    assert (error.status, error.code, error.retry_after) == (503, "service_unavailable", 2)
    [line] = log_lines(logs)
    assert (line["message"], line["level"], line["aws_error"]) == (
        "request failed on a dependency",
        "WARNING",
        "ThrottlingException",
    )


def test_a_bug_is_a_500_naming_only_the_correlation_id_its_trace_in_the_log(logs):
    try:
        raise KeyError("secret internals")
    except KeyError as bug:
        error = responses.failure(bug, "ref-1", never_unavailable)

    assert isinstance(error, InternalError)
    assert (error.status, error.code, error.details) == (500, "internal_error", {"correlation_id": "ref-1"})
    [line] = log_lines(logs)
    assert line["message"] == "unhandled error" and line["correlation_id"] == "ref-1"
    assert "secret internals" in line["exception"]  # the log has the trace, the answer does not


# -- JSON envelope ------------------------------------------------------------------------------------------


def test_the_json_envelope():
    answer = responses.json_error(ValidationFailed({"name": "is required"}), "ref-1")

    assert answer.status_code == 400
    assert json_body(answer) == {"error": "validation_failed", "details": {"name": "is required"}}
    assert answer.headers["Cache-Control"] == "no-store" and "Retry-After" not in answer.headers


def test_the_json_envelope_of_a_bug_and_of_a_throttle():
    bug = responses.json_error(InternalError("ref-1"), "ref-1")
    assert (bug.status_code, json_body(bug)) == (
        500,
        {"error": "internal_error", "details": {"correlation_id": "ref-1"}},
    )

    throttled = responses.json_error(Throttled("slow down", retry_after=7), "ref-2")
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "7"


def test_an_api_error_keeps_the_contract_shape_under_the_json_api():
    assert responses.error_body(ApiError(401, "INVALID_API_KEY", "Invalid API key.")) == {
        "status": 401,
        "error": "Unauthorized",
        "details": {"message": "INVALID_API_KEY", "description": "Invalid API key."},
    }


# -- LTIAAS contract ----------------------------------------------------------------------------------------


def test_the_contract_body_of_a_bug_names_only_its_correlation_id():
    answer = responses.contract_error(InternalError("req-9"), "req-9")

    assert answer.status_code == 500
    assert json_body(answer) == {
        "status": 500,
        "error": "Internal Server Error",
        "details": {"message": "INTERNAL_ERROR", "correlationId": "req-9"},
    }


def test_the_contract_body_of_our_own_5xx_names_it_only_with_retry_after():
    unavailable = ServiceUnavailable("DynamoDB said ProvisionedThroughputExceeded", retry_after=2)
    answer = responses.contract_error(unavailable, "ref-1")

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert json_body(answer) == {
        "status": 503,
        "error": "Service Unavailable",
        "details": {"message": "SERVICE_UNAVAILABLE", "description": "A dependency of the gateway failed."},
    }


def test_the_contract_body_of_other_errors():
    assert responses.contract_body(ValidationFailed("not a form")) == {
        "status": 400,
        "error": "Bad Request",
        "details": {"message": "VALIDATION_ERROR", "description": "not a form"},
    }
    assert responses.contract_body(NotFound("no such line item")) == {
        "status": 404,
        "error": "Not Found",
        "details": {"message": "NOT_FOUND", "description": "no such line item"},
    }
    external = ApiError(502, "PLATFORM_REQUEST_FAILED", "LMS said no", externalError=True, externalUrl=None)
    assert responses.contract_body(external)["details"] == {
        "message": "PLATFORM_REQUEST_FAILED",
        "description": "LMS said no",
        "externalError": True,
    }
    assert responses.contract_body(GatewayError("odd", code="teapot", status=418))["error"] == "I'm a Teapot"
    assert responses.reason(299) == "Error"
    assert responses.contract_body(BodyTooLarge("too big"))["details"]["message"] == "BODY_TOO_LARGE"


# -- Learnosity Data API envelope -------------------------------------------------------------------------------


def test_the_data_api_envelope_of_a_refusal():
    answer = responses.data_api_error(ValidationFailed({"security": "missing"}), "ref-1")

    body = json_body(answer)
    assert answer.status_code == 400 and body["data"] is None
    assert isinstance(body["meta"].pop("timestamp"), int)
    assert body["meta"] == {
        "status": False,
        "message": {"security": "missing"},
        "code": "validation_failed",
        "error": "validation_failed",
    }


def test_the_data_api_envelope_of_a_throttle_and_of_a_bug():
    throttled = responses.data_api_error(Throttled("slow down", retry_after=30), "ref-1")
    assert throttled.headers["Retry-After"] == "30"
    assert json_body(throttled)["meta"]["code"] == responses.DATA_API_THROTTLE_CODE == 42000

    bug = json_body(responses.data_api_error(InternalError("ref-2"), "ref-2"))
    assert bug["meta"]["message"] == {"correlation_id": "ref-2"} and bug["meta"]["error"] == "internal_error"


def test_a_data_api_error_without_details_says_its_code():
    assert json_body(responses.data_api_error(GatewayError(code="nope"), "r"))["meta"]["message"] == "nope"


# -- the HTML error page --------------------------------------------------------------------------------------


def page(error: GatewayError, **texts):
    return responses.error_page(error, texts.pop("reference", "ref-1"), **{"title": "T", "message": "M", **texts})


def test_the_error_page_shows_its_texts_the_reason_and_the_reference_once():
    answer = page(NotFound("x"), title="Launch failed", heading="Could not launch", next_step="Try again.")

    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert {k: answer.headers[k] for k in responses.PAGE_HEADERS} == responses.PAGE_HEADERS
    assert "Retry-After" not in answer.headers
    assert answer.body.startswith("<!doctype html>")
    assert "<title>Launch failed</title>" in answer.body and "<h1>Could not launch</h1>" in answer.body
    assert "<p>M</p>" in answer.body and "<p>Try again.</p>" in answer.body
    assert "Reason: <code>not_found</code><br>Reference: <code>ref-1</code>" in answer.body
    assert answer.body.count("ref-1") == 1


def test_a_503_page_has_retry_after_and_its_csp_and_nonce():
    answer = page(ServiceUnavailable("busy", retry_after=2), csp="default-src 'none'", nonce="n0nce")

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.headers["Content-Security-Policy"] == (
        "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert f'<style nonce="n0nce">{responses.STYLESHEET}</style>' in answer.body


# -- security headers: every page, redirect and JSON answer -----------------------------------------------------

STYLE_OR_SCRIPT = re.compile(r"<(script|style)\b([^>]*)>", re.IGNORECASE)


def policy_of(answer) -> dict[str, str]:
    directives = [part.strip().split(" ", 1) for part in answer.headers["Content-Security-Policy"].split(";")]
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives}


def test_an_error_page_without_a_csp_gets_one_whose_nonce_its_stylesheet_carries():
    answers = [page(NotFound("x")) for _ in range(2)]

    nonces = set()
    for answer in answers:
        policy = policy_of(answer)
        [(_, attributes)] = STYLE_OR_SCRIPT.findall(answer.body)
        [nonce] = re.findall(r'nonce="([^"]+)"', attributes)
        assert policy["style-src"] == f"'nonce-{nonce}'" and len(nonce) >= 16
        assert policy["default-src"] == "'none'" and policy["base-uri"] == "'none'"
        assert policy["form-action"] == "'none'" and policy["frame-ancestors"] == "'none'"
        assert answer.headers["X-Frame-Options"] == "DENY"
        nonces.add(nonce)
    assert len(nonces) == 2  # one per response


def test_a_framed_page_lets_any_lms_frame_it_and_sends_no_x_frame_options():
    answer = page(NotFound("x"), framed=True)

    assert policy_of(answer)["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in answer.headers
    assert answer.headers["Referrer-Policy"] == "no-referrer" and answer.headers["X-Content-Type-Options"] == "nosniff"


def test_an_inline_style_page_without_a_csp_admits_only_style_attributes():
    policy = policy_of(page(NotFound("x"), inline_style=True))

    assert policy["style-src"] == "'unsafe-inline'" and "script-src" not in policy


def test_a_page_keeps_its_own_directives_and_cannot_drop_ours():
    answer = responses.page(
        200,
        "<p>x</p>",
        csp="script-src 'nonce-abc'; form-action https://lms.example; frame-ancestors https://evil.example",
        headers={
            "X-Frame-Options": "ALLOWALL",
            "Content-Security-Policy": "default-src *",
            "Referrer-Policy": "origin",
        },
    )

    policy = policy_of(answer)
    assert policy == {
        "default-src": "'none'",
        "base-uri": "'none'",
        "form-action": "https://lms.example",
        "script-src": "'nonce-abc'",
        "frame-ancestors": "'none'",
    }
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "origin"  # the one header a page may loosen (platform_storage)


def test_every_json_answer_is_nosniff_and_never_cached():
    answers = [
        responses.json_response(200, {"a": 1}),
        responses.json_error(NotFound("x"), "r"),
        responses.contract_error(ApiError(400, "VALIDATION_ERROR", "bad"), "r"),
        responses.data_api_error(GatewayError(code="nope"), "r"),
    ]

    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff" and answer.headers["Cache-Control"] == "no-store"


def test_a_page_without_reason_in_inline_style_is_brace_free():
    answer = page(InternalError("ref-1"), show_reason=False, inline_style=True)

    assert "internal_error" not in answer.body and "Reason" not in answer.body
    assert "{" not in answer.body and "<style" not in answer.body
    assert "Reference: <code" in answer.body


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_page_escapes_anything(hostile):
    answer = page(
        GatewayError(hostile, code=hostile or "x", status=400),
        title=hostile,
        heading=hostile,
        message=hostile,
        next_step=hostile or None,
        reference=hostile,
        nonce=hostile or None,
    )

    answer.body.encode("utf-8")  # no lone surrogate survives: the page is valid UTF-8
    assert "<script>" not in answer.body and "\x00" not in answer.body and "\x1b" not in answer.body
    text = re.sub(r"<[^>]*>", "", answer.body)
    assert "<" not in text and ">" not in text  # every markup character of the texts escaped


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_json_format_is_valid_json_whatever_the_details(hostile):
    error = GatewayError({"field": hostile, hostile: [hostile]}, code="bad", status=400)
    for render in (responses.json_error, responses.contract_error, responses.data_api_error):
        json_body(render(error, hostile))
    json_body(responses.contract_error(ApiError(400, "VALIDATION_ERROR", hostile, bodyReceived=hostile), "r"))


# -- the return to the LMS ----------------------------------------------------------------------------------


def test_the_lti_return_is_a_302_with_lti_errormsg_on_the_return_url():
    answer = responses.lti_return("https://lms.example.edu/return?a=1&b=2#top", "The class does not exist.")

    assert answer.status_code == 302 and answer.body == ""
    assert {k: answer.headers[k] for k in responses.PAGE_HEADERS} == responses.PAGE_HEADERS
    assert answer.headers["Referrer-Policy"] == "no-referrer"  # the LMS never learns our URL
    location = urlsplit(answer.headers["Location"])
    assert (location.netloc, location.path, location.fragment) == ("lms.example.edu", "/return", "top")
    assert parse_qs(location.query) == {"a": ["1"], "b": ["2"], "lti_errormsg": ["The class does not exist."]}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_lti_errormsg_is_at_most_500_characters_and_always_encodable(hostile):
    answer = responses.lti_return("https://lms.example.edu/return", hostile)

    location = answer.headers["Location"]
    assert location.isascii() and "#" not in location and " " not in location
    message = parse_qs(urlsplit(location).query).get("lti_errormsg", [""])[0]
    assert len(message) <= responses.LTI_ERRORMSG_MAX


# -- through the edge: web.resolver and web.errors_as use this one path ---------------------------------------


def http_event(path: str, request_id: str = "req-42") -> dict:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {},
        "requestContext": {"http": {"method": "GET", "path": path}, "requestId": request_id, "stage": "$default"},
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    ("render", "reference_of"),
    [
        (responses.json_error, lambda body: body["details"]["correlation_id"]),
        (responses.contract_error, lambda body: body["details"]["correlationId"]),
        (responses.data_api_error, lambda body: body["meta"]["message"]["correlation_id"]),
    ],
)
def test_a_bug_under_any_resolver_names_the_request_id_its_log_line_carries(logs, render, reference_of):
    from lti_gateway import web

    app = web.resolver(render)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    answer = app.resolve(http_event("/boom"), SimpleNamespace(aws_request_id="lambda-1"))

    assert answer["statusCode"] == 500 and "secret internals" not in answer["body"]
    assert reference_of(json.loads(answer["body"])) == "req-42"
    [line] = log_lines(logs)
    assert (line["message"], line["correlation_id"]) == ("unhandled error", "req-42")


def test_a_route_answering_in_its_own_format_and_an_unknown_route():
    from lti_gateway import web

    app = web.resolver()

    def refused_page(error: GatewayError, correlation_id: str):
        return responses.error_page(error, correlation_id, title="Refused", message="No.")

    @app.get("/page")
    @web.errors_as(app, refused_page, "page refused")
    def a_page():
        raise NotFound("nothing here")

    answer = app.resolve(http_event("/page"), SimpleNamespace(aws_request_id="lambda-1"))
    assert answer["statusCode"] == 404 and "Reference: <code>req-42</code>" in answer["body"]

    unknown = app.resolve(http_event("/nowhere"), None)
    assert unknown["statusCode"] == 404
    assert json.loads(unknown["body"]) == {"error": "not_found", "details": "no such route"}
