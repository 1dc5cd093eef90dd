"""Operations wiring of template.yaml (docs/operations.md): alarms, the alarm topic, the dashboard, tracing,
safe deploys (alias, canary, rollback alarms), reserved and provisioned concurrency, SnapStart.

Each rule is a ``*_problems(template)`` function returning what is wrong; every rule runs on the real
template (no problems) and on copies broken in one place (the rule must notice). The metric names our
code emits are read from the code (``add_metric(name=...)``, ``add_dimension(name=...)``, the KMS
metric's constant), never from a copy here. Conditions are evaluated with the local gateway's evaluator
(``lti_gateway.local.template.LocalResources``), the one the local stack runs.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lti_gateway.local.template import LocalResources
from lti_gateway.repositories.secrets_box import KMS_FAILED_METRIC

Template = dict[str, Any]
ROOT = Path(__file__).resolve().parents[2]

FUNCTIONS = {
    "KeysFunction": "Keys",
    "ClassesFunction": "Classes",
    "LaunchFunction": "Launch",
    "PlatformsFunction": "Platforms",
    "ExportFunction": "Export",
    "TokenFunction": "Token",
    "ConsoleFunction": "Console",
    "RotationFunction": "Rotation",
}
NOT_ON_THE_API = {"RotationFunction"}  # its rollback trigger is its own error alarm only
TABLES = ("KeysTable", "LaunchTable", "ClassesTable")
TOPIC = [{"Ref": "AlarmTopic"}]

# AWS metrics the dashboard and alarms may name, by namespace (AWS documents them; HTTP APIs publish
# Count, 4xx, 5xx, Latency, IntegrationLatency, DataProcessed by ApiId).
AWS_METRICS = {
    "AWS/Lambda": {"Errors", "Throttles", "Duration", "Invocations", "ConcurrentExecutions"},
    "AWS/ApiGateway": {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
    "AWS/DynamoDB": {
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
        "ThrottledRequests",
        "SystemErrors",
        "UserErrors",
    },
}
# Which resource type a dimension of an AWS metric must name.
DIMENSION_TARGETS = {
    "FunctionName": "AWS::Serverless::Function",
    "TableName": "AWS::DynamoDB::Table",
    "ApiId": "AWS::Serverless::HttpApi",
}


# ---------------------------------------------------------------------------------------------
# what the code emits (read from the code)


def _calls(path: Path, method: str) -> list[dict[str, Any]]:
    """Keyword arguments (string constants only) of every ``*.method(...)`` call in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
            found.append({k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant) and k.arg})
    return found


def _sources() -> list[Path]:
    layer = ROOT / "layers" / "common" / "lti_gateway"
    return sorted(ROOT.glob("functions/*/app.py")) + [
        p for p in sorted(layer.rglob("*.py")) if "local" not in p.relative_to(layer).parts
    ]


def emitted_metrics() -> set[str]:
    """Every EMF metric name our code emits: ``add_metric(name=...)`` literals and the KMS failure metric."""
    names = {call["name"] for path in _sources() for call in _calls(path, "add_metric") if "name" in call}
    return names | {KMS_FAILED_METRIC}


def launch_rejection_dimensions() -> set[str]:
    return {call["name"] for call in _calls(ROOT / "functions/launch/app.py", "add_dimension") if "name" in call}


def test_the_code_emits_the_metrics_the_alarms_name() -> None:
    metrics = emitted_metrics()
    assert {"LaunchAccepted", "LaunchRejected", "LoginRedirected", "ToolKeyRotationFailed", "KmsFailed"} <= metrics
    assert launch_rejection_dimensions() == {"reason"}


# ---------------------------------------------------------------------------------------------
# helpers


def resources_of(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def alarms(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::CloudWatch::Alarm")


def globals_env(template: Template) -> dict[str, Any]:
    return template["Globals"]["Function"]["Environment"]["Variables"]


def timeout_of(template: Template, function: str) -> int:
    props = template["Resources"][function]["Properties"]
    return int(props.get("Timeout", template["Globals"]["Function"]["Timeout"]))


def condition(template: Template, name: str, **parameters: str) -> bool:
    """A condition of the template, evaluated with the parameters' defaults overridden by ``parameters``."""
    values = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()}
    values.update(parameters)
    return LocalResources(template, parameters=values).condition(name)


def metrics_insights(expression: Any) -> str | None:
    """The query text of a Metrics Insights expression (plain or ``Fn::Sub``), else None."""
    text = expression.get("Fn::Sub") if isinstance(expression, dict) else expression
    return text if isinstance(text, str) and text.lstrip().upper().startswith("SELECT") else None


_QUERY = re.compile(
    r'SELECT\s+(?P<fn>SUM|AVG|MAX|MIN|COUNT)\((?P<metric>\w+)\)\s+FROM\s+SCHEMA\("(?P<ns>[^"]+)",\s*(?P<dims>[^)]*)\)'
    r"(?:\s+WHERE\s+(?P<where>\w+)\s*=\s*'(?P<value>[^']*)')?(?:\s+GROUP BY\s+(?P<group>\w+))?\s*$"
)


def parse_query(text: str) -> dict[str, Any] | None:
    match = _QUERY.fullmatch(text.strip())
    if not match:
        return None
    parts = match.groupdict()
    parts["dims"] = sorted(d.strip() for d in parts["dims"].split(","))
    return parts


def our_namespace(template: Template) -> Any:
    return globals_env(template)["POWERTOOLS_METRICS_NAMESPACE"]


def our_service(template: Template) -> Any:
    return globals_env(template)["POWERTOOLS_SERVICE_NAME"]


def _alarm_basics(name: str, alarm: dict[str, Any]) -> list[str]:
    problems = []
    props = alarm.get("Properties", {})
    if alarm.get("Condition") != "AlarmsOn":
        problems.append(f"{name}: not under the AlarmsOn condition (EnableAlarms)")
    for actions in ("AlarmActions", "OKActions"):
        if props.get(actions) != TOPIC:
            problems.append(f"{name}: {actions} is {props.get(actions)!r}, not the alarm topic")
    if props.get("TreatMissingData") != "notBreaching":
        problems.append(f"{name}: missing data is not 'notBreaching' (a quiet stack would alarm)")
    return problems


def _metric_alarm(
    name: str, alarm: dict[str, Any], *, namespace: Any, metric: str, dimensions: list[dict[str, Any]]
) -> list[str]:
    props = alarm.get("Properties", {})
    problems = []
    if props.get("Namespace") != namespace:
        problems.append(f"{name}: namespace {props.get('Namespace')!r}, expected {namespace!r}")
    if props.get("MetricName") != metric:
        problems.append(f"{name}: metric {props.get('MetricName')!r}, expected {metric!r}")
    if props.get("Dimensions") != dimensions:
        problems.append(f"{name}: dimensions {props.get('Dimensions')!r}, expected {dimensions!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# rules


def function_alarm_problems(template: Template) -> list[str]:
    """Every function has an error, a throttle and a p99 duration (> 80 % of its timeout) alarm."""
    problems = []
    functions = resources_of(template, "AWS::Serverless::Function")
    if set(functions) != set(FUNCTIONS):
        problems.append(f"functions are {sorted(functions)}; the alarms cover {sorted(FUNCTIONS)}")
    all_alarms = alarms(template)
    for function, short in FUNCTIONS.items():
        dims = [{"Name": "FunctionName", "Value": {"Ref": function}}]
        for kind, metric in (("Errors", "Errors"), ("Throttles", "Throttles"), ("Duration", "Duration")):
            name = f"{short}Function{kind}Alarm"
            alarm = all_alarms.get(name)
            if alarm is None:
                problems.append(f"{function}: no {kind.lower()} alarm ({name})")
                continue
            problems += _alarm_basics(name, alarm)
            problems += _metric_alarm(name, alarm, namespace="AWS/Lambda", metric=metric, dimensions=dims)
            props = alarm["Properties"]
            if kind == "Duration":
                limit = timeout_of(template, function) * 1000 * 0.8
                if props.get("ExtendedStatistic") != "p99":
                    problems.append(f"{name}: statistic {props.get('ExtendedStatistic')!r}, not p99")
                if props.get("Threshold") != limit or props.get("ComparisonOperator") != "GreaterThanThreshold":
                    problems.append(f"{name}: threshold {props.get('Threshold')!r}, not > {limit} ms (80 % of Timeout)")
            else:
                if props.get("Statistic") != "Sum":
                    problems.append(f"{name}: statistic {props.get('Statistic')!r}, not Sum")
                if props.get("Threshold") != 1 or props.get("ComparisonOperator") != "GreaterThanOrEqualToThreshold":
                    problems.append(f"{name}: does not alarm on the first {metric.lower()}")
    return problems


def api_alarm_problems(template: Template) -> list[str]:
    name, alarm = "Api5xxAlarm", alarms(template).get("Api5xxAlarm")
    if alarm is None:
        return ["no API 5xx alarm (Api5xxAlarm)"]
    problems = _alarm_basics(name, alarm)
    props = alarm["Properties"]
    queries = {q.get("Id"): q for q in props.get("Metrics", [])}
    api = [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    for query_id, metric in (("errors", "5xx"), ("requests", "Count")):
        stat = queries.get(query_id, {}).get("MetricStat", {})
        wanted = {"Namespace": "AWS/ApiGateway", "MetricName": metric, "Dimensions": api}
        if stat.get("Metric") != wanted or stat.get("Stat") != "Sum":
            problems.append(f"{name}: {query_id} is {stat!r}, expected the HTTP API's {metric} (Sum)")
    returned = [q for q in queries.values() if q.get("ReturnData")]
    expression = returned[0].get("Expression", "") if len(returned) == 1 else ""
    if not re.search(r"100\s*\*\s*errors\s*/\s*requests", expression):
        problems.append(f"{name}: the alarm is not on the 5xx rate (100 * errors / requests): {expression!r}")
    if props.get("ComparisonOperator") != "GreaterThanThreshold" or not 0 < props.get("Threshold", 0) <= 10:
        problems.append(f"{name}: threshold {props.get('Threshold')!r} % is not a 5xx rate")
    return problems


def table_alarm_problems(template: Template) -> list[str]:
    problems = []
    all_alarms = alarms(template)
    for table in TABLES:
        for kind, metric in (("Throttles", "ThrottledRequests"), ("SystemErrors", "SystemErrors")):
            name = f"{table}{kind}Alarm"
            alarm = all_alarms.get(name)
            if alarm is None:
                problems.append(f"{table}: no {metric} alarm ({name})")
                continue
            problems += _alarm_basics(name, alarm)
            returned = [q for q in alarm["Properties"].get("Metrics", []) if q.get("ReturnData")]
            text = metrics_insights(returned[0].get("Expression")) if len(returned) == 1 else None
            query = parse_query(text) if text else None
            wanted = {"fn": "SUM", "metric": metric, "ns": "AWS/DynamoDB", "dims": ["Operation", "TableName"]}
            if query is None or {k: query[k] for k in wanted} != wanted:
                problems.append(f"{name}: query {text!r} is not SUM({metric}) of AWS/DynamoDB by TableName, Operation")
            elif (query["where"], query["value"]) != ("TableName", f"${{{table}}}"):
                problems.append(f"{name}: query is not limited to {table} ({query['where']} = {query['value']!r})")
            if alarm["Properties"].get("Threshold") != 1:
                problems.append(f"{name}: does not alarm on the first {metric}")
    return problems


def gateway_metric_alarm_problems(template: Template) -> list[str]:
    """The alarms on our own EMF metrics: KMS failures, launch rejections by reason, key rotation."""
    problems = []
    all_alarms = alarms(template)
    emitted = emitted_metrics()
    service = [{"Name": "service", "Value": our_service(template)}]
    for name, metric in (("KmsFailuresAlarm", KMS_FAILED_METRIC), ("ToolKeyRotationAlarm", "ToolKeyRotationFailed")):
        alarm = all_alarms.get(name)
        if alarm is None:
            problems.append(f"no {name}")
            continue
        problems += _alarm_basics(name, alarm)
        problems += _metric_alarm(name, alarm, namespace=our_namespace(template), metric=metric, dimensions=service)
        if metric not in emitted:
            problems.append(f"{name}: {metric} is not emitted by the code")
        if alarm["Properties"].get("Statistic") != "Sum" or alarm["Properties"].get("Threshold") != 1:
            problems.append(f"{name}: does not alarm on the first {metric}")

    name, alarm = "LaunchRejectionsAlarm", all_alarms.get("LaunchRejectionsAlarm")
    if alarm is None:
        return [*problems, "no LaunchRejectionsAlarm"]
    problems += _alarm_basics(name, alarm)
    props = alarm["Properties"]
    returned = [q for q in props.get("Metrics", []) if q.get("ReturnData")]
    text = metrics_insights(returned[0].get("Expression")) if len(returned) == 1 else None
    query = parse_query(text) if text else None
    namespace = our_namespace(template)
    namespace_text = namespace.get("Fn::Sub") if isinstance(namespace, dict) else namespace
    dims = sorted({"service", *launch_rejection_dimensions()})
    if query is None:
        problems.append(f"{name}: {text!r} is not a Metrics Insights query")
    else:
        if query["metric"] != "LaunchRejected" or "LaunchRejected" not in emitted or query["fn"] != "SUM":
            problems.append(f"{name}: query sums {query['metric']!r}, not the LaunchRejected the launch function emits")
        if query["ns"] != namespace_text or query["dims"] != dims:
            problems.append(f"{name}: SCHEMA({query['ns']!r}, {query['dims']}) is not {namespace_text!r} with {dims}")
        if query["group"] != "reason":
            problems.append(f"{name}: not one time series per reason (GROUP BY reason)")
    if props.get("Threshold") != {"Ref": "LaunchRejectionAlarmThreshold"}:
        problems.append(f"{name}: threshold is not the LaunchRejectionAlarmThreshold parameter")
    return problems


def topic_problems(template: Template) -> list[str]:
    problems = []
    resources = template["Resources"]
    topic = resources.get("AlarmTopic", {})
    if topic.get("Type") != "AWS::SNS::Topic" or topic.get("Condition") != "AlarmsOn":
        problems.append("AlarmTopic is not an SNS topic under AlarmsOn")
    if topic.get("Properties", {}).get("KmsMasterKeyId") != {"Ref": "AlarmTopicKey"}:
        problems.append(
            "AlarmTopic is not encrypted with AlarmTopicKey (CloudWatch cannot use the AWS managed SNS key)"
        )
    statements = resources.get("AlarmTopicKey", {}).get("Properties", {}).get("KeyPolicy", {}).get("Statement", [])
    cloudwatch = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    if not cloudwatch or set(cloudwatch[0].get("Action", [])) != {"kms:Decrypt", "kms:GenerateDataKey*"}:
        problems.append("AlarmTopicKey does not let CloudWatch alarms encrypt to the topic")
    elif cloudwatch[0].get("Condition", {}).get("StringEquals", {}).get("aws:SourceAccount") != {
        "Ref": "AWS::AccountId"
    }:
        problems.append("AlarmTopicKey: CloudWatch's use is not limited to this account's alarms")
    subscriptions = resources_of(template, "AWS::SNS::Subscription")
    if [s.get("Condition") for s in subscriptions.values()] != ["HasAlarmEmail"]:
        problems.append("the alarm e-mail subscription is not the one subscription, under HasAlarmEmail")
    for sub in subscriptions.values():
        props = sub.get("Properties", {})
        if props != {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}:
            problems.append(f"subscription {props!r} is not AlarmEmail on the alarm topic")
    if template["Parameters"].get("AlarmEmail", {}).get("Default") != "":
        problems.append("AlarmEmail does not default to none")
    if condition(template, "HasAlarmEmail"):
        problems.append("HasAlarmEmail is true without an AlarmEmail")
    if not condition(template, "HasAlarmEmail", AlarmEmail="ops@example.edu"):
        problems.append("HasAlarmEmail is false with an AlarmEmail")
    if condition(template, "HasAlarmEmail", AlarmEmail="ops@example.edu", EnableAlarms="false"):
        problems.append("HasAlarmEmail is true with the alarms (and the topic) off")
    if not condition(template, "AlarmsOn"):
        problems.append("alarms are off by default")
    outputs = template.get("Outputs", {})
    if outputs.get("AlarmTopicArn", {}).get("Value") != {"Ref": "AlarmTopic"}:
        problems.append("no AlarmTopicArn output")
    return problems


def deployment_problems(template: Template) -> list[str]:
    """Every function is published to the live alias and shifted by CodeDeploy, rolled back by its alarms."""
    problems = []
    fn_globals = template["Globals"]["Function"]
    if fn_globals.get("AutoPublishAlias") != "live":
        problems.append(f"Globals AutoPublishAlias is {fn_globals.get('AutoPublishAlias')!r}, not live")
    if template["Parameters"].get("DeploymentType", {}).get("Default") != "Canary10Percent5Minutes":
        problems.append("DeploymentType does not default to Canary10Percent5Minutes")
    all_alarms = alarms(template)
    for function, short in FUNCTIONS.items():
        props = template["Resources"][function]["Properties"]
        if props.get("AutoPublishAliasAllProperties") is not True:
            problems.append(f"{function}: a layer-only change would not publish a new version")
        preference = props.get("DeploymentPreference", {})
        if preference.get("Type") != {"Fn::If": ["IsDevStage", "AllAtOnce", {"Ref": "DeploymentType"}]}:
            problems.append(f"{function}: deployment type {preference.get('Type')!r}")
        rollback = [{"Ref": f"{short}FunctionErrorsAlarm"}]
        if function not in NOT_ON_THE_API:
            rollback.append({"Ref": "Api5xxAlarm"})
        if preference.get("Alarms") != {"Fn::If": ["AlarmsOn", rollback, []]}:
            problems.append(f"{function}: rollback alarms {preference.get('Alarms')!r}, expected {rollback!r}")
        for alarm in rollback:
            if alarm["Ref"] not in all_alarms:
                problems.append(f"{function}: rollback alarm {alarm['Ref']} does not exist")
        short_name = short
        param, cond = f"{short_name}ReservedConcurrency", f"{short_name}ConcurrencyReserved"
        if props.get("ReservedConcurrentExecutions") != {"Fn::If": [cond, {"Ref": param}, {"Ref": "AWS::NoValue"}]}:
            problems.append(f"{function}: reserved concurrency is not the {param} parameter")
        elif condition(template, cond) or not condition(template, cond, **{param: "5"}):
            problems.append(f"{function}: {cond} does not mean 'reserved unless -1' (default unreserved)")
    launch = template["Resources"]["LaunchFunction"]["Properties"]
    if launch.get("SnapStart") != {
        "Fn::If": ["LaunchSnapStartOn", {"ApplyOn": "PublishedVersions"}, {"Ref": "AWS::NoValue"}]
    }:
        problems.append("LaunchFunction: SnapStart is not the LaunchSnapStart parameter")
    provisioned = launch.get("ProvisionedConcurrencyConfig", {}).get("Fn::If", [None])
    if provisioned[0] != "LaunchProvisioned":
        problems.append("LaunchFunction: provisioned concurrency is not the LaunchProvisionedConcurrency parameter")
    if condition(template, "LaunchSnapStartOn") or condition(template, "LaunchProvisioned"):
        problems.append("SnapStart or provisioned concurrency is on by default")
    rule = template.get("Rules", {}).get("SnapStartOrProvisionedConcurrency", {})
    if rule.get("Assertions", [{}])[0].get("Assert") != {"Fn::Equals": [{"Ref": "LaunchProvisionedConcurrency"}, 0]}:
        problems.append("no rule refuses SnapStart with provisioned concurrency")
    return problems


def tracing_problems(template: Template) -> list[str]:
    problems = []
    fn_globals = template["Globals"]["Function"]
    if template["Parameters"].get("Tracing", {}).get("Default") != "false":
        problems.append("Tracing is not off by default")
    if fn_globals.get("Tracing") != {"Fn::If": ["TracingOn", "Active", "PassThrough"]}:
        problems.append(f"Globals Tracing is {fn_globals.get('Tracing')!r}")
    if globals_env(template).get("LTI_GATEWAY_TRACING") != {"Ref": "Tracing"}:
        problems.append("LTI_GATEWAY_TRACING (core/tracing.py) is not the Tracing parameter")
    if condition(template, "TracingOn") or not condition(template, "TracingOn", Tracing="true"):
        problems.append("TracingOn does not follow the Tracing parameter")
    for function in FUNCTIONS:
        props = template["Resources"][function]["Properties"]
        if "Tracing" in props or "LTI_GATEWAY_TRACING" in props.get("Environment", {}).get("Variables", {}):
            problems.append(f"{function}: sets its own tracing")
    return problems


# ------------------------------------------------------------------------------------- dashboard

PSEUDO = {"AWS::Region": "eu-west-1", "AWS::StackName": "lti-stack", "AWS::AccountId": "123456789012"}


def dashboard_body(template: Template) -> tuple[dict[str, Any] | None, list[str]]:
    """The dashboard's body with every ``${...}`` substituted as CloudFormation would (resources as
    ``phys-<LogicalId>``), parsed as JSON; and anything that would not substitute or parse."""
    dashboard = template["Resources"].get("OperationsDashboard", {})
    body = dashboard.get("Properties", {}).get("DashboardBody", {})
    text = body.get("Fn::Sub") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return None, ["OperationsDashboard: DashboardBody is not an Fn::Sub of a JSON string"]
    problems = []

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in PSEUDO:
            return PSEUDO[name]
        if name in template["Resources"] or name in template["Parameters"]:
            return f"phys-{name}"
        problems.append(f"OperationsDashboard: ${{{name}}} names nothing in the template")
        return ""

    try:
        return json.loads(re.sub(r"\$\{([^}]+)\}", one, text)), problems
    except json.JSONDecodeError as error:
        return None, [*problems, f"OperationsDashboard: the body is not JSON after substitution ({error})"]


def _metric_problems(template: Template, where: str, namespace: str, metric: str, dims: dict[str, str]) -> list[str]:
    ours = f"LtiGateway/{PSEUDO['AWS::StackName']}"
    if namespace == ours:
        if metric not in emitted_metrics():
            return [f"{where}: {metric} is not a metric the code emits"]
        return []
    if metric not in AWS_METRICS.get(namespace, set()):
        return [f"{where}: {namespace} {metric} is not a known AWS metric"]
    problems = []
    for dim, value in dims.items():
        kind = DIMENSION_TARGETS.get(dim)
        target = template["Resources"].get(value.removeprefix("phys-"), {}).get("Type")
        if kind and target != kind:
            problems.append(f"{where}: {dim}={value} is not a {kind} of the template")
    return problems


def dashboard_problems(template: Template) -> list[str]:
    body, problems = dashboard_body(template)
    if body is None:
        return problems
    if template["Resources"]["OperationsDashboard"].get("Condition") != "DashboardOn":
        problems.append("OperationsDashboard is not under DashboardOn (EnableDashboard)")
    ours = f"LtiGateway/{PSEUDO['AWS::StackName']}"
    if our_namespace(template) != {"Fn::Sub": "LtiGateway/${AWS::StackName}"}:
        problems.append("the dashboard's namespace is not the functions' POWERTOOLS_METRICS_NAMESPACE")
    log_groups = {f"phys-{n}" for n in resources_of(template, "AWS::Logs::LogGroup")}
    log_groups |= {f"/aws/lambda/phys-{n}" for n in FUNCTIONS}
    titles = []
    for widget in body.get("widgets", []):
        props = widget.get("properties", {})
        where = f"widget {props.get('title')!r}"
        titles.append(props.get("title", ""))
        if props.get("region") != PSEUDO["AWS::Region"]:
            problems.append(f"{where}: region is not the stack's")
        if widget.get("type") == "log":
            sources = re.findall(r"SOURCE '([^']+)'", props.get("query", ""))
            if not sources or not set(sources) <= log_groups:
                problems.append(f"{where}: queries {sources}, not a log group of the template")
            continue
        for entry in props.get("metrics", []):
            options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
            if "expression" in options:
                query = parse_query(options["expression"])
                if query is None:
                    problems.append(f"{where}: {options['expression']!r} is not a Metrics Insights query we read")
                    continue
                dims = {query["where"]: query["value"]} if query["where"] else {}
                problems += _metric_problems(template, where, query["ns"], query["metric"], dims)
                if query["ns"] == ours and query["group"] == "reason" and "reason" not in launch_rejection_dimensions():
                    problems.append(f"{where}: groups by reason, a dimension the code does not add")
                continue
            names = [e for e in entry if isinstance(e, str)]
            namespace, metric, rest = names[0], names[1], names[2:]
            problems += _metric_problems(
                template, where, namespace, metric, dict(zip(rest[::2], rest[1::2], strict=True))
            )
    for needed in (
        "protocol",
        "Organisations",
        "rejections by reason",
        "latency by route",
        "errors",
        "DynamoDB consumed",
    ):
        if not any(needed.lower() in t.lower() for t in titles):
            problems.append(f"the dashboard has no widget on {needed}")
    return problems


def test_the_dashboard_log_queries_use_fields_the_code_logs() -> None:
    """The protocol and organisation widgets filter the launch function's "launch accepted" line and
    read its lti_version_family and org_id; the route latency widget reads the access log's fields."""
    launch = (ROOT / "functions/launch/app.py").read_text(encoding="utf-8")
    line = re.search(r'logger\.info\(\s*"launch accepted",\s*extra=\{(?P<extra>.*?)\}', launch, re.S)
    assert line, "the launch function no longer logs 'launch accepted'"
    assert {'"org_id"', '"lti_version_family"'} <= set(re.findall(r'"\w+"', line["extra"]))
    from tests.infrastructure.conftest import TEMPLATE_PATH

    text = TEMPLATE_PATH.read_text(encoding="utf-8")
    assert '\\"routeKey\\"' not in text  # the access log format's keys are plain JSON keys
    assert '"routeKey":"$context.routeKey"' in text and '"latencyMs":"$context.responseLatency"' in text


RULES: dict[str, Callable[[Template], list[str]]] = {
    "function alarms": function_alarm_problems,
    "api alarm": api_alarm_problems,
    "table alarms": table_alarm_problems,
    "gateway metric alarms": gateway_metric_alarm_problems,
    "topic": topic_problems,
    "deployment": deployment_problems,
    "tracing": tracing_problems,
    "dashboard": dashboard_problems,
}


@pytest.mark.parametrize("rule", RULES)
def test_template_operations_follow(rule: str, template: Template) -> None:
    assert RULES[rule](template) == []


# ---------------------------------------------------------------------------------------------
# …and each rule notices a template broken in one place


def _props(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]["Properties"]


def _dash(t: Template, old: str, new: str) -> None:
    body = _props(t, "OperationsDashboard")["DashboardBody"]
    assert old in body["Fn::Sub"], old
    body["Fn::Sub"] = body["Fn::Sub"].replace(old, new, 1)


def _query(t: Template, alarm: str, old: str, new: str) -> None:
    query = next(q for q in _props(t, alarm)["Metrics"] if q.get("ReturnData"))
    text = query["Expression"]["Fn::Sub"] if isinstance(query["Expression"], dict) else query["Expression"]
    assert old in text, old
    replaced = text.replace(old, new, 1)
    query["Expression"] = {"Fn::Sub": replaced} if isinstance(query["Expression"], dict) else replaced


BREAKAGES: dict[str, tuple[str, Callable[[Template], Any]]] = {
    "errors alarm on another function": (
        "function alarms",
        lambda t: _props(t, "KeysFunctionErrorsAlarm").update(
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": "TokenFunction"}}]
        ),
    ),
    "throttle alarm missing": ("function alarms", lambda t: t["Resources"].pop("ConsoleFunctionThrottlesAlarm")),
    "duration threshold not 80 % of the export timeout": (
        "function alarms",
        lambda t: _props(t, "ExportFunctionDurationAlarm").update(Threshold=12000),
    ),
    "duration on the average": (
        "function alarms",
        lambda t: (
            _props(t, "LaunchFunctionDurationAlarm").pop("ExtendedStatistic"),
            _props(t, "LaunchFunctionDurationAlarm").update(Statistic="Average"),
        ),
    ),
    "alarm nobody hears": ("function alarms", lambda t: _props(t, "TokenFunctionErrorsAlarm").pop("AlarmActions")),
    "alarm without its condition": (
        "function alarms",
        lambda t: t["Resources"]["KeysFunctionErrorsAlarm"].pop("Condition"),
    ),
    "5xx alarm on 4xx": (
        "api alarm",
        lambda t: _props(t, "Api5xxAlarm")["Metrics"][1]["MetricStat"]["Metric"].update(MetricName="4xx"),
    ),
    "5xx alarm on a count, not a rate": (
        "api alarm",
        lambda t: _props(t, "Api5xxAlarm")["Metrics"][0].update(Expression="errors"),
    ),
    "table alarm on another table": (
        "table alarms",
        lambda t: _query(t, "LaunchTableThrottlesAlarm", "${LaunchTable}", "${KeysTable}"),
    ),
    "table alarm on the wrong metric": (
        "table alarms",
        lambda t: _query(t, "ClassesTableSystemErrorsAlarm", "SystemErrors", "UserErrors"),
    ),
    "KMS alarm on a metric nobody emits": (
        "gateway metric alarms",
        lambda t: _props(t, "KmsFailuresAlarm").update(MetricName="KmsErrors"),
    ),
    "KMS alarm in another namespace": (
        "gateway metric alarms",
        lambda t: _props(t, "KmsFailuresAlarm").update(Namespace="LtiGateway"),
    ),
    "rejections not by reason": (
        "gateway metric alarms",
        lambda t: _query(t, "LaunchRejectionsAlarm", " GROUP BY reason", ""),
    ),
    "rejections of a metric nobody emits": (
        "gateway metric alarms",
        lambda t: _query(t, "LaunchRejectionsAlarm", "SUM(LaunchRejected)", "SUM(LaunchRefused)"),
    ),
    "rejection threshold fixed": (
        "gateway metric alarms",
        lambda t: _props(t, "LaunchRejectionsAlarm").update(Threshold=50),
    ),
    "topic under the AWS managed key": (
        "topic",
        lambda t: _props(t, "AlarmTopic").update(KmsMasterKeyId="alias/aws/sns"),
    ),
    "e-mail subscribed unconditionally": ("topic", lambda t: t["Resources"]["AlarmEmailSubscription"].pop("Condition")),
    "e-mail condition ignores the address": (
        "topic",
        lambda t: t["Conditions"].update(HasAlarmEmail={"Condition": "AlarmsOn"}),
    ),
    "alarms off by default": ("topic", lambda t: t["Parameters"]["EnableAlarms"].update(Default="false")),
    "no rollback on the API 5xx": (
        "deployment",
        lambda t: _props(t, "LaunchFunction")["DeploymentPreference"].update(
            Alarms={"Fn::If": ["AlarmsOn", [{"Ref": "LaunchFunctionErrorsAlarm"}], []]}
        ),
    ),
    "deploys all at once": (
        "deployment",
        lambda t: _props(t, "TokenFunction")["DeploymentPreference"].update(Type="AllAtOnce"),
    ),
    "layer change publishes nothing": (
        "deployment",
        lambda t: _props(t, "ClassesFunction").pop("AutoPublishAliasAllProperties"),
    ),
    "no alias": ("deployment", lambda t: t["Globals"]["Function"].pop("AutoPublishAlias")),
    "concurrency reserved by default": (
        "deployment",
        lambda t: t["Parameters"]["KeysReservedConcurrency"].update(Default=10),
    ),
    "SnapStart on by default": ("deployment", lambda t: t["Parameters"]["LaunchSnapStart"].update(Default="true")),
    "SnapStart with provisioned concurrency allowed": (
        "deployment",
        lambda t: t["Rules"].pop("SnapStartOrProvisionedConcurrency"),
    ),
    "tracing on by default": ("tracing", lambda t: t["Parameters"]["Tracing"].update(Default="true")),
    "handlers not told": (
        "tracing",
        lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("LTI_GATEWAY_TRACING"),
    ),
    "always active": ("tracing", lambda t: t["Globals"]["Function"].update(Tracing="Active")),
    "dashboard not JSON": ("dashboard", lambda t: _dash(t, '"widgets": [', '"widgets": [,')),
    "dashboard names an unknown resource": ("dashboard", lambda t: _dash(t, "${LaunchFunction}", "${LaunchFn}")),
    "dashboard metric nobody emits": ("dashboard", lambda t: _dash(t, '"LaunchAccepted"', '"LaunchesAccepted"')),
    "dashboard AWS metric that does not exist": (
        "dashboard",
        lambda t: _dash(t, '"ConsumedReadCapacityUnits"', '"ReadUnits"'),
    ),
    "dashboard dimension on the wrong resource": (
        "dashboard",
        lambda t: _dash(t, '"TableName", "${KeysTable}"', '"TableName", "${KeysFunction}"'),
    ),
    "dashboard queries a foreign log group": (
        "dashboard",
        lambda t: _dash(t, "SOURCE '${HttpApiAccessLogs}'", "SOURCE 'other'"),
    ),
    "dashboard without rejections by reason": (
        "dashboard",
        lambda t: _dash(t, "Launch rejections by reason", "Rejections"),
    ),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_each_operations_rule_notices_a_broken_template(breakage: str, template: Template) -> None:
    rule, breakage_fn = BREAKAGES[breakage]
    breakage_fn(template)
    assert RULES[rule](template) != []
