"""Refused launches and logins through the launch function: the page says what happened and who can fix
it, and the refusal is recorded under the page's reference for the organisation it concerns — small,
bounded, nothing secret, never changing the answer. A launch URL opened in a browser gets a page about
the URL, and nothing about the class."""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit

import boto3
import jwt
import pytest
from botocore.exceptions import ClientError

from lti_gateway.lti11 import consumer_keys
from lti_gateway.repositories import deps
from lti_gateway.repositories.launch_errors import LaunchErrorsRepository
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_fixtures import make_lti11_world

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
DAY = 86_400


@pytest.fixture
def world(stack, org, monkeypatch):
    return make_lti11_world(org, monkeypatch, unit=True)


def _with(params, **changed):
    drop = {"launch_presentation_return_url"}
    kept = [(k, changed.get(k, v)) for k, v in params if k not in drop]
    return kept + [(k, v) for k, v in changed.items() if k not in dict(params)]


def refused(launch_fn, world, params=None, *, key=None, secret=None, path=None, url=None):
    """A signed LTI 1.1 launch (no return URL, so refusals are pages) with a fresh request id."""
    url = url or world["class"]["launch_url"]
    signed = sign_launch(
        url, params or _with(CANVAS), consumer_key=key or world["key"], secret=secret or world["secret"]
    )
    event = launch_event(signed, host=HOST, raw_path=path or urlsplit(url).path)
    event["requestContext"]["requestId"] = f"req-{uuid.uuid4().hex}"
    answer = launch_fn(event)
    answer.sent = dict(parse_qsl(signed.body))  # what the LMS sent, signature and nonce included
    return answer, event["requestContext"]["requestId"]


def error_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith("LAUNCHERR#")]


def record_of(stack, reference: str) -> dict:
    [item] = [i for i in error_items(stack) if i["pk"] == f"LAUNCHERR#{reference}"]
    return item


def text_of(answer) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", answer.raw)).replace("&#x27;", "'")


# -- the pages --------------------------------------------------------------------------------------


def test_a_wrong_secret_says_what_happened_and_who_checks_which_setting(world, launch_fn, stack):
    answer, reference = refused(launch_fn, world, secret="not-the-secret-at-all")

    assert answer.status == 401 and answer.headers["content-type"].startswith("text/html")
    text = text_of(answer)
    assert "shared secret that does not match its consumer key" in text
    assert "If you are a student, tell your instructor." in text
    assert "consumer key and shared secret in the LMS's external tool settings" in text
    assert f"Reference: {reference} Give this reference to your LMS administrator" in text
    assert "frame-ancestors *" in answer.headers["content-security-policy"]


def test_an_lti13_version_in_an_lti11_launch_is_named_as_such(world, launch_fn, stack):
    answer, reference = refused(launch_fn, world, _with(CANVAS, lti_version="1.3.0"))

    assert answer.status == 400
    text = text_of(answer)
    assert "LTI version “1.3.0”, which is not LTI 1.1" in text
    assert "an LTI 1.3 version in an LTI 1.1 (OAuth 1.0a) launch form" in text
    item = record_of(stack, reference)
    assert item["verified"] is True and item["lms"]["lti_version"] == "1.3.0"


def test_an_lti11_launch_posted_to_the_redirect_url_names_the_url_to_use(world, launch_fn, stack):
    org_id = world["org"].org_id
    url = f"https://{HOST}/lti/orgs/{org_id}/launch"
    answer, reference = refused(launch_fn, world, url=url)

    assert answer.status == 400
    assert "An LTI 1.1 launch (consumer key and signature) was sent to this tool's LTI 1.3 redirect URL" in text_of(
        answer
    )
    item = record_of(stack, reference)
    assert (item["org_id"], item["code"], item["consumer_key"]) == (org_id, "lti11_launch_to_lti13_url", world["key"])


def test_another_organisations_class_is_recorded_for_the_key_s_organisation_only(world, launch_fn, stack, make_org):
    other = make_org("Other University")
    other_key = consumer_keys.create_consumer_key(other.org_id)

    answer, reference = refused(launch_fn, world, key=other_key["key"], secret=other_key["secret"])

    assert answer.status == 404
    text = text_of(answer)
    assert "No class with this id belongs to the organisation of this consumer key or platform" in text
    assert "Physics 101" not in answer.raw and world["org"].org_id not in answer.raw
    item = record_of(stack, reference)
    assert item["org_id"] == other.org_id  # the LMS's organisation: its admin has the key wrong
    assert item["code"] == "class_not_in_organisation" and item["consumer_key"] == other_key["key"]
    assert "Physics 101" not in json.dumps(item, default=str)


# -- the records ----------------------------------------------------------------------------------


def test_a_record_names_what_was_refused_and_nothing_secret(world, launch_fn, stack):
    answer, reference = refused(
        launch_fn,
        world,
        path=urlsplit(world["unit"]["launch_url"]).path,
        url=world["unit"]["launch_url"],
        secret="wrong-secret-entirely",
    )

    assert answer.status == 401
    item = record_of(stack, reference)
    params = dict(CANVAS)
    assert item["org_id"] == world["org"].org_id
    assert item["reference"] == reference and item["code"] == "invalid_signature" and int(item["status"]) == 401
    assert item["verified"] is False and item["protocol"] == "1.1"
    assert item["consumer_key"] == world["key"]
    assert (item["class_id"], item["unit_id"]) == (world["class"]["class_id"], world["unit"]["unit_id"])
    assert item["lms"]["context_id"] == params["context_id"]
    assert item["lms"]["resource_link_id"] == params["resource_link_id"]
    assert item["lms"]["user_id"] == params["user_id"]
    assert "shared secret" in item["message"]
    assert int(item["expires_at"]) - time.time() == pytest.approx(31 * DAY, abs=60)
    stored = json.dumps(item, default=str)
    sent = answer.sent
    for secret in (world["secret"], "wrong-secret-entirely", sent["oauth_signature"], sent["oauth_nonce"]):
        assert secret not in stored
    assert "Ada Lovelace" not in stored and "ada@example.edu" not in stored  # no form, only the named ids
    assert len(stored) < 4096


def test_an_unknown_key_on_a_real_class_is_recorded_for_the_class_s_organisation(world, launch_fn, stack):
    answer, reference = refused(launch_fn, world, key="no-such-key-anywhere-42", secret="s")

    assert answer.status == 401 and "not known to this tool" in text_of(answer)
    item = record_of(stack, reference)
    assert (item["org_id"], item["consumer_key"], item["code"]) == (
        world["org"].org_id,
        "no-such-key-anywhere-42",
        "unknown_consumer_key",
    )


def test_a_stranger_on_a_made_up_url_stores_nothing_and_learns_nothing_from_the_page(world, launch_fn, stack):
    url = f"https://{HOST}/lti/launch/cls_0000000000000000"
    answer, reference = refused(launch_fn, world, key="made-up-key-0000000", secret="s", url=url)
    assert error_items(stack) == []
    real, real_reference = refused(launch_fn, world, key="made-up-key-0000000", secret="s")  # a real class

    assert answer.status == real.status == 401
    assert error_items(stack) != [] and all(i["org_id"] == world["org"].org_id for i in error_items(stack))
    # The same page (but its reference) whether the class exists or not: no class id oracle.
    pages = [text_of(a).replace(ref, "") for a, ref in ((answer, reference), (real, real_reference))]
    assert pages[0] == pages[1] and "they can look up what was refused" in pages[0]


def test_oversized_values_are_cut_to_their_bounds(world, launch_fn, stack):
    answer, reference = refused(launch_fn, world, _with(CANVAS, context_id="c" * 5000), secret="wrong")

    assert answer.status == 401
    item = record_of(stack, reference)
    assert len(item["lms"]["context_id"]) == 255 and item["lms"]["context_id"].endswith("…")


def test_a_failing_record_write_changes_nothing_of_the_answer(world, launch_fn, stack, monkeypatch, logs):
    def fail(self, reference, item, *, expires_at):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "PutItem")

    monkeypatch.setattr(LaunchErrorsRepository, "put", fail)
    answer, _ = refused(launch_fn, world, secret="wrong")

    assert answer.status == 401 and "invalid_signature" in answer.raw
    assert "Traceback" not in answer.raw
    assert error_items(stack) == []
    assert "launch error not recorded" in logs.getvalue()


def test_an_lti13_launch_is_recorded_for_its_login_s_organisation_without_the_id_token(world, launch_fn, stack):
    org_id = world["org"].org_id
    state = "s" * 43
    deps.launch_repo().put_state(
        state,
        {
            "nonce": "n",
            "platform_id": "plt_0000000000000000",
            "org_id": org_id,
            "issuer": "https://lms.example.edu",
            "client_id": "client-7",
            "target_link_uri": world["class"]["launch_url"],
        },
        expires_at=int(time.time()) + 600,
    )
    claims = {
        "iss": "https://lms.example.edu",
        "sub": "user-77",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "dep-1",
        "https://purl.imsglobal.org/spec/lti/claim/context": {"id": "course-9"},
        "https://purl.imsglobal.org/spec/lti/claim/resource_link": {"id": "link-3"},
    }
    token = jwt.encode(claims, "not-a-platform-key-but-long-enough-32b", algorithm="HS256", headers={"kid": "k"})
    path = f"/lti/orgs/{org_id}/launch"
    event = launch_event(urlencode({"id_token": token, "state": state}), host=HOST, raw_path=path)
    event["requestContext"]["requestId"] = reference = f"req-{uuid.uuid4().hex}"

    answer = launch_fn(event)

    assert 400 <= answer.status < 500, answer.raw
    item = record_of(stack, reference)
    assert item["org_id"] == org_id and item["protocol"] == "1.3" and item["verified"] is False
    assert (item["platform_id"], item["issuer"], item["client_id"]) == (
        "plt_0000000000000000",
        "https://lms.example.edu",
        "client-7",
    )
    assert item["deployment_id"] == "dep-1"
    assert item["lms"] == {"context_id": "course-9", "resource_link_id": "link-3", "user_id": "user-77"}
    stored = json.dumps(item, default=str)
    assert token not in stored and token.split(".")[2] not in stored and state not in stored


def test_a_refused_login_at_an_organisation_s_url_is_recorded_there(world, launch_fn, stack):
    org_id = world["org"].org_id
    query = urlencode(
        {"iss": "https://unknown.example.edu", "login_hint": "u", "target_link_uri": "x", "client_id": "c9"}
    )
    event = {
        "version": "2.0",
        "routeKey": "GET /lti/orgs/{org_id}/login",
        "rawPath": f"/lti/orgs/{org_id}/login",
        "rawQueryString": query,
        "headers": {"host": HOST, "x-forwarded-proto": "https"},
        "requestContext": {
            "domainName": HOST,
            "http": {"method": "GET", "path": f"/lti/orgs/{org_id}/login", "sourceIp": "203.0.113.9"},
            "requestId": (reference := f"req-{uuid.uuid4().hex}"),
            "stage": "$default",
        },
        "pathParameters": {"org_id": org_id},
        "isBase64Encoded": False,
    }

    answer = launch_fn(event)

    assert answer.status == 400, answer.raw
    item = record_of(stack, reference)
    assert item["org_id"] == org_id and item["route"] == "GET /lti/orgs/{org_id}/login"
    assert (item["issuer"], item["client_id"]) == ("https://unknown.example.edu", "c9")


# -- a launch URL opened in a browser ---------------------------------------------------------------


def browser_get(launch_fn, path: str):
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": HOST, "x-forwarded-proto": "https", "accept": "text/html"},
        "requestContext": {
            "domainName": HOST,
            "http": {"method": "GET", "path": path, "sourceIp": "203.0.113.9"},
            "requestId": f"req-{uuid.uuid4().hex}",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    return launch_fn(event)


def test_a_class_launch_url_opened_in_a_browser_explains_itself_and_nothing_about_the_class(world, launch_fn, stack):
    existing = urlsplit(world["class"]["launch_url"]).path
    pages = {
        path: browser_get(launch_fn, path)
        for path in (existing, "/lti/launch/cls_0000000000000000", "/lti/launch/anything-at-all")
    }
    unit = browser_get(launch_fn, urlsplit(world["unit"]["launch_url"]).path)

    for answer in [*pages.values(), unit]:
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
        text = text_of(answer)
        assert "This is an LTI launch URL" in text
        assert "LTI 1.1" in text and "LTI 1.3" in text
        assert "consumer key" in text and "target link URI" in text
        assert "Physics 101" not in answer.raw and "Waves" not in answer.raw
        assert world["org"].org_id not in answer.raw
    bodies = {re.sub(r'nonce="[^"]*"', "", a.raw) for a in [*pages.values(), unit]}
    assert len(bodies) == 1  # the same page whether the class exists or not
    assert error_items(stack) == []


def test_the_redirect_url_opened_in_a_browser_says_it_takes_lti13_only(world, launch_fn):
    for path in (f"/lti/orgs/{world['org'].org_id}/launch", "/lti/orgs/org_nosuchorg/launch", "/lti/launch"):
        answer = browser_get(launch_fn, path)
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/html")
        text = text_of(answer)
        assert "redirect URL of an LTI 1.3 registration" in text and "LTI 1.3 launches only" in text
