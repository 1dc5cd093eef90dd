"""The app API's transport rules, line item ids and small mappings (pure functions, no AWS)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest

from lti_gateway.app_api import line_item_ids
from lti_gateway.app_api import transport as app_transport
from lti_gateway.app_api.idtoken import custom_values
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.app_api.platform_services import LmsAnswer, origin
from lti_gateway.core.errors import ApiError, BodyTooLarge, ValidationFailed
from lti_gateway.core.responses import contract_body, reason

MOODLE = "https://moodle.example.org/mod/lti/services.php/2/lineitems/3/lineitem?type_id=1"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("//api/idtoken", "/api/idtoken"),
        ("///api/idtoken", "/api/idtoken"),
        ("/api/idtoken", "/api/idtoken"),
        ("//api/lineitems/https%3A//lms/x", "/api/lineitems/https%3A//lms/x"),  # never inside an id
    ],
)
def test_leading_slashes_collapse(raw, expected):
    event = {"rawPath": raw, "requestContext": {"http": {"path": raw}, "stage": "$default"}}

    app_transport.normalise_event(event)

    assert event["rawPath"] == expected and event["requestContext"]["http"]["path"] == expected


def test_leading_slashes_collapse_after_a_named_stage():
    event = {
        "rawPath": "/Prod//api/idtoken",
        "requestContext": {"http": {"path": "/Prod//api/idtoken"}, "stage": "Prod"},
    }

    assert app_transport.normalise_event(event)["rawPath"] == "/Prod/api/idtoken"


def test_url_and_role_encoded_twice_are_unquoted_once_more():
    url = "https://lms.example.com/nrps?x=1&y=2"
    role = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
    # What the official client sends: quote() then requests' form encoding.
    raw = urlencode({"url": quote(url), "role": quote(role), "limit": 5, "tag": "t 1"})

    query = app_transport.query(raw)

    assert query == {"url": url, "role": role, "limit": "5", "tag": "t 1"}


def test_single_encoded_and_short_values_are_left_alone():
    query = app_transport.query(urlencode({"url": "https://lms.example.com/a?b=c", "role": "Learner"}))

    assert query == {"url": "https://lms.example.com/a?b=c", "role": "Learner"}


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "1"])
def test_raw_is_truthy(value):
    assert app_transport.truthy(value)


@pytest.mark.parametrize("value", [None, "", "false", "0", "yes"])
def test_raw_is_falsy(value):
    assert not app_transport.truthy(value)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/lineitems/li_abc", ("li_abc", False)),
        ("/api/lineitems/li_abc/scores", ("li_abc", True)),
        ("/api/lineitems/https%3A//lms/a/line_items/2/scores", ("https%3A//lms/a/line_items/2", True)),
        ("/api/lineitems/", None),
        ("/api/lineitems/scores", ("scores", False)),
        ("/api/other", None),
    ],
)
def test_line_item_paths(path, expected):
    assert app_transport.line_item_path(path) == expected


@pytest.mark.parametrize(
    "raw",
    [
        line_item_ids.encode(MOODLE),
        quote(MOODLE),  # Python client: keeps "/"
        quote(MOODLE, safe=""),  # Node SDK / docs: encodeURIComponent
        "https%3A/moodle.example.org/mod/lti/services.php/2/lineitems/3/lineitem%3Ftype_id%3D1",  # collapsed //
    ],
)
def test_every_line_item_id_encoding_decodes_to_the_lms_url(raw):
    assert line_item_ids.decode(raw) == MOODLE


def test_opaque_ids_are_url_safe():
    encoded = line_item_ids.encode(MOODLE)

    assert encoded.startswith("li_") and quote(encoded, safe="") == encoded


@pytest.mark.parametrize("raw", ["", "li_!!!", "li_" + "%FF", "ftp%3A//x/1", "javascript:alert(1)", "x" * 5000])
def test_ids_that_name_no_url_decode_to_none(raw):
    assert line_item_ids.decode(raw) is None


def test_the_lti11_line_item_id_is_stable_per_resource_link():
    a = ServiceContext("1.1", "org", "launch-1", consumer_key="ck", context_id="c", resource_link_id="r")
    b = ServiceContext("1.1", "org", "launch-2", consumer_key="ck", context_id="c", resource_link_id="r")
    c = ServiceContext("1.1", "org", "launch-3", consumer_key="ck", context_id="c", resource_link_id="other")

    assert line_item_ids.lti11_id(a) == line_item_ids.lti11_id(b) != line_item_ids.lti11_id(c)
    assert line_item_ids.decode(line_item_ids.lti11_id(a)) == line_item_ids.lti11_id(a)


def test_origins_include_the_default_port():
    assert (
        origin("https://LMS.example.com/a") == origin("https://lms.example.com:443/b") == "https://lms.example.com:443"
    )
    assert origin("https://lms.example.com:8443/a") != origin("https://lms.example.com/a")
    assert origin("https://user@lms.example.com/") is None
    assert origin("mailto:x@y") is None


def test_link_headers_are_parsed_by_rel():
    header = (
        '<https://lms/m?page=2>; rel="next", <https://lms/m?page=1>; rel="first prev", <https://lms/m?page=9>;rel=last'
    )

    links = LmsAnswer(200, None, {"link": header}).links()

    assert links == {
        "next": "https://lms/m?page=2",
        "first": "https://lms/m?page=1",
        "prev": "https://lms/m?page=1",
        "last": "https://lms/m?page=9",
    }


def test_custom_values_suit_the_clients_model():
    assert custom_values({"a": "x", "b": 3, "c": True, "d": None, "e": 1.5, "f": 2.0, "g": {"h": 1}}) == {
        "a": "x",
        "b": 3,
        "c": 1,
        "e": "1.5",
        "f": 2,
        "g": '{"h":1}',
    }


def test_every_error_is_a_contract_object():
    assert contract_body(ApiError(401, "INVALID_API_KEY", "Invalid API key.")) == {
        "status": 401,
        "error": "Unauthorized",
        "details": {"message": "INVALID_API_KEY", "description": "Invalid API key."},
    }
    validation = contract_body(ValidationFailed({"label": "is required"}))
    assert validation["status"] == 400 and validation["details"]["message"] == "VALIDATION_ERROR"
    assert validation["details"]["errors"] == [{"field": "label", "message": "is required"}]
    too_large = contract_body(BodyTooLarge("body must be at most 16384 bytes"))
    assert too_large == {
        "status": 413,
        "error": "Content Too Large" if reason(413) == "Content Too Large" else reason(413),
        "details": {"message": "BODY_TOO_LARGE", "description": "body must be at most 16384 bytes"},
    }
