"""Revocation means now (issue 13, item 12): what an owner revokes, rotates away, switches off or
deletes is refused by the very next request, also by a warm container that served it a moment before.

Every test first makes the request succeed (so every per-container cache the request path has is
warm), then changes the record through the owner's own HTTP API (the keys or classes function; in
Lambda another container), and makes the same request again in the same process: the warm caches
are not told about the change, exactly like a warm Lambda container. Nothing here forgets a cache.

The last tests count the AWS calls these checks cost: one strongly consistent GetItem of the
credential per request, and no KMS call while the credential is unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import botocore.client
import pytest

from lti_gateway.admin import orgs
from lti_gateway.lti11 import consumer_keys
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.support.app_api import HOST, ltik_auth, ltik_from, token_event
from tests.support.events import vary

APP = "https://app.example.com/lti/start"
# Without a return URL a refusal is the gateway's own page (status and code visible), not a redirect
# back to the LMS; and without an outcome service /api/idtoken has no service key to issue.
PARAMS = [
    (k, v)
    for k, v in CANVAS
    if k not in ("launch_presentation_return_url", "lis_outcome_service_url", "lis_result_sourcedid")
]


@pytest.fixture
def world(stack, org, monkeypatch):
    """An organisation with a consumer key, an app launch URL, a class and a unit in it."""
    from lti_gateway.admin import classes
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    config.settings.cache_clear()
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    orgs.update_settings(principal, {"app_launch_url": APP})
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    base = f"https://{HOST}"
    cls = classes.create_class(principal, {"name": "Physics 101"}, base=base)
    unit = classes.create_unit(principal, cls["class_id"], {"name": "Waves"}, base=base)
    yield {"org": org, "principal": principal, "key": key["key"], "secret": key["secret"], "class": cls, "unit": unit}
    config.settings.cache_clear()


def launch(launch_fn, world, *, unit: bool = False, secret: str | None = None):
    url = (world["unit"] if unit else world["class"])["launch_url"]
    signed = sign_launch(url, PARAMS, consumer_key=world["key"], secret=secret or world["secret"])
    return launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))


def assert_launched(answer) -> str:
    assert answer.status == 302, answer.raw
    assert answer.headers["location"].startswith(f"{APP}?ltik=")
    return ltik_from(answer.headers["location"])


def assert_refused(answer, status: int, code: str) -> None:
    assert answer.status == status, answer.raw
    assert answer.headers["content-type"].startswith("text/html")
    assert code in answer.raw
    assert "ltik=" not in answer.headers.get("location", "")


def owner_call(fn, world, event_name: str, *, body: Any = ..., **path_params: str):
    event = vary(event_name, api_key=world["org"].api_key, body=body, path_params=path_params)
    return fn(event)


# -- LTI 1.1 consumer keys ----------------------------------------------------------------------------


def test_a_revoked_consumer_key_is_refused_by_the_very_next_launch(world, launch_fn, keys_fn):
    assert_launched(launch(launch_fn, world))

    revoked = owner_call(keys_fn, world, "keys-revoke.json", key=world["key"])
    assert revoked.status == 200 and revoked.body["status"] == "revoked"

    assert_refused(launch(launch_fn, world), 401, "consumer_key_revoked")


def test_a_rotation_without_grace_refuses_the_old_secret_at_once_and_accepts_the_new(world, launch_fn, keys_fn):
    assert_launched(launch(launch_fn, world))

    rotated = owner_call(keys_fn, world, "keys-rotate.json", body={}, key=world["key"])
    assert rotated.status == 200
    new_secret = rotated.body["secret"]

    assert_refused(launch(launch_fn, world), 401, "invalid_signature")
    assert_launched(launch(launch_fn, world, secret=new_secret))


def test_a_rotation_with_grace_accepts_both_secrets_until_it_ends(world, launch_fn, keys_fn, monkeypatch):
    assert_launched(launch(launch_fn, world))
    rotated = owner_call(keys_fn, world, "keys-rotate.json", body={"grace_period_seconds": 60}, key=world["key"])
    new_secret = rotated.body["secret"]

    assert_launched(launch(launch_fn, world))
    assert_launched(launch(launch_fn, world, secret=new_secret))

    # The grace period ends: the item (and its version) is unchanged and still holds the old sealed
    # secret, but its time is up; the opened secrets remembered for this version must not outlive it.
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert_refused(launch(launch_fn, world), 401, "invalid_signature")
    assert_launched(launch(launch_fn, world, secret=new_secret))


# -- classes and units --------------------------------------------------------------------------------


def test_switching_enable_lti_off_refuses_the_very_next_launch(world, launch_fn, classes_fn):
    assert_launched(launch(launch_fn, world))

    updated = owner_call(
        classes_fn, world, "classes-update.json", body={"lti_enabled": False}, class_id=world["class"]["class_id"]
    )
    assert updated.status == 200 and updated.body["lti_enabled"] is False

    assert_refused(launch(launch_fn, world), 409, "lti_disabled")
    assert_refused(launch(launch_fn, world, unit=True), 409, "lti_disabled")

    enabled = {"lti_enabled": True}
    owner_call(classes_fn, world, "classes-update.json", body=enabled, class_id=world["class"]["class_id"])
    assert_launched(launch(launch_fn, world))


def test_a_deleted_class_refuses_the_very_next_launch_into_it_and_its_units(world, launch_fn, classes_fn):
    assert_launched(launch(launch_fn, world))
    assert_launched(launch(launch_fn, world, unit=True))

    deleted = owner_call(classes_fn, world, "classes-delete.json", class_id=world["class"]["class_id"])
    assert deleted.status == 204

    # A deleted class reads as no class of this key's organisation (the same as any class id not its own).
    assert_refused(launch(launch_fn, world), 404, "class_not_in_organisation")
    assert_refused(launch(launch_fn, world, unit=True), 404, "class_not_in_organisation")


def test_a_deleted_unit_refuses_the_very_next_launch_into_it(world, launch_fn, classes_fn):
    assert_launched(launch(launch_fn, world, unit=True))

    deleted = owner_call(
        classes_fn,
        world,
        "units-delete.json",
        class_id=world["class"]["class_id"],
        unit_id=world["unit"]["unit_id"],
    )
    assert deleted.status == 204

    assert_refused(launch(launch_fn, world, unit=True), 404, "not_found")
    assert_launched(launch(launch_fn, world))  # the class itself still launches


# -- API keys -----------------------------------------------------------------------------------------


def test_a_revoked_api_key_is_refused_by_the_very_next_app_api_call(world, launch_fn, keys_fn, token_fn):
    member = orgs.create_credential(world["principal"], {"role": "member", "label": "app back end"})
    token = assert_launched(launch(launch_fn, world))
    auth = ltik_auth(member["api_key"], token)
    assert token_fn(token_event("GET", "/api/idtoken", authorization=auth)).status == 200

    revoked = owner_call(keys_fn, world, "credentials-revoke.json", credential_id=member["credential_id"])
    assert revoked.status == 200 and revoked.body["status"] == "revoked"

    answer = token_fn(token_event("GET", "/api/idtoken", authorization=auth))
    assert answer.status == 401
    assert answer.body["details"]["message"] == "INVALID_API_KEY"
    assert member["api_key"].split(".")[1] not in answer.raw
    # The organisation's other API key is not affected.
    owner_auth = ltik_auth(world["org"].api_key, token)
    assert token_fn(token_event("GET", "/api/idtoken", authorization=owner_auth)).status == 200


# -- what it costs --------------------------------------------------------------------------------------


@contextlib.contextmanager
def aws_calls() -> Iterator[list[tuple[str, str, dict]]]:
    """Every AWS call made inside the block, by any client: ``(service, operation, params)``."""
    calls: list[tuple[str, str, dict]] = []
    original = botocore.client.BaseClient._make_api_call

    def recorded(self: Any, operation: str, params: Any) -> Any:
        calls.append((self.meta.service_model.service_name, operation, dict(params)))
        return original(self, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
        yield calls


def reads(calls) -> list[tuple[str, str, dict]]:
    return [c for c in calls if c[1] in ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")]


def test_a_launch_credential_lookup_is_one_consistent_read_and_no_kms_call(world, launch_fn, keys_fn):
    assert_launched(launch(launch_fn, world))  # warm: the secret was opened once

    with aws_calls() as warm:
        creds = consumer_keys.launch_credentials(world["key"])

    assert creds.status == "active" and creds.secrets == (world["secret"],)
    assert [(s, op) for s, op, _ in warm] == [("dynamodb", "GetItem")]
    assert warm[0][2]["ConsistentRead"] is True
    assert warm[0][2]["Key"]["pk"] == f"CK#{world['key']}"

    new_secret = owner_call(keys_fn, world, "keys-rotate.json", body={}, key=world["key"]).body["secret"]
    with aws_calls() as rotated:
        creds = consumer_keys.launch_credentials(world["key"])

    assert creds.secrets == (new_secret,)  # the new version was opened, still in one read
    assert [(s, op) for s, op, _ in rotated] == [("dynamodb", "GetItem")]


def test_a_warm_launch_reads_the_key_and_the_class_once_each_consistently(world, launch_fn):
    assert_launched(launch(launch_fn, world))
    assert_launched(launch(launch_fn, world, unit=True))

    with aws_calls() as to_class:
        assert_launched(launch(launch_fn, world))
    with aws_calls() as to_unit:
        assert_launched(launch(launch_fn, world, unit=True))

    assert {s for s, _, _ in to_class + to_unit} == {"dynamodb"}  # no KMS: the opened secret is reused
    assert [op for _, op, _ in to_class] == ["GetItem", "PutItem", "GetItem", "PutItem"]
    assert [op for _, op, _ in to_unit] == ["GetItem", "PutItem", "BatchGetItem", "PutItem"]
    for _, op, params in reads(to_class) + reads(to_unit):
        if op == "GetItem":
            assert params["ConsistentRead"] is True
        else:
            assert all(spec["ConsistentRead"] is True for spec in params["RequestItems"].values())


def test_an_authenticated_app_api_call_reads_its_api_key_once_consistently(world, launch_fn, token_fn):
    token = assert_launched(launch(launch_fn, world))
    auth = ltik_auth(world["org"].api_key, token)
    assert token_fn(token_event("GET", "/api/idtoken", authorization=auth)).status == 200

    with aws_calls() as calls:
        assert token_fn(token_event("GET", "/api/idtoken", authorization=auth)).status == 200

    assert {s for s, _, _ in calls} == {"dynamodb"}
    assert [op for _, op, _ in calls] == ["GetItem", "GetItem"]  # the API key, then the launch context
    api_key_read = calls[0][2]
    assert api_key_read["Key"]["pk"] == f"APIKEY#{world['org'].credential_id}"
    assert api_key_read["ConsistentRead"] is True
