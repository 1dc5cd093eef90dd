"""The local gateway's reading of template.yaml, its route selection and its API Gateway events."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from lti_gateway import cli
from lti_gateway.local import server
from lti_gateway.local.events import InvalidResponse, http_api_event, http_response, split_target
from lti_gateway.local.template import (
    LocalResources,
    Route,
    Router,
    TemplateError,
    create_table_kwargs,
    function_environment,
    functions,
    load_template,
    outputs,
    resources,
    routes,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template():
    return load_template(ROOT / "template.yaml")


def _local(template) -> LocalResources:
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    local = LocalResources(template, parameters={**defaults, "Stage": "local", "LogLevel": "INFO"})
    local.refs.update(
        {"KeysTable": "t-keys", "LaunchTable": "t-launch", "ClassesTable": "t-classes", "SecretsKey": "k1"}
    )
    return local


# ------------------------------------------------------------------------------------------ template


def test_short_form_intrinsics_load_as_long_form(template):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["KEYS_TABLE"] == {"Ref": "KeysTable"}
    assert template["Outputs"]["ExecuteApiUrl"]["Value"]["Fn::Sub"].startswith("https://${HttpApi}")
    assert template["Conditions"]["HasCustomDomain"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}


def test_tables_are_created_from_their_template_definitions(template):
    tables = resources(template, "AWS::DynamoDB::Table")
    assert {"KeysTable", "LaunchTable", "ClassesTable"} <= set(tables)

    keys = create_table_kwargs(tables["KeysTable"], "local-KeysTable")

    assert keys["TableName"] == "local-KeysTable"
    assert keys["KeySchema"] == tables["KeysTable"]["KeySchema"]
    assert keys["BillingMode"] == "PAY_PER_REQUEST" and "ProvisionedThroughput" not in keys
    assert [g["IndexName"] for g in keys["GlobalSecondaryIndexes"]] == ["gsi1"]
    assert "GlobalSecondaryIndexes" not in create_table_kwargs(tables["LaunchTable"], "x")


def test_provisioned_tables_get_throughput_on_table_and_indexes():
    props = {
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "GlobalSecondaryIndexes": [{"IndexName": "g", "KeySchema": [], "Projection": {"ProjectionType": "ALL"}}],
    }
    kwargs = create_table_kwargs(props, "t")
    assert kwargs["BillingMode"] == "PROVISIONED"
    assert kwargs["ProvisionedThroughput"] == kwargs["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]


def test_functions_are_loaded_by_path_under_unique_module_names(template):
    keys = functions(template)["KeysFunction"]
    assert keys.module_file == ROOT / "functions" / "keys" / "app.py"
    assert keys.module_name == "fn_keys_app" and keys.attribute == "lambda_handler"
    assert (keys.memory_mb, keys.timeout_s, keys.function_url) == (1024, 15, False)


def test_every_http_api_event_of_the_template_is_a_route(template):
    keys = {r.route_key: r.function_id for r in routes(template)}
    assert keys["GET /api/keys/{key}"] == "KeysFunction"
    assert keys["POST /{lts_version}/consumer/keys/lti"] == "KeysFunction"
    declared = sum(
        1
        for props in resources(template, "AWS::Serverless::Function").values()
        for event in (props.get("Events") or {}).values()
        if event["Type"] == "HttpApi"
    )
    assert len(keys) == declared


def test_environment_is_the_templates_with_refs_resolved_locally(template):
    env = function_environment(functions(template)["KeysFunction"], _local(template))
    declared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert set(env) == set(declared)
    assert (env["KEYS_TABLE"], env["LAUNCH_TABLE"], env["CLASSES_TABLE"]) == ("t-keys", "t-launch", "t-classes")
    assert env["KMS_KEY_ID"] == "k1" and env["STAGE"] == "local" and env["POWERTOOLS_LOG_LEVEL"] == "INFO"


def test_outputs_point_at_the_local_base_url(template):
    found = outputs(template, _local(template), "http://127.0.0.1:3000", warn=lambda _: None)
    assert found["ApiBaseUrl"] == "http://127.0.0.1:3000"
    assert found["LearnosityDataApiUrl"] == "http://127.0.0.1:3000/v2023.1.LTS/consumer/keys/lti"
    assert found["KeysTableName"] == "t-keys"
    assert found["LoginUrl"] == "http://127.0.0.1:3000/lti/orgs/{org_id}/login"
    assert "DomainTarget" not in found  # its condition is false without a DomainName


def test_intrinsics_resolve_or_fail_loudly(template):
    local = _local(template)
    assert local.resolve({"Fn::Sub": "arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}"}) == (
        "arn:aws:x:us-east-1:123456789012"
    )
    assert local.resolve({"Fn::Sub": ["${A}-${!Literal}", {"A": {"Ref": "Stage"}}]}) == "local-${Literal}"
    assert local.resolve({"Fn::Join": ["/", ["a", {"Ref": "KeysTable"}]]}) == "a/t-keys"
    with pytest.raises(TemplateError, match="NoSuchThing"):
        local.resolve({"Ref": "NoSuchThing"})
    with pytest.raises(TemplateError, match="Fn::If"):
        local.resolve({"Fn::If": ["c", "a", "b"]})
    assert local.resolve({"Fn::If": ["HasCustomDomain", "domain", "execute-api"]}) == "execute-api"
    local.parameters["DomainName"] = "lti.example.edu"
    assert local.resolve({"Fn::If": ["HasCustomDomain", {"Fn::Sub": "https://${DomainName}"}, "x"]}) == (
        "https://lti.example.edu"
    )


def test_a_route_declared_twice_is_an_error(tmp_path):
    event = {"Type": "HttpApi", "Properties": {"Method": "GET", "Path": "/x"}}
    fn = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": ".", "Handler": "app.h", "Events": {}}}
    doc = {"Resources": {"A": json.loads(json.dumps(fn)), "B": json.loads(json.dumps(fn))}}
    doc["Resources"]["A"]["Properties"]["Events"]["E"] = event
    doc["Resources"]["B"]["Properties"]["Events"]["E"] = event
    with pytest.raises(TemplateError, match="declared twice"):
        routes(doc)


# ------------------------------------------------------------------------------------------ routing


def _router(*keys: str) -> Router:
    return Router(Route(*key.split(" "), function_id=key) for key in keys)


@pytest.mark.parametrize(
    ("method", "path", "winner", "params"),
    [
        ("GET", "/api/keys/special", "GET /api/keys/special", {}),
        ("GET", "/api/keys/abc", "GET /api/keys/{key}", {"key": "abc"}),
        ("POST", "/api/keys/abc", "ANY /api/keys/{key}", {"key": "abc"}),
        ("GET", "/api/keys/a%2Fb", "GET /api/keys/{key}", {"key": "a/b"}),
        ("GET", "/api/keys/abc/rotate", "GET /api/{proxy+}", {"proxy": "keys/abc/rotate"}),
        ("GET", "/api/other/x", "GET /api/{proxy+}", {"proxy": "other/x"}),
        ("GET", "/v2023.1.LTS/consumer/keys/lti", "ANY /{proxy+}", {"proxy": "v2023.1.LTS/consumer/keys/lti"}),
    ],
)
def test_route_selection_mirrors_api_gateway(method, path, winner, params):
    router = _router(
        "ANY /{proxy+}",
        "GET /api/{proxy+}",
        "ANY /api/keys/{key}",
        "GET /api/keys/{key}",
        "GET /api/keys/special",
    )
    route, found = router.match(method, path)
    assert (route.route_key, found) == (winner, params)


def test_static_segment_first_beats_variable_first():
    route, params = _router("GET /{a}/b", "GET /a/{b}").match("GET", "/a/b")
    assert route.route_key == "GET /a/{b}" and params == {"b": "b"}


def test_unmatched_paths_are_not_routed():
    assert _router("GET /api/keys/{key}").match("GET", "/api/keys/") is None  # an empty variable
    assert _router("GET /api/keys/{key}").match("GET", "/api/keys") is None
    assert _router("GET /api/keys/{key}").match("DELETE", "/api/keys/a") is None
    assert _router("GET /api/{proxy+}").match("GET", "/api") is None  # greedy needs a segment
    assert _router("GET /{proxy+}").match("GET", "/") is None


def test_default_route_comes_last():
    router = Router(
        [Route("ANY", "$default", "fallback"), Route("GET", "/x", "x"), Route("ANY", "/{proxy+}", "greedy")]
    )
    assert router.match("GET", "/x")[0].function_id == "x"
    assert router.match("POST", "/anything")[0].function_id == "greedy"
    assert router.match("GET", "/")[0].route_key == "$default"


def test_greedy_variable_must_be_last():
    with pytest.raises(TemplateError, match="greedy"):
        Route("GET", "/{proxy+}/x", "f").precedence()


# ------------------------------------------------------------------------------------------- events


def _event(target: str, *, headers=(), body=b"", method="GET", **kw):
    return http_api_event(method=method, target=target, headers=[("Host", "127.0.0.1:3000"), *headers], body=body, **kw)


def test_double_leading_slash_collapses_and_percent_encoding_is_kept():
    assert split_target("//api/keys/a%2Fb?x=1") == ("/api/keys/a%2Fb", "x=1")
    event = _event("//api/keys/a%2Fb", route_key="GET /api/keys/{key}", path_parameters={"key": "a/b"})
    assert event["rawPath"] == "/api/keys/a%2Fb" == event["requestContext"]["http"]["path"]
    assert event["pathParameters"] == {"key": "a/b"}
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /api/keys/{key}"


def test_query_string_is_raw_and_repeats_are_comma_joined():
    event = _event("/x?a=1&a=2&b=&c=%20y")
    assert event["rawQueryString"] == "a=1&a=2&b=&c=%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": " y"}
    assert "queryStringParameters" not in _event("/x") and "pathParameters" not in _event("/x")


def test_headers_are_lower_cased_joined_and_cookies_moved():
    event = _event("/x", headers=[("X-Thing", "a"), ("x-thing", "b"), ("Cookie", "s=1; t=2"), ("User-Agent", "ua/1")])
    assert event["headers"]["x-thing"] == "a,b"
    assert "cookie" not in event["headers"] and event["cookies"] == ["s=1", "t=2"]
    ctx = event["requestContext"]
    assert ctx["domainName"] == "127.0.0.1:3000" and ctx["http"]["userAgent"] == "ua/1"
    assert ctx["stage"] == "$default" and event["version"] == "2.0"
    assert event["headers"]["x-forwarded-proto"] == "http" and event["headers"]["x-forwarded-port"] == "3000"


def test_form_bodies_arrive_base64_encoded_like_http_api():
    form = b"oauth_consumer_key=k&oauth_nonce=&x=%C3%A9&x=2"
    event = _event("/lti", method="POST", headers=[("Content-Type", "application/x-www-form-urlencoded")], body=form)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == form


def test_json_bodies_arrive_as_text_and_binary_as_base64():
    event = _event("/x", method="POST", headers=[("Content-Type", "application/json")], body=b'{"a": "\xc3\xa9"}')
    assert event["isBase64Encoded"] is False and event["body"] == '{"a": "é"}'
    binary = _event("/x", method="POST", headers=[("Content-Type", "application/octet-stream")], body=b"\x00\xff")
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x00\xff"
    assert "body" not in _event("/x")


def test_handler_results_translate_like_payload_format_2():
    status, headers, body = http_response(
        {"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["a=1", "b=2"], "body": "hi"}
    )
    assert (status, body) == (201, b"hi")
    assert headers == [("X-A", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert http_response({"statusCode": 200, "body": "AAE=", "isBase64Encoded": True})[2] == b"\x00\x01"
    assert http_response({"ok": True}) == (200, [("Content-Type", "application/json")], b'{"ok": true}')
    with pytest.raises(InvalidResponse):
        http_response({"statusCode": "200"})
    with pytest.raises(InvalidResponse):
        http_response({"statusCode": 200, "headers": {"X": "a\r\nSet-Cookie: x"}})


def test_a_crashing_handler_is_a_502_with_only_a_correlation_id(capsys):
    class Boom:
        def invoke(self, event):
            raise RuntimeError("secret detail")

    gateway = server.LocalGateway()
    gateway._functions = {"BoomFunction": Boom()}

    status, _, body = gateway.invoke("BoomFunction", {}, "corr-1")

    assert status == 502
    assert json.loads(body) == {"error": "handler_crashed", "details": {"correlation_id": "corr-1"}}
    assert "secret detail" in capsys.readouterr().err  # the traceback goes to the server log only


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_reads_the_tables_and_key_from_the_stack_outputs():
    outputs = {"KeysTableName": "k", "LaunchTableName": "l", "ClassesTableName": "c", "SecretsKeyId": "key-1"}
    body = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    with mock_aws():
        boto3.client("cloudformation", region_name="eu-west-1").create_stack(
            StackName="lti", TemplateBody=json.dumps(body)
        )
        env = cli._stack_environment("lti", "eu-west-1")
        with pytest.raises(cli.CliError, match="nope"):
            cli._stack_environment("nope", "eu-west-1")

    assert env == {
        "KEYS_TABLE": "k",
        "LAUNCH_TABLE": "l",
        "CLASSES_TABLE": "c",
        "KMS_KEY_ID": "key-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
    }
