"""What the local gateway reads from ``template.yaml``: tables, functions, routes, environment, outputs.

Local and deployed cannot drift because nothing here is declared twice: tables are created from the
template's own ``AWS::DynamoDB::Table`` properties, routes come from each function's ``HttpApi``
events, and the Lambda environment is ``Globals.Function.Environment`` with ``!Ref`` resolved to the
local resources. An intrinsic this module cannot resolve fails loudly (:class:`TemplateError`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

LOCAL_PREFIX = "lti-gateway-local"


class TemplateError(ValueError):
    """template.yaml declares something the local gateway cannot reproduce."""


# --------------------------------------------------------------------------------------------- YAML


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short forms (``!Ref X``) into their long forms."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: str | Path) -> dict[str, Any]:
    """The template as plain dicts, short-form intrinsics in long form; ``__dir__`` is its folder."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    doc["__dir__"] = str(path.resolve().parent)
    return doc


def resources(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """``{logical id: Properties}`` of every resource of one type, in template order."""
    return {
        name: res.get("Properties") or {}
        for name, res in template["Resources"].items()
        if isinstance(res, dict) and res.get("Type") == type_
    }


# ---------------------------------------------------------------------------------------- DynamoDB


def table_name(logical_id: str, prefix: str = LOCAL_PREFIX) -> str:
    return f"{prefix}-{logical_id}"


def create_table_kwargs(props: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``create_table`` arguments from an ``AWS::DynamoDB::Table``'s Properties (same spelling)."""
    billing = props.get("BillingMode", "PROVISIONED")
    throughput = props.get("ProvisionedThroughput") or {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        kwargs["ProvisionedThroughput"] = throughput
    gsis = []
    for index in props.get("GlobalSecondaryIndexes") or []:
        gsi = {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}
        if billing == "PROVISIONED":
            gsi["ProvisionedThroughput"] = index.get("ProvisionedThroughput") or throughput
        gsis.append(gsi)
    if gsis:
        kwargs["GlobalSecondaryIndexes"] = gsis
    lsis = [
        {k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in props.get("LocalSecondaryIndexes") or []
    ]
    if lsis:
        kwargs["LocalSecondaryIndexes"] = lsis
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def create_buckets(client: Any, template: Mapping[str, Any], *, prefix: str = LOCAL_PREFIX) -> dict[str, str]:
    """Create every ``AWS::S3::Bucket`` of the template (names lower-cased, as S3 wants); logical id -> name."""
    names = {}
    for logical_id in resources(template, "AWS::S3::Bucket"):
        name = f"{prefix}-{logical_id}".lower()
        client.create_bucket(Bucket=name)
        names[logical_id] = name
    return names


def create_tables(client: Any, template: Mapping[str, Any], *, prefix: str = LOCAL_PREFIX) -> dict[str, str]:
    """Create every table of the template (existing ones are kept) and its TTL; ``{logical id: name}``."""
    names = {}
    for logical_id, props in resources(template, "AWS::DynamoDB::Table").items():
        name = names[logical_id] = table_name(logical_id, prefix)
        # A reused endpoint (DynamoDB Local, a second run) keeps its tables and their data.
        with contextlib.suppress(client.exceptions.ResourceInUseException):
            client.create_table(**create_table_kwargs(props, name))
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            current = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
            if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
    return names


# -------------------------------------------------------------------------------------- intrinsics


@dataclass
class LocalResources:
    """What ``!Ref``, ``!GetAtt`` and ``!Sub`` resolve to locally.

    ``refs`` maps logical ids to their local physical id (table name, KMS key id); any other resource
    of the template resolves to ``<prefix>-<logical id>``. ``attributes`` maps ``"Id.Attr"``.
    """

    template: Mapping[str, Any]
    parameters: dict[str, str] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    prefix: str = LOCAL_PREFIX

    def pseudo(self) -> dict[str, str]:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.prefix,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.prefix}/local",
        }

    def ref(self, name: str) -> str:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.template["Resources"]:
            return f"{self.prefix}-{name}"
        raise TemplateError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, name: str, attribute: str) -> str:
        if f"{name}.{attribute}" in self.attributes:
            return self.attributes[f"{name}.{attribute}"]
        if name not in self.template["Resources"]:
            raise TemplateError(f"!GetAtt {name}.{attribute}: no such resource")
        if attribute == "Arn":
            kind = str(self.template["Resources"][name].get("Type", "")).split("::")[1].lower()
            return f"arn:aws:{kind}:{self.region}:{self.account_id}:local/{self.ref(name)}"
        raise TemplateError(f"!GetAtt {name}.{attribute} has no local value")

    def resolve(self, value: Any) -> Any:
        """Resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::Join`` in ``value``."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return self.ref(arg)
        if fn == "Fn::GetAtt":
            return self.get_att(*arg)
        if fn == "Fn::Join":
            delimiter, parts = arg
            return delimiter.join(str(self.resolve(p)) for p in parts)
        if fn == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
            return self._sub(text, variables)
        if fn == "Fn::If":
            name, if_true, if_false = arg
            return self.resolve(if_true if self.condition(name) else if_false)
        if fn.startswith("Fn::") or fn == "Condition":
            raise TemplateError(f"{fn} is not supported by the local gateway")
        return {fn: self.resolve(arg)}

    def condition(self, name: str) -> bool:
        """A condition of the template's ``Conditions``, evaluated with the local parameter values."""
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"Fn::If / Condition: condition {name} is not declared")
        return self._truth(conditions[name])

    def _truth(self, node: Any) -> bool:
        if isinstance(node, dict) and len(node) == 1:
            ((fn, arg),) = node.items()
            if fn == "Condition":
                return self.condition(arg)
            if fn == "Fn::Equals":
                left, right = (self.resolve(value) for value in arg)
                return str(left) == str(right)
            if fn == "Fn::Not":
                return not self._truth(arg[0])
            if fn == "Fn::And":
                return all(self._truth(value) for value in arg)
            if fn == "Fn::Or":
                return any(self._truth(value) for value in arg)
        raise TemplateError(f"condition {node!r} is not supported by the local gateway")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)


# ------------------------------------------------------------------------------- functions, routes


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str  # "app.lambda_handler"
    memory_mb: int
    timeout_s: int
    environment: dict[str, Any]  # unresolved: Globals merged with the function's own
    function_url: bool

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def module_name(self) -> str:
        """A unique module name (``fn_keys_app``): every handler is ``app.py``."""
        module = self.handler.rpartition(".")[0]
        return re.sub(r"\W", "_", f"fn_{self.code_dir.name}_{module}").lower()

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


def functions(template: Mapping[str, Any]) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` with Globals applied."""
    glob = (template.get("Globals") or {}).get("Function") or {}
    base_dir = Path(template.get("__dir__", "."))
    specs = {}
    for logical_id, props in resources(template, "AWS::Serverless::Function").items():
        code_uri = props.get("CodeUri", glob.get("CodeUri"))
        handler = props.get("Handler", glob.get("Handler"))
        if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{logical_id}: the local gateway needs a local CodeUri and a module.function Handler")
        env = dict(((glob.get("Environment") or {}).get("Variables")) or {})
        env.update(((props.get("Environment") or {}).get("Variables")) or {})
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(base_dir / code_uri).resolve(),
            handler=handler,
            memory_mb=int(props.get("MemorySize", glob.get("MemorySize", 128))),
            timeout_s=int(props.get("Timeout", glob.get("Timeout", 3))),
            environment=env,
            function_url=bool(props.get("FunctionUrlConfig", glob.get("FunctionUrlConfig"))),
        )
    return specs


_STATIC, _PARAM, _GREEDY = 0, 1, 2


def _segments(path: str) -> tuple[tuple[int, str], ...]:
    if not path.startswith("/"):
        raise TemplateError(f"route path {path!r} must start with /")
    segments = []
    parts = path[1:].split("/")
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if i != len(parts) - 1:
                raise TemplateError(f"route path {path!r}: a greedy variable must be the last segment")
            segments.append((_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append((_PARAM, part[1:-1]))
        else:
            segments.append((_STATIC, part))
    return tuple(segments)


@dataclass(frozen=True)
class Route:
    method: str  # upper case; "ANY" matches every method
    path: str  # "/api/keys/{key}", "/{proxy+}" or "$default"
    function_id: str

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"

    def precedence(self) -> tuple[Any, ...]:
        """API Gateway's order: full matches, then greedy variables, then ``$default``.

        Among full matches the most specific wins (a static segment beats a variable at the first
        place they differ); a route's own method beats ``ANY``.
        """
        if self.path == "$default":
            return (2,)
        segments = _segments(self.path)
        greedy = any(kind == _GREEDY for kind, _ in segments)
        return (int(greedy), tuple(kind for kind, _ in segments), self.method == "ANY")

    def match(self, method: str, raw_path: str) -> dict[str, str] | None:
        """Path parameters (percent-decoded) if this route takes the request, else ``None``."""
        if self.method not in ("ANY", method):
            return None
        if self.path == "$default":
            return {}
        parts = raw_path[1:].split("/")
        params: dict[str, str] = {}
        segments = _segments(self.path)
        for i, (kind, name) in enumerate(segments):
            if kind == _GREEDY:
                rest = "/".join(parts[i:])
                if not rest:
                    return None
                params[name] = unquote(rest)
                return params
            if i >= len(parts):
                return None
            if kind == _STATIC and unquote(parts[i]) != name:
                return None
            if kind == _PARAM:
                if not parts[i]:
                    return None
                params[name] = unquote(parts[i])
        return params if len(parts) == len(segments) else None


def routes(template: Mapping[str, Any]) -> list[Route]:
    """Every ``HttpApi`` event of every function (SAM's defaults: method ANY, path ``$default``)."""
    found: dict[str, Route] = {}
    for logical_id, props in resources(template, "AWS::Serverless::Function").items():
        for event_name, event in (props.get("Events") or {}).items():
            if not isinstance(event, dict) or event.get("Type") != "HttpApi":
                continue
            ev_props = event.get("Properties") or {}
            method = str(ev_props.get("Method", "ANY")).upper()
            method = "ANY" if method in ("*", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
            route = Route(method, ev_props.get("Path", "$default"), logical_id)
            route.precedence()  # validates the path
            if route.route_key in found:
                raise TemplateError(f"{logical_id}.{event_name}: route {route.route_key} is declared twice")
            found[route.route_key] = route
    return list(found.values())


class Router:
    """API Gateway's route selection over the template's routes (not a routing framework)."""

    def __init__(self, routes: Iterable[Route]):
        self.routes = sorted(routes, key=Route.precedence)

    def match(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            params = route.match(method, raw_path)
            if params is not None:
                return route, params
        return None


# ------------------------------------------------------------------------------ environment, outputs


def function_environment(spec: FunctionSpec, local: LocalResources) -> dict[str, str]:
    """The function's environment as Lambda would see it, resolved to the local resources."""
    env = {}
    for name, value in spec.environment.items():
        resolved = local.resolve(value)
        if isinstance(resolved, (dict, list)):
            raise TemplateError(f"{spec.logical_id}: environment variable {name} does not resolve to a string")
        if isinstance(resolved, bool):
            resolved = "true" if resolved else "false"
        env[name] = "" if resolved is None else str(resolved)
    return env


_EXECUTE_API = re.compile(r"https://\$\{(\w+)\}\.execute-api\.\$\{AWS::Region\}\.\$\{AWS::URLSuffix\}")


def outputs(
    template: Mapping[str, Any], local: LocalResources, api_base_url: str, warn: Callable[[str], None] = print
) -> dict[str, str]:
    """The template's Outputs with the HTTP API's domain replaced by the local base URL.

    An output that cannot be resolved locally is left out (with a warning), not fatal.
    """
    apis = set(resources(template, "AWS::Serverless::HttpApi")) | {"ServerlessHttpApi"}

    def localise(value: Any) -> Any:
        if isinstance(value, str):
            return _EXECUTE_API.sub(lambda m: api_base_url if m.group(1) in apis else m.group(0), value)
        if isinstance(value, list):
            return [localise(v) for v in value]
        if isinstance(value, dict):
            return {k: localise(v) for k, v in value.items()}
        return value

    result = {}
    for name, output in (template.get("Outputs") or {}).items():
        if "Condition" in output and not local.condition(output["Condition"]):
            continue  # the stack would not show it (a custom domain's, when none is given locally)
        try:
            result[name] = str(local.resolve(localise(output.get("Value"))))
        except TemplateError as exc:
            warn(f"output {name} has no local value: {exc}")
    return result
