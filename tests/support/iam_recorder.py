"""Every botocore call a handler makes, recorded with the function it ran in, and turned into the IAM
checks AWS would make for it (see tests/infrastructure/test_least_privilege.py).

Recording hooks ``botocore.client.BaseClient._convert_to_request_dict``: every API call goes through
it once (retries happen after it), after boto3's resource layer has turned ``Key(...)`` conditions and
Python values into the wire form — expressions are strings, values typed — so what is checked is what
AWS receives. A presigned URL goes through it too (``is_presign_request``): the URL is signed with the
function's role, so whoever follows it needs that role to hold the action.

A call is attributed to the function whose handler is running (:func:`running`); calls made outside a
handler (a test setting data up) are not recorded.

The translation counts conservatively (when in doubt, more is checked):

- one check per item inside ``TransactWriteItems`` (PutItem / UpdateItem / DeleteItem /
  ConditionCheckItem) and ``TransactGetItems`` (GetItem): a transaction grants nothing by itself;
  ``BatchGetItem`` / ``BatchWriteItem`` are their own IAM actions, checked once per item (its table,
  its partition key);
- ``dynamodb:LeadingKeys``: the partition key value of the item, or of the Query's key condition (the
  index's partition key for an index Query); a Query whose partition value cannot be read carries a
  value no pattern matches;
- ``dynamodb:Attributes``: every attribute name the request names (item, key, update, condition,
  filter, key condition and projection expressions), plus the table's key attributes, plus the
  index's for an index Query; a read without a projection names every attribute (a value no list
  names);
- ``dynamodb:Select`` only when the request sends it; ``dynamodb:ReturnValues`` likewise;
- KMS: the key's ARN (a Decrypt names no key: the stack has one); S3: ``bucket/key``'s object ARN.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import botocore.client
import pytest

from tests.support.iam_policy import Check

REGION = "us-east-1"
ACCOUNT = "123456789012"
ALL_ATTRIBUTES = "<every attribute: no projection>"
UNKNOWN_PARTITION = "<partition key value not found in the key condition>"


@dataclass(frozen=True)
class Call:
    function: str
    service: str
    operation: str
    params: dict[str, Any]
    presigned: bool = False
    route: str = ""


_running: list[tuple[str, str]] = []


@contextlib.contextmanager
def running(function: str, route: str = "") -> Iterator[None]:
    """Attribute the calls made inside the block to ``function`` (its handler is running ``route``)."""
    _running.append((function, route))
    try:
        yield
    finally:
        _running.pop()


@contextlib.contextmanager
def recording() -> Iterator[list[Call]]:
    calls: list[Call] = []
    original = botocore.client.BaseClient._convert_to_request_dict

    def recorded(self: Any, api_params: dict[str, Any], operation_model: Any, *args: Any, **kwargs: Any) -> Any:
        if _running:
            context = kwargs.get("context") or (args[2] if len(args) > 2 else {}) or {}
            calls.append(
                Call(
                    _running[-1][0],
                    self.meta.service_model.service_name,
                    operation_model.name,
                    api_params,
                    bool(context.get("is_presign_request")),
                    _running[-1][1],
                )
            )
        return original(self, api_params, operation_model, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_convert_to_request_dict", recorded)
        yield calls


# ------------------------------------------------------------------------------------------ tables


@dataclass(frozen=True)
class TableKeys:
    hash_key: str
    range_key: str | None
    indexes: Mapping[str, tuple[str, str | None]]

    def key_attributes(self, index: str | None = None) -> set[str]:
        names = {self.hash_key, self.range_key}
        if index is not None:
            names |= set(self.indexes[index])
        return {n for n in names if n}


def table_keys(template: Mapping[str, Any]) -> dict[str, TableKeys]:
    """``{table logical id: TableKeys}`` from the template's key schemas."""

    def schema(key_schema: list[dict[str, str]]) -> tuple[str, str | None]:
        by_type = {k["KeyType"]: k["AttributeName"] for k in key_schema}
        return by_type["HASH"], by_type.get("RANGE")

    out = {}
    for logical_id, resource in template["Resources"].items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::DynamoDB::Table":
            props = resource["Properties"]
            hash_key, range_key = schema(props["KeySchema"])
            indexes = {
                i["IndexName"]: schema(i["KeySchema"])
                for i in (props.get("GlobalSecondaryIndexes") or []) + (props.get("LocalSecondaryIndexes") or [])
            }
            out[logical_id] = TableKeys(hash_key, range_key, indexes)
    return out


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def key_arn(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"


def bucket_arn(name: str) -> str:
    return f"arn:aws:s3:::{name}"


# ------------------------------------------------------------------------------------- expressions

_KEYWORDS = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN"}
_FUNCTIONS = {
    "attribute_exists",
    "attribute_not_exists",
    "attribute_type",
    "begins_with",
    "contains",
    "size",
    "if_not_exists",
    "list_append",
}
_NESTED = re.compile(r"\.(#?[A-Za-z_][A-Za-z0-9_]*)|\[\d+\]")
_TOKEN = re.compile(r"[#:]?[A-Za-z_][A-Za-z0-9_]*|[#:][A-Za-z0-9_]+")


def expression_names(expression: str | None, names: Mapping[str, str] | None) -> set[str]:
    """Top-level attribute names an expression names (placeholders resolved; nested paths: their root)."""
    if not expression:
        return set()
    found = set()
    for token in _TOKEN.findall(_NESTED.sub("", expression)):
        if token.startswith(":") or token.upper() in _KEYWORDS or token in _FUNCTIONS:
            continue
        if token.startswith("#"):
            if not names or token not in names:
                raise ValueError(f"{token} in {expression!r} has no ExpressionAttributeNames entry")
            found.add(names[token])
        else:
            found.add(token)
    return found


def _scalar(value: Mapping[str, Any]) -> str:
    ((_kind, inner),) = value.items()
    return str(inner)


def _partition_value(params: Mapping[str, Any], hash_key: str) -> str:
    """The value the Query's key condition gives the partition key (``#n = :v`` or ``:v = #n``)."""
    expression = params.get("KeyConditionExpression") or ""
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for left, right in re.findall(r"([#:]?[A-Za-z0-9_]+)\s*=\s*([#:]?[A-Za-z0-9_]+)", expression):
        for name, value in ((left, right), (right, left)):
            if names.get(name, name) == hash_key and value in values:
                return _scalar(values[value])
    return UNKNOWN_PARTITION


# ------------------------------------------------------------------------------------- translation


@dataclass
class Translator:
    """Turns recorded calls into :class:`Check` s: ``tables`` maps a moto table name to its logical id."""

    tables: Mapping[str, str]
    keys: Mapping[str, TableKeys]
    kms_key_id: str

    @classmethod
    def for_stack(cls, template: Mapping[str, Any], stack: Mapping[str, str]) -> Translator:
        """The translator of a stack whose environment (``KEYS_TABLE``, … ``KMS_KEY_ID``) is ``stack``."""
        return cls(
            tables={
                stack["KEYS_TABLE"]: "KeysTable",
                stack["LAUNCH_TABLE"]: "LaunchTable",
                stack["CLASSES_TABLE"]: "ClassesTable",
            },
            keys=table_keys(template),
            kms_key_id=stack["KMS_KEY_ID"],
        )

    def checks(self, call: Call) -> list[Check]:
        handler = getattr(self, f"_{call.service}", None)
        if handler is None:
            raise ValueError(f"{call.function}: no IAM translation for {call.service}:{call.operation}")
        return [replace(c, origin=f"{c.origin}, during {call.route}") for c in handler(call)]

    # -- DynamoDB ------------------------------------------------------------------------------------

    def _table(self, name: str) -> TableKeys:
        if name not in self.tables:
            raise ValueError(f"table {name!r} is not one of the stack's {sorted(self.tables)}")
        return self.keys[self.tables[name]]

    def _item_check(
        self, call: Call, action: str, spec: Mapping[str, Any], *, read: bool, origin: str | None = None
    ) -> Check:
        table_name = spec["TableName"]
        keys = self._table(table_name)
        names = spec.get("ExpressionAttributeNames")
        item = spec.get("Item") or spec.get("Key") or {}
        attributes = set(item) | keys.key_attributes()
        for field in ("UpdateExpression", "ConditionExpression", "ProjectionExpression"):
            attributes |= expression_names(spec.get(field), names)
        if read and not spec.get("ProjectionExpression") and not spec.get("AttributesToGet"):
            attributes.add(ALL_ATTRIBUTES)
        attributes |= set(spec.get("AttributesToGet") or ())
        context: dict[str, tuple[str, ...]] = {
            "dynamodb:LeadingKeys": (_scalar(item[keys.hash_key]),),
            "dynamodb:Attributes": tuple(sorted(attributes)),
        }
        if spec.get("ReturnValues"):
            context["dynamodb:ReturnValues"] = (spec["ReturnValues"],)
        return Check(call.function, f"dynamodb:{action}", table_arn(table_name), context, origin or call.operation)

    def _dynamodb(self, call: Call) -> list[Check]:
        op, params = call.operation, call.params
        if op in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
            return [self._item_check(call, op, params, read=op == "GetItem")]
        if op == "Query":
            return [self._query(call)]
        if op == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            out = []
            for entry in params["TransactItems"]:
                ((kind, spec),) = entry.items()
                out.append(self._item_check(call, kinds[kind], spec, read=False, origin=f"TransactWriteItems {kind}"))
            return out
        if op == "TransactGetItems":
            out = []
            for entry in params["TransactItems"]:
                ((kind, spec),) = entry.items()
                assert kind == "Get", kind
                out.append(self._item_check(call, "GetItem", spec, read=True, origin="TransactGetItems Get"))
            return out
        if op == "BatchGetItem":
            out = []
            for table_name, spec in params["RequestItems"].items():
                for key in spec["Keys"]:
                    item_spec = {**spec, "TableName": table_name, "Key": key}
                    out.append(self._item_check(call, "BatchGetItem", item_spec, read=True))
            return out
        if op == "BatchWriteItem":
            out = []
            for table_name, requests in params["RequestItems"].items():
                for request in requests:
                    ((kind, spec),) = request.items()
                    item_spec = {**spec, "TableName": table_name}
                    out.append(
                        self._item_check(call, "BatchWriteItem", item_spec, read=False, origin=f"BatchWriteItem {kind}")
                    )
            return out
        raise ValueError(f"{call.function}: no IAM translation for dynamodb:{op} (add one)")

    def _query(self, call: Call) -> Check:
        params = call.params
        table_name = params["TableName"]
        keys = self._table(table_name)
        index = params.get("IndexName")
        if index is not None and index not in keys.indexes:
            raise ValueError(f"{table_name} has no index {index}")
        hash_key = keys.indexes[index][0] if index else keys.hash_key
        names = params.get("ExpressionAttributeNames")
        attributes = keys.key_attributes(index)
        for field in ("KeyConditionExpression", "FilterExpression", "ProjectionExpression"):
            attributes |= expression_names(params.get(field), names)
        attributes |= set(params.get("AttributesToGet") or ())
        if not params.get("ProjectionExpression") and not params.get("AttributesToGet"):
            attributes.add(ALL_ATTRIBUTES)
        context: dict[str, tuple[str, ...]] = {
            "dynamodb:LeadingKeys": (_partition_value(params, hash_key),),
            "dynamodb:Attributes": tuple(sorted(attributes)),
        }
        if params.get("Select"):
            context["dynamodb:Select"] = (params["Select"],)
        resource = table_arn(table_name) + (f"/index/{index}" if index else "")
        return Check(call.function, "dynamodb:Query", resource, context, "Query" + (f" {index}" if index else ""))

    # -- KMS, S3 -------------------------------------------------------------------------------------

    def _kms(self, call: Call) -> list[Check]:
        if call.operation not in ("GenerateDataKey", "Decrypt", "Encrypt", "GenerateDataKeyWithoutPlaintext"):
            raise ValueError(f"{call.function}: no IAM translation for kms:{call.operation} (add one)")
        key_id = call.params.get("KeyId") or self.kms_key_id  # a Decrypt names no key: the stack has one
        resource = key_id if key_id.startswith("arn:") else key_arn(key_id)
        context = {f"kms:EncryptionContext:{k}": (v,) for k, v in (call.params.get("EncryptionContext") or {}).items()}
        return [Check(call.function, f"kms:{call.operation}", resource, context, call.operation)]

    def _s3(self, call: Call) -> list[Check]:
        if call.operation not in ("PutObject", "GetObject"):
            raise ValueError(f"{call.function}: no IAM translation for s3:{call.operation} (add one)")
        resource = f"{bucket_arn(call.params['Bucket'])}/{call.params['Key']}"
        origin = f"presigned {call.operation}" if call.presigned else call.operation
        return [Check(call.function, f"s3:{call.operation}", resource, {}, origin)]
