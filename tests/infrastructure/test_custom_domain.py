"""The custom domain and the tool's stack-wide name, asserted on template.yaml with its conditions,
rules and outputs evaluated for given parameter values (no SAM CLI, no AWS).

With DomainName and CertificateArn the stack creates the API's domain name and its mapping to the
HTTP API's stage, the functions build every URL on https://DomainName and the URL outputs name it;
with HostedZoneId too, the A and AAAA alias records; without DomainName, none of it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from lti_gateway.core import config

Template = dict[str, Any]

DOMAIN = "lti.example.edu"
CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
ZONE = "Z0123456789ABCDEFGHIJ"
DOMAIN_RESOURCES = {"ApiDomain", "ApiDomainMapping"}
RECORDS = {"ApiDomainRecordIpv4", "ApiDomainRecordIpv6"}
EXECUTE_API = "https://api0123.execute-api.eu-west-1.amazonaws.com"


class Unresolved(Exception):
    pass


def parameters(template: Template, **given: str) -> dict[str, str]:
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    unknown = set(given) - set(values)
    assert not unknown, f"no such parameters: {unknown}"
    values.update(given)
    return values


def evaluate(node: Any, template: Template, params: dict[str, str]) -> Any:
    """A CloudFormation value with conditions, Ref to parameters, Fn::If and Fn::Sub resolved
    (``${HttpApi}`` and the pseudo parameters as a deployed stack in eu-west-1 would have them)."""
    if isinstance(node, list):
        return [evaluate(v, template, params) for v in node]
    if not isinstance(node, dict) or len(node) != 1:
        return node
    ((fn, arg),) = node.items()
    if fn == "Ref":
        if arg in params:
            return params[arg]
        raise Unresolved(arg)
    if fn == "Condition":
        return evaluate(template["Conditions"][arg], template, params)
    if fn == "Fn::Equals":
        left, right = (evaluate(a, template, params) for a in arg)
        return left == right
    if fn == "Fn::Not":
        return not evaluate(arg[0], template, params)
    if fn == "Fn::And":
        return all(evaluate(a, template, params) for a in arg)
    if fn == "Fn::Or":
        return any(evaluate(a, template, params) for a in arg)
    if fn == "Fn::If":
        name, yes, no = arg
        return evaluate(yes if condition(name, template, params) else no, template, params)
    if fn == "Fn::Sub" and isinstance(arg, str):
        known = {**params, "AWS::Region": "eu-west-1", "AWS::URLSuffix": "amazonaws.com", "HttpApi": "api0123"}

        def one(match: re.Match[str]) -> str:
            if match[1] not in known:
                raise Unresolved(match[1])
            return known[match[1]]

        return re.sub(r"\$\{([\w:]+)\}", one, arg)
    raise Unresolved(fn)


def condition(name: str, template: Template, params: dict[str, str]) -> bool:
    return bool(evaluate(template["Conditions"][name], template, params))


def created(template: Template, params: dict[str, str]) -> set[str]:
    return {
        name
        for name, resource in template["Resources"].items()
        if "Condition" not in resource or condition(resource["Condition"], template, params)
    }


def rule_failures(template: Template, params: dict[str, str]) -> list[str]:
    failures = []
    for name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not evaluate(rule["RuleCondition"], template, params):
            continue
        for assertion in rule["Assertions"]:
            if not evaluate(assertion["Assert"], template, params):
                failures.append(f"{name}: {assertion['AssertDescription']}")
    return failures


def url_outputs(template: Template, params: dict[str, str]) -> dict[str, str]:
    """The URL outputs the stack would show (an output whose condition is false is not shown)."""
    shown = {}
    for name, output in template["Outputs"].items():
        if "Condition" in output and not condition(output["Condition"], template, params):
            continue
        try:
            value = evaluate(output["Value"], template, params)
        except Unresolved:
            continue
        if isinstance(value, str) and value.startswith("https://"):
            shown[name] = value
    return shown


def function_settings(template: Template, params: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> config.Settings:
    """Settings as a function of the deployed stack reads them from its Globals environment."""
    for name, value in template["Globals"]["Function"]["Environment"]["Variables"].items():
        try:
            monkeypatch.setenv(name, str(evaluate(value, template, params)))
        except Unresolved:  # a resource's physical id
            monkeypatch.setenv(name, f"physical-{name.lower()}")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("LAUNCH_BASE_URL", raising=False)
    return config.Settings.from_env()


# -- resources ------------------------------------------------------------------------------------


def test_without_a_domain_the_stack_creates_no_domain_resource(template):
    params = parameters(template)
    assert not (DOMAIN_RESOURCES | RECORDS) & created(template, params)
    assert created(template, params) >= {"HttpApi", "LaunchFunction", "KeysTable"}
    assert rule_failures(template, params) == []


def test_a_domain_and_certificate_create_the_domain_and_its_mapping(template):
    params = parameters(template, DomainName=DOMAIN, CertificateArn=CERT)
    assert created(template, params) & (DOMAIN_RESOURCES | RECORDS) == DOMAIN_RESOURCES
    assert rule_failures(template, params) == []

    domain = template["Resources"]["ApiDomain"]
    assert domain["Type"] == "AWS::ApiGatewayV2::DomainName"
    assert evaluate(domain["Properties"]["DomainName"], template, params) == DOMAIN
    [configuration] = domain["Properties"]["DomainNameConfigurations"]
    assert evaluate(configuration["CertificateArn"], template, params) == CERT
    assert (configuration["EndpointType"], configuration["SecurityPolicy"]) == ("REGIONAL", "TLS_1_2")

    mapping = template["Resources"]["ApiDomainMapping"]
    assert mapping["Type"] == "AWS::ApiGatewayV2::ApiMapping"
    assert mapping["Properties"]["ApiId"] == {"Ref": "HttpApi"}
    assert mapping["Properties"]["DomainName"] == {"Ref": "ApiDomain"}
    assert mapping["Properties"]["Stage"] == {"Ref": "HttpApi.Stage"}  # SAM: the $default stage
    assert "ApiMappingKey" not in mapping["Properties"]  # the API at the domain's root: paths unchanged


def test_a_hosted_zone_adds_the_a_and_aaaa_alias_records(template):
    params = parameters(template, DomainName=DOMAIN, CertificateArn=CERT, HostedZoneId=ZONE)
    assert created(template, params) & (DOMAIN_RESOURCES | RECORDS) == DOMAIN_RESOURCES | RECORDS
    assert rule_failures(template, params) == []
    records = [template["Resources"][name] for name in sorted(RECORDS)]
    assert {r["Properties"]["Type"] for r in records} == {"A", "AAAA"}
    for record in records:
        props = record["Properties"]
        assert record["Type"] == "AWS::Route53::RecordSet"
        assert evaluate(props["HostedZoneId"], template, params) == ZONE
        assert evaluate(props["Name"], template, params) == DOMAIN
        assert props["AliasTarget"]["DNSName"] == {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}
        assert props["AliasTarget"]["HostedZoneId"] == {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]}
    # An AAAA alias answers only when the domain name is reachable over IPv6.
    [configuration] = template["Resources"]["ApiDomain"]["Properties"]["DomainNameConfigurations"]
    assert configuration["IpAddressType"] == "dualstack"


@pytest.mark.parametrize(
    "given",
    [
        {"DomainName": DOMAIN},  # no certificate
        {"HostedZoneId": ZONE},  # a zone without a domain
        {"CertificateArn": CERT, "HostedZoneId": ZONE},
    ],
)
def test_the_rules_refuse_incomplete_domain_parameters(template, given):
    assert rule_failures(template, parameters(template, **given))


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("DomainName", DOMAIN, True),
        ("DomainName", "", True),
        ("DomainName", "https://lti.example.edu", False),
        ("DomainName", "lti.example.edu/path", False),
        ("DomainName", "lti.example.edu.", False),
        ("DomainName", "LTI.example.edu", False),
        ("DomainName", "localhost", False),
        ("CertificateArn", CERT, True),
        ("CertificateArn", "arn:aws:iam::123456789012:server-certificate/x", False),
        ("HostedZoneId", ZONE, True),
        ("HostedZoneId", "example.edu", False),
        ("ToolIconUrl", "https://cdn.example.edu/icon.png", True),
        ("ToolIconUrl", "", True),
        ("ToolIconUrl", "http://cdn.example.edu/icon.png", False),
        ("ToolIconUrl", "https://cdn.example.edu/my icon.png", False),
    ],
)
def test_parameter_patterns(template, name, value, allowed):
    pattern = template["Parameters"][name]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is allowed


@pytest.mark.parametrize("value", ["lti.example.edu", "a.b.c.example.co.uk", "x1.example.edu"])
def test_the_functions_accept_every_domain_the_template_accepts(template, value, monkeypatch):
    assert re.fullmatch(template["Parameters"]["DomainName"]["AllowedPattern"], value)
    params = parameters(template, DomainName=value, CertificateArn=CERT)
    assert function_settings(template, params, monkeypatch).public_base_url == f"https://{value}"


# -- what the functions and the outputs hand out ----------------------------------------------------


def test_with_a_domain_the_functions_hand_out_the_domain(template, monkeypatch):
    params = parameters(template, DomainName=DOMAIN, CertificateArn=CERT)
    assert function_settings(template, params, monkeypatch).public_base_url == f"https://{DOMAIN}"


def test_without_a_domain_the_functions_use_the_request_host(template, monkeypatch):
    assert function_settings(template, parameters(template), monkeypatch).public_base_url is None


def test_with_a_domain_every_url_output_is_on_the_domain(template):
    params = parameters(template, DomainName=DOMAIN, CertificateArn=CERT)
    shown = url_outputs(template, params)
    assert shown["ApiBaseUrl"] == f"https://{DOMAIN}"
    assert shown["LoginUrl"] == f"https://{DOMAIN}/lti/orgs/{{org_id}}/login"
    assert shown["ExecuteApiUrl"] == EXECUTE_API  # still answering; not what is handed out
    elsewhere = {n: v for n, v in shown.items() if not v.startswith(f"https://{DOMAIN}")}
    # The Function URL is the launch function's own (another host); nothing else leaves the domain.
    assert set(elsewhere) == {"ExecuteApiUrl"}
    assert template["Outputs"]["DomainTarget"]["Value"] == {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}
    assert condition(template["Outputs"]["DomainTarget"]["Condition"], template, params)


def test_without_a_domain_the_url_outputs_are_the_execute_api_urls(template):
    params = parameters(template)
    shown = url_outputs(template, params)
    assert shown["ApiBaseUrl"] == EXECUTE_API
    assert all(v.startswith(EXECUTE_API) for v in shown.values())
    assert not condition(template["Outputs"]["DomainTarget"]["Condition"], template, params)


# -- the tool's name, description and icon ---------------------------------------------------------


def test_the_tool_defaults_reach_the_functions(template, monkeypatch):
    params = parameters(
        template,
        ToolName="Acme Labs",
        ToolDescription="Labs for every course.",
        ToolIconUrl="https://cdn.example.edu/icon.png",
    )
    settings = function_settings(template, params, monkeypatch)
    assert settings.tool == config.ToolDefaults(
        "Acme Labs", "Labs for every course.", "https://cdn.example.edu/icon.png"
    )
    assert config._tool_defaults() == settings.tool


def test_the_default_tool_name_is_lti_gateway(template, monkeypatch):
    settings = function_settings(template, parameters(template), monkeypatch)
    assert settings.tool == config.ToolDefaults("LTI Gateway", config.DEFAULT_TOOL_DESCRIPTION, None)
    assert template["Parameters"]["ToolName"]["Default"] == config.DEFAULT_TOOL_NAME
    assert template["Parameters"]["ToolDescription"]["Default"] == config.DEFAULT_TOOL_DESCRIPTION
    assert template["Parameters"]["ToolName"]["MaxLength"] == config.MAX_TOOL_NAME
    assert template["Parameters"]["ToolDescription"]["MaxLength"] == config.MAX_TOOL_DESCRIPTION


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PUBLIC_DOMAIN_NAME", "https://lti.example.edu"),
        ("PUBLIC_DOMAIN_NAME", "lti.example.edu/x"),
        ("TOOL_NAME", "x" * 101),
        ("TOOL_NAME", "two\nlines"),
        ("TOOL_DESCRIPTION", "y" * 1001),
        ("TOOL_ICON_URL", "http://cdn.example.edu/icon.png"),
        ("TOOL_ICON_URL", "https://cdn.example.edu/my icon.png"),
    ],
)
def test_a_malformed_value_fails_the_cold_start(template, monkeypatch, name, value):
    function_settings(template, parameters(template), monkeypatch)  # the rest is well-formed
    monkeypatch.setenv(name, value)
    with pytest.raises(config.ConfigError, match=name):
        config.Settings.from_env()
