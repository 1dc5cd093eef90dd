"""Organisations and their API credentials through the keys function."""

from __future__ import annotations

import boto3
import pytest

from lti_gateway.admin import orgs
from lti_gateway.core.errors import ValidationFailed
from tests.support.events import vary


def test_create_organisation_stores_only_a_hash_and_a_sealed_secret(stack):
    created = orgs.create_organisation("Acme University")

    credential_id, secret = created.api_key.split(".")
    assert credential_id == created.credential_id and len(secret) >= 43
    items = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"]).scan()["Items"]
    assert {i["kind"] for i in items} == {"org", "api_credential"}
    assert secret not in repr(items)
    cred = next(i for i in items if i["kind"] == "api_credential")
    assert cred["role"] == "owner" and cred["secret_hash"] and cred["secret_sealed"].startswith("v1.")


@pytest.mark.parametrize("name", ["", "   ", None, 42, "x" * 201, "tab\there"])
def test_organisation_names_are_validated(stack, name):
    with pytest.raises(ValidationFailed):
        orgs.create_organisation(name)


def test_who_am_i(keys_fn, org):
    answer = keys_fn(vary("org-get.json", api_key=org.api_key))

    assert answer.status == 200
    assert answer.body["org_id"] == org.org_id and answer.body["name"] == "Acme University"
    assert answer.body["credential"] == {"credential_id": org.credential_id, "role": "owner"}


def test_owner_creates_a_member_credential_shown_once(keys_fn, org):
    created = keys_fn(vary("credentials-create.json", api_key=org.api_key))

    assert created.status == 201
    assert created.body["role"] == "member" and created.body["label"] == "reporting job"
    member_key = created.body["api_key"]
    assert keys_fn(vary("org-get.json", api_key=member_key)).body["credential"]["role"] == "member"
    listing = keys_fn(vary("credentials-list.json", api_key=org.api_key))
    assert listing.status == 200
    assert {c["credential_id"] for c in listing.body["credentials"]} == {
        org.credential_id,
        created.body["credential_id"],
    }
    assert member_key.split(".")[1] not in listing.raw and "hash" not in listing.raw and "sealed" not in listing.raw


@pytest.mark.parametrize("body", [{"role": "admin"}, {"role": "owner", "label": "x" * 256}, {"label": 5}])
def test_bad_credential_requests_are_refused(keys_fn, org, body):
    answer = keys_fn(vary("credentials-create.json", api_key=org.api_key, body=body))
    assert answer.status == 400
    listing = keys_fn(vary("credentials-list.json", api_key=org.api_key)).body["credentials"]
    assert len(listing) == 1


def test_members_cannot_manage_credentials(keys_fn, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body

    create = keys_fn(vary("credentials-create.json", api_key=member["api_key"], body={"role": "owner"}))
    listing = keys_fn(vary("credentials-list.json", api_key=member["api_key"]))
    revoke = keys_fn(
        vary("credentials-revoke.json", api_key=member["api_key"], path_params={"credential_id": org.credential_id})
    )

    assert create.status == listing.status == revoke.status == 403
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).status == 200


def test_a_revoked_credential_is_refused_with_a_clear_reason(keys_fn, org):
    member = keys_fn(vary("credentials-create.json", api_key=org.api_key)).body

    revoked = keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": member["credential_id"]})
    )
    after = keys_fn(vary("org-get.json", api_key=member["api_key"]))

    assert revoked.status == 200 and revoked.body["status"] == "revoked"
    assert (after.status, after.body["error"]) == (401, "api_key_revoked")
    again = keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": member["credential_id"]})
    )
    assert (again.status, again.body["error"]) == (409, "already_revoked")


def test_a_credential_cannot_revoke_itself(keys_fn, org):
    keys_fn(vary("credentials-create.json", api_key=org.api_key, body={"role": "owner"}))  # not the last owner
    answer = keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": org.credential_id})
    )
    assert (answer.status, answer.body["error"]) == (409, "cannot_revoke_self")
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).status == 200


def test_the_only_owner_revoking_itself_is_told_it_is_the_last_owner(keys_fn, org):
    answer = keys_fn(
        vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": org.credential_id})
    )
    assert (answer.status, answer.body["error"]) == (409, "last_owner")
    assert keys_fn(vary("org-get.json", api_key=org.api_key)).status == 200


def test_another_organisations_credential_cannot_be_revoked(keys_fn, make_org):
    first, second = make_org("First"), make_org("Second")

    answer = keys_fn(
        vary("credentials-revoke.json", api_key=second.api_key, path_params={"credential_id": first.credential_id})
    )

    assert answer.status == 404
    assert keys_fn(vary("org-get.json", api_key=first.api_key)).status == 200


def test_last_use_is_recorded(keys_fn, org):
    keys_fn(vary("org-get.json", api_key=org.api_key))
    listing = keys_fn(vary("credentials-list.json", api_key=org.api_key)).body["credentials"]
    assert listing[0]["last_used_at"]


def test_unknown_routes_answer_json_404(keys_fn, org):
    event = vary("org-get.json", api_key=org.api_key)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/nothing-here"
    answer = keys_fn(event)
    assert answer.status == 404 and answer.body["error"] == "not_found"
