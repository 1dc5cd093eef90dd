"""Issue 13, item 11: inputs that used to answer 500 are a 4xx naming the problem, and store nothing.

Every test goes through a handler with an API Gateway event and compares the three tables before and
after (rate-limit counters aside: a refused request still counts against its caller).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import boto3
import pytest
from learnosity_sdk.request import Init

from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_api import HOST
from tests.support.app_fixtures import make_lti11_world
from tests.support.events import vary

LONE = "\ud800"
ESCAPED = '"\\ud800"'  # the JSON escape of a lone surrogate


def snapshot(stack) -> dict[str, list[dict]]:
    """Every item of the three tables (what a half-written record shows up in), but what any request
    changes: rate-limit counters, a credential's ``last_used_at`` and the launch error records a
    refused launch leaves for its organisation's owner (tests/functional/launch/test_launch_error_records.py)."""
    tables = boto3.resource("dynamodb")
    found = {}
    for name in ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE"):
        items = tables.Table(stack[name]).scan()["Items"]
        changing = ("RATE#", "LAUNCHERR#")
        kept = ({k: v for k, v in i.items() if k != "last_used_at"} for i in items if not i["pk"].startswith(changing))
        found[name] = sorted(kept, key=lambda i: (i["pk"], i["sk"]))
    return found


def json_with(body: dict, field: str) -> str:
    """``body`` as JSON with ``field`` set to the escaped lone surrogate (json.dumps cannot write one raw)."""
    return json.dumps({**body, field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', ESCAPED)


def assert_refused(answer, status: int, field: str | None = None) -> None:
    assert answer.status == status, answer.raw
    assert "Traceback" not in answer.raw and 'File "' not in answer.raw
    if field is not None:
        assert field in answer.raw, answer.raw


# -- the Data API's consumer_key (unauthenticated) ------------------------------------------------------


def data_api_event(security: dict | str, request: str = "{}", action: str = "get") -> dict:
    raw_security = security if isinstance(security, str) else json.dumps(security)

    return vary("learnosity-keys-set.json", form={"security": raw_security, "request": request, "action": action})


def _security(consumer_key) -> dict:
    return {"consumer_key": consumer_key, "domain": "localhost", "timestamp": "20260101-0000", "signature": "$02$00"}


@pytest.mark.parametrize(
    ("consumer_key", "field"),
    [("k" * 256, "security.consumer_key"), ("k" * 2100, "security.consumer_key"), ("a" * 100_000, "security")],
    ids=["256 B", "2 KB", "100 KB"],
)
def test_a_data_api_consumer_key_over_the_bound_is_a_400(keys_fn, org, stack, consumer_key, field):
    before = snapshot(stack)
    answer = keys_fn(data_api_event(_security(consumer_key)))
    assert_refused(answer, 400, f'"{field}"')
    assert "at most" in answer.body["meta"]["message"] or "at most" in answer.raw
    assert answer.body["meta"]["status"] is False
    assert snapshot(stack) == before


def test_a_data_api_consumer_key_holding_a_lone_surrogate_is_a_400(keys_fn, org, stack):
    raw = json.dumps(_security("PLACEHOLDER")).replace('"PLACEHOLDER"', '"ak_\\ud800"')
    before = snapshot(stack)
    answer = keys_fn(data_api_event(raw))
    assert_refused(answer, 400, "security.consumer_key")
    assert answer.body["meta"]["status"] is False
    assert snapshot(stack) == before


@pytest.mark.parametrize("field", ["domain", "signature", "timestamp", "user_id"])
def test_a_lone_surrogate_anywhere_in_the_security_packet_is_a_400(keys_fn, org, stack, field):
    raw = json.dumps({**_security(org.credential_id), field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', ESCAPED)
    before = snapshot(stack)
    answer = keys_fn(data_api_event(raw))
    assert_refused(answer, 400, f"security.{field}")
    assert snapshot(stack) == before


@pytest.mark.parametrize("action", ["set", "get"])
def test_a_signed_data_api_request_holding_a_lone_surrogate_is_a_400(keys_fn, org, stack, action):
    """Signed as the SDK signs (the request's JSON text, a surrogate in it as its escape): verified,
    then refused naming the field, nothing stored but the signature's one-time record."""
    import time

    from lti_gateway.lti11.learnosity import expected_signature

    credential_id, secret = org.api_key.split(".")
    request_raw = json_with({}, "label" if action == "set" else "next")
    packet = {
        "consumer_key": credential_id,
        "domain": "localhost",
        "timestamp": time.strftime("%Y%m%d-%H%M", time.gmtime()),
    }
    packet["signature"] = expected_signature(secret, packet, request_raw, action)
    before = snapshot(stack)
    answer = keys_fn(data_api_event(packet, request_raw, action))
    assert_refused(answer, 400, "request.label" if action == "set" else "request.next")
    assert answer.body["meta"]["error"] == "invalid_text"
    after = snapshot(stack)
    assert {k: v for k, v in after.items() if k != "LAUNCH_TABLE"} == {
        k: v for k, v in before.items() if k != "LAUNCH_TABLE"
    }
    new = [i for i in after["LAUNCH_TABLE"] if i not in before["LAUNCH_TABLE"]]
    assert [i["pk"].split("#")[0] for i in new] == ["ONCE"]


# -- lone surrogates in names and labels --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "body", "field"),
    [
        ("classes-create.json", {"name": "CS101"}, "name"),
        ("classes-create.json", {"name": "CS101"}, "class_lms_url"),
        ("keys-create.json", {}, "label"),
        ("keys-create.json", {}, "key"),
        ("credentials-create.json", {"role": "member"}, "label"),
        ("org-update.json", {}, "app_launch_url"),
        ("platforms-create.json", {}, "name"),
    ],
)
def test_a_lone_surrogate_in_a_json_body_is_a_400_naming_the_field(
    keys_fn, classes_fn, platforms_fn, org, stack, event, body, field
):
    handler = {"classes": classes_fn, "keys": keys_fn, "credentials": keys_fn, "org": keys_fn}.get(
        event.split("-")[0], platforms_fn
    )
    before = snapshot(stack)
    answer = handler(vary(event, api_key=org.api_key, raw_body=json_with(body, field)))
    assert_refused(answer, 400, field)
    assert answer.body["error"] == "invalid_text"
    assert snapshot(stack) == before


def test_a_lone_surrogate_in_unit_names_and_updates_is_a_400(classes_fn, org, stack):
    created = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "CS101"}))
    class_id = created.body["class_id"]
    unit = classes_fn(
        vary("units-create.json", api_key=org.api_key, body={"name": "U1"}, path_params={"class_id": class_id})
    ).body
    before = snapshot(stack)
    answers = [
        classes_fn(
            vary(
                "units-create.json",
                api_key=org.api_key,
                raw_body=json_with({}, "name"),
                path_params={"class_id": class_id},
            )
        ),
        classes_fn(
            vary(
                "units-update.json",
                api_key=org.api_key,
                raw_body=json_with({}, "name"),
                path_params={"class_id": class_id, "unit_id": unit["unit_id"]},
            )
        ),
        classes_fn(
            vary(
                "classes-update.json",
                api_key=org.api_key,
                raw_body=json_with({}, "name"),
                path_params={"class_id": class_id},
            )
        ),
    ]
    for answer in answers:
        assert_refused(answer, 400, "name")
    assert snapshot(stack) == before


def test_a_lone_surrogate_nested_in_a_json_body_is_named_by_its_path(classes_fn, org, stack):
    raw = '{"name": "CS101", "x": [1, {"deep": "\\udfff"}]}'
    before = snapshot(stack)
    answer = classes_fn(vary("classes-create.json", api_key=org.api_key, raw_body=raw))
    assert_refused(answer, 400, "x[1].deep")
    assert snapshot(stack) == before


def test_a_nul_in_a_json_body_is_a_400(classes_fn, org, stack):
    before = snapshot(stack)
    answer = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "CS\x00101"}))
    assert_refused(answer, 400, "name")
    assert snapshot(stack) == before


# -- path and query parameters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw_query", "field"),
    [("next=%ED%A0%80", "next"), ("limit=%FF", "limit"), ("next=a%00b", "next"), ("%C0%AF=1", "query")],
)
def test_query_parameters_that_are_not_well_formed_text_are_a_400(keys_fn, org, stack, raw_query, field):
    event = vary("keys-list.json", api_key=org.api_key)
    event["rawQueryString"] = raw_query
    event["queryStringParameters"] = {"next": "\ufffd"}  # what a lenient decoder would have made of it
    before = snapshot(stack)
    answer = keys_fn(event)
    assert_refused(answer, 400, field)
    assert answer.body["error"] == "invalid_text"
    assert snapshot(stack) == before


def test_a_decoded_query_parameter_holding_a_surrogate_or_nul_is_a_400(classes_fn, org, stack):
    for value in (LONE, "a\x00"):
        event = vary("classes-list.json", api_key=org.api_key)
        event["queryStringParameters"] = {"next": value}
        answer = classes_fn(event)
        assert_refused(answer, 400, "next")


@pytest.mark.parametrize("encoded", ["%ED%A0%80", "%FF", "a%00b"])
def test_a_path_parameter_that_is_not_well_formed_text_is_a_400(keys_fn, org, stack, encoded):
    event = vary("keys-get.json", api_key=org.api_key, path_params={"key": "x"})
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/keys/{encoded}"
    event["pathParameters"] = {"key": encoded}
    before = snapshot(stack)
    answer = keys_fn(event)
    assert_refused(answer, 400, "path")
    assert snapshot(stack) == before


# -- forged paging tokens that keep the caller's own partition key ------------------------------------


def forged(**attributes) -> str:
    return base64.urlsafe_b64encode(json.dumps(attributes).encode()).decode().rstrip("=")


def forgeries(partition: str, index: str = "gsi1") -> list[str]:
    """Tokens that keep the caller's own partition key, each one a 500 before (DynamoDB refused the
    start key, or boto3 could not encode it)."""
    if index == "pk":  # a base-table listing: the partition is pk, the rest is sk
        own, rest = {"pk": partition}, {"sk": "b1"}
    else:
        own, rest = {"gsi1pk": partition}, {"pk": "CK#x", "sk": "META", "gsi1sk": "y"}
    return [
        forged(**own),  # no table key
        forged(**own, **dict.fromkeys(rest, "")),  # empty key values
        forged(**own, **rest, extra="1"),  # an attribute no key has
        forged(**own, **{**rest, "sk": "x" * 3000}),  # past DynamoDB's key size
        forged(**own, **{**rest, "sk": 1}),  # wrong type
        forged(**own, **{**rest, "sk": "a\u0000"}),  # NUL
        forged(**own, **rest) + "!",  # a stray character
        json.dumps({**own, **rest}),  # not base64 at all
        base64.urlsafe_b64encode(
            json.dumps({**own, **rest}).replace('"b1"', '"\\ud800"').replace('"META"', '"\\ud800"').encode()
        ).decode(),
    ]


def _listing_events(org, class_id: str, platform_id: str) -> list[tuple[str, dict, str]]:
    """(handler name, event, the listing's partition) of every listing."""
    return [
        ("keys", vary("keys-list.json", api_key=org.api_key), f"ORG#{org.org_id}#CKEYS"),
        ("keys", vary("credentials-list.json", api_key=org.api_key), f"ORG#{org.org_id}#APIKEYS"),
        ("classes", vary("classes-list.json", api_key=org.api_key), f"ORG#{org.org_id}#CLASSES"),
        (
            "classes",
            vary("units-list.json", api_key=org.api_key, path_params={"class_id": class_id}),
            f"CLASS#{class_id}#UNITS",
        ),
        ("platforms", vary("platforms-list.json", api_key=org.api_key), f"ORG#{org.org_id}#PLATFORMS"),
        (
            "platforms",
            vary("platforms-lti11-bindings-list.json", api_key=org.api_key, path_params={"platform_id": platform_id}),
            f"LTI1P1BIND#{platform_id}",
        ),
    ]


def test_a_forged_page_token_keeping_the_callers_partition_is_a_400_on_every_listing(
    keys_fn, classes_fn, platforms_fn, org, stack
):
    from lti_gateway.admin.orgs import Principal
    from lti_gateway.lti13 import platforms

    owner = Principal(org.org_id, org.credential_id, "owner")
    class_id = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "C"})).body["class_id"]
    platform = platforms.create_platform(
        owner,
        {
            "url": "https://lms.example.edu",
            "clientId": "c1",
            "name": "LMS",
            "authenticationEndpoint": "https://lms.example.edu/auth",
            "accesstokenEndpoint": "https://lms.example.edu/token",
            "authConfig": {"method": "JWK_SET", "key": "https://lms.example.edu/jwks"},
        },
    )
    handlers = {"keys": keys_fn, "classes": classes_fn, "platforms": platforms_fn}
    before = snapshot(stack)
    for name, event, partition in _listing_events(org, class_id, platform["id"]):
        index = "pk" if partition.startswith("LTI1P1BIND#") else "gsi1"
        for token in forgeries(partition, index):
            event = dict(event, queryStringParameters={"next": token}, rawQueryString="")
            answer = handlers[name](event)
            assert answer.status == 400, (event["routeKey"], token, answer.raw)
            assert answer.body["error"] in ("invalid_page_token", "invalid_text"), answer.raw
    assert snapshot(stack) == before


def test_a_forged_page_token_in_a_learnosity_get_is_a_400(keys_fn, org, stack):
    credential_id, secret = org.api_key.split(".")
    partition = f"ORG#{org.org_id}#CKEYS"
    before = snapshot(stack)
    for token in forgeries(partition)[:-1]:
        form = Init("data", {"consumer_key": credential_id, "domain": "localhost"}, secret, {"next": token}, "get")
        answer = keys_fn(vary("learnosity-keys-set.json", form=form.generate()))
        assert answer.status == 400, (token, answer.raw)
        assert answer.body["meta"]["error"] == "invalid_page_token"
    after = snapshot(stack)
    # each verified request leaves its one-time signature record, and nothing else
    new = [i for i in after["LAUNCH_TABLE"] if i not in before["LAUNCH_TABLE"]]
    assert all(i["pk"].startswith("ONCE#learnosity-sig#") for i in new)
    assert {k: v for k, v in after.items() if k != "LAUNCH_TABLE"} == {
        k: v for k, v in before.items() if k != "LAUNCH_TABLE"
    }


# -- a validly signed LTI 1.1 launch with a huge parameter --------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ([("custom_big", "x" * 200_000)], "custom_big"),  # stored twice: past DynamoDB's 400 KB (a 500)
        ([("custom_big", "x" * 40_000)], "custom_big"),  # one parameter over 32 KB
        ([(f"custom_p{i}", "y" * 25_000) for i in range(5)], "too large in all"),  # 125 KB in all
    ],
    ids=["200 KB", "40 KB", "5 x 25 KB"],
)
def test_a_signed_lti11_launch_with_a_huge_parameter_is_a_413_and_stores_nothing(
    stack, org, monkeypatch, launch_fn, extra, named
):
    world = make_lti11_world(org, monkeypatch)
    url = world["class"]["launch_url"]
    signed = sign_launch(url, [*CANVAS, *extra], consumer_key=world["key"], secret=world["secret"])
    before = snapshot(stack)
    answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))
    assert answer.status == 413, answer.raw[:2000]
    assert answer.headers["content-type"].startswith("text/html")
    assert "launch_too_large" in answer.raw
    assert snapshot(stack) == before  # no nonce consumed, no LMS context recorded, no launch context


def test_a_launch_of_ordinary_size_still_reaches_the_app(stack, org, monkeypatch, launch_fn):
    world = make_lti11_world(org, monkeypatch)
    url = world["class"]["launch_url"]
    params = [*CANVAS, ("custom_note", "z" * 30_000)]  # under both bounds
    signed = sign_launch(url, params, consumer_key=world["key"], secret=world["secret"])
    answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))
    assert answer.status == 302, answer.raw[:2000]


def test_every_write_is_measured_before_it_is_sent(stack):
    """The safety net under the bounds: an item over 400 KB is a 413 naming it, and is not written."""
    from lti_gateway.core.errors import BodyTooLarge
    from lti_gateway.repositories import deps

    before = snapshot(stack)
    with pytest.raises(BodyTooLarge) as refused:
        deps.launch_repo().put_launch_context("l1", {"params": [["a", "x" * 300_000]] * 2}, expires_at=2**31)
    assert refused.value.status == 413 and refused.value.code == "item_too_large"
    assert refused.value.details["item"] == "launch context"
    deps.launch_repo().put_launch_context("l2", {"params": [["a", "x" * 190_000]] * 2}, expires_at=2**31)
    assert len(snapshot(stack)["LAUNCH_TABLE"]) == len(before["LAUNCH_TABLE"]) + 1  # only l2


def test_a_path_refusal_is_answered_in_the_routes_own_format(classes_fn, launch_fn, keys_fn, org, stack):
    """The HTML routes answer a page, the Data API its envelope: the check runs inside their format."""
    page = vary("classes-open.json", path_params={"class_id": "x"})
    page["rawPath"] = page["requestContext"]["http"]["path"] = "/classes/%ED%A0%80/open"
    launch = launch_event("a=b", host=HOST, raw_path="/lti/launch/cls_%FF")
    data_api = data_api_event(_security("ak_0123456789abcdef"))
    data_api["rawPath"] = data_api["requestContext"]["http"]["path"] = "/v2023%00/consumer/keys/lti"
    before = snapshot(stack)
    for handler, event in ((classes_fn, page), (launch_fn, launch)):
        answer = handler(event)
        assert answer.status == 400, answer.raw[:500]
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.raw.lstrip().lower().startswith("<!doctype html>")
        assert handler is classes_fn or "invalid_text" in answer.raw  # the launch page names its code
    answer = keys_fn(data_api)
    assert answer.status == 400, answer.raw
    assert answer.body["meta"]["error"] == "invalid_text"
    assert snapshot(stack) == before
