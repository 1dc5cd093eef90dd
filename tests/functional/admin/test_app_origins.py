"""App origins are allowed per organisation, at run time, by its owners (issue 14 section 3).

An owner setting an app launch URL (the organisation's, a class's or a unit's) allows its origin for
that organisation; a member may only use an allowed origin; ``PATCH /api/org {"app_origins": [...]}``
replaces the list (removing an origin refuses launches to it). The ``AllowedAppOrigins`` stack parameter
is only an operator restriction on top: empty adds none. Another organisation's origins never count.
Also: the organisation's tool settings (``tool_name``, ``tool_description``, ``tool_icon_url``).

Everything through the keys, classes and launch functions with API Gateway events, on moto.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import pytest

from lti_gateway.core import config
from lti_gateway.lti11 import consumer_keys
from lti_gateway.repositories.schema import META, class_pk, org_pk
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.events import vary

HOST = "abc123.execute-api.us-east-1.amazonaws.com"  # requestContext.domainName of events/*.json
ORG_APP = "https://app.example.com/lti/start"
CLASS_APP = "https://class-app.example.org/start"
UNIT_APP = "https://unit-app.example.net/go"
# A launch without a return URL (refusals are a page, not a redirect back to the LMS) nor outcome data.
PARAMS = [(k, v) for k, v in CANVAS if not k.startswith("lis_") and k != "launch_presentation_return_url"]


@pytest.fixture(autouse=True)
def _settings(stack, monkeypatch):
    """A stack deployed with the default: no AllowedAppOrigins (no operator restriction)."""
    monkeypatch.delenv("ALLOWED_APP_ORIGINS", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def _restrict(monkeypatch, origins: str) -> None:
    monkeypatch.setenv("ALLOWED_APP_ORIGINS", origins)
    config.settings.cache_clear()


# -- helpers ----------------------------------------------------------------------------------------


def get_org(keys_fn, api_key):
    return keys_fn(vary("org-get.json", api_key=api_key))


def patch_org(keys_fn, api_key, body):
    return keys_fn(vary("org-update.json", api_key=api_key, body=body))


def create_class(classes_fn, api_key, body):
    return classes_fn(vary("classes-create.json", api_key=api_key, body=body))


def patch_class(classes_fn, api_key, class_id, body):
    return classes_fn(vary("classes-update.json", api_key=api_key, path_params={"class_id": class_id}, body=body))


def create_unit(classes_fn, api_key, class_id, body):
    return classes_fn(vary("units-create.json", api_key=api_key, path_params={"class_id": class_id}, body=body))


def patch_unit(classes_fn, api_key, class_id, unit_id, body):
    path = {"class_id": class_id, "unit_id": unit_id}
    return classes_fn(vary("units-update.json", api_key=api_key, path_params=path, body=body))


def member_key(keys_fn, org) -> str:
    answer = keys_fn(vary("credentials-create.json", api_key=org.api_key))
    assert answer.status == 201 and answer.body["role"] == "member", answer.body
    return answer.body["api_key"]


def new_class(classes_fn, api_key, **fields) -> dict:
    answer = create_class(classes_fn, api_key, {"name": "Physics 101", **fields})
    assert answer.status == 201, answer.body
    return answer.body


def org_item(stack, org) -> dict:
    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    return table.get_item(Key={"pk": org_pk(org.org_id), "sk": META}, ConsistentRead=True)["Item"]


def classes_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["CLASSES_TABLE"]).scan(ConsistentRead=True)["Items"]
    return sorted(items, key=lambda i: (i["pk"], i["sk"]))


def launch_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan(ConsistentRead=True)["Items"]
    return [i for i in items if i["pk"].startswith("LAUNCH#")]


_keys: dict[str, dict] = {}


def launch(launch_fn, org, launch_url: str):
    """An LTI 1.1 launch signed with ``org``'s own consumer key into ``launch_url``."""
    key = _keys.get(org.org_id)
    if key is None:
        key = _keys[org.org_id] = consumer_keys.create_consumer_key(org.org_id, label="LMS")
    signed = sign_launch(launch_url, PARAMS, consumer_key=key["key"], secret=key["secret"])
    return launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(launch_url).path))


@pytest.fixture(autouse=True)
def _fresh_keys():
    _keys.clear()
    yield
    _keys.clear()


def landed_on(answer) -> str:
    assert answer.status == 302, answer.raw
    location = answer.headers["location"]
    return location.split("?ltik=")[0]


def assert_refused_page(answer, status: int, code: str, stack, before: int = 0) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert code in answer.raw and "Traceback" not in answer.raw
    assert len(launch_items(stack)) == before  # no launch context stored


def assert_origin_refused(answer, origin: str) -> None:
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "app_origin_not_allowed"
    details = answer.body["details"]
    assert origin in str(details["app_launch_url"])
    assert "owner" in details["hint"]


# -- an owner allows an origin by setting a URL on it -----------------------------------------------


def test_on_a_fresh_stack_an_owner_sets_the_organisation_url_and_launches_go_there(
    keys_fn, classes_fn, launch_fn, org, stack
):
    answer = patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP})

    assert answer.status == 200, answer.body
    assert answer.body["app_launch_url"] == ORG_APP
    assert answer.body["app_origins"] == ["https://app.example.com"]
    assert org_item(stack, org)["app_origins"] == ["https://app.example.com"]
    cls = new_class(classes_fn, org.api_key)
    assert landed_on(launch(launch_fn, org, cls["launch_url"])) == ORG_APP


def test_an_owner_sets_class_and_unit_urls_on_new_origins_and_launches_go_there(
    keys_fn, classes_fn, launch_fn, org, stack
):
    patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP})
    cls = new_class(classes_fn, org.api_key)
    plain = landed_on(launch(launch_fn, org, cls["launch_url"]))  # the organisation item is now cached

    patched = patch_class(classes_fn, org.api_key, cls["class_id"], {"app_launch_url": CLASS_APP})
    unit = create_unit(classes_fn, org.api_key, cls["class_id"], {"name": "Waves", "app_launch_url": UNIT_APP})

    assert patched.status == 200, patched.body
    assert unit.status == 201, unit.body
    assert plain == ORG_APP
    # Allowed at once, even by a container holding the organisation from before (a fresh read on refusal).
    assert landed_on(launch(launch_fn, org, cls["launch_url"])) == CLASS_APP
    assert landed_on(launch(launch_fn, org, unit.body["launch_url"])) == UNIT_APP
    assert get_org(keys_fn, org.api_key).body["app_origins"] == [
        "https://app.example.com",
        "https://class-app.example.org",
        "https://unit-app.example.net",
    ]


def test_an_owner_creating_a_class_with_a_url_allows_it_on_an_organisation_without_one(
    keys_fn, classes_fn, launch_fn, org
):
    cls = new_class(classes_fn, org.api_key, app_launch_url=CLASS_APP)

    assert landed_on(launch(launch_fn, org, cls["launch_url"])) == CLASS_APP
    assert get_org(keys_fn, org.api_key).body["app_origins"] == ["https://class-app.example.org"]


# -- members use allowed origins only ---------------------------------------------------------------


def test_a_member_on_an_origin_nobody_allowed_is_refused_and_nothing_is_stored(keys_fn, classes_fn, org, stack):
    patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP})
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org.api_key)
    unit = create_unit(classes_fn, org.api_key, cls["class_id"], {"name": "Waves"}).body
    before_classes, before_org = classes_items(stack), org_item(stack, org)

    answers = [
        create_class(classes_fn, member, {"name": "x", "app_launch_url": CLASS_APP}),
        patch_class(classes_fn, member, cls["class_id"], {"app_launch_url": CLASS_APP}),
        create_unit(classes_fn, member, cls["class_id"], {"name": "y", "app_launch_url": CLASS_APP}),
        patch_unit(classes_fn, member, cls["class_id"], unit["unit_id"], {"app_launch_url": CLASS_APP}),
    ]

    for answer in answers:
        assert_origin_refused(answer, "https://class-app.example.org")
        assert answer.body["details"]["allowed_origins"] == ["https://app.example.com"]
    assert classes_items(stack) == before_classes
    assert org_item(stack, org) == before_org
    # Members never change the organisation's settings either.
    refused = patch_org(keys_fn, member, {"app_origins": ["https://class-app.example.org"]})
    assert (refused.status, refused.body["error"]) == (403, "owner_role_required")
    assert org_item(stack, org) == before_org


def test_a_member_on_an_allowed_origin_may_set_it(keys_fn, classes_fn, launch_fn, org):
    patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP, "app_origins": ["https://class-app.example.org"]})
    member = member_key(keys_fn, org)

    on_org_origin = create_class(classes_fn, member, {"name": "a", "app_launch_url": "https://app.example.com/other"})
    on_listed = create_class(classes_fn, member, {"name": "b", "app_launch_url": CLASS_APP})

    assert on_org_origin.status == 201, on_org_origin.body
    assert on_listed.status == 201, on_listed.body
    assert landed_on(launch(launch_fn, org, on_listed.body["launch_url"])) == CLASS_APP


# -- the operator's restriction ---------------------------------------------------------------------


def test_a_non_empty_stack_list_refuses_even_an_owner(keys_fn, classes_fn, org, stack, monkeypatch):
    _restrict(monkeypatch, "https://app.example.com")
    before_org = org_item(stack, org)

    answers = [
        patch_org(keys_fn, org.api_key, {"app_launch_url": CLASS_APP}),
        patch_org(keys_fn, org.api_key, {"app_origins": ["https://class-app.example.org"]}),
        create_class(classes_fn, org.api_key, {"name": "x", "app_launch_url": CLASS_APP}),
    ]

    for answer in answers:
        assert answer.status == 400, answer.body
        assert answer.body["error"] == "app_origin_not_allowed"
        assert answer.body["details"]["allowed_origins"] == ["https://app.example.com"]
        assert "AllowedAppOrigins" in answer.body["details"]["hint"]
    assert org_item(stack, org) == before_org
    assert classes_items(stack) == []
    assert patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP}).status == 200


def test_an_origin_the_operator_removes_refuses_launches_to_it(keys_fn, classes_fn, launch_fn, org, stack, monkeypatch):
    cls = new_class(classes_fn, org.api_key, app_launch_url=CLASS_APP)
    _restrict(monkeypatch, "https://app.example.com")

    assert_refused_page(launch(launch_fn, org, cls["launch_url"]), 400, "app_origin_not_allowed", stack)


def test_a_star_is_no_restriction(keys_fn, classes_fn, org, monkeypatch):
    _restrict(monkeypatch, "*")

    assert create_class(classes_fn, org.api_key, {"name": "x", "app_launch_url": CLASS_APP}).status == 201


# -- removing an origin ---------------------------------------------------------------------------


def test_an_origin_an_owner_removes_refuses_launches_to_it(keys_fn, classes_fn, launch_fn, org, stack, monkeypatch):
    monkeypatch.setenv("CONSUMER_KEY_CACHE_SECONDS", "0")  # containers keep the organisation up to 30 s
    config.settings.cache_clear()
    patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP})
    on_class_origin = new_class(classes_fn, org.api_key, app_launch_url=CLASS_APP)
    on_org_default = new_class(classes_fn, org.api_key)
    assert landed_on(launch(launch_fn, org, on_class_origin["launch_url"])) == CLASS_APP

    answer = patch_org(keys_fn, org.api_key, {"app_origins": []})

    assert answer.status == 200, answer.body
    # The origin of the organisation's own app launch URL stays allowed while that URL is set.
    assert answer.body["app_origins"] == ["https://app.example.com"]
    assert org_item(stack, org)["app_origins"] == []
    assert_refused_page(launch(launch_fn, org, on_class_origin["launch_url"]), 400, "app_origin_not_allowed", stack, 1)
    assert landed_on(launch(launch_fn, org, on_org_default["launch_url"])) == ORG_APP
    # Allowed again by an owner setting a URL there.
    assert (
        patch_class(classes_fn, org.api_key, on_class_origin["class_id"], {"app_launch_url": CLASS_APP}).status == 200
    )
    assert landed_on(launch(launch_fn, org, on_class_origin["launch_url"])) == CLASS_APP


def test_another_organisations_origins_never_count(keys_fn, classes_fn, launch_fn, org, make_org, stack):
    other = make_org("Other University")
    assert patch_org(keys_fn, other.api_key, {"app_origins": ["https://class-app.example.org"]}).status == 200
    patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP})
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org.api_key)
    before = classes_items(stack)

    assert_origin_refused(
        patch_class(classes_fn, member, cls["class_id"], {"app_launch_url": CLASS_APP}), "class-app.example.org"
    )
    assert classes_items(stack) == before
    # A URL on the other organisation's origin stored on this organisation's class (as if written around
    # the API) is refused at launch: only this organisation's list counts.
    table = boto3.resource("dynamodb").Table(stack["CLASSES_TABLE"])
    table.update_item(
        Key={"pk": class_pk(cls["class_id"]), "sk": META},
        UpdateExpression="SET app_launch_url = :u",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":u": CLASS_APP},
    )
    assert_refused_page(launch(launch_fn, org, cls["launch_url"]), 400, "app_origin_not_allowed", stack)
    assert get_org(keys_fn, org.api_key).body["app_origins"] == ["https://app.example.com"]


# -- organisations stored before app_origins existed ------------------------------------------------


def test_an_organisation_from_before_keeps_what_the_stack_list_allowed(
    keys_fn, classes_fn, launch_fn, org, stack, monkeypatch
):
    _restrict(monkeypatch, "https://app.example.com,https://class-app.example.org")
    cls = new_class(classes_fn, org.api_key, app_launch_url=CLASS_APP)
    keys = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    keys.update_item(Key={"pk": org_pk(org.org_id), "sk": META}, UpdateExpression="REMOVE app_origins")
    member = member_key(keys_fn, org)

    assert landed_on(launch(launch_fn, org, cls["launch_url"])) == CLASS_APP
    assert create_class(classes_fn, member, {"name": "m", "app_launch_url": CLASS_APP}).status == 201
    # An owner allowing another origin starts the list from the origins its URLs use: nothing stops.
    assert patch_org(keys_fn, org.api_key, {"app_launch_url": ORG_APP}).status == 200
    assert org_item(stack, org)["app_origins"] == ["https://class-app.example.org", "https://app.example.com"]
    assert landed_on(launch(launch_fn, org, cls["launch_url"])) == CLASS_APP


# -- app_origins given explicitly -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.com",
        ["https://app.example.com/path"],
        ["http://app.example.com"],
        ["https://u:p@app.example.com"],
        ["https://app.example.com?x=1"],
        ["https://app.example.com#x"],
        ["app.example.com"],
        [7],
        ["https://app.example.com"] * 51,
        ["https://app.example.com:0"],
        ["https://*.example.com"],
        ["https://app_x.example.com"],
    ],
)
def test_bad_app_origins_are_refused(keys_fn, org, stack, value):
    before = org_item(stack, org)

    answer = patch_org(keys_fn, org.api_key, {"app_origins": value})

    assert (answer.status, answer.body["error"]) == (400, "validation_failed"), answer.body
    assert "app_origins" in answer.body["details"]
    assert org_item(stack, org) == before


def test_app_origins_are_normalised(keys_fn, org):
    answer = patch_org(
        keys_fn,
        org.api_key,
        {"app_origins": ["https://APP.example.com:443/", "http://localhost:5173", " https://b.example "]},
    )

    assert answer.status == 200, answer.body
    assert answer.body["app_origins"] == ["http://localhost:5173", "https://app.example.com", "https://b.example"]


# -- tool settings ----------------------------------------------------------------------------------


def test_owners_set_and_clear_the_tool_settings(keys_fn, org, stack):
    body = {
        "tool_name": "  Acme Labs  ",
        "tool_description": "Labs for physics.\nWith line breaks.",
        "tool_icon_url": "https://cdn.example.com/icon.png",
    }

    answer = patch_org(keys_fn, org.api_key, body)

    assert answer.status == 200, answer.body
    shown = {name: answer.body[name] for name in body}
    assert shown == {**body, "tool_name": "Acme Labs"}
    assert {name: org_item(stack, org)[name] for name in body} == shown
    assert {name: get_org(keys_fn, org.api_key).body[name] for name in body} == shown

    cleared = patch_org(keys_fn, org.api_key, {"tool_name": None, "tool_icon_url": None})

    assert cleared.status == 200
    assert (cleared.body["tool_name"], cleared.body["tool_icon_url"]) == (None, None)
    assert cleared.body["tool_description"] == body["tool_description"]
    assert "tool_name" not in org_item(stack, org) and "tool_icon_url" not in org_item(stack, org)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tool_name", ""),
        ("tool_name", "   "),
        ("tool_name", "x" * 101),
        ("tool_name", "Acme\nLabs"),
        ("tool_name", "Acme\x85Labs"),
        ("tool_name", 7),
        ("tool_description", "x" * 1001),
        ("tool_description", "bell\x07"),
        ("tool_description", ["x"]),
        ("tool_icon_url", "http://cdn.example.com/icon.png"),
        ("tool_icon_url", "https://127.0.0.1/icon.png"),
        ("tool_icon_url", "https://10.0.0.1/icon.png"),
        ("tool_icon_url", "https://localhost/icon.png"),
        ("tool_icon_url", "https://u:p@cdn.example.com/icon.png"),
        ("tool_icon_url", "https://cdn.example.com/" + "x" * 2048),
        ("tool_icon_url", "javascript:alert(1)"),
        ("tool_icon_url", "/icon.png"),
    ],
)
def test_bad_tool_settings_are_refused_and_nothing_changes(keys_fn, org, stack, field, value):
    before = org_item(stack, org)

    answer = patch_org(keys_fn, org.api_key, {"tool_description": "fine", field: value})

    assert answer.status == 400, answer.body
    assert field in answer.body["details"]
    assert org_item(stack, org) == before


def test_members_cannot_change_tool_settings(keys_fn, org, stack):
    member = member_key(keys_fn, org)
    before = org_item(stack, org)

    answer = patch_org(keys_fn, member, {"tool_name": "Mine"})

    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")
    assert org_item(stack, org) == before
