"""What the deployable bundle promises, asserted on template.yaml itself (no SAM CLI, no AWS).

Each rule is a ``*_problems(template)`` function returning what is wrong. Every rule is run on the
real template (no problems) and on copies broken in one place (the rule must notice), so no check
can pass by looking at nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

Template = dict[str, Any]

TABLES = {"KeysTable", "LaunchTable", "ClassesTable"}
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"

# Least privilege, reviewed per function: (resource logical id, index or None) -> actions.
# A new function is not deployable until its grants are written down here.
EXPECTED_GRANTS: dict[str, dict[tuple[str, str | None], set[str]]] = {
    "KeysFunction": {
        ("KeysTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        ("KeysTable", "gsi1"): {"dynamodb:Query"},
        ("LaunchTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        ("SecretsKey", None): {"kms:GenerateDataKey", "kms:Decrypt"},
    },
    "ClassesFunction": {
        ("ClassesTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:BatchWriteItem",
        },
        ("ClassesTable", "gsi1"): {"dynamodb:Query"},
        # API key authentication (APIKEY# items), and the organisation an app launch URL is checked
        # against (ORG# read; a new app origin recorded: app_origins updated only), see below.
        ("KeysTable", None): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        # Platform issuers only (see test_classes_reads_only_platform_issuers).
        ("KeysTable", "gsi1"): {"dynamodb:Query"},
        # Owner console sessions read by web.bearer_principal (CONSOLESESSION# items only).
        ("LaunchTable", None): {"dynamodb:GetItem"},
    },
    "LaunchFunction": {
        # Consumer keys, organisations, the ltik key, LTI 1.3 platform registrations and LTI 1.1 bindings
        # (reads); the issuer's registrations for a login without client_id (query); creating the ltik
        # key and recording a pending LTI 1.1 binding (puts).
        # Every statement is limited by dynamodb:LeadingKeys, see test_launch_keys_table_access_is_limited.
        ("KeysTable", None): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"},
        # Nonces, login states and launch contexts (puts); consuming a login state (one delete).
        # Login states read (consistently) before the launch validates, consumed once it has.
        # An LTI 1.1 launch writes its context and the learner's outcome records in one BatchWriteItem.
        ("LaunchTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
        },
        ("ClassesTable", None): {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"},
        ("SecretsKey", None): {"kms:GenerateDataKey", "kms:Decrypt"},
    },
    "ExportFunction": {
        ("ClassesTable", None): {"dynamodb:GetItem"},
        ("ClassesTable", "gsi1"): {"dynamodb:Query"},
        # API key authentication (limited to APIKEY# items) and the consumer key listing (limited to
        # key, label and status: see test_export_reads_no_secret).
        ("KeysTable", None): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        ("KeysTable", "gsi1"): {"dynamodb:Query"},
        ("ExportsBucket", "objects"): {"s3:PutObject", "s3:GetObject"},
        # Owner console sessions read by web.bearer_principal (CONSOLESESSION# items only).
        ("LaunchTable", None): {"dynamodb:GetItem"},
    },
    "PlatformsFunction": {
        # API credentials (get/touch), platforms, issuer index, registration URLs, LTI 1.1 bindings and
        # the tool's RSA keys, each statement limited by dynamodb:LeadingKeys
        # (test_platforms_keys_table_access_is_limited); the gsi1 listing limited to the platform attributes.
        ("KeysTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
            "dynamodb:ConditionCheckItem",
        },
        ("KeysTable", "gsi1"): {"dynamodb:Query"},
        # New RSA keys are sealed; none is ever opened here.
        ("SecretsKey", None): {"kms:GenerateDataKey"},
        # Owner console sessions read by web.bearer_principal (CONSOLESESSION# items only).
        ("LaunchTable", None): {"dynamodb:GetItem"},
    },
    "RotationFunction": {
        # The scheduled key rotation: every key set's pointer (gsi1, TOOLKEYSETS only), each set read
        # (Query) and rotated (one transaction of Put/Update), limited to TOOLKEY#rsa* partitions; a new
        # private key sealed (GenerateDataKey; nothing is ever opened).
        ("KeysTable", None): {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        ("KeysTable", "gsi1"): {"dynamodb:Query"},
        ("SecretsKey", None): {"kms:GenerateDataKey"},
    },
    "TokenFunction": {
        # API keys (get/touch), consumer keys, platforms and tool keys (get), tool keys (query/create):
        # each statement limited by dynamodb:LeadingKeys, see test_token_keys_table_access_is_limited.
        ("KeysTable", None): {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:PutItem"},
        # Launch contexts, service keys and slots, cached platform tokens, LTI 1.1 outcome records.
        ("LaunchTable", None): {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
            "dynamodb:Query",
        },
        ("SecretsKey", None): {"kms:GenerateDataKey", "kms:Decrypt"},
    },
    "ConsoleFunction": {
        # Signing in with an API key (get/touch APIKEY#), the organisation's name (get ORG#), the
        # sessions and one-time links (CONSOLESESSION#, CONSOLELINK#): see
        # test_console_grants_are_limited_to_their_items.
        ("KeysTable", None): {"dynamodb:GetItem", "dynamodb:UpdateItem"},
        ("LaunchTable", None): {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
    },
}

# What any function may ever be granted, by the kind of resource. No Scan (the architecture has
# none), no table management, no kms:Encrypt/ReEncrypt/CreateGrant.
ALLOWED_ACTIONS = {
    "AWS::DynamoDB::Table": {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Query",
        "dynamodb:ConditionCheckItem",
    },
    "index": {"dynamodb:Query"},
    "AWS::KMS::Key": {"kms:GenerateDataKey", "kms:Decrypt"},
    "objects": {"s3:GetObject", "s3:PutObject"},  # objects of a bucket (``${Bucket.Arn}/*``)
}

# Routes other code and the LMS-facing docs rely on: they may gain siblings, never disappear.
KNOWN_ROUTES = {
    ("POST", "/api/keys"),
    ("GET", "/api/keys"),
    ("GET", "/api/keys/{key}"),
    ("POST", "/api/keys/{key}/rotate"),
    ("DELETE", "/api/keys/{key}"),
    ("POST", "/{lts_version}/consumer/keys/lti"),
    ("GET", "/api/org"),
    ("GET", "/api/credentials"),
    ("POST", "/api/credentials"),
    ("DELETE", "/api/credentials/{credential_id}"),
    ("GET", "/api/openapi.json"),
    ("PATCH", "/api/org"),
    ("POST", "/api/classes"),
    ("GET", "/api/classes"),
    ("GET", "/api/classes/{class_id}"),
    ("PATCH", "/api/classes/{class_id}"),
    ("DELETE", "/api/classes/{class_id}"),
    ("POST", "/api/classes/{class_id}/units"),
    ("GET", "/api/classes/{class_id}/units"),
    ("POST", "/api/classes/{class_id}/units/reorder"),
    ("GET", "/api/classes/{class_id}/units/{unit_id}"),
    ("PATCH", "/api/classes/{class_id}/units/{unit_id}"),
    ("DELETE", "/api/classes/{class_id}/units/{unit_id}"),
    ("GET", "/classes/{class_id}/open"),
    ("POST", "/lti/launch/{class_id}"),
    ("POST", "/lti/launch/{class_id}/{unit_id}"),
    ("GET", "/lti/login"),
    ("POST", "/lti/login"),
    ("POST", "/lti/launch"),
    ("GET", "/api/classes/{class_id}/lti-settings"),
    ("GET", "/api/classes/{class_id}/units/{unit_id}/lti-config.xml"),
    ("GET", "/api/lti-settings"),
    ("GET", "/api/platforms"),
    ("POST", "/api/platforms"),
    ("GET", "/api/platforms/{platform_id}"),
    ("PUT", "/api/platforms/{platform_id}"),
    ("DELETE", "/api/platforms/{platform_id}"),
    ("POST", "/api/platforms/{platform_id}/activate"),
    ("POST", "/api/platforms/{platform_id}/deactivate"),
    ("GET", "/api/platforms/{platform_id}/lti11-bindings"),
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/approve"),
    ("POST", "/api/platforms/{platform_id}/lti11-bindings/{binding_id}/reject"),
    ("POST", "/api/platforms/registration-url"),
    ("GET", "/api/tool-configuration"),
    ("GET", "/api/tool-configuration/canvas"),
    ("POST", "/api/tool-keys/rotate"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/lti/register/{token}"),
    # The app API (LTIAAS-compatible; the official client calls exactly these).
    ("GET", "/api/idtoken"),
    ("GET", "/api/memberships"),
    ("GET", "/api/lineitems"),
    ("POST", "/api/lineitems"),
    ("GET", "/api/lineitems/{id+}"),
    ("PUT", "/api/lineitems/{id+}"),
    ("DELETE", "/api/lineitems/{id+}"),
    ("POST", "/api/lineitems/{id+}"),
    ("POST", "/api/deeplinking/form"),
    ("POST", "/api/deeplinking"),
    ("DELETE", "/api/servicekey"),
}

API_BASE_URLS = ("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}", "${HttpApi.ApiEndpoint}")
# Outputs that name the execute-api URL on purpose (every other URL output is the custom domain's when given).
EXECUTE_API_OUTPUTS = {"ExecuteApiUrl"}

ENVIRONMENT = {
    "STAGE": {"Ref": "Stage"},
    "KEYS_TABLE": {"Ref": "KeysTable"},
    "LAUNCH_TABLE": {"Ref": "LaunchTable"},
    "CLASSES_TABLE": {"Ref": "ClassesTable"},
    "KMS_KEY_ID": {"Ref": "SecretsKey"},
    "ALLOWED_APP_ORIGINS": {"Ref": "AllowedAppOrigins"},
    "POWERTOOLS_LOG_LEVEL": {"Ref": "LogLevel"},
}


# ---------------------------------------------------------------------------------------------
# helpers


def resources_of(template: Template, kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == kind}


def functions(template: Template) -> dict[str, dict[str, Any]]:
    return resources_of(template, "AWS::Serverless::Function")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) pair of a parsed template."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))


def index_names(resource: dict[str, Any]) -> set[str]:
    props = resource.get("Properties", {})
    indexes = props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
    return {i["IndexName"] for i in indexes}


def policy_target(template: Template, resource: Any) -> tuple[str, str | None] | str:
    """A policy Resource as (logical id, index name or None), or a string saying why it is refused."""
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"]:
        target = resource["Fn::GetAtt"]
        name, attribute = target if isinstance(target, list) else target.split(".", 1)
        if attribute == "Arn" and name in template["Resources"]:
            return name, None
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"] and isinstance(resource["Fn::Sub"], str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/index/([\w.-]+)", resource["Fn::Sub"])
        if match and match[1] in template["Resources"]:
            name, index = match[1], match[2]
            if index not in index_names(template["Resources"][name]):
                return f"{resource} names an index {name} does not have"
            return name, index
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/\*", resource["Fn::Sub"])
        if match and template["Resources"].get(match[1], {}).get("Type") == "AWS::S3::Bucket":
            return match[1], "objects"
    return f"{resource!r} is not the ARN of a resource (or index) of this template"


def function_grants(template: Template, name: str) -> tuple[dict[tuple[str, str | None], set[str]], list[str]]:
    """The (resource, index) -> actions a function's policies grant, and anything malformed."""
    grants: dict[tuple[str, str | None], set[str]] = {}
    problems = []
    for i, policy in enumerate(functions(template)[name]["Properties"].get("Policies", [])):
        if not isinstance(policy, dict) or set(policy) != {"Statement"}:
            problems.append(
                f"{name}: policy {i} is not an inline statement list ({policy!r}); "
                "managed policies and SAM policy templates grant more than we use"
            )
            continue
        for statement in as_list(policy["Statement"]):
            extra = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
            if extra:
                problems.append(f"{name}: statement uses {sorted(extra)}")
            if statement.get("Effect") != "Allow":
                problems.append(f"{name}: statement Effect {statement.get('Effect')!r}")
            actions = set(as_list(statement.get("Action", [])))
            for resource in as_list(statement.get("Resource", [])):
                target = policy_target(template, resource)
                if isinstance(target, str):
                    problems.append(f"{name}: {target}")
                    continue
                grants.setdefault(target, set()).update(actions)
    return grants, problems


# ---------------------------------------------------------------------------------------------
# rules


def table_problems(template: Template) -> list[str]:
    problems = []
    tables = resources_of(template, "AWS::DynamoDB::Table")
    if set(tables) != TABLES:
        problems.append(f"tables are {sorted(tables)}, expected {sorted(TABLES)}")
    for name, table in tables.items():
        props = table.get("Properties", {})
        for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
            if table.get(policy) != "Retain":
                problems.append(f"{name}: {policy} is {table.get(policy)!r}, not Retain")
        if props.get("BillingMode") != "PAY_PER_REQUEST":
            problems.append(f"{name}: BillingMode is {props.get('BillingMode')!r}, not on-demand")
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled") is not True:
            problems.append(f"{name}: point-in-time recovery is off")
        if props.get("SSESpecification", {}).get("SSEEnabled") is not True:
            problems.append(f"{name}: SSE (KMS) is off")
    return problems


def ttl_problems(template: Template) -> list[str]:
    ttl = template["Resources"]["LaunchTable"]["Properties"].get("TimeToLiveSpecification", {})
    if ttl != {"AttributeName": "expires_at", "Enabled": True}:
        return [f"LaunchTable TTL is {ttl!r}, expected expires_at enabled"]
    return []


def kms_problems(template: Template) -> list[str]:
    problems = []
    key = template["Resources"]["SecretsKey"]
    props = key.get("Properties", {})
    if key.get("Type") != "AWS::KMS::Key":
        problems.append("SecretsKey is not a KMS key")
    if props.get("EnableKeyRotation") is not True:
        problems.append("SecretsKey: automatic rotation is off")
    if props.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        problems.append("SecretsKey: envelope encryption needs a symmetric key")
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        if key.get(policy) != "Retain":
            problems.append(f"SecretsKey: {policy} is {key.get(policy)!r}; deleting it loses every secret")
    return problems


def runtime_problems(template: Template) -> list[str]:
    problems = []
    fn_globals = template.get("Globals", {}).get("Function", {})
    if fn_globals.get("Runtime") != RUNTIME:
        problems.append(f"Globals runtime is {fn_globals.get('Runtime')!r}")
    if fn_globals.get("Architectures") != [ARCHITECTURE]:
        problems.append(f"Globals architectures are {fn_globals.get('Architectures')!r}")
    if fn_globals.get("LoggingConfig", {}).get("LogFormat") != "JSON":
        problems.append("Globals: logs are not JSON")
    if {"Ref": "CommonLayer"} not in fn_globals.get("Layers", []):
        problems.append("Globals: the common layer is not attached")
    env = fn_globals.get("Environment", {}).get("Variables", {})
    for var, value in ENVIRONMENT.items():
        if env.get(var) != value:
            problems.append(f"Globals: {var} is {env.get(var)!r}, expected {value!r}")
    if not functions(template):
        problems.append("no functions")
    for name, fn in functions(template).items():
        props = fn.get("Properties", {})
        for setting in ("Runtime", "Architectures", "Layers"):
            if setting in props:
                problems.append(f"{name}: sets its own {setting}; it comes from Globals")
        code_uri = props.get("CodeUri")
        if not (isinstance(code_uri, str) and re.fullmatch(r"functions/[a-z0-9_]+/?", code_uri)):
            problems.append(f"{name}: CodeUri {code_uri!r} is not functions/<name>/")
        if props.get("Handler") != "app.lambda_handler":
            problems.append(f"{name}: handler is {props.get('Handler')!r}")
    return problems


def layer_problems(template: Template) -> list[str]:
    problems = []
    layer = template["Resources"]["CommonLayer"]
    props = layer.get("Properties", {})
    metadata = layer.get("Metadata", {})
    if metadata.get("BuildMethod") != "makefile":
        problems.append(f"CommonLayer BuildMethod is {metadata.get('BuildMethod')!r}, not makefile (no Docker)")
    if metadata.get("BuildArchitecture") != ARCHITECTURE:
        problems.append(f"CommonLayer BuildArchitecture is {metadata.get('BuildArchitecture')!r}")
    if props.get("ContentUri") not in ("layers/common", "layers/common/"):
        problems.append(f"CommonLayer ContentUri is {props.get('ContentUri')!r}")
    if props.get("CompatibleRuntimes") != [RUNTIME]:
        problems.append(f"CommonLayer runtimes are {props.get('CompatibleRuntimes')!r}")
    if props.get("CompatibleArchitectures") != [ARCHITECTURE]:
        problems.append(f"CommonLayer architectures are {props.get('CompatibleArchitectures')!r}")
    return problems


def iam_problems(template: Template) -> list[str]:
    problems = []
    kinds = {name: r.get("Type") for name, r in template["Resources"].items()}
    for name in functions(template):
        grants, malformed = function_grants(template, name)
        problems += malformed
        for (resource, index), actions in grants.items():
            kind = "objects" if index == "objects" else "index" if index else kinds[resource]
            allowed = ALLOWED_ACTIONS.get(kind, set())
            where = f"{resource}/index/{index}" if index else resource
            if not allowed:
                problems.append(f"{name}: grants on {where} ({kind}), which no function needs")
            for action in sorted(actions - allowed):
                problems.append(f"{name}: {action} on {where} is not an allowed action")
        expected = EXPECTED_GRANTS.get(name)
        if expected is not None and grants != expected:
            problems.append(f"{name}: grants {grants!r}, reviewed grants are {expected!r}")
    return problems


def wildcard_problems(template: Template) -> list[str]:
    """No ``*`` action or resource anywhere, but in the KMS key policy (the account's own admin) and in
    the Deny statements of bucket policies (a Deny only takes away)."""
    problems = []
    for path, value in walk(template["Resources"]):
        if len(path) >= 3 and path[1:3] == ("Properties", "KeyPolicy"):
            continue
        if _in_bucket_policy_deny(template, path):
            continue
        if not path or path[-1] not in ("Action", "Resource", "NotAction", "NotResource"):
            continue
        for item in as_list(value):
            if isinstance(item, str) and "*" in item:
                problems.append(f"{'.'.join(map(str, path))}: {item!r}")
    return problems


def _in_bucket_policy_deny(template: Template, path: tuple[Any, ...]) -> bool:
    if len(path) < 6 or path[1:4] != ("Properties", "PolicyDocument", "Statement"):
        return False
    resource = template["Resources"][path[0]]
    if resource.get("Type") != "AWS::S3::BucketPolicy":
        return False
    statement = as_list(resource["Properties"]["PolicyDocument"]["Statement"])[path[4]]
    return statement.get("Effect") == "Deny"


def bucket_problems(template: Template) -> list[str]:
    """Buckets hold transient exports: private, encrypted, owner-enforced, TLS-only, expiring."""
    problems = []
    policies = resources_of(template, "AWS::S3::BucketPolicy").values()
    for name, bucket in resources_of(template, "AWS::S3::Bucket").items():
        props = bucket.get("Properties", {})
        block = props.get("PublicAccessBlockConfiguration", {})
        for setting in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if block.get(setting) is not True:
                problems.append(f"{name}: public access block {setting} is not true")
        rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
        if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules):
            problems.append(f"{name}: no default encryption")
        ownership = props.get("OwnershipControls", {}).get("Rules", [])
        if [r.get("ObjectOwnership") for r in ownership] != ["BucketOwnerEnforced"]:
            problems.append(f"{name}: ACLs are not disabled (OwnershipControls BucketOwnerEnforced)")
        expiring = [
            r
            for r in props.get("LifecycleConfiguration", {}).get("Rules", [])
            if r.get("Status") == "Enabled" and not r.get("Prefix") and 1 <= r.get("ExpirationInDays", 0) <= 7
        ]
        if not expiring:
            problems.append(f"{name}: objects do not expire within a week")
        tls_only = [
            s
            for policy in policies
            if policy.get("Properties", {}).get("Bucket") == {"Ref": name}
            for s in as_list(policy["Properties"].get("PolicyDocument", {}).get("Statement", []))
            if s.get("Effect") == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        ]
        if not tls_only:
            problems.append(f"{name}: no bucket policy denies plain-HTTP requests")
    return problems


def http_events(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, fn in functions(template).items():
        for event_name, event in fn.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") == "HttpApi":
                yield name, event_name, event.get("Properties", {})


def route_problems(template: Template) -> list[str]:
    problems = []
    seen: dict[tuple[str, str], str] = {}
    for name, event_name, props in http_events(template):
        where = f"{name}.{event_name}"
        method, path = props.get("Method"), props.get("Path")
        if not isinstance(path, str) or not path.startswith("/"):
            problems.append(f"{where}: path {path!r} does not start with /")
        if props.get("ApiId") != {"Ref": "HttpApi"}:
            problems.append(f"{where}: not on HttpApi (SAM would create another, implicit, API)")
        if method not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"):
            problems.append(f"{where}: method {method!r}")
        if (method, path) in seen:
            problems.append(f"{where}: {method} {path} is also {seen[(method, path)]}")
        seen[(method, path)] = where
    for method, path in sorted(KNOWN_ROUTES - set(seen)):
        problems.append(f"route {method} {path} is gone")
    return problems


def route_matches(route: str, path: str) -> bool:
    route_parts, path_parts = route.strip("/").split("/"), path.strip("/").split("/")
    for i, part in enumerate(route_parts):
        if re.fullmatch(r"\{\w+\+\}", part):
            return len(path_parts) > i
        if i >= len(path_parts):
            return False
        if not re.fullmatch(r"\{\w+\}", part) and part != path_parts[i]:
            return False
    return len(route_parts) == len(path_parts)


CUSTOM_DOMAIN_BASE = "https://${DomainName}"


def url_variants(value: Any) -> list[str] | None:
    """The ``Fn::Sub`` texts an output URL may take: one, or the custom domain's and the HTTP API's
    of an ``Fn::If [HasCustomDomain, …, …]``; None for anything else."""
    if isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str):
        return [value["Fn::Sub"]]
    branches = value.get("Fn::If") if isinstance(value, dict) else None
    if isinstance(branches, list) and len(branches) == 3 and branches[0] == "HasCustomDomain":
        texts = [b.get("Fn::Sub") if isinstance(b, dict) else None for b in branches[1:]]
        if all(isinstance(t, str) for t in texts):
            return texts
    return None


def output_problems(template: Template) -> list[str]:
    problems = []
    outputs = template.get("Outputs", {})
    base = outputs.get("ApiBaseUrl", {}).get("Value")
    public = {"Fn::If": ["HasCustomDomain", {"Fn::Sub": CUSTOM_DOMAIN_BASE}, {"Fn::Sub": API_BASE_URLS[0]}]}
    if base != public:
        problems.append(f"ApiBaseUrl is {base!r}, not the custom domain when given, else the HTTP API's URL")
    for needed in ("KeysTableName", "SecretsKeyId"):  # the CLI's `--stack` reads these
        if needed not in outputs:
            problems.append(f"output {needed} is missing")
    routes = [props.get("Path", "") for _, _, props in http_events(template)]
    for name, output in outputs.items():
        value = output.get("Value")
        if not output.get("Description"):
            problems.append(f"output {name} has no description")
        variants = url_variants(value)
        if variants is None:
            continue
        paths = set()
        for text in variants:
            for prefix in (*API_BASE_URLS, CUSTOM_DOMAIN_BASE):
                if text == prefix or text.startswith(prefix + "/"):
                    paths.add(text[len(prefix) :])
                    if prefix != CUSTOM_DOMAIN_BASE and len(variants) == 1 and name not in EXECUTE_API_OUTPUTS:
                        problems.append(f"output {name}: an execute-api URL without the custom domain's")
        if len(paths) > 1:
            problems.append(f"output {name}: its custom domain and execute-api URLs differ ({sorted(paths)})")
        for path in paths - {""}:
            if not any(route_matches(route, path) for route in routes):
                problems.append(f"output {name}: no route serves {path}")
    return problems


def parameter_problems(template: Template) -> list[str]:
    problems = []
    parameters = template.get("Parameters", {})
    for needed in ("Stage", "LogLevel", "AllowedAppOrigins"):
        if needed not in parameters:
            problems.append(f"parameter {needed} is missing")
    used = set()
    for path, value in walk({k: v for k, v in template.items() if k != "Parameters"}):
        if path and path[-1] == "Ref" and isinstance(value, str):
            used.add(value)
        if path and path[-1] == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            used.update(re.findall(r"\$\{([\w:]+)\}", text))
    for name in parameters:
        if name not in used:
            problems.append(f"parameter {name} is never used")
    return problems


def log_problems(template: Template) -> list[str]:
    problems = []
    groups = resources_of(template, "AWS::Logs::LogGroup")
    for name, group in groups.items():
        if group.get("Properties", {}).get("RetentionInDays") != {"Ref": "LogRetentionInDays"}:
            problems.append(f"{name}: retention is not the LogRetentionInDays parameter")
    named = {
        g.get("Properties", {}).get("LogGroupName", {}).get("Fn::Sub")
        for g in groups.values()
        if isinstance(g.get("Properties", {}).get("LogGroupName"), dict)
    }
    for name in functions(template):
        if f"/aws/lambda/${{{name}}}" not in named:
            problems.append(f"{name}: no log group /aws/lambda/${{{name}}} with retention")
    access = template["Resources"]["HttpApi"].get("Properties", {}).get("AccessLogSettings", {})
    destination = access.get("DestinationArn", {}).get("Fn::GetAtt", [None])
    if destination[0] not in groups:
        problems.append("HttpApi: access log does not go to a log group of this template")
    return problems


# Functions that authenticate API keys but own nothing else in the keys table: their grants on it
# must be limited to the API credential items (``APIKEY#…`` partition keys) — or, for the export
# function, to reading the organisation's tool name, description and icon (``ORG#…``, those attributes).
CREDENTIALS_ONLY = {"ClassesFunction", "ExportFunction"}
ORG_TOOL_READERS = {"ExportFunction"}
# IAM's dynamodb:Attributes must list the table's key attributes (and an index's, for an index query).
KEY_ATTRIBUTES = ["pk", "sk", "gsi1pk", "gsi1sk"]
ORG_TOOL_ATTRIBUTES = ["pk", "sk", "tool_name", "tool_description", "tool_icon_url"]
# The classes function checks an app launch URL against its organisation (ORG# read) and records a new
# app origin (ORG#: app_origins and updated_at only).
CLASSES_ORG_STATEMENTS = {"OrganisationRead", "OrganisationAppOrigins"}


def _org_tool_read(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition", {})
    return (
        as_list(statement.get("Action")) == ["dynamodb:GetItem"]
        and as_list(condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")) == ["ORG#*"]
        and condition.get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes") == ORG_TOOL_ATTRIBUTES
        and condition.get("StringEqualsIfExists", {}).get("dynamodb:Select") == "SPECIFIC_ATTRIBUTES"
    )


def scoped_keys_problems(template: Template) -> list[str]:
    problems = []
    for name in sorted(CREDENTIALS_ONLY & set(functions(template))):
        for policy in functions(template)[name]["Properties"].get("Policies", []):
            for statement in as_list(policy.get("Statement", []) if isinstance(policy, dict) else []):
                targets = [policy_target(template, r) for r in as_list(statement.get("Resource", []))]
                if ("KeysTable", None) not in targets:
                    continue
                if name in ORG_TOOL_READERS and _org_tool_read(statement):
                    continue
                if name == "ClassesFunction" and statement.get("Sid") in CLASSES_ORG_STATEMENTS:
                    condition = statement.get("Condition", {})
                    if as_list(condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")) != ["ORG#*"]:
                        problems.append(f"{name}: {statement['Sid']} is not limited to ORG# items")
                    attributes = condition.get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
                    if statement["Sid"] == "OrganisationAppOrigins" and attributes != [
                        "pk",
                        "sk",
                        "app_origins",
                        "updated_at",
                    ]:
                        problems.append(f"{name}: OrganisationAppOrigins may update more than app_origins")
                    continue
                leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
                if as_list(leading.get("dynamodb:LeadingKeys")) != ["APIKEY#*"]:
                    problems.append(f"{name}: its KeysTable grant is not limited to APIKEY# items")
    return problems


RULES: dict[str, Callable[[Template], list[str]]] = {
    "tables": table_problems,
    "ttl": ttl_problems,
    "kms": kms_problems,
    "runtime": runtime_problems,
    "layer": layer_problems,
    "iam": iam_problems,
    "wildcards": wildcard_problems,
    "routes": route_problems,
    "outputs": output_problems,
    "parameters": parameter_problems,
    "logs": log_problems,
    "scoped keys": scoped_keys_problems,
    "buckets": bucket_problems,
}


# ---------------------------------------------------------------------------------------------
# the real template passes every rule


@pytest.mark.parametrize("rule", RULES)
def test_template_follows(rule: str, template: Template) -> None:
    assert RULES[rule](template) == []


# ---------------------------------------------------------------------------------------------
# …and each rule notices a template broken in one place


def _res(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]


def _props(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]["Properties"]


def _keys_statements(t: Template) -> list[dict[str, Any]]:
    return _props(t, "KeysFunction")["Policies"][0]["Statement"]


def _sid(t: Template, function: str, sid: str) -> dict[str, Any]:
    [statement] = [s for s in _props(t, function)["Policies"][0]["Statement"] if s.get("Sid") == sid]
    return statement


def _add_statement(t: Template, statement: dict[str, Any]) -> None:
    _keys_statements(t).append({"Effect": "Allow", **statement})


def _second_function(t: Template, **props: Any) -> None:
    t["Resources"]["OtherFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "functions/other/", "Handler": "app.lambda_handler", **props},
    }


BREAKAGES: dict[str, tuple[str, Callable[[Template], Any]]] = {
    "table without Retain": ("tables", lambda t: _res(t, "ClassesTable").pop("DeletionPolicy")),
    "table replaced without Retain": (
        "tables",
        lambda t: _res(t, "LaunchTable").update(UpdateReplacePolicy="Delete"),
    ),
    "table without PITR": (
        "tables",
        lambda t: _props(t, "KeysTable").pop("PointInTimeRecoverySpecification"),
    ),
    "table without SSE": ("tables", lambda t: _props(t, "LaunchTable")["SSESpecification"].update(SSEEnabled=False)),
    "provisioned table": ("tables", lambda t: _props(t, "ClassesTable").update(BillingMode="PROVISIONED")),
    "table missing": ("tables", lambda t: t["Resources"].pop("ClassesTable")),
    "TTL on another attribute": (
        "ttl",
        lambda t: _props(t, "LaunchTable")["TimeToLiveSpecification"].update(AttributeName="ttl"),
    ),
    "TTL off": ("ttl", lambda t: _props(t, "LaunchTable").pop("TimeToLiveSpecification")),
    "key not rotated": ("kms", lambda t: _props(t, "SecretsKey").update(EnableKeyRotation=False)),
    "key deleted with the stack": ("kms", lambda t: _res(t, "SecretsKey").pop("DeletionPolicy")),
    "x86 functions": ("runtime", lambda t: t["Globals"]["Function"].update(Architectures=["x86_64"])),
    "older runtime": ("runtime", lambda t: t["Globals"]["Function"].update(Runtime="python3.12")),
    "function overrides runtime": ("runtime", lambda t: _props(t, "KeysFunction").update(Runtime="python3.12")),
    "text logs": ("runtime", lambda t: t["Globals"]["Function"].pop("LoggingConfig")),
    "table env var renamed": (
        "runtime",
        lambda t: t["Globals"]["Function"]["Environment"]["Variables"].pop("KEYS_TABLE"),
    ),
    "code outside functions/": ("runtime", lambda t: _props(t, "KeysFunction").update(CodeUri="src/")),
    "layer built by the default (Docker-less, no bytecode) builder": (
        "layer",
        lambda t: _res(t, "CommonLayer")["Metadata"].update(BuildMethod="python3.13"),
    ),
    "layer for x86": ("layer", lambda t: _res(t, "CommonLayer")["Metadata"].update(BuildArchitecture="x86_64")),
    "wildcard action": ("iam", lambda t: _add_statement(t, {"Action": "dynamodb:*", "Resource": _keys_arn()})),
    "scan": ("iam", lambda t: _sid(t, "KeysFunction", "KeysTableCreates")["Action"].append("dynamodb:Scan")),
    "query on LaunchTable not reviewed": (
        "iam",
        lambda t: _sid(t, "KeysFunction", "IdempotencyRecords")["Action"].append("dynamodb:Query"),
    ),
    "grant on ClassesTable not reviewed": (
        "iam",
        lambda t: _add_statement(
            t, {"Action": "dynamodb:GetItem", "Resource": {"Fn::GetAtt": ["ClassesTable", "Arn"]}}
        ),
    ),
    "GetItem on an index": (
        "iam",
        lambda t: _sid(t, "KeysFunction", "KeysTableListings").update(Action=["dynamodb:GetItem"]),
    ),
    "unknown index": (
        "iam",
        lambda t: _sid(t, "KeysFunction", "KeysTableListings").update(Resource={"Fn::Sub": "${KeysTable.Arn}/index/x"}),
    ),
    "foreign table ARN": (
        "iam",
        lambda t: _sid(t, "KeysFunction", "KeysTableReads").update(
            Resource={"Fn::Sub": "arn:aws:dynamodb:*:*:table/other"}
        ),
    ),
    "table management": (
        "iam",
        lambda t: _sid(t, "KeysFunction", "KeysTableCreates")["Action"].append("dynamodb:DeleteTable"),
    ),
    "kms encrypt": ("iam", lambda t: _sid(t, "KeysFunction", "SecretsEnvelope")["Action"].append("kms:Encrypt")),
    "NotResource": ("iam", lambda t: _sid(t, "KeysFunction", "SecretsEnvelope").update(NotResource="x")),
    "SAM policy template": ("iam", lambda t: _props(t, "KeysFunction")["Policies"].append({"DynamoDBCrudPolicy": {}})),
    "managed policy": ("iam", lambda t: _props(t, "KeysFunction")["Policies"].append("AmazonDynamoDBFullAccess")),
    "resource star": ("wildcards", lambda t: _sid(t, "KeysFunction", "SecretsEnvelope").update(Resource="*")),
    "action star in an IAM resource": (
        "wildcards",
        lambda t: t["Resources"].update(
            Extra={
                "Type": "AWS::IAM::Policy",
                "Properties": {"PolicyDocument": {"Statement": [{"Action": "s3:*", "Resource": "arn:x"}]}},
            }
        ),
    ),
    "relative path": (
        "routes",
        lambda t: _props(t, "KeysFunction")["Events"]["GetOrg"]["Properties"].update(Path="api/org"),
    ),
    "implicit API": ("routes", lambda t: _props(t, "KeysFunction")["Events"]["GetOrg"]["Properties"].pop("ApiId")),
    "route removed": ("routes", lambda t: _props(t, "KeysFunction")["Events"].pop("RotateKey")),
    "duplicate route": (
        "routes",
        lambda t: _props(t, "KeysFunction")["Events"].update(Again=_props(t, "KeysFunction")["Events"]["GetOrg"]),
    ),
    "no ApiBaseUrl": ("outputs", lambda t: t["Outputs"].pop("ApiBaseUrl")),
    "output URL without a route": (
        "outputs",
        lambda t: t["Outputs"]["KeysApiUrl"].update(Value={"Fn::Sub": f"{API_BASE_URLS[0]}/api/nothing"}),
    ),
    "CLI output missing": ("outputs", lambda t: t["Outputs"].pop("KeysTableName")),
    "parameter missing": ("parameters", lambda t: t["Parameters"].pop("AllowedAppOrigins")),
    "dead parameter": ("parameters", lambda t: t["Parameters"].update(Unused={"Type": "String"})),
    "function without a log group": ("logs", lambda t: _second_function(t)),
    "logs kept forever": ("logs", lambda t: _props(t, "KeysFunctionLogs").pop("RetentionInDays")),
    "API without access log": ("logs", lambda t: _props(t, "HttpApi").pop("AccessLogSettings")),
    "classes function reads any keys-table item": (
        "scoped keys",
        lambda t: _sid(t, "ClassesFunction", "ApiCredentials").pop("Condition"),
    ),
    "bucket public": (
        "buckets",
        lambda t: _props(t, "ExportsBucket")["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False),
    ),
    "bucket unencrypted": ("buckets", lambda t: _props(t, "ExportsBucket").pop("BucketEncryption")),
    "bucket with ACLs": ("buckets", lambda t: _props(t, "ExportsBucket").pop("OwnershipControls")),
    "exports kept forever": ("buckets", lambda t: _props(t, "ExportsBucket").pop("LifecycleConfiguration")),
    "bucket over plain HTTP": ("buckets", lambda t: t["Resources"].pop("ExportsBucketPolicy")),
    "bucket policy allows everything": (
        "wildcards",
        lambda t: _props(t, "ExportsBucketPolicy")["PolicyDocument"]["Statement"][0].update(Effect="Allow"),
    ),
    "objects of a bucket not reviewed": (
        "iam",
        lambda t: _add_statement(t, {"Action": "s3:GetObject", "Resource": {"Fn::Sub": "${ExportsBucket.Arn}/*"}}),
    ),
    "delete objects": (
        "iam",
        lambda t: _props(t, "ExportFunction")["Policies"][0]["Statement"][4]["Action"].append("s3:DeleteObject"),
    ),
    "export function reads consumer keys directly": (
        "scoped keys",
        lambda t: _props(t, "ExportFunction")["Policies"][0]["Statement"][2].pop("Condition"),
    ),
    "export function reads whole organisations": (
        "scoped keys",
        lambda t: _props(t, "ExportFunction")["Policies"][0]["Statement"][5]["Condition"].pop(
            "ForAllValues:StringEquals"
        ),
    ),
    "export function reads organisations' other attributes": (
        "scoped keys",
        lambda t: _props(t, "ExportFunction")["Policies"][0]["Statement"][5]["Condition"]["ForAllValues:StringEquals"][
            "dynamodb:Attributes"
        ].append("app_launch_url"),
    ),
    "classes function reads organisations' tool settings": (
        "scoped keys",
        lambda t: _props(t, "ClassesFunction")["Policies"][0]["Statement"].append(
            _props(t, "ExportFunction")["Policies"][0]["Statement"][5]
        ),
    ),
    "ApiBaseUrl ignores the custom domain": (
        "outputs",
        lambda t: t["Outputs"]["ApiBaseUrl"].update(Value={"Fn::Sub": API_BASE_URLS[0]}),
    ),
    "an LMS-facing output ignores the custom domain": (
        "outputs",
        lambda t: t["Outputs"]["LoginUrl"].update(Value=t["Outputs"]["LoginUrl"]["Value"]["Fn::If"][2]),
    ),
    "custom domain output on another path": (
        "outputs",
        lambda t: t["Outputs"]["JwksUrl"]["Value"]["Fn::If"][1].update({"Fn::Sub": "https://${DomainName}/jwks"}),
    ),
    "classes function reads consumer keys": (
        "scoped keys",
        lambda t: _sid(t, "ClassesFunction", "ApiCredentials")["Condition"]["ForAllValues:StringLike"].update(
            {"dynamodb:LeadingKeys": ["APIKEY#*", "CK#*"]}
        ),
    ),
}


def _keys_arn() -> dict[str, Any]:
    return {"Fn::GetAtt": ["KeysTable", "Arn"]}


@pytest.mark.parametrize("breakage", BREAKAGES)
def test_rule_notices(breakage: str, template: Template) -> None:
    rule, breaks = BREAKAGES[breakage]
    breaks(template)
    assert RULES[rule](template), f"{rule} did not notice: {breakage}"


def test_every_function_has_reviewed_grants(template: Template) -> None:
    unreviewed = sorted(set(functions(template)) - set(EXPECTED_GRANTS))
    assert unreviewed == [], f"write the least-privilege grants of {unreviewed} into EXPECTED_GRANTS"


def test_a_new_function_needs_reviewed_grants(template: Template) -> None:
    _second_function(template)
    assert set(functions(template)) - set(EXPECTED_GRANTS) == {"OtherFunction"}


def test_route_matching() -> None:
    assert route_matches("/{lts_version}/consumer/keys/lti", "/v2023.1.LTS/consumer/keys/lti")
    assert route_matches("/api/keys", "/api/keys")
    assert not route_matches("/api/keys/{key}", "/api/keys")
    assert not route_matches("/api/keys", "/api/keys/x")
    assert route_matches("/files/{proxy+}", "/files/a/b")


# ---------------------------------------------------------------------------------------------
# the layer build (layers/common/Makefile) agrees with the template and pyproject.toml


def _requirements(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_layer_requirements_are_pyproject_runtime_deps_without_boto3(repo_root: Path) -> None:
    layer = _requirements(repo_root / "layers/common/requirements.txt")
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["dependencies"]
    runtime_provided = {"boto3", "botocore", "s3transfer"}
    assert not {_name(r) for r in layer} & runtime_provided
    assert sorted(r.replace(" ", "") for r in layer) == sorted(
        r.replace(" ", "") for r in project if _name(r) not in runtime_provided
    )


def test_layer_makefile_builds_for_the_template_runtime(repo_root: Path, template: Template) -> None:
    makefile = (repo_root / "layers/common/Makefile").read_text()
    assert re.search(r"^build-CommonLayer:", makefile, re.MULTILINE), "sam build runs make build-CommonLayer"
    version = template["Globals"]["Function"]["Runtime"].removeprefix("python")
    assert re.search(rf"^LAMBDA_PYTHON_VERSION := {re.escape(version)}$", makefile, re.MULTILINE)
    assert re.search(r"^LAMBDA_PLATFORM := manylinux\w*_aarch64$", makefile, re.MULTILINE)
    assert "--only-binary=:all:" in makefile
    assert "--implementation cp" in makefile
    assert "--invalidation-mode unchecked-hash" in makefile
    assert 'rm -rf "$(SITE)/lti_gateway/local"' in makefile


def test_export_reads_no_secret(template: Template) -> None:
    """The export function lists consumer keys through gsi1, projecting key, label and status only."""
    statements = template["Resources"]["ExportFunction"]["Properties"]["Policies"][0]["Statement"]
    [listing] = [s for s in statements if s["Resource"] == {"Fn::Sub": "${KeysTable.Arn}/index/gsi1"}]
    assert listing["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORG#*#CKEYS"]},
        "ForAllValues:StringEquals": {"dynamodb:Attributes": [*KEY_ATTRIBUTES, "key", "label", "status"]},
        "StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }
    from lti_gateway.repositories.exports import CONSUMER_KEY_ATTRIBUTES

    attributes = listing["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert [*KEY_ATTRIBUTES, *CONSUMER_KEY_ATTRIBUTES] == attributes


def test_export_reads_only_the_organisations_tool_settings(template: Template) -> None:
    """The export function reads an organisation's tool name, description and icon (its exported links
    show them), projecting exactly what the repository projects, and nothing else of any organisation."""
    from lti_gateway.repositories.org_tool import TOOL_ATTRIBUTES

    statements = _props(template, "ExportFunction")["Policies"][0]["Statement"]
    [read] = [s for s in statements if s.get("Sid") == "OrganisationToolSettings"]
    assert _org_tool_read(read)
    assert ["pk", "sk", *TOOL_ATTRIBUTES] == ORG_TOOL_ATTRIBUTES


def test_classes_reads_only_platform_issuers(template: Template) -> None:
    """The classes function lists an organisation's platforms through gsi1 for their issuers only (the
    LMS origins a Class LMS URL may point at), projecting what the repository projects."""
    from lti_gateway.repositories.lms_origins import ISSUER_ATTRIBUTES

    statements = _props(template, "ClassesFunction")["Policies"][0]["Statement"]
    [listing] = [s for s in statements if s["Resource"] == {"Fn::Sub": "${KeysTable.Arn}/index/gsi1"}]
    assert listing["Action"] == "dynamodb:Query"
    assert listing["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORG#*#PLATFORMS"]},
        "ForAllValues:StringEquals": {"dynamodb:Attributes": [*KEY_ATTRIBUTES, *ISSUER_ATTRIBUTES]},
        "StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }


def test_launch_keys_table_access_is_limited(template: Template) -> None:
    """The launch function reads consumer keys, organisations, tool keys, platform registrations and
    LTI 1.1 bindings, queries only an issuer's registrations, and writes only tool keys and bindings."""
    statements = template["Resources"]["LaunchFunction"]["Properties"]["Policies"][0]["Statement"]
    on_keys = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}]
    limits = {s["Action"]: s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in on_keys}
    assert limits == {
        "dynamodb:GetItem": ["CK#*", "ORG#*", "TOOLKEY#ltik", "PLATFORM#*", "ORGISS#*", "ISS#*", "LTI1P1BIND#*"],
        "dynamodb:Query": ["ORGISS#*", "ISS#*"],
        "dynamodb:PutItem": ["TOOLKEY#ltik", "LTI1P1BIND#*"],
    }


def test_platforms_keys_table_access_is_limited(template: Template) -> None:
    """The platforms function touches credentials (auth), platforms, index items, registration URLs,
    LTI 1.1 bindings and the tool's RSA keys, each with only the actions the code makes on it: it cannot
    delete an organisation's signing keys or a binding, nor write the legacy issuer index; its gsi1
    listing reads the platform attributes only."""
    statements = template["Resources"]["PlatformsFunction"]["Properties"]["Policies"][0]["Statement"]
    on_keys = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}]
    limits = {
        s["Sid"]: (set(as_list(s["Action"])), s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
        for s in on_keys
    }
    get, put, update, delete = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
    assert limits == {
        "ApiCredentials": ({get, update}, ["APIKEY#*"]),
        "PlatformRecords": ({get, put, update, delete}, ["PLATFORM#*"]),
        "PlatformIssuerIndex": ({put, delete}, ["ORGISS#*"]),
        "LegacyIssuerIndexRelease": ({delete}, ["ISS#*"]),
        "RegistrationUrls": ({get, put, delete, "dynamodb:ConditionCheckItem"}, ["REGURL#*"]),
        "Lti11Bindings": ({get, "dynamodb:Query", update}, ["LTI1P1BIND#*"]),
        "SigningKeySets": ({"dynamodb:Query", put, update}, ["TOOLKEY#rsa*"]),
        "OrganisationReads": ({get}, ["ORG#*"]),
    }
    [listing] = [s for s in statements if s["Resource"] == {"Fn::Sub": "${KeysTable.Arn}/index/gsi1"}]
    from lti_gateway.repositories.platforms import PLATFORM_ATTRIBUTES

    assert listing["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ORG#*#PLATFORMS"]},
        "ForAllValues:StringEquals": {"dynamodb:Attributes": [*KEY_ATTRIBUTES, *PLATFORM_ATTRIBUTES]},
        "StringEquals": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }


def test_token_keys_table_access_is_limited(template: Template) -> None:
    """The token function reads API keys, consumer keys, platforms and tool keys; it writes only the
    last use of API keys, an organisation's first RSA key set and (on a new stack) the ltik key."""
    statements = template["Resources"]["TokenFunction"]["Properties"]["Policies"][0]["Statement"]
    on_keys = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["KeysTable", "Arn"]}]
    limits = {
        tuple(as_list(s["Action"])): s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] for s in on_keys
    }
    assert limits == {
        ("dynamodb:GetItem",): ["APIKEY#*", "CK#*", "PLATFORM#*", "TOOLKEY#ltik"],
        ("dynamodb:UpdateItem",): ["APIKEY#*"],
        ("dynamodb:Query", "dynamodb:PutItem"): ["TOOLKEY#rsa*"],
        ("dynamodb:PutItem",): ["TOOLKEY#ltik"],
    }


def _leading_keys(template: Template, function: str, table: str) -> dict[tuple[str, ...], list[str] | None]:
    statements = template["Resources"][function]["Properties"]["Policies"][0]["Statement"]
    on_table = [s for s in statements if s["Resource"] == {"Fn::GetAtt": [table, "Arn"]}]
    return {
        tuple(as_list(s["Action"])): s.get("Condition", {})
        .get("ForAllValues:StringLike", {})
        .get("dynamodb:LeadingKeys")
        for s in on_table
    }


def test_console_grants_are_limited_to_their_items(template: Template) -> None:
    """The console function (issue 15) signs in with API keys and reads the organisation's name in the
    keys table, and owns only the console sessions and one-time links in the launch table."""
    assert _leading_keys(template, "ConsoleFunction", "KeysTable") == {
        ("dynamodb:GetItem", "dynamodb:UpdateItem"): ["APIKEY#*"],
        ("dynamodb:GetItem",): ["ORG#*"],
    }
    assert _leading_keys(template, "ConsoleFunction", "LaunchTable") == {
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"): ["CONSOLESESSION#*"],
        ("dynamodb:DeleteItem",): ["CONSOLELINK#*"],  # a one-time link is spent by one conditional delete
    }


# The launch table's items by partition-key prefix (repositories/schema.py), per function and action:
# each function touches only the items its flows use (tests/infrastructure/test_least_privilege.py
# proves every grant is used and every call allowed).
LAUNCH_TABLE_GRANTS = {
    "KeysFunction": {
        ("dynamodb:GetItem",): ["LAUNCHERR#*", "CONSOLESESSION#*"],
        ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"): ["IDEMPOTENCY#*"],
        ("dynamodb:PutItem",): ["ONCE#learnosity-sig#*"],
        ("dynamodb:UpdateItem",): ["RATE#data-api#*", "RATE#data-api-ip#*"],
    },
    "LaunchFunction": {
        ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"): ["STATE#*"],
        ("dynamodb:PutItem", "dynamodb:BatchWriteItem"): ["LAUNCH#*"],
        ("dynamodb:BatchWriteItem",): ["OUTCOMES#*"],
        # Two statements: LTI 1.1 nonces, refused launches' records.
        ("dynamodb:PutItem",): ["ONCE#oauth1#*", "LAUNCHERR#*"],
    },
    "TokenFunction": {
        ("dynamodb:GetItem",): ["LAUNCH#*", "SERVICEKEY#*", "SERVICESLOT#*", "OUTCOMES#*", "PLATFORMTOKEN#*"],
        ("dynamodb:Query",): ["OUTCOMES#*"],
        ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"): ["SERVICEKEY#*"],
        ("dynamodb:PutItem", "dynamodb:UpdateItem"): ["SERVICESLOT#*"],
        ("dynamodb:PutItem", "dynamodb:DeleteItem"): ["PLATFORMTOKEN#*"],
        ("dynamodb:PutItem",): ["CONSOLELINK#*"],
    },
}


@pytest.mark.parametrize("function", sorted(LAUNCH_TABLE_GRANTS))
def test_launch_table_access_is_limited_to_the_functions_items(template: Template, function: str) -> None:
    """No function may read or write another's launch-table items: the token function cannot consume a
    login state, the launch function cannot read a service key, the keys function only its own records."""
    statements = _props(template, function)["Policies"][0]["Statement"]
    on_table = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["LaunchTable", "Arn"]}]
    grants: dict[tuple[str, ...], list[str]] = {}
    for s in on_table:
        grants.setdefault(tuple(as_list(s["Action"])), []).extend(
            s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        )
    assert grants == LAUNCH_TABLE_GRANTS[function]


@pytest.mark.parametrize(
    ("function", "table"),
    [("ClassesFunction", "ClassesTable"), ("LaunchFunction", "ClassesTable"), ("ExportFunction", "ClassesTable")],
)
def test_classes_table_access_is_limited_to_classes_and_lms_origins(template: Template, function: str, table: str):
    """Classes and units (``CLASS#``) and an organisation's LMS origins (``ORG#…#LMSORIGINS``), nothing else."""
    expected = {
        "ClassesFunction": {
            (
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
                "dynamodb:BatchWriteItem",
            ): ["CLASS#*"],
            ("dynamodb:GetItem",): ["ORG#*#LMSORIGINS"],
        },
        "LaunchFunction": {
            ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:UpdateItem"): ["CLASS#*"],
            ("dynamodb:UpdateItem",): ["ORG#*#LMSORIGINS"],
        },
        "ExportFunction": {("dynamodb:GetItem",): ["CLASS#*"]},
    }
    assert _leading_keys(template, function, table) == expected[function]


@pytest.mark.parametrize("function", ["ClassesFunction", "PlatformsFunction", "ExportFunction"])
def test_admin_functions_read_only_console_sessions_in_the_launch_table(template: Template, function: str) -> None:
    """web.bearer_principal reads a session cookie's item: one GetItem, CONSOLESESSION# items only."""
    assert _leading_keys(template, function, "LaunchTable") == {("dynamodb:GetItem",): ["CONSOLESESSION#*"]}
