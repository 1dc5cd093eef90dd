"""The last active owner credential of an organisation is never revoked (issue 13, item 3).

The organisation item carries an ``owners`` counter; revoking an active owner credential is one
transaction with its decrement, conditional on ``owners > 1``; creating an owner credential is one
transaction with its increment. Organisations created before the counter get it backfilled.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3

from lti_gateway.admin import orgs
from lti_gateway.core.errors import GatewayError
from tests.support.events import vary


def table(stack):
    return boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])


def owners_counter(stack, org_id: str):
    item = table(stack).get_item(Key={"pk": f"ORG#{org_id}", "sk": "META"}, ConsistentRead=True)["Item"]
    return None if "owners" not in item else int(item["owners"])


def active_owners(stack, org_id: str) -> set[str]:
    return {
        i["credential_id"]
        for i in table(stack).scan(ConsistentRead=True)["Items"]
        if i.get("kind") == "api_credential"
        and i["org_id"] == org_id
        and i["role"] == "owner"
        and i["status"] == "active"
    }


def snapshot(stack) -> dict[str, list[dict]]:
    tables = boto3.resource("dynamodb")
    return {
        name: sorted(tables.Table(stack[name]).scan()["Items"], key=lambda i: (i["pk"], i["sk"]))
        for name in ("KEYS_TABLE", "LAUNCH_TABLE")
    }


def make_legacy(stack, org_id: str) -> None:
    """What an organisation created before the counter looks like: no ``owners`` attribute."""
    table(stack).update_item(Key={"pk": f"ORG#{org_id}", "sk": "META"}, UpdateExpression="REMOVE owners")


def new_credential(keys_fn, api_key: str, role: str) -> dict:
    answer = keys_fn(vary("credentials-create.json", api_key=api_key, body={"role": role, "label": role}))
    assert answer.status == 201, answer.raw
    return answer.body


def revoke(keys_fn, api_key: str, credential_id: str):
    return keys_fn(vary("credentials-revoke.json", api_key=api_key, path_params={"credential_id": credential_id}))


def works(keys_fn, api_key: str) -> bool:
    return keys_fn(vary("org-get.json", api_key=api_key)).status == 200


def test_a_new_organisation_counts_its_first_owner_and_new_owners_count_too(keys_fn, org, stack):
    assert owners_counter(stack, org.org_id) == 1

    new_credential(keys_fn, org.api_key, "owner")
    new_credential(keys_fn, org.api_key, "member")

    assert owners_counter(stack, org.org_id) == 2 == len(active_owners(stack, org.org_id))


def test_the_last_owner_revoking_itself_is_refused_and_keeps_working(keys_fn, org, stack):
    assert works(keys_fn, org.api_key)  # its last use recorded: the refusal below writes nothing
    before = snapshot(stack)

    answer = revoke(keys_fn, org.api_key, org.credential_id)

    assert (answer.status, answer.body["error"]) == (409, "last_owner")
    assert "last active owner" in answer.raw and org.api_key.split(".")[1] not in answer.raw
    assert snapshot(stack) == before
    assert works(keys_fn, org.api_key)


def test_owners_revoke_each_other_down_to_one_and_no_further(keys_fn, org, stack):
    second = new_credential(keys_fn, org.api_key, "owner")
    third = new_credential(keys_fn, org.api_key, "owner")
    assert owners_counter(stack, org.org_id) == 3

    assert revoke(keys_fn, org.api_key, second["credential_id"]).status == 200
    assert revoke(keys_fn, third["api_key"], org.credential_id).status == 200
    assert owners_counter(stack, org.org_id) == 1
    assert works(keys_fn, third["api_key"])
    before = snapshot(stack)

    answer = revoke(keys_fn, third["api_key"], third["credential_id"])

    assert (answer.status, answer.body["error"]) == (409, "last_owner")
    assert snapshot(stack) == before
    assert works(keys_fn, third["api_key"])


def test_an_owner_among_several_still_cannot_revoke_itself(keys_fn, org, stack):
    new_credential(keys_fn, org.api_key, "owner")
    assert works(keys_fn, org.api_key)
    before = snapshot(stack)

    answer = revoke(keys_fn, org.api_key, org.credential_id)

    assert (answer.status, answer.body["error"]) == (409, "cannot_revoke_self")
    assert snapshot(stack) == before


def test_revoking_an_owner_twice_counts_it_once(keys_fn, org, stack):
    second = new_credential(keys_fn, org.api_key, "owner")
    assert revoke(keys_fn, org.api_key, second["credential_id"]).status == 200
    before = snapshot(stack)

    again = revoke(keys_fn, org.api_key, second["credential_id"])

    assert (again.status, again.body["error"]) == (409, "already_revoked")
    assert snapshot(stack) == before
    assert owners_counter(stack, org.org_id) == 1


def test_member_revocation_does_not_touch_the_counter(keys_fn, org, stack):
    member = new_credential(keys_fn, org.api_key, "member")

    answer = revoke(keys_fn, org.api_key, member["credential_id"])

    assert answer.status == 200 and answer.body["status"] == "revoked"
    assert owners_counter(stack, org.org_id) == 1
    assert keys_fn(vary("org-get.json", api_key=member["api_key"])).body["error"] == "api_key_revoked"
    assert works(keys_fn, org.api_key)


def test_member_revocation_in_a_legacy_organisation_needs_no_counter(keys_fn, org, stack):
    member = new_credential(keys_fn, org.api_key, "member")
    make_legacy(stack, org.org_id)

    assert revoke(keys_fn, org.api_key, member["credential_id"]).status == 200

    assert owners_counter(stack, org.org_id) is None  # a member never needs (nor backfills) it


def test_a_legacy_organisation_is_backfilled_from_its_active_owners_only(keys_fn, org, stack):
    second = new_credential(keys_fn, org.api_key, "owner")
    gone = new_credential(keys_fn, org.api_key, "owner")
    new_credential(keys_fn, org.api_key, "member")
    # As before the counter: one owner revoked without it, then no counter at all.
    table(stack).update_item(
        Key={"pk": f"APIKEY#{gone['credential_id']}", "sk": "META"},
        UpdateExpression="SET #s = :r, revoked_at = :at",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": "revoked", ":at": "2026-01-01T00:00:00Z"},
    )
    make_legacy(stack, org.org_id)

    assert revoke(keys_fn, second["api_key"], org.credential_id).status == 200

    # Backfilled to 2 (the first and second owner; neither the revoked owner nor the member), then 1.
    assert owners_counter(stack, org.org_id) == 1
    last = revoke(keys_fn, second["api_key"], second["credential_id"])
    assert (last.status, last.body["error"]) == (409, "last_owner")
    assert works(keys_fn, second["api_key"])


def test_a_legacy_organisation_with_one_owner_refuses_to_lose_it(keys_fn, org, stack):
    make_legacy(stack, org.org_id)

    answer = revoke(keys_fn, org.api_key, org.credential_id)

    assert (answer.status, answer.body["error"]) == (409, "last_owner")
    assert owners_counter(stack, org.org_id) == 1  # backfilled on first need
    assert works(keys_fn, org.api_key)


def test_a_legacy_organisation_gaining_an_owner_is_backfilled_first(keys_fn, org, stack):
    make_legacy(stack, org.org_id)

    second = new_credential(keys_fn, org.api_key, "owner")

    assert owners_counter(stack, org.org_id) == 2
    assert revoke(keys_fn, second["api_key"], org.credential_id).status == 200
    last = revoke(keys_fn, second["api_key"], second["credential_id"])
    assert (last.status, last.body["error"]) == (409, "last_owner")


# -- races ----------------------------------------------------------------------------------------------


def test_twenty_pairs_of_owners_revoking_each_other_at_once_keep_an_owner(keys_fn, make_org, stack):
    """Each pair: a fresh organisation with exactly two owners, each revoking the other. Both requests
    authenticate, then wait for each other, then revoke: the moment a read-then-write would lose.

    The racers are the route's own two steps (``authenticate_bearer``, then ``revoke_credential``) in
    threads: the resolver keeps its current event in module state, so one handler module cannot serve
    two threads (docs/architecture.md, "moto is serialised"). The result is checked over HTTP."""
    pairs = []
    for i in range(20):
        first = make_org(f"Pair {i}")
        second = new_credential(keys_fn, first.api_key, "owner")
        pairs.append(
            {
                "org_id": first.org_id,
                "keys": (first.api_key, second["api_key"]),
                "ids": (first.credential_id, second["credential_id"]),
                "barrier": threading.Barrier(2, timeout=30),
            }
        )

    def attempt(job: tuple[dict, int]) -> tuple[int, str]:
        pair, side = job
        principal = orgs.authenticate_bearer(f"Bearer {pair['keys'][side]}")
        pair["barrier"].wait()
        try:
            orgs.revoke_credential(principal, pair["ids"][1 - side])
        except GatewayError as refused:
            return refused.status, refused.code
        return 200, "revoked"

    jobs = [(pair, side) for pair in pairs for side in (0, 1)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(attempt, jobs))

    assert {status for status, _ in outcomes} <= {200, 409}
    assert {code for status, code in outcomes if status == 409} <= {"last_owner", "concurrent_change"}
    assert any(code == "last_owner" for _, code in outcomes)  # the conditional write did refuse
    for index, pair in enumerate(pairs):
        answers = outcomes[2 * index : 2 * index + 2]
        owners = active_owners(stack, pair["org_id"])
        assert len(owners) >= 1, (pair["org_id"], answers)
        assert owners_counter(stack, pair["org_id"]) == len(owners)
        assert [status for status, _ in answers].count(200) == 2 - len(owners)
        for side in (0, 1):
            assert works(keys_fn, pair["keys"][side]) == (pair["ids"][side] in owners)
