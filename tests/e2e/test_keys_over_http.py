"""The key API as an admin and a script use it: over HTTP against `make run`'s gateway.

The Learnosity SDK is used unchanged (``DataApi().request``), pointed at our base URL.
"""

from __future__ import annotations

from urllib.parse import quote

import requests
from learnosity_sdk.request import DataApi


def _auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_create_list_rotate_and_revoke_a_key(gateway):
    org = gateway.create_organisation("HTTP University")
    api, headers = gateway.base_url, _auth(org.api_key)

    created = requests.post(f"{api}/api/keys", json={"label": "Canvas"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text
    key, secret = created.json()["key"], created.json()["secret"]

    listing = requests.get(f"{api}/api/keys", headers=headers, timeout=10)
    assert listing.status_code == 200 and [k["key"] for k in listing.json()["keys"]] == [key]
    assert secret not in listing.text

    rotated = requests.post(
        f"{api}/api/keys/{key}/rotate", json={"grace_period_seconds": 60}, headers=headers, timeout=10
    )
    assert rotated.status_code == 200 and rotated.json()["secret"] != secret

    revoked = requests.delete(f"{api}/api/keys/{key}", headers=headers, timeout=10)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert requests.get(f"{api}/api/keys/{key}", headers=headers, timeout=10).json()["status"] == "revoked"


def test_idempotent_create_over_http(gateway):
    org = gateway.create_organisation("Retry University")
    headers = {**_auth(org.api_key), "Idempotency-Key": "e2e-retry-1"}

    first = requests.post(f"{gateway.base_url}/api/keys", json={"label": "x"}, headers=headers, timeout=10)
    second = requests.post(f"{gateway.base_url}/api/keys", json={"label": "x"}, headers=headers, timeout=10)

    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()


def test_keys_with_reserved_characters_round_trip_percent_encoded(gateway):
    org = gateway.create_organisation("Odd Keys University")
    headers = _auth(org.api_key)
    odd = {"key": "school/unit#7|a%b^c$d", "secret": "another/secret#value+1"}

    assert requests.post(f"{gateway.base_url}/api/keys", json=odd, headers=headers, timeout=10).status_code == 201
    read = requests.get(f"{gateway.base_url}/api/keys/{quote(odd['key'], safe='')}", headers=headers, timeout=10)

    assert read.status_code == 200 and read.json()["key"] == odd["key"]


def test_the_learnosity_sdk_creates_and_lists_keys_unchanged(gateway):
    org = gateway.create_organisation("Learnosity University")
    credential_id, secret = org.api_key.split(".", 1)
    url = f"{gateway.base_url}/v2023.1.LTS/consumer/keys/lti"
    security = {"consumer_key": credential_id, "domain": "localhost"}

    created = DataApi().request(url, security, secret, {"label": "Blackboard"}, "set")
    listed = DataApi().request(url, security, secret, {}, "get")

    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["label"] == "Blackboard" and len(data["secret"]) >= 32
    assert listed.status_code == 200 and [k["key"] for k in listed.json()["data"]] == [data["key"]]
    every = list(DataApi().results_iter(url, security, secret, {"limit": 1}, "get"))
    assert [k["key"] for k in every] == [data["key"]]


def test_the_learnosity_sdk_with_a_wrong_secret_is_refused(gateway):
    org = gateway.create_organisation("Wrong Secret University")
    credential_id = org.api_key.split(".", 1)[0]
    url = f"{gateway.base_url}/v2023.1.LTS/consumer/keys/lti"

    answer = DataApi().request(url, {"consumer_key": credential_id, "domain": "localhost"}, "wrong", {}, "set")

    assert answer.status_code == 401
    assert answer.json()["meta"]["status"] is False
    listing = requests.get(f"{gateway.base_url}/api/keys", headers=_auth(org.api_key), timeout=10)
    assert listing.json()["keys"] == []


def test_cross_organisation_reads_are_not_found_over_http(gateway):
    first = gateway.create_organisation("First HTTP")
    second = gateway.create_organisation("Second HTTP")
    key = gateway.create_consumer_key(first.org_id, label="mine")["key"]

    answer = requests.get(f"{gateway.base_url}/api/keys/{key}", headers=_auth(second.api_key), timeout=10)

    assert answer.status_code == 404 and answer.json()["error"] == "not_found"
