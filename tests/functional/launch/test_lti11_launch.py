"""LTI 1.1 dispatch through the launch function, signed by an independent OAuth 1.0a signer (Authlib).

Every rejection is a 4xx HTML page (or, once the signature verified, a redirect back to the LMS with
``lti_errormsg``) and stores nothing.
"""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from lti_gateway.admin import classes, orgs
from lti_gateway.app_api import ltik
from lti_gateway.core.errors import GatewayError
from lti_gateway.launch import dispatch
from lti_gateway.lti11 import consumer_keys
from tests.peers.lms_params import CANVAS, MOODLE
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support import launch_state
from tests.support.app_fixtures import make_lti11_world

HOST = "abc123.execute-api.us-east-1.amazonaws.com"
APP = "https://app.example.com/lti/start"


@pytest.fixture
def world(stack, org, monkeypatch):
    """An organisation with a consumer key, a class with a unit, and an app launch URL."""
    return make_lti11_world(org, monkeypatch, unit=True)


def _path(url: str) -> str:
    return urlsplit(url).path


def signed_event(world, params=CANVAS, *, unit=False, key=None, secret=None, query="", **sign_kw):
    target = world["unit"] if unit else world["class"]
    url = target["launch_url"] + (f"?{query}" if query else "")
    signed = sign_launch(url, params, consumer_key=key or world["key"], secret=secret or world["secret"], **sign_kw)
    return launch_event(signed, host=HOST, raw_path=_path(target["launch_url"]), raw_query=query)


def launch_items(stack) -> list[dict]:
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    return [i for i in items if i["pk"].startswith("LAUNCH#")]


# -- accepted ---------------------------------------------------------------------------------------


def test_a_canvas_launch_into_a_class_reaches_the_app_with_an_ltik(world, launch_fn, stack):
    answer = launch_fn(signed_event(world))

    assert answer.status == 302, answer.raw
    location = answer.headers["location"]
    assert location.startswith(APP + "?ltik=")
    token = parse_qs(urlsplit(location).query)["ltik"][0]
    claims = ltik.verify(token)
    assert claims.org_id == world["org"].org_id
    [stored] = launch_items(stack)
    assert stored["pk"] == f"LAUNCH#{claims.launch_id}"
    assert stored["class_id"] == world["class"]["class_id"]
    assert "unit_id" not in stored
    assert stored["user_id"] == dict(CANVAS)["user_id"]
    assert stored["lis_outcome_service_url"] == dict(CANVAS)["lis_outcome_service_url"]
    assert stored["lis_result_sourcedid"] == dict(CANVAS)["lis_result_sourcedid"]
    assert stored["custom"]["canvas_course_id"] == "1234"
    assert stored["full_name"] == "Ada Lovelace" and stored["email"] == "ada@example.edu"
    assert int(stored["expires_at"]) - time.time() == pytest.approx(86_400, abs=30)
    assert token not in str(stored)


def test_a_moodle_launch_into_a_unit_with_sha256_and_a_query_string(world, launch_fn, stack):
    answer = launch_fn(
        signed_event(world, MOODLE, unit=True, query="lang=fr&x=a%20b", method="HMAC-SHA256", nonce=uuid.uuid4().hex)
    )

    assert answer.status == 302, answer.raw
    [stored] = launch_items(stack)
    assert stored["unit_id"] == world["unit"]["unit_id"]
    assert stored["full_name"] == "Zoë Ñúñez-O'Connor 🧪"
    assert stored["custom"] == {"unit": "intro & setup", "level": "2 + 2 = 4 (100%)"}


def test_the_lms_context_is_recorded_on_the_class_and_a_copied_course_lands_in_the_same_class(world, launch_fn):
    copied = [(k, "copied-course-99" if k == "context_id" else v) for k, v in CANVAS]

    assert launch_fn(signed_event(world)).status == 302
    assert launch_fn(signed_event(world, copied)).status == 302

    read = classes.get_class(world["principal"], world["class"]["class_id"], base=f"https://{HOST}")
    assert read["lms_context_ids"] == sorted([dict(CANVAS)["context_id"], "copied-course-99"])


def test_a_function_url_event_verifies_too(world, launch_fn):
    fn_host = "abcdefghijklmnop.lambda-url.us-east-1.on.aws"
    url = f"https://{fn_host}{_path(world['class']['launch_url'])}"
    signed = sign_launch(url, CANVAS, consumer_key=world["key"], secret=world["secret"])
    event = launch_event(signed, host=fn_host, raw_path=_path(url), function_url=True)

    assert launch_fn(event).status == 302


def test_the_previous_secret_works_during_a_rotation_grace_period(world, launch_fn):
    consumer_keys.rotate_key(world["principal"], world["key"], {"grace_period_seconds": 600})
    consumer_keys.clear_cache()

    assert launch_fn(signed_event(world)).status == 302


def test_a_unit_app_launch_url_overrides_the_organisation(world, launch_fn):
    classes.update_unit(
        world["principal"],
        world["class"]["class_id"],
        world["unit"]["unit_id"],
        {"app_launch_url": "https://app.example.com/units/waves"},
        base=f"https://{HOST}",
    )
    launch_state.forget()

    answer = launch_fn(signed_event(world, unit=True))

    assert answer.headers["location"].startswith("https://app.example.com/units/waves?ltik=")


# -- rejected ---------------------------------------------------------------------------------------


def _assert_refused_page(answer, status: int, code: str, stack):
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert code in answer.raw and "Reference:" in answer.raw
    assert "Traceback" not in answer.raw
    assert launch_items(stack) == []


def test_a_parameter_tampered_after_signing_is_refused(world, launch_fn, stack):
    event = signed_event(world)
    import base64

    body = base64.b64decode(event["body"]).decode().replace("Ada", "Eve")
    event["body"] = base64.b64encode(body.encode()).decode()

    _assert_refused_page(launch_fn(event), 401, "invalid_signature", stack)


def test_a_wrong_secret_is_refused(world, launch_fn, stack):
    _assert_refused_page(
        launch_fn(signed_event(world, secret="not-the-secret-at-all")), 401, "invalid_signature", stack
    )


def test_an_unknown_key_is_refused(world, launch_fn, stack):
    answer = launch_fn(signed_event(world, key="no-such-consumer-key", secret="whatever-secret-0"))
    _assert_refused_page(answer, 401, "unknown_consumer_key", stack)


def test_a_revoked_key_is_refused_with_a_clear_reason(world, launch_fn, stack):
    consumer_keys.revoke_key(world["principal"], world["key"])
    consumer_keys.clear_cache()

    answer = launch_fn(signed_event(world))

    _assert_refused_page(answer, 401, "consumer_key_revoked", stack)
    assert "revoked" in answer.raw


@pytest.mark.parametrize(("shift", "code"), [(-3600, "timestamp_expired"), (3600, "timestamp_in_future")])
def test_stale_and_future_timestamps_are_refused(world, launch_fn, stack, shift, code):
    answer = launch_fn(signed_event(world, timestamp=int(time.time()) + shift))
    _assert_refused_page(answer, 401, code, stack)


def test_a_replayed_nonce_is_refused_and_the_lms_gets_its_user_back(world, launch_fn, stack):
    event = signed_event(world, nonce="c0ffee" * 6)
    assert launch_fn(event).status == 302

    replay = launch_fn(event)

    assert replay.status == 302  # the signature verified: back to the LMS with lti_errormsg
    back = replay.headers["location"]
    assert back.startswith(dict(CANVAS)["launch_presentation_return_url"] + "?lti_errormsg=")
    assert len(launch_items(stack)) == 1


def test_a_replayed_nonce_without_a_return_url_gets_a_page(world, launch_fn, stack):
    params = [(k, v) for k, v in CANVAS if k != "launch_presentation_return_url"]
    event = signed_event(world, params, nonce="d00d" * 8)
    assert launch_fn(event).status == 302

    answer = launch_fn(event)

    assert answer.status == 401 and "nonce_replayed" in answer.raw
    assert len(launch_items(stack)) == 1


@pytest.mark.parametrize("missing", ["resource_link_id", "lti_message_type", "lti_version"])
def test_missing_required_lti_parameters_are_refused(world, launch_fn, stack, missing):
    params = [(k, v) for k, v in CANVAS if k not in (missing, "launch_presentation_return_url")]
    answer = launch_fn(signed_event(world, params))
    assert answer.status == 400 and answer.headers["content-type"].startswith("text/html")
    assert launch_items(stack) == []


def test_a_content_item_request_gets_a_clear_not_supported_page(world, launch_fn, stack):
    params = [
        (k, "ContentItemSelectionRequest" if k == "lti_message_type" else v)
        for k, v in CANVAS
        if k != "launch_presentation_return_url"
    ]
    answer = launch_fn(signed_event(world, params))
    _assert_refused_page(answer, 400, "content_item_not_supported", stack)
    assert "not supported" in answer.raw


def _without_return(params=CANVAS):
    return [(k, v) for k, v in params if k != "launch_presentation_return_url"]


def test_a_class_with_lti_disabled_is_refused(world, launch_fn, stack):
    classes.update_class(world["principal"], world["class"]["class_id"], {"lti_enabled": False}, base=f"https://{HOST}")
    answer = launch_fn(signed_event(world, _without_return()))
    _assert_refused_page(answer, 409, "lti_disabled", stack)


def test_another_organisations_class_is_not_found(world, launch_fn, stack, make_org):
    other = make_org("Other University")
    other_key = consumer_keys.create_consumer_key(other.org_id)
    answer = launch_fn(signed_event(world, _without_return(), key=other_key["key"], secret=other_key["secret"]))
    _assert_refused_page(answer, 404, "class_not_in_organisation", stack)
    # The page says which side to check, never whose class it is.
    assert "organisation of this consumer key" in answer.raw and world["org"].org_id not in answer.raw


@pytest.mark.parametrize("unit", ["unt_0000000000000000", "../etc", "x" * 300])
def test_unknown_units_are_not_found(world, launch_fn, stack, unit):
    target = f"{world['class']['launch_url']}/{unit}"
    signed = sign_launch(target, _without_return(), consumer_key=world["key"], secret=world["secret"])
    event = launch_event(signed, host=HOST, raw_path=_path(target))
    event["routeKey"] = "POST /lti/launch/{class_id}/{unit_id}"
    answer = launch_fn(event)
    assert answer.status == 404 and launch_items(stack) == []
    assert answer.headers["content-type"].startswith("text/html")


def test_a_class_without_any_app_launch_url_is_refused(world, launch_fn, stack):
    orgs.update_settings(world["principal"], {"app_launch_url": None})
    launch_state.forget()
    answer = launch_fn(signed_event(world, _without_return()))
    _assert_refused_page(answer, 409, "no_app_launch_url", stack)


def test_the_error_redirect_goes_only_to_http_return_urls(world, launch_fn, stack):
    params = [(k, "javascript:alert(1)" if k == "launch_presentation_return_url" else v) for k, v in CANVAS]
    classes.update_class(world["principal"], world["class"]["class_id"], {"lti_enabled": False}, base=f"https://{HOST}")
    answer = launch_fn(signed_event(world, params))
    assert answer.status == 409 and "location" not in answer.headers


# -- races ------------------------------------------------------------------------------------------


def test_parallel_launches_with_the_same_nonce_let_exactly_one_through(world, stack):
    event = signed_event(world, nonce="race" * 8)

    def attempt(_: int) -> str:
        try:
            dispatch.lti11_launch(event, world["class"]["class_id"], None)
        except GatewayError as error:
            return error.code
        return "accepted"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(attempt, range(30)))

    assert outcomes.count("accepted") == 1
    assert set(outcomes) - {"accepted"} == {"nonce_replayed"}
    assert len(launch_items(stack)) == 1


def test_the_sample_events_parse_and_are_refused_as_stale(stack, launch_fn):
    """events/launch-lti11-*.json (for `sam local invoke -e`) are signed dispatch from 2026-11-25 08:00 UTC."""
    from tests.support.events import load_event

    for name in ("launch-lti11-class.json", "launch-lti11-unit.json"):
        answer = launch_fn(load_event(name))
        assert answer.status == 401 and "timestamp_expired" in answer.raw, name


def test_launches_emit_metrics_by_outcome_and_rejection_reason(world, launch_fn, capsys):
    import json as _json

    launch_fn(signed_event(world))
    launch_fn(signed_event(world, _without_return(), secret="wrong-secret-entirely"))

    blobs = [_json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = [(b["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], b.get("reason")) for b in blobs]
    assert ("LaunchAccepted", None) in metrics
    assert ("LaunchRejected", "invalid_signature") in metrics


# -- what the app learns: the gateway's side of the launch ---------------------------------------------


def _app_idtoken(token_fn, world, answer, *, raw: bool = False) -> dict:
    from tests.support.app_api import ltik_auth, token_event

    token = parse_qs(urlsplit(answer.headers["location"]).query)["ltik"][0]
    auth = ltik_auth(world["org"].api_key, token)
    reply = token_fn(token_event("GET", "/api/idtoken" + ("?raw=true" if raw else ""), authorization=auth))
    assert reply.status == 200, reply.raw
    return reply.body


def test_the_app_learns_the_organisation_class_unit_and_url_of_a_unit_launch(world, launch_fn, token_fn):
    from ltiaas.resources.idtoken.types import IdToken
    from ltiaas.utils.validation import validate

    answer = launch_fn(signed_event(world, unit=True))
    assert answer.status == 302, answer.raw

    body = _app_idtoken(token_fn, world, answer)
    assert body["gateway"] == {
        "orgId": world["org"].org_id,
        "classId": world["class"]["class_id"],
        "className": "Physics 101",
        "unitId": world["unit"]["unit_id"],
        "unitName": "Waves",
        "target": "unit",
        "launchUrl": world["unit"]["launch_url"],
    }
    validate(IdToken, body)  # the official client still takes the answer
    assert _app_idtoken(token_fn, world, answer, raw=True)["gateway"] == body["gateway"]


def test_a_class_launch_names_the_class_and_no_unit_and_keeps_names_as_launched(world, launch_fn, token_fn):
    answer = launch_fn(signed_event(world))
    assert answer.status == 302, answer.raw
    classes.update_class(world["principal"], world["class"]["class_id"], {"name": "Physics 102"}, base="https://x")

    gateway = _app_idtoken(token_fn, world, answer)["gateway"]
    assert (gateway["classId"], gateway["className"]) == (world["class"]["class_id"], "Physics 101")
    assert (gateway["unitId"], gateway["unitName"], gateway["target"]) == (None, None, "class")
    assert gateway["launchUrl"] == world["class"]["launch_url"]


def test_a_unit_url_of_another_organisations_class_says_nothing_about_its_units(world, launch_fn, stack, make_org):
    other = make_org("Other University")
    other_key = consumer_keys.create_consumer_key(other.org_id)
    for unit in (world["unit"]["unit_id"], "unt_0000000000000000"):
        target = f"{world['class']['launch_url']}/{unit}"
        signed = sign_launch(target, _without_return(), consumer_key=other_key["key"], secret=other_key["secret"])
        event = launch_event(signed, host=HOST, raw_path=_path(target))
        event["routeKey"] = "POST /lti/launch/{class_id}/{unit_id}"
        answer = launch_fn(event)
        # The same answer for an existing and a missing unit of a class that is not the key's organisation's.
        assert answer.status == 404 and "class_not_in_organisation" in answer.raw, answer.raw
    assert launch_items(stack) == []


def test_a_made_up_class_and_another_organisations_class_read_alike(world, launch_fn, stack, make_org):
    other = make_org("Other University")
    theirs = classes.create_class(
        orgs.Principal(other.org_id, other.credential_id, "owner"), {"name": "Theirs"}, base=f"https://{HOST}"
    )
    pages = []
    for class_id in (theirs["class_id"], "cls_00000000000000aa"):
        target = f"https://{HOST}/lti/launch/{class_id}"
        signed = sign_launch(target, _without_return(), consumer_key=world["key"], secret=world["secret"])
        answer = launch_fn(launch_event(signed, host=HOST, raw_path=_path(target)))
        assert answer.status == 404 and "class_not_in_organisation" in answer.raw
        pages.append(re.sub(r"<code>[^<]*</code>|nonce-[^'\"]+|nonce=\"[^\"]+\"", "", answer.raw).replace(class_id, ""))
    assert pages[0] == pages[1]
    assert launch_items(stack) == []
