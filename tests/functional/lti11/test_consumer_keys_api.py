"""The keys function end to end on moto: LTI 1.1 consumer keys through /api/keys."""

from __future__ import annotations

import json

import boto3
import pytest

from lti_gateway.lti11 import consumer_keys
from tests.support.events import vary

SUPPLIED = {"label": "Moodle", "key": "moodle.consumer-key.2026", "secret": "s3cret|value/with$chars+ok"}


def create(keys_fn, org, body=None, *, headers=None, api_key=None, **kw):
    headers = {"idempotency-key": None, **(headers or {})}
    api_key = api_key or org.api_key
    return keys_fn(
        vary("keys-create.json", api_key=api_key, body=body if body is not None else {}, headers=headers, **kw)
    )


def table_items(stack) -> list[dict]:
    return boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]


def consumer_key_items(stack) -> list[dict]:
    return [i for i in table_items(stack) if i.get("kind") == "consumer_key"]


# -- creation ---------------------------------------------------------------------------------------


def test_create_generates_key_and_secret_under_the_policy(keys_fn, org, stack):
    answer = create(keys_fn, org, {"label": "Canvas production"})

    assert answer.status == 201
    body = answer.body
    assert body["status"] == "active" and body["label"] == "Canvas production"
    assert len(body["key"]) >= 16 and len(body["secret"]) >= 32
    assert body["key"] != body["secret"]
    for value in (body["key"], body["secret"]):
        assert set(value) <= set(consumer_keys.KEY_CHARS)
    assert answer.headers["cache-control"] == "no-store"


def test_created_secret_is_never_stored_in_plain_text(keys_fn, org, stack):
    secret = create(keys_fn, org, {"label": "x"}).body["secret"]

    dump = json.dumps(table_items(stack), default=str)
    launch_dump = json.dumps(boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"], default=str)
    assert secret not in dump and secret not in launch_dump
    assert org.api_key.split(".")[1] not in dump


def test_create_with_supplied_key_and_secret(keys_fn, org):
    answer = create(keys_fn, org, SUPPLIED)

    assert answer.status == 201
    assert (answer.body["key"], answer.body["secret"], answer.body["label"]) == (
        SUPPLIED["key"],
        SUPPLIED["secret"],
        "Moodle",
    )
    assert consumer_keys.launch_credentials(SUPPLIED["key"]).secrets == (SUPPLIED["secret"],)


@pytest.mark.parametrize("length", [16, 255])
def test_key_and_secret_lengths_at_the_bounds_are_accepted(keys_fn, org, length):
    body = {"key": "k" * length, "secret": "s" * length}
    assert create(keys_fn, org, body).status == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "k" * 15, "secret": "s" * 20}, "key"),
        ({"key": "k" * 256, "secret": "s" * 20}, "key"),
        ({"key": "k" * 20, "secret": "s" * 15}, "secret"),
        ({"key": "k" * 20, "secret": "s" * 256}, "secret"),
        ({"key": "UPPERCASEKEY12345678", "secret": "s" * 20}, "key"),
        ({"key": "key with spaces 12345", "secret": "s" * 20}, "key"),
        ({"key": "k" * 20, "secret": "semicolon;not-allowed"}, "secret"),
        ({"key": "k" * 20, "secret": "ünïcode-secret-value"}, "secret"),
        ({"key": "same-value-for-both", "secret": "same-value-for-both"}, "secret"),
        ({"key": "k" * 20}, "secret"),
        ({"secret": "s" * 20}, "key"),
        ({"key": 1234567890123456789, "secret": "s" * 20}, "key"),
        ({"label": "x" * 256}, "label"),
        ({"label": 42}, "label"),
        ({"label": "   "}, "label"),
        ({"label": "bad\nlabel"}, "label"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_creation_requests_are_refused_and_store_nothing(keys_fn, org, stack, body, field):
    answer = create(keys_fn, org, body)

    assert answer.status == 400
    assert answer.body["error"] == "validation_failed"
    assert field in answer.body["details"]
    assert consumer_key_items(stack) == []


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "error"),
    [
        ("{not json", "application/json", 400, "invalid_json"),
        ("[1, 2]", "application/json", 400, "invalid_json"),
        ('"a string"', "application/json", 400, "invalid_json"),
        ('{"label": "x"}', "text/plain", 415, "unsupported_media_type"),
        ('{"label": "' + "x" * 20_000 + '"}', "application/json", 413, "body_too_large"),
    ],
)
def test_malformed_bodies_are_refused(keys_fn, org, stack, raw, content_type, status, error):
    answer = create(keys_fn, org, raw_body=raw, headers={"content-type": content_type})

    assert (answer.status, answer.body["error"]) == (status, error)
    assert consumer_key_items(stack) == []


def test_a_key_taken_by_any_organisation_is_a_conflict_and_untouched(keys_fn, make_org, stack):
    first, second = make_org("First"), make_org("Second")
    assert create(keys_fn, first, SUPPLIED).status == 201

    again = create(keys_fn, second, {**SUPPLIED, "secret": "another-secret-entirely", "label": "Mine now"})

    assert again.status == 409 and again.body["error"] == "key_taken"
    assert "another-secret-entirely" not in again.raw
    creds = consumer_keys.launch_credentials(SUPPLIED["key"])
    assert creds.org_id == first.org_id and creds.secrets == (SUPPLIED["secret"],)


def test_labels_are_unique_within_an_organisation_only(keys_fn, make_org, stack):
    first, second = make_org("First"), make_org("Second")
    assert create(keys_fn, first, {"label": "Canvas"}).status == 201

    duplicate = create(keys_fn, first, {"label": "canvas"})
    elsewhere = create(keys_fn, second, {"label": "Canvas"})

    assert duplicate.status == 409 and duplicate.body["error"] == "label_taken"
    assert elsewhere.status == 201
    assert len(consumer_key_items(stack)) == 2


# -- idempotency ------------------------------------------------------------------------------------


def test_a_retried_create_with_the_same_idempotency_key_returns_the_first_answer(keys_fn, org, stack):
    first = create(keys_fn, org, {"label": "Canvas"}, headers={"idempotency-key": "retry-123"})
    retry = create(keys_fn, org, {"label": "Canvas"}, headers={"idempotency-key": "retry-123"})

    assert first.status == retry.status == 201
    assert retry.body == first.body
    assert len(consumer_key_items(stack)) == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(keys_fn, org, stack):
    assert create(keys_fn, org, {"label": "Canvas"}, headers={"idempotency-key": "retry-123"}).status == 201

    other = create(keys_fn, org, {"label": "Moodle"}, headers={"idempotency-key": "retry-123"})

    assert other.status == 409 and other.body["error"] == "idempotency_key_reused"
    assert len(consumer_key_items(stack)) == 1


def test_idempotency_keys_are_scoped_to_the_organisation(keys_fn, make_org, stack):
    first, second = make_org("First"), make_org("Second")
    a = create(keys_fn, first, {}, headers={"idempotency-key": "same"})
    b = create(keys_fn, second, {}, headers={"idempotency-key": "same"})

    assert a.status == b.status == 201 and a.body["key"] != b.body["key"]


def test_a_failed_create_is_not_remembered_by_its_idempotency_key(keys_fn, org, stack):
    bad = create(keys_fn, org, {"key": "k" * 20}, headers={"idempotency-key": "fix-and-retry"})
    assert bad.status == 400
    good = create(keys_fn, org, {"key": "k" * 20}, headers={"idempotency-key": "other"})
    assert good.status == 400  # still invalid: nothing cached turned it into a success


# -- authentication and roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, "missing_credentials"),
        ("Basic dXNlcjpwYXNz", "invalid_authorization_scheme"),
        ("Bearer ", "invalid_authorization_scheme"),
        ("Bearer ak_0123456789abcdef.wrong", "invalid_api_key"),
        ("Bearer not-even-shaped-right", "invalid_api_key"),
        ("Bearer " + "x" * 5000, "invalid_api_key"),
    ],
)
def test_requests_without_a_valid_api_key_are_unauthorised(keys_fn, org, stack, authorization, error):
    event = vary("keys-create.json", body={}, headers={"authorization": authorization})

    answer = keys_fn(event)

    assert (answer.status, answer.body["error"]) == (401, error)
    assert consumer_key_items(stack) == []


def test_a_wrong_secret_for_a_real_credential_is_unauthorised(keys_fn, org, stack):
    forged = f"{org.credential_id}.{'A' * 43}"
    answer = create(keys_fn, org, {}, api_key=forged)
    assert (answer.status, answer.body["error"]) == (401, "invalid_api_key")


def test_members_cannot_see_or_create_lti_keys(keys_fn, org, stack):
    assert create(keys_fn, org, SUPPLIED).status == 201
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body["api_key"]

    attempts = [
        vary("keys-create.json", api_key=member, body={}),
        vary("keys-list.json", api_key=member),
        vary("keys-get.json", api_key=member),
        vary("keys-rotate.json", api_key=member, body={}),
        vary("keys-revoke.json", api_key=member),
    ]
    for event in attempts:
        answer = keys_fn(event)
        assert (answer.status, answer.body["error"]) == (403, "owner_role_required"), event["routeKey"]
    assert len(consumer_key_items(stack)) == 1
    assert consumer_keys.launch_credentials(SUPPLIED["key"]).status == "active"


# -- reading and listing ----------------------------------------------------------------------------


def test_listing_pages_through_keys_without_secrets(keys_fn, org, stack):
    secrets = {create(keys_fn, org, {"label": f"LMS {i}"}).body["secret"] for i in range(5)}

    seen, token, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"next": token} if token else {})}
        answer = keys_fn(vary("keys-list.json", api_key=org.api_key, query=query))
        assert answer.status == 200
        assert not any(s in answer.raw for s in secrets)
        assert "sealed" not in answer.raw
        seen += answer.body["keys"]
        pages += 1
        token = answer.body["next"]
        if not token:
            break
    assert sorted(k["label"] for k in seen) == [f"LMS {i}" for i in range(5)]
    assert pages >= 3


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"next": "garbage!!"}])
def test_bad_paging_parameters_are_refused(keys_fn, org, query):
    answer = keys_fn(vary("keys-list.json", api_key=org.api_key, query=query))
    assert answer.status == 400


def test_a_page_token_from_another_organisation_is_refused(keys_fn, make_org):
    first, second = make_org("First"), make_org("Second")
    for i in range(3):
        create(keys_fn, first, {"label": f"k{i}"})
    token = keys_fn(vary("keys-list.json", api_key=first.api_key, query={"limit": "1"})).body["next"]
    assert token

    answer = keys_fn(vary("keys-list.json", api_key=second.api_key, query={"next": token}))

    assert (answer.status, answer.body["error"]) == (400, "invalid_page_token")


def test_organisations_never_see_each_others_keys(keys_fn, make_org):
    first, second = make_org("First"), make_org("Second")
    assert create(keys_fn, first, SUPPLIED).status == 201

    listing = keys_fn(vary("keys-list.json", api_key=second.api_key))
    read = keys_fn(vary("keys-get.json", api_key=second.api_key))
    rotate = keys_fn(vary("keys-rotate.json", api_key=second.api_key, body={}))
    revoke = keys_fn(vary("keys-revoke.json", api_key=second.api_key))

    assert listing.body["keys"] == []
    assert read.status == rotate.status == revoke.status == 404
    creds = consumer_keys.launch_credentials(SUPPLIED["key"])
    assert creds.status == "active" and creds.secrets == (SUPPLIED["secret"],)


def test_get_one_key_without_its_secret(keys_fn, org):
    create(keys_fn, org, SUPPLIED)

    answer = keys_fn(vary("keys-get.json", api_key=org.api_key))

    assert answer.status == 200
    assert answer.body["key"] == SUPPLIED["key"] and answer.body["status"] == "active"
    assert "secret" not in answer.body and SUPPLIED["secret"] not in answer.raw


def test_keys_with_url_reserved_characters_are_addressed_percent_encoded(keys_fn, org):
    odd = {"key": "org/unit#1|a%b^c$d", "secret": "another/secret#value"}
    assert create(keys_fn, org, odd).status == 201

    answer = keys_fn(vary("keys-get.json", api_key=org.api_key, path_params={"key": odd["key"]}))

    assert answer.status == 200 and answer.body["key"] == odd["key"]


def test_unknown_key_is_not_found(keys_fn, org):
    answer = keys_fn(vary("keys-get.json", api_key=org.api_key, path_params={"key": "no-such-key-here-at-all"}))
    assert (answer.status, answer.body["error"]) == (404, "not_found")


# -- rotation ---------------------------------------------------------------------------------------


def test_rotation_with_a_grace_period_keeps_the_old_secret_working(keys_fn, org):
    create(keys_fn, org, SUPPLIED)

    answer = keys_fn(vary("keys-rotate.json", api_key=org.api_key, body={"grace_period_seconds": 3600}))

    assert answer.status == 200
    new_secret = answer.body["secret"]
    assert new_secret != SUPPLIED["secret"]
    assert "previous_secret_valid_until" in answer.body
    creds = consumer_keys.launch_credentials(SUPPLIED["key"])
    assert creds.secrets == (new_secret, SUPPLIED["secret"])


def test_rotation_without_grace_retires_the_old_secret_at_once(keys_fn, org):
    create(keys_fn, org, SUPPLIED)

    answer = keys_fn(vary("keys-rotate.json", api_key=org.api_key, body={}))

    assert answer.status == 200
    assert consumer_keys.launch_credentials(SUPPLIED["key"]).secrets == (answer.body["secret"],)
    read = keys_fn(vary("keys-get.json", api_key=org.api_key)).body
    assert read["rotated_at"] and "previous_secret_valid_until" not in read


def test_an_expired_grace_period_no_longer_accepts_the_old_secret(keys_fn, org, monkeypatch):
    create(keys_fn, org, SUPPLIED)
    new_secret = keys_fn(vary("keys-rotate.json", api_key=org.api_key, body={"grace_period_seconds": 60})).body[
        "secret"
    ]
    import time

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)

    assert consumer_keys.launch_credentials(SUPPLIED["key"]).secrets == (new_secret,)


@pytest.mark.parametrize(
    "body",
    [
        {"grace_period_seconds": -1},
        {"grace_period_seconds": 604801},
        {"grace_period_seconds": "60"},
        {"grace_period_seconds": True},
        {"grace": 60},
    ],
)
def test_bad_rotation_requests_leave_the_secret_alone(keys_fn, org, body):
    create(keys_fn, org, SUPPLIED)

    answer = keys_fn(vary("keys-rotate.json", api_key=org.api_key, body=body))

    assert answer.status == 400
    assert consumer_keys.launch_credentials(SUPPLIED["key"]).secrets == (SUPPLIED["secret"],)


def test_rotation_loses_no_concurrent_change(stack, org, keys_fn):
    """A rotation that read an old version is refused instead of overwriting the newer secret."""
    from lti_gateway.repositories import deps

    create(keys_fn, org, SUPPLIED)
    repo = deps.keys_repo()
    item = repo.get_consumer_key(SUPPLIED["key"])
    keys_fn(vary("keys-rotate.json", api_key=org.api_key, body={}))

    from lti_gateway.core.errors import Conflict

    with pytest.raises(Conflict):
        repo.rotate_consumer_key(
            org.org_id,
            SUPPLIED["key"],
            expected_version=int(item["version"]),
            secret_sealed="x",
            previous_secret_sealed=None,
            previous_valid_until=None,
            at="now",
        )


# -- revocation -------------------------------------------------------------------------------------


def test_revoked_keys_are_kept_for_audit_refused_for_launches_and_free_their_label(keys_fn, org, stack):
    create(keys_fn, org, SUPPLIED)

    answer = keys_fn(vary("keys-revoke.json", api_key=org.api_key))

    assert answer.status == 200 and answer.body["status"] == "revoked" and answer.body["revoked_at"]
    item = consumer_key_items(stack)[0]
    assert item["status"] == "revoked" and "secret_sealed" not in item
    creds = consumer_keys.launch_credentials(SUPPLIED["key"])
    assert (creds.status, creds.secrets) == ("revoked", ())
    listing = keys_fn(vary("keys-list.json", api_key=org.api_key)).body["keys"]
    assert [k["status"] for k in listing] == ["revoked"]
    assert create(keys_fn, org, {"label": SUPPLIED["label"]}).status == 201


def test_a_revoked_key_cannot_be_revoked_rotated_or_retaken(keys_fn, org):
    create(keys_fn, org, SUPPLIED)
    keys_fn(vary("keys-revoke.json", api_key=org.api_key))

    again = keys_fn(vary("keys-revoke.json", api_key=org.api_key))
    rotate = keys_fn(vary("keys-rotate.json", api_key=org.api_key, body={}))
    retake = create(keys_fn, org, {**SUPPLIED, "label": "new"})

    assert (again.status, again.body["error"]) == (409, "already_revoked")
    assert (rotate.status, rotate.body["error"]) == (409, "key_revoked")
    assert (retake.status, retake.body["error"]) == (409, "key_taken")


# -- logs -------------------------------------------------------------------------------------------


def test_no_secret_reaches_the_logs(keys_fn, org, logs):
    created = create(keys_fn, org, {"label": "Canvas"}).body
    rotated = keys_fn(vary("keys-rotate.json", api_key=org.api_key, path_params={"key": created["key"]}, body={})).body
    create(keys_fn, org, {"key": "k" * 20, "secret": "invalid secret with spaces"})

    text = logs.getvalue()
    assert "consumer key created" in text  # the logs are captured at all
    for secret in (created["secret"], rotated["secret"], org.api_key, org.api_key.split(".")[1]):
        assert secret not in text
    assert "invalid secret with spaces" not in text
