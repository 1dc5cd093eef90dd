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
import pickle
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


def _condition_cache() -> dict:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    moto_serial.install()
    return ConditionExpressionParser.parse._parsed


def test_cached_condition_parse_is_the_parse():
    """A condition expression parsed from the cache gives the tree, and the names and values found,
    that moto's own parser gives, for each (expression, names, values); a failing parse fails the same
    way every time and is not kept."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    cache = _condition_cache()
    original = ConditionExpressionParser.parse._original
    cases = [
        ("attribute_exists(pk) AND #org = :org", {"#org": "org_id"}, {":org": {"S": "o1"}}),
        ("attribute_exists(pk) AND #org = :org", {"#org": "org_id"}, {":org": {"S": "o2"}}),
        ("attribute_exists(pk) AND #org = :org", {"#org": "owner"}, {":org": {"S": "o1"}}),
        (
            "size(#l) > :n OR #m.#i IN (:a, :b)",
            {"#l": "l", "#m": "m", "#i": "inner"},
            {":n": {"N": "1"}, ":a": ITEM["m"], ":b": ITEM["l"]},
        ),
        ("attribute_not_exists(pk)", {}, {}),
    ]

    def parsed_by(parse, expression, names, values):
        parser = ConditionExpressionParser(expression, names, values)
        tree = parse(parser)
        return repr(tree), pickle.dumps(tree), parser.expr_attr_names_found, parser.expr_attr_values_found

    for expression, names, values in cases:
        theirs = parsed_by(original, expression, names, values)
        for _ in range(2):  # a miss, then a hit
            assert parsed_by(ConditionExpressionParser.parse, expression, names, values) == theirs
    assert len({pickle.dumps(entry[0]) for entry in cache.values()}) >= len(cases)
    for expression, names, values in [
        ("#org = :org", {}, {":org": {"S": "o1"}}),  # a name that is not given
        ("#org = :org", {"#org": "o"}, {}),  # a value that is not given
        ("attribute_exists(pk) AND AND", {}, {}),  # not an expression
    ]:
        with pytest.raises(Exception) as first:
            parsed_by(original, expression, names, values)
        for _ in range(2):
            with pytest.raises(type(first.value)) as again:
                parsed_by(ConditionExpressionParser.parse, expression, names, values)
            assert str(again.value) == str(first.value)
    assert not any(key[0] in ("#org = :org", "attribute_exists(pk) AND AND") for key in cache)


def test_conditions_answer_per_value_and_their_cached_trees_stay_unchanged(gateway):
    """The same ConditionExpression with other values or names decides by those (the parse is cached
    per expression, names and values), errors stay errors, and evaluating the cached trees changes
    nothing in them."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(gateway)
    client.put_item(TableName=table, Item={"pk": {"S": "cond"}, "org": {"S": "o1"}, "n": {"N": "0"}})

    def bump(org: str, name: str = "org") -> str:
        try:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": "cond"}},
                UpdateExpression="ADD n :one",
                ConditionExpression="attribute_exists(pk) AND #org = :org",
                ExpressionAttributeNames={"#org": name},
                ExpressionAttributeValues={":org": {"S": org}, ":one": {"N": "1"}},
            )
        except ClientError as error:
            return error.response["Error"]["Code"]
        return "ok"

    assert [bump("o1"), bump("o2"), bump("o1"), bump("o2"), bump("o1", "pk"), bump("cond", "pk")] == [
        "ok",
        "ConditionalCheckFailedException",
        "ok",
        "ConditionalCheckFailedException",
        "ConditionalCheckFailedException",
        "ok",
    ]
    got = client.get_item(TableName=table, Key={"pk": {"S": "cond"}}, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "3"}
    cache = _condition_cache()
    before = {key: pickle.dumps(entry) for key, entry in cache.items()}
    assert any(key[0] == "attribute_exists(pk) AND #org = :org" for key in before)
    for _ in range(3):
        bump("o1"), bump("o2")
    assert {key: pickle.dumps(cache[key]) for key in before if key in cache} == {
        key: value for key, value in before.items() if key in cache
    }
    for _ in range(2):
        with pytest.raises(ClientError) as unused:
            client.update_item(
                TableName=table,
                Key={"pk": {"S": "cond"}},
                UpdateExpression="ADD n :one",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":one": {"N": "1"}, ":unused": {"S": "x"}},
            )
        assert unused.value.response["Error"]["Code"] == "ValidationException"
        assert ":unused" in unused.value.response["Error"]["Message"]


def _same_graph(a, b, pairs=None) -> bool:
    """a and b are equal object graphs: the same types and values, and the same sharing (a node's
    parent link points to the copy of that parent), with no mutable object in common."""
    pairs = {} if pairs is None else pairs
    if type(a) is not type(b):
        return False
    if isinstance(a, (str, int, float, bytes, type(None))):
        return a == b
    if id(a) in pairs:
        return pairs[id(a)] is b
    if a is b:
        return False
    pairs[id(a)] = b
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_graph(x, y, pairs) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_graph(a[k], b[k], pairs) for k in a)
    return _same_graph(vars(a), vars(b), pairs)


def test_the_validators_copy_of_a_parsed_update_expression_is_a_deep_copy():
    """moto's UpdateItem validator deep-copies the (memoised) parsed tree before changing it; that copy,
    made from the tree's pickle, is the graph copy.deepcopy makes, and validating it leaves the
    memoised tree as it was."""
    import copy

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    moto_serial.install()
    for expression in [
        "ADD next_position :one, units_version :one",
        "SET #p = :p, gsi1sk = :order, #v = #v + :one, updated_at = :at",
        "SET a = if_not_exists(a, :z), l = list_append(l, :x), m.#k[2].z = :y - :w REMOVE b, c[1] DELETE s :s",
    ]:
        tree = UpdateExpressionParser.make(expression)
        assert UpdateExpressionParser.make(expression) is tree  # memoised
        pristine = copy.deepcopy(tree)
        fast = validators.deepcopy(tree)
        assert _same_graph(copy.deepcopy(tree), fast)
        assert _same_graph(pristine, tree, {})  # unchanged by the copies
    other = {"x": [1, {"y": 2}]}
    assert validators.deepcopy(other) == other and validators.deepcopy(other)["x"] is not other["x"]


def test_update_expressions_change_nothing_in_their_memoised_trees(gateway):
    import copy

    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    client = boto3.client("dynamodb", region_name="us-east-1")
    table = _table(gateway)
    expression = "SET l = list_append(if_not_exists(l, :empty), :x), c = if_not_exists(c, :zero) + :one"
    values = {":empty": {"L": []}, ":x": {"L": [{"S": "a"}]}, ":zero": {"N": "0"}, ":one": {"N": "1"}}
    client.delete_item(TableName=table, Key={"pk": {"S": "memo"}})
    client.update_item(
        TableName=table, Key={"pk": {"S": "memo"}}, UpdateExpression=expression, ExpressionAttributeValues=values
    )
    pristine = copy.deepcopy(UpdateExpressionParser.make(expression))
    for _ in range(2):
        client.update_item(
            TableName=table, Key={"pk": {"S": "memo"}}, UpdateExpression=expression, ExpressionAttributeValues=values
        )
    item = client.get_item(TableName=table, Key={"pk": {"S": "memo"}}, ConsistentRead=True)["Item"]
    assert item["l"] == {"L": [{"S": "a"}] * 3} and item["c"] == {"N": "3"}
    assert _same_graph(pristine, UpdateExpressionParser.make(expression))
