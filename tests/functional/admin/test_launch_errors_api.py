"""``GET /api/launch-errors/{reference}`` (keys function): an organisation's owners look up what a launch
error page's reference stands for; members may not; another organisation's reference is the very same
404 as an unknown one; a record is gone after 31 days."""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import pytest

from lti_gateway.admin import launch_errors
from lti_gateway.core import clock
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_fixtures import make_lti11_world
from tests.support.events import vary

HOST = "abc123.execute-api.us-east-1.amazonaws.com"


@pytest.fixture
def world(stack, org, monkeypatch):
    return make_lti11_world(org, monkeypatch)


def refused_launch(launch_fn, world) -> str:
    """A launch signed with the wrong secret (no return URL): its page's reference."""
    params = [(k, v) for k, v in CANVAS if k != "launch_presentation_return_url"]
    url = world["class"]["launch_url"]
    signed = sign_launch(url, params, consumer_key=world["key"], secret="wrong-secret")
    event = launch_event(signed, host=HOST, raw_path=urlsplit(url).path)
    event["requestContext"]["requestId"] = reference = f"Ab{uuid.uuid4().hex[:12]}="
    answer = launch_fn(event)
    assert answer.status == 401 and reference in answer.raw
    return reference


def lookup_event(reference: str, api_key: str) -> dict:
    event = vary("keys-get.json", api_key=api_key)
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /api/launch-errors/{reference}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/launch-errors/{reference}"
    event["pathParameters"] = {"reference": reference}
    return event


def test_an_owner_looks_up_a_refused_launch_by_its_reference(world, launch_fn, keys_fn):
    reference = refused_launch(launch_fn, world)

    answer = keys_fn(lookup_event(reference, world["org"].api_key))

    assert answer.status == 200, answer.raw
    record = answer.body
    assert record["reference"] == reference
    assert (record["code"], record["status"], record["verified"]) == ("invalid_signature", 401, False)
    assert record["consumer_key"] == world["key"] and record["class_id"] == world["class"]["class_id"]
    assert record["lms"]["context_id"] == dict(CANVAS)["context_id"]
    assert record["details"] == {"oauth_signature": "does not match"}
    assert "shared secret" in record["message"] and record["route"]
    assert clock.parse_iso(record["expires_at"]) - time.time() == pytest.approx(31 * 86_400, abs=60)
    assert "pk" not in record and "wrong-secret" not in answer.raw and world["secret"] not in answer.raw
    assert answer.headers["cache-control"] == "no-store"


def test_a_member_may_not_look_up_launch_errors(world, launch_fn, keys_fn):
    reference = refused_launch(launch_fn, world)
    member = keys_fn(vary("credentials-create.json", api_key=world["org"].api_key)).body["api_key"]

    answer = keys_fn(lookup_event(reference, member))

    assert (answer.status, answer.body["error"]) == (403, "owner_role_required")
    assert reference not in answer.raw


def test_another_organisation_s_reference_is_the_same_404_as_an_unknown_one(world, launch_fn, keys_fn, make_org):
    reference = refused_launch(launch_fn, world)
    other = make_org("Other University")

    theirs = keys_fn(lookup_event(reference, other.api_key))
    unknown = keys_fn(lookup_event("Ab000000000000=", other.api_key))
    malformed = keys_fn(lookup_event("x" * 200, other.api_key))

    assert theirs.status == unknown.status == malformed.status == 404
    assert theirs.body == unknown.body == malformed.body
    assert theirs.body["error"] == "launch_error_not_found"
    assert world["key"] not in theirs.raw


def test_a_record_is_gone_after_31_days(world, launch_fn, keys_fn, monkeypatch):
    reference = refused_launch(launch_fn, world)
    now = time.time()

    monkeypatch.setattr(clock, "now", lambda: now + 30 * 86_400)
    assert keys_fn(lookup_event(reference, world["org"].api_key)).status == 200
    monkeypatch.setattr(clock, "now", lambda: now + 31 * 86_400 + 60)
    assert keys_fn(lookup_event(reference, world["org"].api_key)).status == 404


def test_lookup_is_what_the_cli_calls(world, launch_fn, make_org):
    reference = refused_launch(launch_fn, world)

    assert launch_errors.lookup(world["org"].org_id, reference)["reference"] == reference
    with pytest.raises(launch_errors.NotFound):
        launch_errors.lookup(make_org("Other").org_id, reference)


def test_no_record_without_an_organisation_or_with_a_malformed_reference(stack, org):
    common = {"route": "POST /lti/launch", "code": "x", "status": 400, "message": "m", "verified": False}
    assert launch_errors.record("ref-1", org_id=None, **common) is False
    assert launch_errors.record("bad reference with spaces", org_id=org.org_id, **common) is False
    assert launch_errors.record("ref-2", org_id=org.org_id, **common) is True
    assert launch_errors.record("ref-2", org_id=org.org_id, **common) is False  # never overwritten
