"""The Learnosity Data API compatible endpoint, with packets signed by the official Learnosity SDK."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from learnosity_sdk.request import Init

from lti_gateway.lti11 import consumer_keys
from tests.support.events import vary


def signed_form(org, request: dict, action: str = "set", *, secret: str | None = None, **security) -> dict:
    credential_id, own_secret = org.api_key.split(".")
    packet = {"consumer_key": credential_id, "domain": "localhost", **security}
    return Init("data", packet, secret or own_secret, request, action).generate()


def post(keys_fn, form: dict, *, source_ip: str | None = None):
    event = vary("learnosity-keys-set.json", form=form)
    if source_ip is not None:
        event["requestContext"]["http"]["sourceIp"] = source_ip
    return keys_fn(event)


def test_set_creates_a_key_in_the_data_api_envelope(keys_fn, org):
    answer = post(keys_fn, signed_form(org, {"label": "Blackboard"}))

    assert answer.status == 200
    assert answer.body["meta"]["status"] is True and isinstance(answer.body["meta"]["timestamp"], int)
    data = answer.body["data"]
    assert data["label"] == "Blackboard" and len(data["secret"]) >= 32
    creds = consumer_keys.launch_credentials(data["key"])
    assert creds.org_id == org.org_id and creds.secrets == (data["secret"],)


def test_set_applies_the_same_key_rules(keys_fn, org):
    answer = post(keys_fn, signed_form(org, {"key": "k" * 20, "secret": "k" * 20}))

    assert answer.status == 400
    assert answer.body["meta"]["status"] is False and answer.body["data"] is None
    assert answer.body["meta"]["error"] == "validation_failed"


def test_get_lists_keys_with_paging(keys_fn, org):
    for label in ("a", "b", "c"):
        assert post(keys_fn, signed_form(org, {"label": label})).status == 200

    first = post(keys_fn, signed_form(org, {"limit": 2}, "get"))
    second = post(keys_fn, signed_form(org, {"limit": 2, "next": first.body["meta"]["next"]}, "get"))

    assert first.status == second.status == 200
    labels = [k["label"] for k in first.body["data"] + second.body["data"]]
    assert sorted(labels) == ["a", "b", "c"]
    assert "secret" not in json.dumps(first.body["data"])
    assert "next" not in second.body["meta"]


@pytest.mark.parametrize(
    ("mutate", "status", "error"),
    [
        (lambda f: {**f, "request": f["request"].replace("Blackboard", "Tampered")}, 401, "invalid_signature"),
        (lambda f: {**f, "action": "get"}, 401, "invalid_signature"),
        (lambda f: {k: v for k, v in f.items() if k != "security"}, 400, "validation_failed"),
        (lambda f: {**f, "security": "not json"}, 400, "validation_failed"),
        (lambda f: {**f, "security": json.dumps({**json.loads(f["security"]), "extra": 1})}, 400, "validation_failed"),
        (
            lambda f: {**f, "security": json.dumps({**json.loads(f["security"]), "timestamp": "yesterday"})},
            400,
            "validation_failed",
        ),
    ],
)
def test_tampered_or_malformed_packets_are_refused(keys_fn, org, stack, mutate, status, error):
    answer = post(keys_fn, mutate(signed_form(org, {"label": "Blackboard"})))

    assert answer.status == status
    assert answer.body["meta"]["status"] is False and answer.body["meta"]["error"] == error
    assert keys_list_is_empty(keys_fn, org)


def keys_list_is_empty(keys_fn, org) -> bool:
    return keys_fn(vary("keys-list.json", api_key=org.api_key)).body["keys"] == []


def test_a_wrong_secret_is_refused(keys_fn, org):
    answer = post(keys_fn, signed_form(org, {"label": "x"}, secret="not-the-secret"))
    assert (answer.status, answer.body["meta"]["error"]) == (401, "invalid_signature")


def test_an_unknown_consumer_is_refused_like_a_bad_signature(keys_fn, org):
    form = Init("data", {"consumer_key": "ak_ffffffffffffffff", "domain": "localhost"}, "whatever", {}, "set")
    answer = post(keys_fn, form.generate())
    assert (answer.status, answer.body["meta"]["error"]) == (401, "invalid_signature")


@pytest.mark.parametrize("minutes", [-30, 30])
def test_stale_and_future_timestamps_are_refused(keys_fn, org, minutes):
    stamp = (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y%m%d-%H%M")
    answer = post(keys_fn, signed_form(org, {"label": "x"}, timestamp=stamp))
    assert (answer.status, answer.body["meta"]["error"]) == (401, "timestamp_expired")
    assert keys_list_is_empty(keys_fn, org)


def test_a_timestamp_inside_the_window_is_accepted(keys_fn, org):
    stamp = (datetime.now(UTC) - timedelta(minutes=3)).strftime("%Y%m%d-%H%M")
    assert post(keys_fn, signed_form(org, {"label": "x"}, timestamp=stamp)).status == 200


def test_member_credentials_cannot_use_the_data_api(keys_fn, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body["api_key"]

    class Member:
        api_key = member

    answer = post(keys_fn, signed_form(Member, {"label": "x"}))

    assert (answer.status, answer.body["meta"]["error"]) == (403, "owner_role_required")


def test_unsupported_actions_are_refused(keys_fn, org):
    answer = post(keys_fn, signed_form(org, {}, "delete"))
    assert (answer.status, answer.body["meta"]["error"]) == (400, "unsupported_action")


def test_wrong_content_type_is_refused(keys_fn, org):
    event = vary("learnosity-keys-set.json", form=signed_form(org, {}), headers={"content-type": "application/json"})
    answer = keys_fn(event)
    assert answer.status == 415 and answer.body["meta"]["status"] is False


def test_throttling_answers_like_learnosity(keys_fn, org, monkeypatch):
    from lti_gateway.core import config

    monkeypatch.setenv("DATA_API_REQUESTS_PER_MINUTE", "2")
    config.settings.cache_clear()

    answers = [post(keys_fn, signed_form(org, {"limit": n}, "get")) for n in (1, 2, 3)]

    assert [a.status for a in answers[:2]] == [200, 200]
    assert answers[2].status == 429
    assert answers[2].body["meta"]["status"] is False and answers[2].body["meta"]["code"] == 42000
    assert int(answers[2].headers["retry-after"]) >= 1


# -- issue 13: limits count verified callers; a signed request is accepted once -------------------------


def stored_keys(keys_fn, org) -> list[str]:
    return sorted(k["key"] for k in keys_fn(vary("keys-list.json", api_key=org.api_key)).body["keys"])


def limit_per_minute(monkeypatch, value: int) -> None:
    from lti_gateway.core import config

    monkeypatch.setenv("DATA_API_REQUESTS_PER_MINUTE", str(value))
    config.settings.cache_clear()


def test_unsigned_requests_naming_a_credential_never_lock_its_owner_out(keys_fn, org, monkeypatch):
    limit_per_minute(monkeypatch, 2)
    forged = [signed_form(org, {"label": f"forged {n}"}, secret="guessed") for n in range(6)]

    strangers = [post(keys_fn, form, source_ip="198.51.100.66") for form in forged]
    owner = [post(keys_fn, signed_form(org, {"label": label})) for label in ("mine 1", "mine 2")]

    assert [a.status for a in strangers] == [401, 401, 429, 429, 429, 429]
    assert [a.body["meta"]["error"] for a in strangers[:2]] == ["invalid_signature"] * 2
    assert [a.status for a in owner] == [200, 200], owner[0].raw
    assert stored_keys(keys_fn, org) == sorted(a.body["data"]["key"] for a in owner)


def test_failures_from_one_source_ip_are_throttled_and_no_other(keys_fn, org, monkeypatch):
    limit_per_minute(monkeypatch, 2)
    unsigned = {"security": json.dumps({"consumer_key": "x", "domain": "d", "timestamp": "t", "signature": "s"})}

    flood = [post(keys_fn, unsigned, source_ip="198.51.100.7") for _ in range(4)]
    elsewhere = post(keys_fn, unsigned, source_ip="198.51.100.8")

    assert [a.status for a in flood] == [400, 400, 429, 429]
    assert flood[-1].body["meta"]["code"] == 42000 and int(flood[-1].headers["retry-after"]) >= 1
    assert elsewhere.status == 400
    assert stored_keys(keys_fn, org) == []


def test_a_replayed_set_is_refused_and_creates_no_second_key(keys_fn, org):
    form = signed_form(org, {"label": "Blackboard"})

    first = post(keys_fn, form)
    replay = post(keys_fn, form, source_ip="198.51.100.9")

    assert first.status == 200
    assert (replay.status, replay.body["meta"]["error"]) == (401, "signature_replayed")
    assert replay.body["meta"]["status"] is False and replay.body["data"] is None
    assert "secret" not in replay.raw
    assert stored_keys(keys_fn, org) == [first.body["data"]["key"]]
    fresh = post(keys_fn, signed_form(org, {"label": "Blackboard again"}))
    assert fresh.status == 200 and len(stored_keys(keys_fn, org)) == 2


def test_an_unverified_packet_does_not_burn_the_signature(keys_fn, org):
    form = signed_form(org, {"label": "Moodle"})
    tampered = {**form, "request": form["request"].replace("Moodle", "Evil")}

    assert post(keys_fn, tampered).status == 401
    assert post(keys_fn, form).status == 200


@pytest.mark.parametrize(
    ("timestamp_minutes", "expires_minutes"),
    [(0, 61), (0, 60 * 24 * 365), (-180, 10)],  # too far ahead; a year; an old timestamp kept alive
)
def test_expires_more_than_an_hour_ahead_is_refused(keys_fn, org, timestamp_minutes, expires_minutes):
    now = datetime.now(UTC)
    stamp = (now + timedelta(minutes=timestamp_minutes)).strftime("%Y%m%d-%H%M")
    expires = (now + timedelta(minutes=expires_minutes)).strftime("%Y%m%d-%H%M")

    answer = post(keys_fn, signed_form(org, {"label": "x"}, timestamp=stamp, expires=expires))

    assert (answer.status, answer.body["meta"]["error"]) == (401, "expires_too_far")
    assert stored_keys(keys_fn, org) == []


def test_expires_within_the_hour_is_accepted(keys_fn, org):
    now = datetime.now(UTC)
    stamp, expires = (t.strftime("%Y%m%d-%H%M") for t in (now, now + timedelta(minutes=60)))
    form = signed_form(org, {"label": "x"}, timestamp=stamp, expires=expires)
    assert post(keys_fn, form).status == 200
