"""The local gateway's own DynamoDB and KMS calls to the embedded moto (``moto_serial.InProcess``).

By default (``LocalGateway(aws_in_process=True)``) they are answered by calling moto directly, unsigned,
with DynamoDB's item results written as plain JSON; ``aws_in_process=False`` sends them over loopback
HTTP, signed, as other processes' calls go. Either way a caller sees the same answers: items with every
attribute type round-trip, conditional failures are the same exceptions, KMS seals and opens, and the
HTTP API works.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.handlers import BUILTIN_HANDLERS

from lti_gateway.local import moto_serial
from tests.support.local_gateway import local_gateway

ITEM = {
    "pk": {"S": "k1"},
    "s": {"S": "text é ☃"},
    "n": {"N": "12.5"},
    "b": {"B": b"\x00\x01binary\xff"},
    "bs": {"BS": [b"a", b"\xfe"]},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2"]},
    "l": {"L": [{"S": "a"}, {"N": "1"}, {"NULL": True}, {"BOOL": False}]},
    "m": {"M": {"inner": {"M": {"deep": {"B": b"\x10"}}}, "flag": {"BOOL": True}}},
    "nul": {"NULL": True},
}


def _routed() -> list[object]:
    return [entry[1] for entry in BUILTIN_HANDLERS if isinstance(entry[1], moto_serial.InProcess)]


@pytest.fixture(scope="module", params=[True, False], ids=["in-process", "over-http"])
def gateway(request):
    with local_gateway(quiet=True, aws_in_process=request.param) as gw:
        yield gw
    assert _routed() == []  # stop() removes the routing


def _table(gw) -> str:
    client = boto3.client("dynamodb", region_name="us-east-1")
    name = f"{next(iter(gw.stack['tables'].values()))}-inprocess-test"
    if name not in client.list_tables()["TableNames"]:
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    return name


def test_the_switch_routes_only_when_asked(gateway):
    assert len(_routed()) == (1 if gateway.aws_in_process else 0)
    if gateway.aws_in_process:
        (routed,) = _routed()
        assert {entry[0] for entry in BUILTIN_HANDLERS if entry[1] == routed.unsigned} == {
            "choose-signer.dynamodb",
            "choose-signer.kms",
        }


def test_items_of_every_type_round_trip(gateway):
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(gateway)
    client.put_item(TableName=table, Item=ITEM)
    assert client.get_item(TableName=table, Key={"pk": {"S": "k1"}}, ConsistentRead=True)["Item"] == ITEM
    queried = client.query(
        TableName=table, KeyConditionExpression="pk = :k", ExpressionAttributeValues={":k": {"S": "k1"}}
    )
    assert queried["Items"] == [ITEM] and queried["Count"] == 1
    updated = client.update_item(
        TableName=table,
        Key={"pk": {"S": "k1"}},
        UpdateExpression="ADD tally :one SET s = :s",
        ExpressionAttributeValues={":one": {"N": "1"}, ":s": {"S": "new"}},
        ReturnValues="UPDATED_NEW",
    )
    assert updated["Attributes"] == {"tally": {"N": "1"}, "s": {"S": "new"}}
    resource = boto3.resource("dynamodb", region_name="us-east-1").Table(table)
    assert resource.get_item(Key={"pk": "k1"})["Item"]["n"] == Decimal("12.5")
    old = client.delete_item(TableName=table, Key={"pk": {"S": "k1"}}, ReturnValues="ALL_OLD")["Attributes"]
    assert old == {**ITEM, "s": {"S": "new"}, "tally": {"N": "1"}}
    assert "Item" not in client.get_item(TableName=table, Key={"pk": {"S": "k1"}})


def test_conditional_failures_and_validation_errors_are_the_same_exceptions(gateway):
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(gateway)
    client.put_item(TableName=table, Item={"pk": {"S": "once"}})
    with pytest.raises(ClientError) as failed:
        client.put_item(TableName=table, Item={"pk": {"S": "once"}}, ConditionExpression="attribute_not_exists(pk)")
    assert failed.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    with pytest.raises(ClientError) as invalid:
        client.update_item(TableName=table, Key={"pk": {"S": "once"}}, UpdateExpression="SET a = :missing")
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as missing:
        client.get_item(TableName=f"{table}-absent", Key={"pk": {"S": "x"}})
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_kms_seals_and_opens(gateway):
    kms = boto3.client("kms", region_name="us-east-1")
    key_id = gateway.stack["kms_key_id"]
    sealed = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"secret"


def test_the_api_creates_and_lists_units(gateway):
    headers = {"Authorization": f"Bearer {gateway.api_key}"}
    created = requests.post(f"{gateway.base_url}/api/classes", json={"name": "Switch"}, headers=headers, timeout=30)
    assert created.status_code == 201, created.text
    class_id = created.json()["class_id"]
    for i in range(3):
        unit = requests.post(
            f"{gateway.base_url}/api/classes/{class_id}/units", json={"name": f"U{i}"}, headers=headers, timeout=30
        )
        assert unit.status_code == 201, unit.text
    listed = requests.get(f"{gateway.base_url}/api/classes/{class_id}/units", headers=headers, timeout=30)
    assert [u["name"] for u in listed.json()["units"]] == ["U0", "U1", "U2"]
    assert [u["position"] for u in listed.json()["units"]] == [0, 1, 2]
    refused = requests.post(
        f"{gateway.base_url}/api/classes/{class_id}/units", json={"name": "x"}, headers={}, timeout=30
    )
    assert refused.status_code == 401


def test_plain_json_matches_motos_own_serialiser():
    """For the item operations answered by ``_plain_json``, moto's shape-walking serialiser gives the
    same document (bytes in base64, None members left out)."""
    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import JSONSerializer
    from moto.core.utils import get_service_model
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import dynamo_to_dict

    moto_serial.install()
    model = get_service_model("dynamodb")
    item = {
        name: DynamoType({k: (base64.b64encode(v).decode() if k == "B" else v) for k, v in value.items()})
        if "B" in value
        else DynamoType(value)
        for name, value in ITEM.items()
        if "BS" not in value
    }
    results = {
        "GetItem": {"Item": item},
        "Query": {"Items": [item, item], "Count": 2, "ScannedCount": 2, "LastEvaluatedKey": {"pk": item["pk"]}},
        "UpdateItem": {"Attributes": item, "ConsumedCapacity": None},
        "PutItem": {},
    }
    for operation, raw in results.items():
        result = dynamo_to_dict(raw)
        context = ActionContext(model, model.operation_model(operation), JSONSerializer, None)  # type: ignore[arg-type]
        _, _, theirs = ActionResult.execute_result(ActionResult(result), context)
        assert json.loads(moto_serial._plain_json(result)) == json.loads(theirs), operation
