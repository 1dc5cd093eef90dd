"""The classes function end to end on moto: classes, units, launch URLs, the public open link, and the
organisation's default app launch URL (PATCH /api/org on the keys function)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from lti_gateway.admin import classes
from lti_gateway.core import config
from lti_gateway.core.errors import Conflict, NotFound
from lti_gateway.repositories import deps
from tests.support.events import vary

ALLOWED = "https://app.example.com,http://127.0.0.1:8000"
API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"  # requestContext.domainName of events/*.json
APP_URL = "https://app.example.com/lti/launch"


@pytest.fixture(autouse=True)
def _settings(stack, monkeypatch):
    """Allowed app origins as an operator would set them; no PUBLIC_BASE_URL unless a test sets it."""
    monkeypatch.setenv("ALLOWED_APP_ORIGINS", ALLOWED)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def _set_env(monkeypatch, **env: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()


# -- helpers ----------------------------------------------------------------------------------------


def create_class(classes_fn, org, body=None, *, api_key=None, **kw):
    body = {"name": "CS101"} if body is None else body
    return classes_fn(vary("classes-create.json", api_key=api_key or org.api_key, body=body, **kw))


def new_class(classes_fn, org, **fields) -> dict:
    if fields.get("class_lms_url"):  # the owner vouches for its origin: no launch came from it (issue 13 #10)
        fields.setdefault("class_lms_url_confirmed", True)
    answer = create_class(classes_fn, org, {"name": "CS101", **fields})
    assert answer.status == 201, answer.body
    return answer.body


def get_class(classes_fn, org, class_id, *, api_key=None):
    return classes_fn(vary("classes-get.json", api_key=api_key or org.api_key, path_params={"class_id": class_id}))


def patch_class(classes_fn, org, class_id, body, *, api_key=None, **kw):
    return classes_fn(
        vary("classes-update.json", api_key=api_key or org.api_key, path_params={"class_id": class_id}, body=body, **kw)
    )


def create_unit(classes_fn, org, class_id, body=None, *, api_key=None, **kw):
    body = {"name": "Unit"} if body is None else body
    return classes_fn(
        vary("units-create.json", api_key=api_key or org.api_key, path_params={"class_id": class_id}, body=body, **kw)
    )


def new_units(classes_fn, org, class_id, count) -> list[dict]:
    units = []
    for i in range(count):
        answer = create_unit(classes_fn, org, class_id, {"name": f"Unit {i}"})
        assert answer.status == 201, answer.body
        units.append(answer.body)
    return units


def unit_path(class_id, unit_id):
    return {"class_id": class_id, "unit_id": unit_id}


def list_units(classes_fn, org, class_id, query=None, *, api_key=None):
    return classes_fn(
        vary(
            "units-list.json",
            api_key=api_key or org.api_key,
            path_params={"class_id": class_id},
            query=query if query is not None else {},
        )
    )


def reorder(classes_fn, org, class_id, body, *, api_key=None):
    return classes_fn(
        vary("units-reorder.json", api_key=api_key or org.api_key, path_params={"class_id": class_id}, body=body)
    )


def open_class(classes_fn, class_id):
    return classes_fn(vary("classes-open.json", path_params={"class_id": class_id}))


def stored(stack) -> list[dict]:
    return boto3.resource("dynamodb").Table(stack["CLASSES_TABLE"]).scan()["Items"]


def stored_of(stack, kind) -> list[dict]:
    return sorted((i for i in stored(stack) if i.get("kind") == kind), key=lambda i: i["sk"])


def unit_order(classes_fn, org, class_id) -> list[str]:
    return [u["unit_id"] for u in list_units(classes_fn, org, class_id).body["units"]]


def member_key(keys_fn, org) -> str:
    answer = keys_fn(vary("credentials-create.json", api_key=org.api_key))
    assert answer.status == 201 and answer.body["role"] == "member"
    return answer.body["api_key"]


# -- classes: create and read ------------------------------------------------------------------------


def test_create_class_answers_with_its_launch_url_and_stores_it(classes_fn, org, stack):
    answer = classes_fn(vary("classes-create.json", api_key=org.api_key))  # the sample event as is

    assert answer.status == 201
    body = answer.body
    assert re.fullmatch(r"cls_[0-9a-f]{16}", body["class_id"])
    assert body["name"] == "CS101 Introduction to Programming"
    assert body["lti_enabled"] is True
    assert body["class_lms_url"] == "https://canvas.example.edu/courses/4821"
    assert body["app_launch_url"] == APP_URL
    assert body["launch_url"] == f"https://{API_HOST}/lti/launch/{body['class_id']}"
    assert body["lms_context_ids"] == [] and body["version"] == 1
    assert "org_id" not in body and answer.headers["cache-control"] == "no-store"
    [item] = stored_of(stack, "class")
    assert (item["pk"], item["sk"], item["org_id"]) == (f"CLASS#{body['class_id']}", "META", org.org_id)
    assert item["gsi1pk"] == f"ORG#{org.org_id}#CLASSES"
    assert get_class(classes_fn, org, body["class_id"]).body == body


def test_a_class_needs_only_a_name(classes_fn, org):
    body = new_class(classes_fn, org)

    assert (body["lti_enabled"], body["class_lms_url"], body["app_launch_url"]) == (True, None, None)


def test_class_ids_are_distinct(classes_fn, org):
    assert len({new_class(classes_fn, org)["class_id"] for _ in range(5)}) == 5


def test_a_name_of_200_characters_is_accepted(classes_fn, org):
    assert create_class(classes_fn, org, {"name": "n" * 200}).status == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": 42}, "name"),
        ({"name": None}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": "x", "lti_enabled": "yes"}, "lti_enabled"),
        ({"name": "x", "lti_enabled": 1}, "lti_enabled"),
        ({"name": "x", "lti_enabled": None}, "lti_enabled"),
        ({"name": "x", "class_lms_url": "ftp://lms.example.edu/course"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "/courses/12"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "lms.example.edu/courses/12"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "javascript:alert(1)"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "https://user:pw@lms.example.edu/"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "https://lms.example.edu/" + "c" * 2030}, "class_lms_url"),
        ({"name": "x", "class_lms_url": "https://lms.example.edu/a b"}, "class_lms_url"),
        ({"name": "x", "class_lms_url": 12}, "class_lms_url"),
        ({"name": "x", "colour": "blue"}, "colour"),
        ({"name": "x", "class_id": "cls_0123456789abcdef"}, "class_id"),
        ({"name": "x", "lms_context_ids": ["c1"]}, "lms_context_ids"),
    ],
)
def test_invalid_classes_are_refused_and_store_nothing(classes_fn, org, stack, body, field):
    answer = create_class(classes_fn, org, body)

    assert (answer.status, answer.body["error"]) == (400, "validation_failed")
    assert field in answer.body["details"]
    assert stored(stack) == []


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "error"),
    [
        ("{not json", "application/json", 400, "invalid_json"),
        ("[1, 2]", "application/json", 400, "invalid_json"),
        ('{"name": "x"}', "text/plain", 415, "unsupported_media_type"),
        ('{"name": "' + "x" * 20_000 + '"}', "application/json", 413, "body_too_large"),
    ],
)
def test_malformed_bodies_are_refused_and_store_nothing(classes_fn, org, stack, raw, content_type, status, error):
    answer = create_class(classes_fn, org, raw_body=raw, headers={"content-type": content_type})

    assert (answer.status, answer.body["error"]) == (status, error)
    assert stored(stack) == []


@pytest.mark.parametrize(
    ("authorization", "error"),
    [(None, "missing_credentials"), ("Bearer ak_0123456789abcdef.wrong", "invalid_api_key")],
)
def test_the_api_needs_an_api_key(classes_fn, org, stack, authorization, error):
    existing = new_class(classes_fn, org)["class_id"]
    events = [
        vary("classes-create.json", body={"name": "x"}, headers={"authorization": authorization}),
        vary("classes-list.json", headers={"authorization": authorization}),
        vary("classes-get.json", path_params={"class_id": existing}, headers={"authorization": authorization}),
        vary("units-create.json", path_params={"class_id": existing}, headers={"authorization": authorization}),
    ]
    for event in events:
        answer = classes_fn(event)
        assert (answer.status, answer.body["error"]) == (401, error), event["routeKey"]
    assert len(stored(stack)) == 1


@pytest.mark.parametrize("class_id", ["cls_0123456789abcdef", "cls_XYZ", "not-a-class", "cls_0123456789abcdef0"])
def test_unknown_or_malformed_class_ids_are_not_found(classes_fn, org, class_id):
    answer = get_class(classes_fn, org, class_id)
    assert (answer.status, answer.body["error"]) == (404, "not_found")


# -- launch URLs ------------------------------------------------------------------------------------


def test_launch_urls_use_the_public_base_url_when_set(classes_fn, org, monkeypatch):
    _set_env(monkeypatch, PUBLIC_BASE_URL="https://lti.example.edu/")
    cls = new_class(classes_fn, org)
    unit = create_unit(classes_fn, org, cls["class_id"]).body

    assert cls["launch_url"] == f"https://lti.example.edu/lti/launch/{cls['class_id']}"
    assert unit["launch_url"] == f"https://lti.example.edu/lti/launch/{cls['class_id']}/{unit['unit_id']}"
    listed = classes_fn(vary("classes-list.json", api_key=org.api_key, query={})).body["classes"]
    assert listed[0]["launch_url"] == cls["launch_url"]
    assert list_units(classes_fn, org, cls["class_id"]).body["units"][0]["launch_url"] == unit["launch_url"]


def test_launch_urls_follow_the_api_host_without_a_public_base_url(classes_fn, org):
    event = vary("classes-create.json", api_key=org.api_key, body={"name": "x"})
    event["requestContext"]["domainName"] = "lti.custom-domain.example"

    cls = classes_fn(event).body
    unit = create_unit(classes_fn, org, cls["class_id"]).body

    assert cls["launch_url"] == f"https://lti.custom-domain.example/lti/launch/{cls['class_id']}"
    assert unit["launch_url"] == f"https://{API_HOST}/lti/launch/{cls['class_id']}/{unit['unit_id']}"


# -- app launch URLs (no open redirect) -------------------------------------------------------------


GOOD_APP_URLS = [
    "https://app.example.com/lti/launch",
    "https://APP.example.com:443/launch?tenant=7",
    "http://127.0.0.1:8000/launch",
]
BAD_APP_URLS = [
    ("https://evil.example.net/launch", "app_origin_not_allowed"),
    ("https://app.example.com.evil.example.net/launch", "app_origin_not_allowed"),
    ("https://app.example.com:8443/launch", "app_origin_not_allowed"),
    ("http://127.0.0.1:9999/launch", "app_origin_not_allowed"),
    ("javascript:alert(document.cookie)", "validation_failed"),
    ("data:text/html,<script>alert(1)</script>", "validation_failed"),
    ("//app.example.com/launch", "validation_failed"),
    ("http://app.example.com/launch", "validation_failed"),
    ("https://app.example.com/launch#fragment", "validation_failed"),
    ("https://app.example.com/launch#", "validation_failed"),
    ("https://user:pass@app.example.com/launch", "validation_failed"),
    ("https://app.example.com@evil.example.net/launch", "validation_failed"),
    ("https://app.example.com/" + "p" * 2048, "validation_failed"),
    ("https://app.example.com/\u00e9", "validation_failed"),
    (42, "validation_failed"),
]


@pytest.mark.parametrize("url", GOOD_APP_URLS)
def test_app_launch_urls_of_allowed_origins_are_accepted(classes_fn, org, url):
    cls = create_class(classes_fn, org, {"name": "x", "app_launch_url": url})
    unit = create_unit(classes_fn, org, cls.body["class_id"], {"name": "u", "app_launch_url": url})

    assert cls.status == unit.status == 201
    assert cls.body["app_launch_url"] == unit.body["app_launch_url"] == url


@pytest.mark.parametrize(("url", "error"), BAD_APP_URLS)
def test_bad_app_launch_urls_are_refused_everywhere(classes_fn, keys_fn, org, stack, url, error):
    cls = new_class(classes_fn, org, app_launch_url=APP_URL)
    unit = create_unit(classes_fn, org, cls["class_id"], {"name": "u", "app_launch_url": APP_URL}).body
    before = stored(stack)

    answers = [
        create_class(classes_fn, org, {"name": "y", "app_launch_url": url}),
        patch_class(classes_fn, org, cls["class_id"], {"app_launch_url": url}),
        create_unit(classes_fn, org, cls["class_id"], {"name": "v", "app_launch_url": url}),
        classes_fn(
            vary(
                "units-update.json",
                api_key=org.api_key,
                path_params=unit_path(cls["class_id"], unit["unit_id"]),
                body={"app_launch_url": url},
            )
        ),
        keys_fn(vary("org-update.json", api_key=org.api_key, body={"app_launch_url": url})),
    ]

    for answer in answers:
        assert (answer.status, answer.body["error"]) == (400, error)
        assert "app_launch_url" in answer.body["details"]
        if error == "app_origin_not_allowed":
            assert answer.body["details"]["allowed_origins"] == ["https://app.example.com", "http://127.0.0.1:8000"]
    assert stored(stack) == before
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).body["app_launch_url"] is None


def test_a_star_allows_any_https_origin_but_still_no_http(classes_fn, org, monkeypatch):
    _set_env(monkeypatch, ALLOWED_APP_ORIGINS="*")

    assert create_class(classes_fn, org, {"name": "x", "app_launch_url": "https://any.example.org/l"}).status == 201
    assert create_class(classes_fn, org, {"name": "x", "app_launch_url": "http://any.example.org/l"}).status == 400


def test_no_allowed_origins_on_the_stack_adds_no_restriction(classes_fn, keys_fn, org, monkeypatch, stack):
    """An empty AllowedAppOrigins (the default) is no operator restriction: an owner's URL on any https
    origin is stored, and that allows its origin for the organisation (issue 14 section 3)."""
    _set_env(monkeypatch, ALLOWED_APP_ORIGINS="")

    answer = create_class(classes_fn, org, {"name": "x", "app_launch_url": "https://any.example.org/l"})
    http_elsewhere = create_class(classes_fn, org, {"name": "x", "app_launch_url": "http://any.example.org/l"})

    assert answer.status == 201, answer.body
    assert answer.body["app_launch_url"] == "https://any.example.org/l"
    assert (http_elsewhere.status, http_elsewhere.body["error"]) == (400, "validation_failed")
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).body["app_origins"] == ["https://any.example.org"]


# -- classes: list, update, delete ------------------------------------------------------------------


def test_listing_pages_through_the_organisations_classes(classes_fn, org):
    created = {new_class(classes_fn, org, name=f"Class {i}")["class_id"] for i in range(5)}

    seen, token, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"next": token} if token else {})}
        answer = classes_fn(vary("classes-list.json", api_key=org.api_key, query=query))
        assert answer.status == 200
        seen += answer.body["classes"]
        pages += 1
        token = answer.body["next"]
        if not token:
            break
    assert sorted(c["class_id"] for c in seen) == sorted(created)
    assert pages >= 3
    assert all(c["launch_url"].endswith(c["class_id"]) for c in seen)


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"next": "garbage!!"}])
def test_bad_paging_parameters_are_refused(classes_fn, org, query):
    cls = new_class(classes_fn, org)
    assert classes_fn(vary("classes-list.json", api_key=org.api_key, query=query)).status == 400
    assert list_units(classes_fn, org, cls["class_id"], query).status == 400


def test_page_tokens_are_bound_to_their_listing(classes_fn, make_org):
    first, second = make_org("First"), make_org("Second")
    for _ in range(3):
        new_class(classes_fn, first)
    token = classes_fn(vary("classes-list.json", api_key=first.api_key, query={"limit": "1"})).body["next"]
    cls = new_class(classes_fn, first)
    new_units(classes_fn, first, cls["class_id"], 3)
    unit_token = list_units(classes_fn, first, cls["class_id"], {"limit": "1"}).body["next"]
    other = new_class(classes_fn, first)

    stolen = classes_fn(vary("classes-list.json", api_key=second.api_key, query={"next": token}))
    crossed = list_units(classes_fn, first, other["class_id"], {"next": unit_token})
    as_classes = classes_fn(vary("classes-list.json", api_key=first.api_key, query={"next": unit_token}))

    for answer in (stolen, crossed, as_classes):
        assert (answer.status, answer.body["error"]) == (400, "invalid_page_token")


def test_patch_changes_only_the_fields_sent(classes_fn, org):
    cls = new_class(classes_fn, org, class_lms_url="https://canvas.example.edu/courses/1", app_launch_url=APP_URL)

    answer = patch_class(classes_fn, org, cls["class_id"], {"name": "CS101 (Spring)", "lti_enabled": False})

    assert answer.status == 200
    assert answer.body == {
        **cls,
        "name": "CS101 (Spring)",
        "lti_enabled": False,
        "version": 2,
        "updated_at": answer.body["updated_at"],
    }
    assert get_class(classes_fn, org, cls["class_id"]).body == answer.body


def test_patch_with_null_clears_optional_urls(classes_fn, org, stack):
    cls = new_class(classes_fn, org, class_lms_url="https://canvas.example.edu/courses/1", app_launch_url=APP_URL)

    answer = patch_class(classes_fn, org, cls["class_id"], {"class_lms_url": None, "app_launch_url": None})

    assert answer.status == 200
    assert (answer.body["class_lms_url"], answer.body["app_launch_url"]) == (None, None)
    [item] = stored_of(stack, "class")
    assert "class_lms_url" not in item and "app_launch_url" not in item


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "nothing_to_update"),
        ({"version": 1}, "nothing_to_update"),
        ({"name": None}, "validation_failed"),
        ({"name": ""}, "validation_failed"),
        ({"lti_enabled": None}, "validation_failed"),
        ({"lti_enabled": "false"}, "validation_failed"),
        ({"class_lms_url": "mailto:teacher@example.edu"}, "validation_failed"),
        ({"name": "x", "version": "1"}, "validation_failed"),
        ({"name": "x", "version": 0}, "validation_failed"),
        ({"name": "x", "version": True}, "validation_failed"),
        ({"name": "x", "org_id": "org_0123456789abcdef"}, "validation_failed"),
        ({"lms_context_ids": []}, "validation_failed"),
    ],
)
def test_bad_patches_change_nothing(classes_fn, org, stack, body, error):
    cls = new_class(classes_fn, org)
    before = stored(stack)

    answer = patch_class(classes_fn, org, cls["class_id"], body)

    assert (answer.status, answer.body["error"]) == (400, error)
    assert stored(stack) == before


def test_a_patch_based_on_a_stale_version_is_refused_not_lost(classes_fn, org, stack):
    cls = new_class(classes_fn, org)

    first = patch_class(classes_fn, org, cls["class_id"], {"name": "First edit", "version": 1})
    second = patch_class(classes_fn, org, cls["class_id"], {"lti_enabled": False, "version": 1})

    assert first.status == 200 and first.body["version"] == 2
    assert (second.status, second.body["error"]) == (409, "concurrent_change")
    now = get_class(classes_fn, org, cls["class_id"]).body
    assert (now["name"], now["lti_enabled"], now["version"]) == ("First edit", True, 2)
    third = patch_class(classes_fn, org, cls["class_id"], {"lti_enabled": False, "version": 2})
    assert third.status == 200 and third.body["version"] == 3 and third.body["name"] == "First edit"


def test_a_patch_racing_another_is_retried_on_the_new_version(classes_fn, org, monkeypatch):
    """GIVEN a PATCH that read version 1, WHEN another PATCH lands before it writes, THEN it re-reads
    and applies on version 2: both edits survive."""
    cls = new_class(classes_fn, org)
    repo = deps.classes_repo()
    real_get = repo.get_class
    raced = []

    def get_then_race(class_id, **kw):
        item = real_get(class_id, **kw)
        if not raced:
            raced.append(True)
            repo.update_class(org.org_id, class_id, {"lti_enabled": False}, expected_version=1, at="x")
        return item

    monkeypatch.setattr(repo, "get_class", get_then_race)

    answer = patch_class(classes_fn, org, cls["class_id"], {"name": "Renamed"})

    assert answer.status == 200
    assert (answer.body["name"], answer.body["lti_enabled"], answer.body["version"]) == ("Renamed", False, 3)


def test_parallel_patches_lose_no_update(classes_fn, org):
    cls = new_class(classes_fn, org)
    principal = _principal(org)

    def attempt(i: int) -> str:
        try:
            classes.update_class(principal, cls["class_id"], {"name": f"edit {i}"}, base="https://x")
        except Conflict as conflict:
            return conflict.code
        return "ok"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(20)))

    assert set(outcomes) <= {"ok", "concurrent_change"}
    # every accepted update moved the version exactly once: none overwrote another unseen
    assert get_class(classes_fn, org, cls["class_id"]).body["version"] == 1 + outcomes.count("ok")


def _principal(org):
    from lti_gateway.admin import orgs

    return orgs.Principal(org_id=org.org_id, credential_id=org.credential_id, role="owner")


def test_delete_class_deletes_its_units(classes_fn, org, stack):
    keep = new_class(classes_fn, org, name="Keep")
    keep_units = new_units(classes_fn, org, keep["class_id"], 2)
    gone = new_class(classes_fn, org, name="Gone", class_lms_url="https://canvas.example.edu/courses/9")
    gone_units = new_units(classes_fn, org, gone["class_id"], 30)  # more than one BatchWriteItem

    answer = classes_fn(vary("classes-delete.json", api_key=org.api_key, path_params={"class_id": gone["class_id"]}))

    assert (answer.status, answer.raw) == (204, "")
    assert get_class(classes_fn, org, gone["class_id"]).status == 404
    assert list_units(classes_fn, org, gone["class_id"]).status == 404
    assert open_class(classes_fn, gone["class_id"]).status == 404
    unit = classes_fn(
        vary("units-get.json", api_key=org.api_key, path_params=unit_path(gone["class_id"], gone_units[0]["unit_id"]))
    )
    assert unit.status == 404
    assert {i["pk"] for i in stored(stack)} == {f"CLASS#{keep['class_id']}"}
    assert unit_order(classes_fn, org, keep["class_id"]) == [u["unit_id"] for u in keep_units]
    again = classes_fn(vary("classes-delete.json", api_key=org.api_key, path_params={"class_id": gone["class_id"]}))
    assert again.status == 404


def test_no_unit_can_be_created_under_a_deleted_class(classes_fn, org, stack):
    cls = new_class(classes_fn, org)
    classes_fn(vary("classes-delete.json", api_key=org.api_key, path_params={"class_id": cls["class_id"]}))

    answer = create_unit(classes_fn, org, cls["class_id"])

    assert answer.status == 404
    assert stored(stack) == []


# -- units ------------------------------------------------------------------------------------------


def test_units_are_appended_in_order_with_their_launch_urls(classes_fn, org, stack):
    cls = new_class(classes_fn, org)

    units = new_units(classes_fn, org, cls["class_id"], 3)

    assert [u["position"] for u in units] == [0, 1, 2]
    for unit in units:
        assert re.fullmatch(r"unt_[0-9a-f]{16}", unit["unit_id"])
        assert unit["class_id"] == cls["class_id"] and unit["version"] == 1
        assert unit["launch_url"] == f"https://{API_HOST}/lti/launch/{cls['class_id']}/{unit['unit_id']}"
    assert unit_order(classes_fn, org, cls["class_id"]) == [u["unit_id"] for u in units]
    read = classes_fn(
        vary("units-get.json", api_key=org.api_key, path_params=unit_path(cls["class_id"], units[1]["unit_id"]))
    )
    assert read.status == 200 and read.body == units[1]
    assert {i["sk"] for i in stored_of(stack, "unit")} == {f"UNIT#{u['unit_id']}" for u in units}


def test_an_explicit_position_is_kept_and_appends_go_after_it(classes_fn, org):
    cls = new_class(classes_fn, org)
    a, b = new_units(classes_fn, org, cls["class_id"], 2)

    front = create_unit(classes_fn, org, cls["class_id"], {"name": "Intro", "position": 0}).body
    far = create_unit(classes_fn, org, cls["class_id"], {"name": "Far", "position": 10}).body
    last = create_unit(classes_fn, org, cls["class_id"], {"name": "Last"}).body

    assert (front["position"], far["position"], last["position"]) == (0, 10, 11)
    # ties in position keep creation order
    assert unit_order(classes_fn, org, cls["class_id"]) == [
        a["unit_id"],
        front["unit_id"],
        b["unit_id"],
        far["unit_id"],
        last["unit_id"],
    ]


def test_units_are_listed_in_pages_by_position(classes_fn, org):
    cls = new_class(classes_fn, org)
    units = new_units(classes_fn, org, cls["class_id"], 5)

    seen, token, pages = [], None, 0
    while True:
        answer = list_units(classes_fn, org, cls["class_id"], {"limit": "2", **({"next": token} if token else {})})
        assert answer.status == 200
        seen += answer.body["units"]
        pages += 1
        token = answer.body["next"]
        if not token:
            break
    assert [u["unit_id"] for u in seen] == [u["unit_id"] for u in units]
    assert pages == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": "u", "position": -1}, "position"),
        ({"name": "u", "position": 1_000_001}, "position"),
        ({"name": "u", "position": "1"}, "position"),
        ({"name": "u", "position": 1.5}, "position"),
        ({"name": "u", "position": True}, "position"),
        ({"name": "u", "unit_id": "unt_0123456789abcdef"}, "unit_id"),
        ({"name": "u", "launch_url": "https://x"}, "launch_url"),
    ],
)
def test_invalid_units_are_refused_and_store_nothing(classes_fn, org, stack, body, field):
    cls = new_class(classes_fn, org)
    before = stored(stack)

    answer = create_unit(classes_fn, org, cls["class_id"], body)

    assert (answer.status, answer.body["error"]) == (400, "validation_failed")
    assert field in answer.body["details"]
    assert stored(stack) == before


def test_unit_patch_and_delete(classes_fn, org, stack):
    cls = new_class(classes_fn, org)
    a, b, c = new_units(classes_fn, org, cls["class_id"], 3)
    path = unit_path(cls["class_id"], a["unit_id"])

    renamed = classes_fn(vary("units-update.json", api_key=org.api_key, path_params=path, body={"name": "Renamed"}))
    moved = classes_fn(vary("units-update.json", api_key=org.api_key, path_params=path, body={"position": 5}))
    stale = classes_fn(
        vary("units-update.json", api_key=org.api_key, path_params=path, body={"name": "Stale", "version": 1})
    )
    deleted = classes_fn(
        vary("units-delete.json", api_key=org.api_key, path_params=unit_path(cls["class_id"], b["unit_id"]))
    )

    assert renamed.status == 200 and renamed.body["name"] == "Renamed" and renamed.body["version"] == 2
    assert moved.status == 200 and (moved.body["position"], moved.body["name"], moved.body["version"]) == (
        5,
        "Renamed",
        3,
    )
    assert (stale.status, stale.body["error"]) == (409, "concurrent_change")
    assert (deleted.status, deleted.raw) == (204, "")
    assert unit_order(classes_fn, org, cls["class_id"]) == [c["unit_id"], a["unit_id"]]
    assert create_unit(classes_fn, org, cls["class_id"]).body["position"] == 6
    gone = classes_fn(vary("units-get.json", api_key=org.api_key, path_params=unit_path(cls["class_id"], b["unit_id"])))
    assert gone.status == 404
    again = classes_fn(
        vary("units-delete.json", api_key=org.api_key, path_params=unit_path(cls["class_id"], b["unit_id"]))
    )
    assert again.status == 404


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": None},
        {"position": None},
        {"position": -3},
        {"class_id": "cls_0123456789abcdef"},
        {"name": "x", "version": "2"},
    ],
)
def test_bad_unit_patches_change_nothing(classes_fn, org, stack, body):
    cls = new_class(classes_fn, org)
    [unit] = new_units(classes_fn, org, cls["class_id"], 1)
    before = stored(stack)

    answer = classes_fn(
        vary(
            "units-update.json", api_key=org.api_key, path_params=unit_path(cls["class_id"], unit["unit_id"]), body=body
        )
    )

    assert answer.status == 400
    assert stored(stack) == before


def test_parallel_appends_never_conflict_and_take_distinct_positions(classes_fn, org, stack):
    """GIVEN 8 clients appending to one class at once (the domain call: a handler module serves one
    request at a time), THEN every append is created (no 409: each reserves its position atomically),
    positions are 0..n-1 each once, listed in that order."""
    cls = new_class(classes_fn, org)
    principal = _principal(org)

    def attempt(i: int):
        return classes.create_unit(principal, cls["class_id"], {"name": f"U{i}"}, base="https://x")

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(attempt, range(40)))  # a Conflict would raise here

    assert sorted(u["position"] for u in created) == list(range(40))
    units = list_units(classes_fn, org, cls["class_id"], {"limit": "100"}).body["units"]
    assert [u["position"] for u in units] == list(range(40))
    assert len({i["seq"] for i in stored_of(stack, "unit")}) == 40  # creation order: unique too


def test_edits_of_different_units_never_conflict_with_each_other_or_with_appends(classes_fn, org):
    """Renames and moves of different units, and appends, all at once: none is a 409."""
    cls = new_class(classes_fn, org)
    units = new_units(classes_fn, org, cls["class_id"], 8)
    principal = _principal(org)

    def edit(i: int):
        if i % 3 == 0:
            return classes.create_unit(principal, cls["class_id"], {"name": f"New {i}"}, base="https://x")
        body = {"name": f"Renamed {i}"} if i % 3 == 1 else {"position": 100 + i}
        return classes.update_unit(principal, cls["class_id"], units[i % 8]["unit_id"], body, base="https://x")

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(edit, range(24)))  # a Conflict would raise here

    positions = [u["position"] for u in list_units(classes_fn, org, cls["class_id"], {"limit": "100"}).body["units"]]
    assert positions == sorted(positions) and len(positions) == 16
    appended = [a["position"] for i, a in enumerate(answers) if i % 3 == 0]
    assert len(set(appended)) == len(appended)


def _unit_edited_after_the_first_read(classes_fn, org, monkeypatch, body: dict) -> tuple[dict, list]:
    """A new unit whose first read (the request under test's) is followed at once by another edit with
    ``body`` through the domain (a handler module serves one request at a time): ``(path, raced)``,
    ``raced[1]`` that edit's answer."""
    cls = new_class(classes_fn, org)
    [unit] = new_units(classes_fn, org, cls["class_id"], 1)
    repo = deps.classes_repo()
    real_get_unit = repo.get_unit
    raced: list = []

    def read_then_race(class_id, unit_id, **kw):
        item = real_get_unit(class_id, unit_id, **kw)
        if not raced:
            raced.append(True)
            raced.append(classes.update_unit(_principal(org), class_id, unit_id, body, base="https://x"))
        return item

    monkeypatch.setattr(repo, "get_unit", read_then_race)
    return unit_path(cls["class_id"], unit["unit_id"]), raced


def test_two_edits_of_the_same_unit_at_one_version_one_is_refused(classes_fn, org, monkeypatch):
    """GIVEN two PATCHes of one unit, both sent with the version they read (1), WHEN the second lands
    while the first is between its read and its write, THEN the first is a 409 and the second's edit
    stands (nothing lost silently)."""
    path, raced = _unit_edited_after_the_first_read(classes_fn, org, monkeypatch, {"name": "B", "version": 1})

    first = classes_fn(
        vary("units-update.json", api_key=org.api_key, path_params=path, body={"name": "A", "version": 1})
    )

    assert raced[1]["version"] == 2
    assert (first.status, first.body["error"]) == (409, "concurrent_change")
    monkeypatch.undo()
    now = classes_fn(vary("units-get.json", api_key=org.api_key, path_params=path)).body
    assert (now["name"], now["version"]) == ("B", 2)


def test_an_edit_without_a_version_racing_another_is_retried_and_both_stand(classes_fn, org, monkeypatch):
    path, raced = _unit_edited_after_the_first_read(classes_fn, org, monkeypatch, {"position": 7})

    renamed = classes_fn(vary("units-update.json", api_key=org.api_key, path_params=path, body={"name": "Renamed"}))

    assert raced[1]["position"] == 7
    assert renamed.status == 200, renamed.body
    assert (renamed.body["name"], renamed.body["position"], renamed.body["version"]) == ("Renamed", 7, 3)


def test_a_unit_written_while_its_class_is_deleted_is_removed_again(classes_fn, org, stack, monkeypatch):
    """GIVEN an append that reserved its position, WHEN the class is deleted (its units swept) before the
    unit is written, THEN the creator sees the class gone after writing: it deletes the unit and answers
    404, so no unit outlives its class."""
    cls = new_class(classes_fn, org)
    repo = deps.classes_repo()
    real_reserve = repo.reserve_unit

    def reserve_then_delete(org_id, class_id, position):
        reserved = real_reserve(org_id, class_id, position)
        classes_fn(vary("classes-delete.json", api_key=org.api_key, path_params={"class_id": class_id}))
        return reserved

    monkeypatch.setattr(repo, "reserve_unit", reserve_then_delete)

    answer = create_unit(classes_fn, org, cls["class_id"])

    assert (answer.status, answer.body["error"]) == (404, "not_found")
    assert stored(stack) == []


def test_an_append_to_another_organisations_class_reserves_nothing(classes_fn, make_org, stack):
    first, second = make_org("First"), make_org("Second")
    cls = new_class(classes_fn, first)
    before = stored(stack)

    answer = create_unit(classes_fn, second, cls["class_id"])

    assert (answer.status, answer.body["error"]) == (404, "not_found")
    assert stored(stack) == before  # next_position and units_version untouched


# -- reorder ----------------------------------------------------------------------------------------


def test_reorder_writes_new_positions(classes_fn, org):
    cls = new_class(classes_fn, org)
    ids = [u["unit_id"] for u in new_units(classes_fn, org, cls["class_id"], 4)]
    wanted = [ids[2], ids[0], ids[3], ids[1]]

    answer = reorder(classes_fn, org, cls["class_id"], {"unit_ids": wanted})

    assert answer.status == 200
    assert [(u["unit_id"], u["position"]) for u in answer.body["units"]] == list(zip(wanted, range(4), strict=True))
    assert unit_order(classes_fn, org, cls["class_id"]) == wanted
    assert create_unit(classes_fn, org, cls["class_id"]).body["position"] == 4


def test_reorder_to_the_same_order_is_fine(classes_fn, org):
    cls = new_class(classes_fn, org)
    ids = [u["unit_id"] for u in new_units(classes_fn, org, cls["class_id"], 3)]

    assert reorder(classes_fn, org, cls["class_id"], {"unit_ids": ids}).status == 200
    assert unit_order(classes_fn, org, cls["class_id"]) == ids


@pytest.mark.parametrize(
    ("make_body", "error"),
    [
        (lambda ids: {"unit_ids": ids[:-1]}, "unit_ids_mismatch"),
        (lambda ids: {"unit_ids": [*ids, "unt_0123456789abcdef"]}, "unit_ids_mismatch"),
        (lambda ids: {"unit_ids": [*ids[:-1], "unt_0123456789abcdef"]}, "unit_ids_mismatch"),
        (lambda ids: {"unit_ids": [*ids, ids[0]]}, "validation_failed"),
        (lambda ids: {"unit_ids": [ids[0], ids[0], ids[1]]}, "validation_failed"),
        (lambda ids: {"unit_ids": ",".join(ids)}, "validation_failed"),
        (lambda ids: {"unit_ids": [1, 2, 3]}, "validation_failed"),
        (lambda ids: {}, "validation_failed"),
        (lambda ids: {"unit_ids": ids, "extra": 1}, "validation_failed"),
    ],
)
def test_reorder_needs_exactly_the_classes_units(classes_fn, org, stack, make_body, error):
    cls = new_class(classes_fn, org)
    ids = [u["unit_id"] for u in new_units(classes_fn, org, cls["class_id"], 3)]
    before = stored(stack)

    answer = reorder(classes_fn, org, cls["class_id"], make_body(ids[::-1]))

    assert (answer.status, answer.body["error"]) == (400, error)
    assert stored(stack) == before


def test_reorder_with_another_classes_unit_is_refused(classes_fn, org, stack):
    one, two = new_class(classes_fn, org), new_class(classes_fn, org)
    ids = [u["unit_id"] for u in new_units(classes_fn, org, one["class_id"], 2)]
    foreign = new_units(classes_fn, org, two["class_id"], 1)[0]["unit_id"]
    before = stored(stack)

    answer = reorder(classes_fn, org, one["class_id"], {"unit_ids": [ids[1], foreign]})

    assert answer.status == 400 and answer.body["details"]["unknown"] == [foreign]
    assert answer.body["details"]["missing"] == [ids[0]]
    assert stored(stack) == before


def test_a_reorder_never_misses_a_unit_created_meanwhile(classes_fn, org, monkeypatch):
    """GIVEN a reorder that read two units, WHEN a third is created before it writes, THEN its
    transaction fails (the class's units moved), the retry sees the new unit, and the client is told."""
    cls = new_class(classes_fn, org)
    ids = [u["unit_id"] for u in new_units(classes_fn, org, cls["class_id"], 2)]
    repo = deps.classes_repo()
    real_all_units = repo.all_units
    late = []

    def all_units_then_create(class_id):
        units = real_all_units(class_id)
        if not late:
            late.append(classes.create_unit(_principal(org), class_id, {"name": "late"}, base="https://x"))
        return units

    monkeypatch.setattr(repo, "all_units", all_units_then_create)

    answer = reorder(classes_fn, org, cls["class_id"], {"unit_ids": ids[::-1]})

    assert (answer.status, answer.body["error"]) == (400, "unit_ids_mismatch")
    assert answer.body["details"]["missing"] == [late[0]["unit_id"]]
    monkeypatch.undo()
    assert unit_order(classes_fn, org, cls["class_id"]) == [*ids, late[0]["unit_id"]]


# -- isolation and roles ----------------------------------------------------------------------------


def test_organisations_never_see_or_touch_each_others_classes(classes_fn, make_org, stack):
    first, second = make_org("First"), make_org("Second")
    cls = new_class(classes_fn, first, class_lms_url="https://canvas.example.edu/courses/1")
    units = new_units(classes_fn, first, cls["class_id"], 2)
    before = stored(stack)
    key = second.api_key
    cpath = {"class_id": cls["class_id"]}
    upath = unit_path(cls["class_id"], units[0]["unit_id"])

    attempts = [
        vary("classes-get.json", api_key=key, path_params=cpath),
        vary("classes-update.json", api_key=key, path_params=cpath, body={"name": "mine"}),
        vary("classes-update.json", api_key=key, path_params=cpath, body={"name": "mine", "version": 1}),
        vary("classes-delete.json", api_key=key, path_params=cpath),
        vary("units-create.json", api_key=key, path_params=cpath, body={"name": "x"}),
        vary("units-list.json", api_key=key, path_params=cpath, query={}),
        vary("units-reorder.json", api_key=key, path_params=cpath, body={"unit_ids": [u["unit_id"] for u in units]}),
        vary("units-get.json", api_key=key, path_params=upath),
        vary("units-update.json", api_key=key, path_params=upath, body={"name": "mine"}),
        vary("units-update.json", api_key=key, path_params=upath, body={"name": "mine", "version": 1}),
        vary("units-delete.json", api_key=key, path_params=upath),
    ]
    for event in attempts:
        answer = classes_fn(event)
        assert (answer.status, answer.body["error"]) == (404, "not_found"), event["routeKey"]
        assert cls["name"] not in answer.raw
    assert classes_fn(vary("classes-list.json", api_key=key, query={})).body["classes"] == []
    assert stored(stack) == before
    with pytest.raises(NotFound):
        deps.classes_repo().record_context(second.org_id, cls["class_id"], "ctx", "key", "now")
    assert stored(stack) == before


def test_members_manage_classes_too(classes_fn, keys_fn, org):
    member = member_key(keys_fn, org)

    cls = create_class(classes_fn, org, {"name": "By a member"}, api_key=member)
    assert cls.status == 201
    cid = cls.body["class_id"]
    unit = create_unit(classes_fn, org, cid, {"name": "u"}, api_key=member)
    assert unit.status == 201
    assert patch_class(classes_fn, org, cid, {"name": "Renamed"}, api_key=member).status == 200
    assert reorder(classes_fn, org, cid, {"unit_ids": [unit.body["unit_id"]]}, api_key=member).status == 200
    assert get_class(classes_fn, org, cid).body["name"] == "Renamed"  # the owner sees it
    assert classes_fn(vary("classes-delete.json", api_key=member, path_params={"class_id": cid})).status == 204


# -- the public "send students back" page -----------------------------------------------------------


def _is_html_page(answer, status):
    assert answer.status == status
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.raw.startswith("<!doctype html>")
    assert "{" not in answer.raw  # never JSON


def test_open_redirects_to_the_class_lms_url(classes_fn, org):
    cls = new_class(classes_fn, org, class_lms_url="https://canvas.example.edu/courses/4821?x=1&y=2")

    answer = open_class(classes_fn, cls["class_id"])

    assert answer.status == 302
    assert answer.headers["location"] == "https://canvas.example.edu/courses/4821?x=1&y=2"
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"lti_enabled": False, "class_lms_url": "https://canvas.example.edu/c/1"}, 409, "LTI is not enabled"),
        ({}, 409, "No Class LMS URL"),
    ],
)
def test_open_explains_why_it_cannot_redirect(classes_fn, org, fields, status, says):
    cls = new_class(classes_fn, org, name="Secret Course Name", **fields)

    answer = open_class(classes_fn, cls["class_id"])

    _is_html_page(answer, status)
    assert says in answer.raw
    for leak in ("Secret Course Name", org.org_id, "canvas.example.edu"):
        assert leak not in answer.raw
    assert "location" not in answer.headers


@pytest.mark.parametrize("class_id", ["cls_0123456789abcdef", "nope", "cls_<script>"])
def test_open_an_unknown_class_is_an_html_404(classes_fn, org, class_id):
    answer = open_class(classes_fn, class_id)

    _is_html_page(answer, 404)
    assert "<script>" not in answer.raw


def test_open_needs_no_credential_and_ignores_one(classes_fn, org):
    cls = new_class(classes_fn, org, class_lms_url="https://canvas.example.edu/courses/1")
    event = vary("classes-open.json", path_params={"class_id": cls["class_id"]}, headers={"authorization": "junk"})

    assert classes_fn(event).status == 302


# -- for the launch function ------------------------------------------------------------------------


def test_get_for_launch_finds_class_and_unit(classes_fn, org):
    cls = new_class(classes_fn, org, app_launch_url=APP_URL)
    [unit] = new_units(classes_fn, org, cls["class_id"], 1)

    class_item, none = classes.get_for_launch(cls["class_id"])
    class_again, unit_item = classes.get_for_launch(cls["class_id"], unit["unit_id"])

    assert none is None
    assert class_item["org_id"] == class_again["org_id"] == org.org_id
    assert class_item["app_launch_url"] == APP_URL and class_item["lti_enabled"] is True
    assert unit_item["unit_id"] == unit["unit_id"] and unit_item["class_id"] == cls["class_id"]


@pytest.mark.parametrize(
    "ids",
    [
        ("cls_0123456789abcdef", None),
        ("bad", None),
        ("EXISTING", "unt_0123456789abcdef"),
        ("EXISTING", "unt_bad"),
        ("cls_0123456789abcdef", "unt_0123456789abcdef"),
    ],
)
def test_get_for_launch_raises_not_found(classes_fn, org, ids):
    existing = new_class(classes_fn, org)["class_id"]
    class_id, unit_id = ids
    with pytest.raises(NotFound):
        classes.get_for_launch(existing if class_id == "EXISTING" else class_id, unit_id)


def test_record_context_is_idempotent_and_keeps_course_copies_alongside(classes_fn, org, stack):
    cls = new_class(classes_fn, org)
    repo = deps.classes_repo()
    version_before = get_class(classes_fn, org, cls["class_id"]).body["version"]

    repo.record_context(org.org_id, cls["class_id"], "canvas-course-4821", "canvas-key-2026", "2026-11-25T08:00:00Z")
    repo.record_context(org.org_id, cls["class_id"], "canvas-course-4821", "canvas-key-2026", "2026-11-26T08:00:00Z")
    repo.record_context(org.org_id, cls["class_id"], "canvas-course-9001", "canvas-key-2026", "2026-12-01T08:00:00Z")

    body = get_class(classes_fn, org, cls["class_id"]).body
    assert body["lms_context_ids"] == ["canvas-course-4821", "canvas-course-9001"]
    assert body["lms_contexts"] == [
        {"context_id": "canvas-course-4821", "source": "canvas-key-2026", "first_seen_at": "2026-11-25T08:00:00Z"},
        {"context_id": "canvas-course-9001", "source": "canvas-key-2026", "first_seen_at": "2026-12-01T08:00:00Z"},
    ]
    assert body["version"] == version_before  # a launch never makes a teacher's PATCH fail
    assert patch_class(classes_fn, org, cls["class_id"], {"name": "x", "version": version_before}).status == 200


def test_record_launch_context_skips_the_write_when_already_known(classes_fn, org, monkeypatch):
    cls = new_class(classes_fn, org)
    class_item, _ = classes.get_for_launch(cls["class_id"])
    assert classes.record_launch_context(class_item, "moodle-course-7", "https://moodle.example.edu") is True

    class_item, _ = classes.get_for_launch(cls["class_id"])
    monkeypatch.setattr(deps.classes_repo(), "record_context", lambda *a, **k: pytest.fail("wrote again"))

    assert classes.record_launch_context(class_item, "moodle-course-7", "https://moodle.example.edu") is False


def test_record_context_needs_the_class(classes_fn, org, stack):
    cls = new_class(classes_fn, org)
    classes_fn(vary("classes-delete.json", api_key=org.api_key, path_params={"class_id": cls["class_id"]}))

    with pytest.raises(NotFound):
        deps.classes_repo().record_context(org.org_id, cls["class_id"], "ctx", "key", "now")
    assert stored(stack) == []


# -- organisation default app launch URL (PATCH /api/org, keys function) ---------------------------


def test_owners_set_and_clear_the_organisations_app_launch_url(keys_fn, org):
    answer = keys_fn(vary("org-update.json", api_key=org.api_key))  # the sample event as is

    assert answer.status == 200 and answer.body["app_launch_url"] == APP_URL
    assert answer.body["org_id"] == org.org_id
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).body["app_launch_url"] == APP_URL

    cleared = keys_fn(vary("org-update.json", api_key=org.api_key, body={"app_launch_url": None}))
    assert cleared.status == 200 and cleared.body["app_launch_url"] is None
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).body["app_launch_url"] is None


def test_members_cannot_change_organisation_settings(keys_fn, org):
    member = member_key(keys_fn, org)

    answer = keys_fn(vary("org-update.json", api_key=member))

    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).body["app_launch_url"] is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"app_launch_url": "https://evil.example.net/x"}, "app_origin_not_allowed"),
        ({"app_launch_url": "javascript:alert(1)"}, "validation_failed"),
        ({"name": "Renamed"}, "validation_failed"),
        ({}, "nothing_to_update"),
    ],
)
def test_bad_organisation_settings_change_nothing(keys_fn, org, body, error):
    keys_fn(vary("org-update.json", api_key=org.api_key))

    answer = keys_fn(vary("org-update.json", api_key=org.api_key, body=body))

    assert (answer.status, answer.body["error"]) == (400, error)
    after = keys_fn(vary("org-get.json", api_key=org.api_key)).body
    assert (after["app_launch_url"], after["name"]) == (APP_URL, "Acme University")


def test_the_effective_app_launch_url_is_unit_then_class_then_organisation(classes_fn, keys_fn, org):
    from lti_gateway.core.urls import effective_app_launch_url

    keys_fn(vary("org-update.json", api_key=org.api_key, body={"app_launch_url": "https://app.example.com/org"}))
    cls = new_class(classes_fn, org, app_launch_url="https://app.example.com/class")
    plain = create_unit(classes_fn, org, cls["class_id"], {"name": "a"}).body
    special = create_unit(
        classes_fn, org, cls["class_id"], {"name": "b", "app_launch_url": "https://app.example.com/unit"}
    ).body
    org_item = deps.keys_repo().get_organisation(org.org_id)

    class_item, plain_item = classes.get_for_launch(cls["class_id"], plain["unit_id"])
    _, special_item = classes.get_for_launch(cls["class_id"], special["unit_id"])

    assert effective_app_launch_url(org_item, class_item, special_item) == "https://app.example.com/unit"
    assert effective_app_launch_url(org_item, class_item, plain_item) == "https://app.example.com/class"
    assert (
        effective_app_launch_url(org_item, {**class_item, "app_launch_url": None}, None)
        == "https://app.example.com/org"
    )
    assert effective_app_launch_url({}, {}, None) is None
