"""Replaying ``POST /api/keys`` with its ``Idempotency-Key`` (issue 13, item 13).

A replay answers the key as it is now: the secret only while it is still the one the first answer
revealed (active, never rotated); after a rotation or a revocation the current status and
``secret_available: false``, never the secret that was rotated away. The idempotency record holds no
secret at all, sealed or not.
"""

from __future__ import annotations

import json

import boto3

from lti_gateway.lti11 import consumer_keys
from tests.support.events import vary

IDEMPOTENCY_KEY = "create-canvas-key-1"


def create(keys_fn, org, body=None, *, idempotency_key=IDEMPOTENCY_KEY):
    return keys_fn(
        vary(
            "keys-create.json",
            api_key=org.api_key,
            body={"label": "Canvas"} if body is None else body,
            headers={"idempotency-key": idempotency_key},
        )
    )


def rotate(keys_fn, org, key, grace=0):
    return keys_fn(
        vary("keys-rotate.json", api_key=org.api_key, path_params={"key": key}, body={"grace_period_seconds": grace})
    )


def revoke(keys_fn, org, key):
    return keys_fn(vary("keys-revoke.json", api_key=org.api_key, path_params={"key": key}))


def items(stack, table: str) -> list[dict]:
    return sorted(boto3.resource("dynamodb").Table(stack[table]).scan()["Items"], key=lambda i: (i["pk"], i["sk"]))


def idempotency_records(stack) -> list[dict]:
    return [i for i in items(stack, "LAUNCH_TABLE") if str(i["pk"]).startswith("IDEMPOTENCY#")]


def snapshot(stack) -> dict[str, list[dict]]:
    return {table: items(stack, table) for table in ("KEYS_TABLE", "LAUNCH_TABLE")}


def test_a_replay_of_an_unchanged_key_answers_the_same_key_and_secret(keys_fn, org, stack):
    first = create(keys_fn, org)
    replay = create(keys_fn, org)

    assert first.status == replay.status == 201
    assert first.body["secret"] and replay.body == first.body
    assert "secret_available" not in replay.body
    assert consumer_keys.launch_credentials(first.body["key"]).secrets == (first.body["secret"],)


def test_a_replay_after_a_rotation_shows_no_secret_and_the_rotation(keys_fn, org, stack):
    first = create(keys_fn, org).body
    rotated = rotate(keys_fn, org, first["key"], grace=3600)
    assert rotated.status == 200

    replay = create(keys_fn, org)

    assert replay.status == 201
    assert replay.body["key"] == first["key"] and replay.body["status"] == "active"
    assert replay.body["secret_available"] is False and "secret" not in replay.body
    assert replay.body["rotated_at"] == rotated.body["rotated_at"]
    # Neither the rotated-away secret (still valid for the grace period) nor the new one is shown.
    assert first["secret"] not in replay.raw and rotated.body["secret"] not in replay.raw


def test_a_replay_after_a_rotation_to_a_new_secret_never_reveals_it(keys_fn, org, stack):
    first = create(keys_fn, org, {"key": "supplied-key-000001", "secret": "supplied-secret-00001"}).body
    rotated = rotate(keys_fn, org, first["key"]).body

    replay = create(keys_fn, org, {"key": "supplied-key-000001", "secret": "supplied-secret-00001"})

    assert replay.status == 201 and replay.body["secret_available"] is False
    assert "supplied-secret-00001" not in replay.raw and rotated["secret"] not in replay.raw


def test_a_replay_after_a_revocation_shows_the_key_revoked_without_a_secret(keys_fn, org, stack):
    first = create(keys_fn, org).body
    assert revoke(keys_fn, org, first["key"]).status == 200

    replay = create(keys_fn, org)

    assert replay.status == 201
    assert replay.body["key"] == first["key"]
    assert replay.body["status"] == "revoked" and replay.body["revoked_at"]
    assert replay.body["secret_available"] is False and "secret" not in replay.body
    assert first["secret"] not in replay.raw


def test_the_idempotency_record_holds_no_secret_sealed_or_plain(keys_fn, org, stack):
    first = create(keys_fn, org).body
    create(keys_fn, org)  # the replay reads the record

    records = idempotency_records(stack)
    assert len(records) == 1
    stored = json.loads(records[0]["data"])
    assert stored["key"] == first["key"] and stored["secret_fingerprint"]
    assert first["secret"] not in repr(records)
    assert "secret_sealed" not in repr(records)
    sealed = next(i for i in items(stack, "KEYS_TABLE") if i.get("kind") == "consumer_key")["secret_sealed"]
    assert sealed not in repr(records)
    assert not any(isinstance(v, str) and v.startswith("v1.") for v in stored.values())  # no sealed value


def test_a_replay_whose_key_is_gone_is_409_naming_it_and_changes_nothing(keys_fn, org, stack):
    first = create(keys_fn, org).body
    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    table.delete_item(Key={"pk": f"CK#{first['key']}", "sk": "META"})  # no route deletes a key: an operator did
    before = snapshot(stack)

    replay = create(keys_fn, org)

    assert replay.status == 409 and replay.body["error"] == "key_deleted"
    assert first["key"] in json.dumps(replay.body["details"])
    assert first["secret"] not in replay.raw
    assert snapshot(stack) == before


def test_a_replay_of_a_record_stored_before_fingerprints_still_follows_the_key(keys_fn, org, stack):
    """Records written by the previous version stored the key's record with its sealed secret: the
    replay compares that sealed value with the key's current one and never opens the stored copy."""
    first = create(keys_fn, org).body
    item = next(i for i in items(stack, "KEYS_TABLE") if i.get("kind") == "consumer_key")
    legacy = {
        "key": item["key"],
        "org_id": item["org_id"],
        "label": item["label"],
        "status": "active",
        "created_at": item["created_at"],
        "version": 1,
        "secret_sealed": item["secret_sealed"],
    }
    record = idempotency_records(stack)[0]
    boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).update_item(
        Key={"pk": record["pk"], "sk": record["sk"]},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": "data"},
        ExpressionAttributeValues={":d": json.dumps(legacy)},
    )

    unchanged = create(keys_fn, org)
    assert unchanged.status == 201 and unchanged.body == first
    rotate(keys_fn, org, first["key"])
    after_rotation = create(keys_fn, org)
    assert after_rotation.body["secret_available"] is False and first["secret"] not in after_rotation.raw
