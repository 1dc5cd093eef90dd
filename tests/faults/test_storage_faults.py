"""DynamoDB and KMS failing under the JSON API functions (keys, classes, platforms, export).

Throttling, timeouts and unreachable endpoints are a 503 with ``Retry-After`` (the same request may
succeed a moment later); a refused KMS key is a 502; a lost conditional write is the 409 it always
was. Never a 500, never a trace, never a half-written record: every test compares the tables before
and after, and retries the same request once the fault is gone.
"""

from __future__ import annotations

import pytest

from lti_gateway.admin import orgs
from lti_gateway.core.errors import GatewayError
from lti_gateway.lti11 import consumer_keys
from lti_gateway.lti13 import tool_keys
from lti_gateway.repositories import deps
from tests.conftest import invoke
from tests.faults.conftest import RETRYABLE, assert_no_trace, snapshot
from tests.support.events import vary
from tests.support.stack import load_function


def assert_unavailable(answer, code: str = "service_unavailable") -> None:
    assert answer.status == 503, answer.raw
    assert int(answer.headers["retry-after"]) > 0
    assert answer.body == {"error": code, "details": answer.body["details"]}
    assert isinstance(answer.body["details"], str)
    assert_no_trace(answer.raw)


def create_key(keys_fn, org, body=None, **headers):
    return keys_fn(vary("keys-create.json", api_key=org.api_key, body=body or {}, headers=headers))


@pytest.fixture
def warm(keys_fn, org):
    """One successful request first: the credential's last-use touch is out of the way of snapshots."""
    assert keys_fn(vary("keys-list.json", api_key=org.api_key)).status == 200


# -- keys function ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_failing_listing_is_a_503_with_retry_after(faults, keys_fn, org, warm, fault):
    faults.fail("dynamodb.Query", getattr(faults, fault)())

    answer = keys_fn(vary("keys-list.json", api_key=org.api_key))

    assert_unavailable(answer)
    assert faults.injected == ["dynamodb.Query"]
    assert keys_fn(vary("keys-list.json", api_key=org.api_key)).status == 200


def test_authentication_that_cannot_read_its_key_is_a_503_not_a_401(faults, keys_fn, org, warm):
    faults.fail("dynamodb.GetItem", faults.read_timeout())

    assert_unavailable(keys_fn(vary("keys-list.json", api_key=org.api_key)))


@pytest.mark.parametrize("fault", ["transaction_throttled", "read_timeout", "unreachable"])
def test_a_create_that_fails_in_storage_writes_nothing_and_can_be_retried(faults, keys_fn, org, stack, warm, fault):
    before = snapshot(stack)
    faults.fail("dynamodb.TransactWriteItems", getattr(faults, fault)())

    answer = create_key(keys_fn, org, {"key": "retried-key-000001", "secret": "retried-secret-00001", "label": "L"})

    assert_unavailable(answer)  # a throttled transaction is not a 409 key_taken / label_taken
    assert snapshot(stack) == before
    again = create_key(keys_fn, org, {"key": "retried-key-000001", "secret": "retried-secret-00001", "label": "L"})
    assert again.status == 201, again.raw


def test_an_idempotent_create_whose_record_cannot_be_written_stores_nothing(faults, keys_fn, org, stack, warm):
    before = snapshot(stack)
    faults.fail("dynamodb.PutItem", faults.throttled())  # Powertools' in-progress record (launch table)

    answer = create_key(keys_fn, org, {"label": "Moodle"}, **{"idempotency-key": "retry-me-1"})

    assert_unavailable(answer)
    assert snapshot(stack) == before
    first = create_key(keys_fn, org, {"label": "Moodle"}, **{"idempotency-key": "retry-me-1"})
    second = create_key(keys_fn, org, {"label": "Moodle"}, **{"idempotency-key": "retry-me-1"})
    assert first.status == second.status == 201 and first.body["secret"] == second.body["secret"]


def test_a_throttled_revocation_is_a_503_not_already_revoked(faults, keys_fn, org, stack, warm):
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")["key"]
    before = snapshot(stack)
    faults.fail("dynamodb.TransactWriteItems", faults.transaction_throttled())

    answer = keys_fn(vary("keys-revoke.json", api_key=org.api_key, path_params={"key": key}))

    assert_unavailable(answer)
    assert snapshot(stack) == before
    assert consumer_keys.launch_credentials(key).status == "active"


def test_a_rotation_that_loses_its_condition_is_a_409_and_keeps_the_old_secret(faults, keys_fn, org, stack, warm):
    created = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    faults.fail("dynamodb.UpdateItem", faults.condition_failed())  # another container rotated meanwhile

    answer = keys_fn(vary("keys-rotate.json", api_key=org.api_key, path_params={"key": created["key"]}))

    assert (answer.status, answer.body["error"]) == (409, "concurrent_change"), answer.raw
    assert consumer_keys.launch_credentials(created["key"]).secrets == (created["secret"],)


@pytest.mark.parametrize(
    ("fault", "status"),
    [("access_denied", 502), ("throttled", 503), ("connect_timeout", 503)],
)
def test_kms_unavailable_on_a_cold_container_refuses_the_create_and_writes_nothing(
    faults, keys_fn, org, stack, warm, fault, status
):
    deps.secret_box.cache_clear()  # a new container: no data key yet
    before = snapshot(stack)
    error = faults.throttled("ThrottlingException") if fault == "throttled" else getattr(faults, fault)()
    faults.fail("kms.GenerateDataKey", error)

    answer = create_key(keys_fn, org, {"label": "Blackboard"})

    assert answer.status == status, answer.raw
    assert answer.body["error"] == "kms_unavailable"
    assert ("retry-after" in answer.headers) == (status == 503)
    assert_no_trace(answer.raw)
    assert snapshot(stack) == before
    assert create_key(keys_fn, org, {"label": "Blackboard"}).status == 201


def test_kms_unavailable_to_open_a_secret_is_a_clear_answer(faults, org, stack, warm):
    """A cold container opening a consumer secret (KMS Decrypt) while KMS is failing: a 503."""
    created = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    deps.secret_box.cache_clear()
    consumer_keys.clear_cache()
    faults.fail("kms.Decrypt", faults.throttled("KMSInternalException"), times=None)

    with pytest.raises(GatewayError) as raised:
        consumer_keys.launch_credentials(created["key"])

    assert (raised.value.status, raised.value.code, raised.value.retry_after) == (503, "kms_unavailable", 2)


# -- classes function -------------------------------------------------------------------------------------


@pytest.fixture
def classes_owner(org):
    from lti_gateway.admin import classes

    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    return classes.create_class(principal, {"name": "Physics"}, base="https://gw.example")


def test_a_throttled_class_update_is_a_503_and_changes_nothing(faults, classes_fn, org, stack, warm, classes_owner):
    before = snapshot(stack)
    faults.fail("dynamodb.UpdateItem", faults.throttled())

    answer = classes_fn(
        vary("classes-update.json", api_key=org.api_key, path_params={"class_id": classes_owner["class_id"]})
    )

    assert_unavailable(answer)
    assert snapshot(stack) == before


def _units(stack) -> list[dict]:
    return [i for i in snapshot(stack)["CLASSES_TABLE"] if str(i["sk"]).startswith("UNIT#")]


def _without_unit_counters(tables: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The tables with the class items' position counters left out: a position taken by a unit whose
    write then failed stays taken (a gap in the positions, never a unit)."""
    drop = {"next_position", "units_version"}
    return {name: [{k: v for k, v in i.items() if k not in drop} for i in items] for name, items in tables.items()}


def _create_unit(classes_fn, org, classes_owner):
    return classes_fn(
        vary("units-create.json", api_key=org.api_key, path_params={"class_id": classes_owner["class_id"]})
    )


def test_a_unit_whose_position_cannot_be_taken_is_a_503_and_changes_nothing(
    faults, classes_fn, org, stack, warm, classes_owner
):
    before = snapshot(stack)
    faults.fail("dynamodb.UpdateItem", faults.throttled())

    assert_unavailable(_create_unit(classes_fn, org, classes_owner))

    assert faults.injected == ["dynamodb.UpdateItem"]
    assert snapshot(stack) == before
    assert _create_unit(classes_fn, org, classes_owner).status == 201
    assert len(_units(stack)) == 1


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_unit_whose_write_fails_is_a_503_and_no_unit(faults, classes_fn, org, stack, warm, classes_owner, fault):
    before = snapshot(stack)
    faults.fail("dynamodb.PutItem", getattr(faults, fault)())

    assert_unavailable(_create_unit(classes_fn, org, classes_owner))

    assert faults.injected == ["dynamodb.PutItem"]
    assert _units(stack) == []
    assert _without_unit_counters(snapshot(stack)) == _without_unit_counters(before)
    assert _create_unit(classes_fn, org, classes_owner).status == 201
    assert len(_units(stack)) == 1


@pytest.mark.parametrize("fault", RETRYABLE)
def test_a_unit_whose_class_check_fails_is_taken_back_so_a_retry_makes_one(
    faults, classes_fn, org, stack, warm, classes_owner, fault
):
    """After the unit's write, its class is read again (a class deleted meanwhile takes the unit with
    it). If that read fails the answer is a 503, and the unit is taken back: the retry makes one unit."""
    faults.fail("dynamodb.GetItem", getattr(faults, fault)(), skip=1)  # the first GetItem: the API key

    assert_unavailable(_create_unit(classes_fn, org, classes_owner))

    assert faults.injected == ["dynamodb.GetItem"]
    assert _units(stack) == []
    created = _create_unit(classes_fn, org, classes_owner)
    assert created.status == 201
    assert [u["unit_id"] for u in _units(stack)] == [created.body["unit_id"]]


# -- platforms function -----------------------------------------------------------------------------------


def test_a_throttled_platform_registration_is_a_503_not_a_conflict(faults, platforms_fn, org, stack, warm):
    before = snapshot(stack)
    faults.fail("dynamodb.TransactWriteItems", faults.transaction_throttled(items=2))

    answer = platforms_fn(vary("platforms-create.json", api_key=org.api_key))

    assert_unavailable(answer)
    assert snapshot(stack) == before
    assert platforms_fn(vary("platforms-create.json", api_key=org.api_key)).status == 201


def test_a_throttled_platform_deletion_is_a_503_not_a_404(faults, platforms_fn, org, stack, warm):
    created = platforms_fn(vary("platforms-create.json", api_key=org.api_key)).body
    before = snapshot(stack)
    faults.fail("dynamodb.TransactWriteItems", faults.transaction_throttled())

    answer = platforms_fn(
        vary("platforms-delete.json", api_key=org.api_key, path_params={"platform_id": created["id"]})
    )

    assert_unavailable(answer)
    assert snapshot(stack) == before


def test_a_tool_key_rotation_without_kms_keeps_the_current_key(faults, platforms_fn, org, stack, warm):
    jwks_before = tool_keys.public_jwks(org.org_id)
    deps.secret_box.cache_clear()
    faults.fail("kms.GenerateDataKey", faults.access_denied(), times=None)

    answer = platforms_fn(vary("platforms-rotate-key.json", api_key=org.api_key))

    assert (answer.status, answer.body["error"]) == (502, "kms_unavailable"), answer.raw
    assert_no_trace(answer.raw)
    tool_keys.reset()
    assert tool_keys.public_jwks(org.org_id) == jwks_before


# -- export function --------------------------------------------------------------------------------------


def test_a_throttled_export_is_a_503(faults, org, stack, warm, classes_owner):
    module = load_function("export")
    faults.fail("dynamodb.Query", faults.throttled(), times=None)

    answer = invoke(
        module, vary("exports-class.json", api_key=org.api_key, path_params={"class_id": classes_owner["class_id"]})
    )

    assert_unavailable(answer)


def test_a_registration_url_lookup_that_times_out_is_a_503(faults, org, stack, warm):
    """The public dynamic-registration page: an unreadable table is a 503, not a 500."""
    module = load_function("platforms")
    faults.fail("dynamodb", faults.read_timeout(), times=None)

    answer = invoke(module, vary("platforms-register.json"))

    assert answer.status == 503, answer.raw
    assert_no_trace(answer.raw)
