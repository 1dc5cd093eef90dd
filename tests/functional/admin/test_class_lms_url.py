"""The Class LMS URL may not send people anywhere (issue 13, item 10, "Redirectors").

A Class LMS URL must be on the origin of an LMS the class's organisation launched from (LTI 1.1 or
1.3: recorded by the launch) or of one of its registered LTI 1.3 platforms' issuers; any other origin
only when an owner confirms it. ``GET /classes/{id}/open`` redirects only to such a URL; any other (a
row stored before the rule) gets a page that says where the link leaves for, with a link to click.

Driven through the classes and launch functions on moto; every refusal is asserted to store nothing.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import boto3
import pytest

from lti_gateway.admin import orgs
from lti_gateway.core import config
from lti_gateway.lti11 import consumer_keys
from lti_gateway.lti13 import platforms
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.events import vary

HOST = "abc123.execute-api.us-east-1.amazonaws.com"  # requestContext.domainName of events/*.json
APP = "https://app.example.com/lti/start"
LMS = "https://lms.example"
COURSE = f"{LMS}/courses/7"
ELSEWHERE = "https://elsewhere.example/courses/7"


@pytest.fixture(autouse=True)
def _settings(stack, monkeypatch):
    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("ALLOW_INSECURE_PLATFORM_URLS", raising=False)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


# -- helpers ----------------------------------------------------------------------------------------


def owner(org) -> orgs.Principal:
    return orgs.Principal(org.org_id, org.credential_id, "owner")


def member_key(keys_fn, org) -> str:
    answer = keys_fn(vary("credentials-create.json", api_key=org.api_key))
    assert answer.status == 201 and answer.body["role"] == "member"
    return answer.body["api_key"]


def create(classes_fn, api_key, body):
    return classes_fn(vary("classes-create.json", api_key=api_key, body=body))


def patch(classes_fn, api_key, class_id, body):
    return classes_fn(vary("classes-update.json", api_key=api_key, path_params={"class_id": class_id}, body=body))


def new_class(classes_fn, org, **fields) -> dict:
    answer = create(classes_fn, org.api_key, {"name": "Physics 101", **fields})
    assert answer.status == 201, answer.body
    return answer.body


def open_class(classes_fn, class_id):
    return classes_fn(vary("classes-open.json", path_params={"class_id": class_id}))


def classes_table(stack):
    return boto3.resource("dynamodb").Table(stack["CLASSES_TABLE"])


def snapshot(stack) -> list[dict]:
    return sorted(classes_table(stack).scan()["Items"], key=lambda i: (i["pk"], i["sk"]))


def origin_items(stack, org) -> list[str]:
    return sorted(i["sk"] for i in classes_table(stack).scan()["Items"] if i["pk"] == f"ORG#{org.org_id}#LMSORIGINS")


def lti11_launch(launch_fn, org, class_body, params):
    """A verified LTI 1.1 launch of ``org`` (its own consumer key) into ``class_body``'s class."""
    key = consumer_keys.create_consumer_key(org.org_id, label=f"LMS {len(params)}")
    url = class_body["launch_url"]
    signed = sign_launch(url, params, consumer_key=key["key"], secret=key["secret"])
    return launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))


def from_lms(origin: str) -> list[tuple[str, str]]:
    """Canvas's launch parameters, every LMS URL in them on ``origin``."""
    urls = {
        "launch_presentation_return_url": f"{origin}/courses/1234/external_content/success/external_tool_redirect",
        "lis_outcome_service_url": f"{origin}/api/lti/v1/tools/42/grade_passback",
    }
    return [(k, urls.get(k, v)) for k, v in CANVAS]


@pytest.fixture
def launchable(org):
    """The organisation's app launch URL, so its classes can be launched into."""
    orgs.update_settings(owner(org), {"app_launch_url": APP})
    return org


def assert_unknown_origin(answer, origin: str):
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "class_lms_url_unknown_origin"
    details = answer.body["details"]
    assert origin in details["class_lms_url"]
    assert "class_lms_url_confirmed" in details["hint"]


# -- setting it -------------------------------------------------------------------------------------


def test_a_member_may_not_set_a_url_on_an_origin_no_launch_came_from(classes_fn, keys_fn, org, stack):
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org)
    before = snapshot(stack)

    patched = patch(classes_fn, member, cls["class_id"], {"class_lms_url": COURSE})
    created = create(classes_fn, member, {"name": "Chemistry", "class_lms_url": COURSE})

    assert_unknown_origin(patched, LMS)
    assert_unknown_origin(created, LMS)
    assert patched.body["details"]["known_origins"] == []
    assert snapshot(stack) == before


def test_an_owner_without_confirmation_is_refused_too(classes_fn, org, stack):
    before = snapshot(stack)

    assert_unknown_origin(create(classes_fn, org.api_key, {"name": "Chemistry", "class_lms_url": COURSE}), LMS)
    assert snapshot(stack) == before


def test_after_an_lti11_launch_from_the_lms_a_member_may_set_it(classes_fn, keys_fn, launch_fn, launchable, stack):
    org = launchable
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org)
    assert_unknown_origin(patch(classes_fn, member, cls["class_id"], {"class_lms_url": COURSE}), LMS)

    assert lti11_launch(launch_fn, org, cls, from_lms(LMS)).status == 302

    assert origin_items(stack, org) == [LMS]
    answer = patch(classes_fn, member, cls["class_id"], {"class_lms_url": COURSE})
    assert answer.status == 200, answer.body
    assert (answer.body["class_lms_url"], answer.body["class_lms_url_confirmed"]) == (COURSE, False)
    # another path, and the origin written differently (case, default port), on the same origin
    again = patch(classes_fn, member, cls["class_id"], {"class_lms_url": "HTTPS://LMS.example:443/courses/8"})
    assert again.status == 200, again.body
    opened = open_class(classes_fn, cls["class_id"])
    assert (opened.status, opened.headers["location"]) == (302, "HTTPS://LMS.example:443/courses/8")


def test_the_lti11_instance_url_counts_and_an_http_origin_does_not(classes_fn, launch_fn, launchable, stack):
    org = launchable
    cls = new_class(classes_fn, org)
    params = [
        *[(k, v.replace("https://canvas.example.edu", "http://canvas.example.edu")) for k, v in CANVAS],
        ("tool_consumer_instance_url", "https://moodle.example:8443/"),
    ]

    assert lti11_launch(launch_fn, org, cls, params).status == 302

    assert origin_items(stack, org) == ["https://moodle.example:8443"]
    ok = patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": "https://moodle.example:8443/course/1"})
    assert ok.status == 200, ok.body
    http_lms = patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": "http://canvas.example.edu/c/1"})
    assert_unknown_origin(http_lms, "http://canvas.example.edu")
    assert http_lms.body["details"]["known_origins"] == ["https://moodle.example:8443"]


def test_a_refused_launch_makes_no_origin_known(classes_fn, launch_fn, launchable, stack):
    org = launchable
    cls = new_class(classes_fn, org)
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    signed = sign_launch(cls["launch_url"], from_lms(LMS), consumer_key=key["key"], secret="not-the-secret")

    answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(cls["launch_url"]).path))

    assert answer.status == 401, answer.raw
    assert origin_items(stack, org) == []
    assert_unknown_origin(patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": COURSE}), LMS)


def test_another_organisations_launches_make_no_origin_known_here(
    classes_fn, keys_fn, launch_fn, launchable, make_org, stack
):
    other = make_org("Other University")
    orgs.update_settings(owner(other), {"app_launch_url": APP})
    theirs = new_class(classes_fn, other)
    assert lti11_launch(launch_fn, other, theirs, from_lms(LMS)).status == 302
    assert origin_items(stack, other) == [LMS]
    ours = new_class(classes_fn, launchable)
    member = member_key(keys_fn, launchable)
    before = snapshot(stack)

    answer = patch(classes_fn, member, ours["class_id"], {"class_lms_url": COURSE})

    assert_unknown_origin(answer, LMS)
    assert answer.body["details"]["known_origins"] == []  # theirs are not listed either
    assert snapshot(stack) == before
    assert origin_items(stack, launchable) == []


def test_a_registered_lti13_platform_issuer_counts(classes_fn, keys_fn, org, make_org):
    platform = {
        "url": "https://platform.example",
        "clientId": "client-1",
        "name": "Example LMS",
        "authenticationEndpoint": "https://platform.example/auth",
        "accesstokenEndpoint": "https://platform.example/token",
        "authConfig": {"method": "JWK_SET", "key": "https://platform.example/jwks"},
        "deploymentIds": ["d1"],
    }
    other = make_org("Other University")
    platforms.create_platform(owner(other), platform)  # another organisation's registration: no
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org)
    body = {"class_lms_url": "https://platform.example/course/view.php?id=3"}
    assert_unknown_origin(patch(classes_fn, member, cls["class_id"], body), "https://platform.example")

    created = platforms.create_platform(owner(org), {**platform, "clientId": "client-2"})

    answer = patch(classes_fn, member, cls["class_id"], body)
    assert answer.status == 200, answer.body
    assert open_class(classes_fn, cls["class_id"]).status == 302
    # a deactivated registration no longer vouches for its issuer's origin
    platforms.set_active(owner(org), created["id"], False)
    config.settings.cache_clear()
    from lti_gateway.core import runtime

    runtime.reset()  # a new container: nothing cached
    refused = patch(classes_fn, member, cls["class_id"], {"class_lms_url": "https://platform.example/other"})
    assert_unknown_origin(refused, "https://platform.example")


# -- an owner's confirmation ------------------------------------------------------------------------


def test_an_owner_may_confirm_another_origin_and_the_link_then_redirects(classes_fn, org, stack):
    answer = create(
        classes_fn, org.api_key, {"name": "Chemistry", "class_lms_url": ELSEWHERE, "class_lms_url_confirmed": True}
    )

    assert answer.status == 201, answer.body
    assert answer.body["class_lms_url"] == ELSEWHERE and answer.body["class_lms_url_confirmed"] is True
    [item] = [i for i in snapshot(stack) if i.get("kind") == "class"]
    assert item["class_lms_url_confirmation"]["origin"] == "https://elsewhere.example"
    assert item["class_lms_url_confirmation"]["by"] == org.credential_id
    opened = open_class(classes_fn, answer.body["class_id"])
    assert (opened.status, opened.headers["location"]) == (302, ELSEWHERE)


def test_a_member_may_not_confirm(classes_fn, keys_fn, org, stack):
    member = member_key(keys_fn, org)
    cls = new_class(classes_fn, org)
    before = snapshot(stack)

    answer = patch(classes_fn, member, cls["class_id"], {"class_lms_url": ELSEWHERE, "class_lms_url_confirmed": True})

    assert answer.status == 403, answer.body
    assert answer.body["error"] == "owner_role_required"
    assert "class_lms_url_confirmed" in answer.body["details"]
    assert snapshot(stack) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"class_lms_url_confirmed": True}, "class_lms_url_missing", "class_lms_url_confirmed"),
        (
            {"class_lms_url": ELSEWHERE, "class_lms_url_confirmed": "yes"},
            "validation_failed",
            "class_lms_url_confirmed",
        ),
        (
            {"class_lms_url": ELSEWHERE, "class_lms_url_confirmed": False},
            "class_lms_url_unknown_origin",
            "class_lms_url",
        ),
    ],
)
def test_a_confirmation_must_come_with_the_url_it_confirms(classes_fn, org, stack, body, code, field):
    cls = new_class(classes_fn, org)
    before = snapshot(stack)

    answer = patch(classes_fn, org.api_key, cls["class_id"], body)

    assert answer.status == 400, answer.body
    assert answer.body["error"] == code and field in answer.body["details"]
    assert snapshot(stack) == before


def test_a_confirmation_belongs_to_its_url(classes_fn, launch_fn, launchable, stack):
    org = launchable
    cls = new_class(classes_fn, org, class_lms_url=ELSEWHERE, class_lms_url_confirmed=True)
    assert lti11_launch(launch_fn, org, cls, from_lms(LMS)).status == 302

    # set to a URL on a known origin: the confirmation of the other one goes
    moved = patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": COURSE})
    assert moved.status == 200 and moved.body["class_lms_url_confirmed"] is False
    [item] = [i for i in snapshot(stack) if i.get("kind") == "class"]
    assert "class_lms_url_confirmation" not in item
    # so going back needs a confirmation again
    back = patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": ELSEWHERE})
    assert_unknown_origin(back, "https://elsewhere.example")
    # and removing the URL removes any confirmation with it
    confirmed = patch(
        classes_fn, org.api_key, cls["class_id"], {"class_lms_url": ELSEWHERE, "class_lms_url_confirmed": True}
    )
    assert confirmed.status == 200 and confirmed.body["class_lms_url_confirmed"] is True
    cleared = patch(classes_fn, org.api_key, cls["class_id"], {"class_lms_url": None})
    assert cleared.status == 200 and cleared.body["class_lms_url_confirmed"] is False
    [item] = [i for i in snapshot(stack) if i.get("kind") == "class"]
    assert "class_lms_url" not in item and "class_lms_url_confirmation" not in item


# -- the public link: a redirect, or a page that says where it leaves for ---------------------------


def legacy_class(stack, org, url: str) -> str:
    """A class row as stored before the rule: a Class LMS URL on any origin, no confirmation."""
    class_id = "cls_00000000000000aa"
    classes_table(stack).put_item(
        Item={
            "pk": f"CLASS#{class_id}",
            "sk": "META",
            "kind": "class",
            "gsi1pk": f"ORG#{org.org_id}#CLASSES",
            "gsi1sk": f"2026-01-01T00:00:00Z#{class_id}",
            "class_id": class_id,
            "org_id": org.org_id,
            "name": "Legacy",
            "lti_enabled": True,
            "class_lms_url": url,
            "created_at": "2026-01-01T00:00:00Z",
            "version": 1,
            "units_version": 0,
            "next_position": 0,
            "lms_contexts": {},
        }
    )
    return class_id


def test_a_legacy_url_on_an_unknown_origin_gets_a_page_naming_where_it_goes(classes_fn, org, stack):
    url = 'https://evil.example/phish?a=1&b="2"<x>'
    class_id = legacy_class(stack, org, url)
    before = snapshot(stack)

    answer = open_class(classes_fn, class_id)

    assert answer.status == 200, answer.raw
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert f"This link leaves {HOST} for <strong>https://evil.example</strong>" in answer.raw
    assert f'<a href="{html.escape(url, quote=True)}" rel="noopener noreferrer">' in answer.raw
    assert url not in answer.raw and "<x>" not in answer.raw  # escaped, never raw
    assert "http-equiv" not in answer.raw.lower() and "<script" not in answer.raw  # no automatic redirect
    assert "{" not in answer.raw  # never taken for JSON
    assert snapshot(stack) == before


def test_a_legacy_url_redirects_once_a_launch_came_from_its_origin(classes_fn, launch_fn, launchable, stack):
    class_id = legacy_class(stack, launchable, COURSE)
    assert open_class(classes_fn, class_id).status == 200
    cls = new_class(classes_fn, launchable)

    assert lti11_launch(launch_fn, launchable, cls, from_lms(LMS)).status == 302

    answer = open_class(classes_fn, class_id)
    assert (answer.status, answer.headers["location"]) == (302, COURSE)


def test_a_legacy_url_on_another_organisations_origin_still_gets_the_page(
    classes_fn, launch_fn, launchable, make_org, stack
):
    class_id = legacy_class(stack, launchable, COURSE)
    other = make_org("Other University")
    orgs.update_settings(owner(other), {"app_launch_url": APP})
    assert lti11_launch(launch_fn, other, new_class(classes_fn, other), from_lms(LMS)).status == 302

    answer = open_class(classes_fn, class_id)

    assert answer.status == 200 and "location" not in answer.headers
    assert "for <strong>https://lms.example</strong>" in answer.raw


def test_a_legacy_url_that_is_no_web_address_is_never_a_link(classes_fn, org, stack):
    class_id = legacy_class(stack, org, "javascript:alert(1)")

    answer = open_class(classes_fn, class_id)

    assert answer.status == 409, answer.raw
    assert "not a web address" in answer.raw
    assert "javascript" not in answer.raw and "location" not in answer.headers
