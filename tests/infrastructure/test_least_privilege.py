"""Least privilege, proven (issue 16): moto enforces no IAM, so this test does.

Every botocore call each handler makes is recorded while it runs (tests/support/iam_recorder.py),
with every per-container cache forgotten before each call (``runtime.reset()``: a warm cache hides no
read). Each call becomes the IAM checks AWS would make (per-item actions inside transactions, index
ARNs, the KMS key and S3 object ARNs, ``dynamodb:LeadingKeys``, ``dynamodb:Attributes`` counted
conservatively), evaluated against that function's own statements resolved from template.yaml
(tests/support/iam_policy.py). The flows drive every route of every function (and the rotation's
schedule): success paths and the branches that make different calls.

It fails on any call the role would deny, on any route no flow reached, and on any combination a
statement grants that no call used, unless it is on :data:`REVIEWED` with its reason. A statement
grants each of its actions on each resource with each value its multi-valued conditions list (one
``dynamodb:LeadingKeys`` prefix, one ``dynamodb:Attributes`` name): a statement of GetItem and
DeleteItem on ``PLATFORM#*`` and ``TOOLKEY#rsa*`` grants DeleteItem on ``TOOLKEY#rsa*`` even if only
GetItem reads keys there, so every (action, resource, listed value) must be used by one call, not each
action and each value by some call.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lti_gateway.core import runtime
from lti_gateway.core import vocabulary as lti
from lti_gateway.local.template import load_template
from lti_gateway.lti11 import consumer_keys
from tests.conftest import FakeContext
from tests.functional.launch.test_lti13_launch import (  # noqa: F401 (fixtures)
    APP,
    CLIENT_ID,
    DEPLOYMENT,
    ISS,
    id_token_for,
    jwks,
    launch_post,
    login,
    login_event,
    org_path,
    world,
)
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.peers.registration_platform import RegistrationPlatform
from tests.support import iam_policy, iam_recorder
from tests.support.app_api import HOST, ltik_auth, ltik_from, router, service_auth, token_event
from tests.support.app_fixtures import *  # noqa: F403 (lti11, lti11_world, lti11_launch, lti13, outcome_lms)
from tests.support.browser import BROWSER
from tests.support.console import event as console_event
from tests.support.events import vary
from tests.support.stack import load_function

ROOT = Path(__file__).resolve().parents[2]

# Granted combinations no recorded call uses, kept on purpose: (function, Sid, action, the listed
# condition values of the combination, e.g. ("TOOLKEY#rsa*",); () for a statement without a
# multi-valued condition) -> why. Keep it short: every entry is reviewed, and one no longer needed
# fails the test too.
REVIEWED: dict[tuple[str, str, str, tuple[str, ...]], str] = {}

# The DynamoDB actions that name one partition (the request carries ``dynamodb:LeadingKeys``). Every
# grant of one of them must carry a ``ForAllValues:StringLike``/``StringEquals`` condition on
# ``dynamodb:LeadingKeys`` naming its partition-key prefixes, unless it is on :data:`UNBOUNDED` with its
# reason; any other DynamoDB action (Scan, PartiQL, a wildcard) carries no partition key, so
# ``ForAllValues`` over it is always true: it cannot be bounded and must be on :data:`UNBOUNDED` too.
ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:BatchWriteItem",
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
)
LEADING_KEYS_OPERATORS = ("ForAllValues:StringLike", "ForAllValues:StringEquals")
# (function, Sid) -> why that DynamoDB grant names no partition-key prefixes. Empty: every table's
# partition keys carry a prefix (repositories/schema.py), so every grant names its own.
UNBOUNDED: dict[tuple[str, str], str] = {}


# -- the stack's resources, as fake ARNs -----------------------------------------------------------


def _arns(stack: dict[str, str]) -> dict[str, str]:
    return {
        "KeysTable": iam_recorder.table_arn(stack["KEYS_TABLE"]),
        "LaunchTable": iam_recorder.table_arn(stack["LAUNCH_TABLE"]),
        "ClassesTable": iam_recorder.table_arn(stack["CLASSES_TABLE"]),
        "SecretsKey": iam_recorder.key_arn(stack["KMS_KEY_ID"]),
        "ExportsBucket": iam_recorder.bucket_arn(stack["EXPORTS_BUCKET"]),
    }


def _template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def _functions(template: dict[str, Any]) -> dict[str, str]:
    """``{functions/<dir> name: logical id}``."""
    return {
        Path(r["Properties"]["CodeUri"]).name: logical_id
        for logical_id, r in template["Resources"].items()
        if r.get("Type") == "AWS::Serverless::Function"
    }


def _route_keys(template: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (function, event key) of the template: ``HttpApi`` route keys and ``Schedule`` events."""
    found = set()
    for logical_id, r in template["Resources"].items():
        if r.get("Type") != "AWS::Serverless::Function":
            continue
        for name, ev in (r["Properties"].get("Events") or {}).items():
            if ev["Type"] == "HttpApi":
                found.add((logical_id, f"{ev['Properties']['Method'].upper()} {ev['Properties']['Path']}"))
            else:
                found.add((logical_id, f"{ev['Type']} {name}"))
    return found


# -- driving the handlers --------------------------------------------------------------------------


class Driver:
    """Wraps every function's ``lambda_handler``: caches forgotten first, calls attributed, route noted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, template: dict[str, Any]):
        self.reached: set[tuple[str, str]] = set()
        self.modules = {}
        for directory, logical_id in _functions(template).items():
            module = load_function(directory)
            monkeypatch.setattr(module, "lambda_handler", self._wrap(logical_id, module.lambda_handler))
            self.modules[directory] = module

    def _wrap(self, logical_id: str, handler: Any) -> Any:
        @functools.wraps(handler)
        def wrapped(event: dict[str, Any], context: Any) -> Any:
            runtime.reset()  # a cold container: nothing cached hides a read
            route = _route_of(event)
            self.reached.add((logical_id, route))
            with iam_recorder.running(logical_id, route):
                return handler(event, context)

        return wrapped

    def __call__(self, directory: str, event: dict[str, Any]):
        from tests.conftest import invoke

        return invoke(self.modules[directory], event)


def _route_of(event: dict[str, Any]) -> str:
    """The template route API Gateway would select for the event (its path and method, not its
    ``routeKey``, which some test events leave generic), or the schedule."""
    if event.get("source") == "aws.events":
        return "Schedule Daily"
    method = event["requestContext"]["http"]["method"]
    matched = router().match(method, event["rawPath"])
    return matched[0].route_key if matched else f"(no route) {method} {event['rawPath']}"


def _table(stack: dict[str, str], name: str = "KEYS_TABLE") -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(stack[name])


def stale_last_use(stack: dict[str, str], org: Any) -> None:
    """The API key was last used long ago: the next authentication records its use (UpdateItem)."""
    _table(stack).update_item(
        Key={"pk": f"APIKEY#{org.credential_id}", "sk": "META"}, UpdateExpression="REMOVE last_used_at"
    )


def forget_keys(stack: dict[str, str], partition: str) -> None:
    """Delete a tool key partition (``TOOLKEY#ltik``, ``TOOLKEY#rsa#{org}``): the next caller creates it."""
    from boto3.dynamodb.conditions import Key

    table = _table(stack)
    for item in table.query(KeyConditionExpression=Key("pk").eq(partition))["Items"]:
        table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})


def ok(answer: Any, *statuses: int) -> Any:
    assert answer.status in (statuses or (200,)), (answer.status, answer.raw[:500])
    return answer


def bearer(api_key: str) -> str:
    return f"Bearer {api_key}"


# -- the flows -------------------------------------------------------------------------------------


def keys_flows(call: Driver, org: Any, cookie: str) -> None:
    key = ok(call("keys", vary("keys-create.json", api_key=org.api_key)), 201).body["key"]
    for _ in range(2):  # an idempotent create, then its replay (Powertools records in the launch table)
        event = vary(
            "keys-create.json", api_key=org.api_key, body={"label": "Idem"}, headers={"idempotency-key": "k-1"}
        )
        ok(call("keys", event), 200, 201)
    # A failed idempotent create: Powertools deletes its in-progress record (DeleteItem).
    event = vary("keys-create.json", api_key=org.api_key, body={"label": "Idem"}, headers={"idempotency-key": "k-2"})
    ok(call("keys", event), 409)
    ok(call("keys", vary("keys-create-supplied.json", api_key=org.api_key)), 201)
    ok(call("keys", vary("keys-list.json", api_key=org.api_key)))
    ok(call("keys", vary("keys-get.json", api_key=org.api_key, path_params={"key": key})))
    ok(call("keys", vary("keys-rotate.json", api_key=org.api_key, path_params={"key": key})))
    ok(call("keys", vary("keys-revoke.json", api_key=org.api_key, path_params={"key": key})), 200, 204)
    # The Learnosity Data API: set and get, signed by the official SDK.
    from learnosity_sdk.request import Init

    credential_id, secret = org.api_key.split(".")
    for action, request in (("set", {"label": "Blackboard"}), ("get", {"limit": 2})):
        form = Init("data", {"consumer_key": credential_id, "domain": "localhost"}, secret, request, action).generate()
        ok(call("keys", vary("learnosity-keys-set.json", form=form)))
    # A refused packet (signed for another request) counts against the source address's rate limit.
    form = Init("data", {"consumer_key": credential_id, "domain": "localhost"}, secret, {"limit": 2}, "get").generate()
    form["request"] = '{"limit": 3}'
    refused = call("keys", vary("learnosity-keys-set.json", form=form))
    assert 400 <= refused.status < 500, refused.raw
    ok(call("keys", vary("org-get.json", api_key=org.api_key)))
    ok(call("keys", console_event("GET", "/api/org", cookie=cookie)))
    ok(call("keys", vary("org-update.json", api_key=org.api_key, body={"tool_name": "Physics tools"})))
    ok(call("keys", vary("credentials-list.json", api_key=org.api_key)))
    created = ok(call("keys", vary("credentials-create.json", api_key=org.api_key)), 201).body
    credential = created["credential_id"]
    ok(
        call("keys", vary("credentials-revoke.json", api_key=org.api_key, path_params={"credential_id": credential})),
        200,
        204,
    )
    ok(call("keys", token_event("GET", "/api/openapi.json")))


def launch_error_flow(call: Driver, org: Any, reference: str) -> None:
    event = token_event("GET", f"/api/launch-errors/{reference}", authorization=bearer(org.api_key))
    ok(call("keys", event))


def classes_flows(call: Driver, org: Any, cookie: str, csrf: str) -> None:
    cls = ok(call("classes", vary("classes-create.json", api_key=org.api_key)), 201).body
    class_id = cls["class_id"]
    path = {"class_id": class_id}
    ok(call("classes", vary("classes-open.json", path_params=path)), 302)
    body = {"name": "Chemistry", "app_launch_url": "https://other-app.example.org/start"}
    with pytest.MonkeyPatch.context() as patch:  # no operator restriction: the owner allows the origin
        patch.setenv("ALLOWED_APP_ORIGINS", "")
        ok(call("classes", vary("classes-create.json", api_key=org.api_key, body=body)), 201)
    ok(call("classes", vary("classes-list.json", api_key=org.api_key)))
    ok(call("classes", console_event("GET", "/api/classes", cookie=cookie)))
    ok(call("classes", vary("classes-get.json", api_key=org.api_key, path_params=path)))
    ok(call("classes", vary("classes-update.json", api_key=org.api_key, path_params=path)))
    # A Class LMS URL on an LMS origin the organisation has not seen: the platforms' issuers are read.
    ok(
        call(
            "classes",
            vary("classes-update.json", api_key=org.api_key, path_params=path, body={"class_lms_url": f"{ISS}/c/9"}),
        ),
        200,
        409,
    )
    units = [
        ok(
            call("classes", vary("units-create.json", api_key=org.api_key, path_params=path, body={"name": n})), 201
        ).body["unit_id"]
        for n in ("One", "Two")
    ]
    ok(call("classes", vary("units-list.json", api_key=org.api_key, path_params=path)))
    upath = {**path, "unit_id": units[0]}
    ok(call("classes", vary("units-get.json", api_key=org.api_key, path_params=upath)))
    ok(call("classes", vary("units-update.json", api_key=org.api_key, path_params=upath)))
    ok(
        call(
            "classes",
            vary("units-reorder.json", api_key=org.api_key, path_params=path, body={"unit_ids": units[::-1]}),
        )
    )
    ok(call("classes", vary("units-delete.json", api_key=org.api_key, path_params=upath)), 200, 204)
    ok(call("classes", vary("classes-delete.json", api_key=org.api_key, path_params=path)), 200, 204)
    del csrf


def lti11_launch_flows(call: Driver, lti11_site: dict[str, Any], outcome_url: str) -> tuple[str, str]:
    """LTI 1.1 launches (with and without an outcome service, class and unit); a refused one's reference."""
    no_outcomes = [(k, v) for k, v in CANVAS if k not in ("lis_outcome_service_url", "lis_result_sourcedid")]
    with_outcomes = [(k, outcome_url if k == "lis_outcome_service_url" else v) for k, v in CANVAS]
    for url in (lti11_site["class"]["launch_url"], lti11_site["unit"]["launch_url"]):
        for params in (no_outcomes, with_outcomes):
            signed = sign_launch(url, params, consumer_key=lti11_site["key"], secret=lti11_site["secret"])
            ok(call("launch", launch_event(signed, host=HOST, raw_path=urlsplit(url).path)), 302)
        page = token_event("GET", urlsplit(url).path)  # the launch URL opened in a browser: a page
        ok(call("launch", page))
    url = lti11_site["class"]["launch_url"]
    page_only = [(k, v) for k, v in no_outcomes if k != "launch_presentation_return_url"]
    bad = sign_launch(url, page_only, consumer_key=lti11_site["key"], secret="wrong-secret-wrong-secret")
    event = launch_event(bad, host=HOST, raw_path=urlsplit(url).path)
    event["requestContext"]["requestId"] = reference = "req-least-privilege-1"
    refused = call("launch", event)
    assert 400 <= refused.status < 500, refused.raw
    signed = sign_launch(url, with_outcomes, consumer_key=lti11_site["key"], secret=lti11_site["secret"])
    answer = ok(call("launch", launch_event(signed, host=HOST, raw_path=urlsplit(url).path)), 302)
    return reference, ltik_from(answer.headers["location"])


def lti13_launch_flows(call: Driver, site: dict[str, Any], stack: dict[str, str]) -> None:
    """OIDC login (GET and POST), launch into a class and a unit, deep linking, an unsigned lti1p1
    claim (a pending binding), the legacy stack-wide login and launch URLs, the launch pages."""
    launch_fn = functools.partial(call, "launch")
    for target in (site["class"]["launch_url"], site["unit"]["launch_url"]):
        auth = login(launch_fn, target)
        token = id_token_for({**auth, "_target": target})
        ok(launch_fn(launch_post({"id_token": token, "state": auth["state"]})), 302)
    # A POSTed login; a deep-linking request; an lti1p1 claim naming a consumer key with no signature.
    target = site["class"]["launch_url"]
    params = {"iss": ISS, "login_hint": "user-7", "target_link_uri": target, "client_id": CLIENT_ID}
    posted = ok(launch_fn(login_event(params, method="POST")), 302)
    BROWSER.keep(posted)
    auth = {k: v[0] for k, v in parse_qs(urlsplit(posted.headers["location"]).query).items()}
    settings = {"deep_link_return_url": "https://lms.example.edu/dl", "accept_types": ["ltiResourceLink"]}
    token = id_token_for(
        {**auth, "_target": target},
        **{lti.MESSAGE_TYPE: "LtiDeepLinkingRequest", lti.DEEP_LINKING_SETTINGS: settings, lti.RESOURCE_LINK: None},
    )
    ok(launch_fn(launch_post({"id_token": token, "state": auth["state"]})), 302)
    key = consumer_keys.create_consumer_key(site["org"].org_id, label="Old Canvas")["key"]
    auth = login(launch_fn, target)
    claim = {"user_id": "legacy-7", "oauth_consumer_key": key}
    token = id_token_for({**auth, "_target": target}, **{lti.LTI1P1: claim})
    ok(launch_fn(launch_post({"id_token": token, "state": auth["state"]})), 302)
    # A login naming only the issuer: the organisation's registrations of that issuer (one Query).
    issuer_only = {k: v for k, v in params.items() if k != "client_id"}
    ok(launch_fn(login_event(issuer_only)), 302)
    # The stack-wide URLs (registrations made before tenant scoping): a legacy ISS# index item.
    import boto3

    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    platform_id = site["platform"]["id"]
    item = table.get_item(Key={"pk": f"PLATFORM#{platform_id}", "sk": "META"})["Item"]
    item = {k: v for k, v in item.items() if k != "tenant_scoped"}
    table.put_item(Item=item)
    table.put_item(
        Item={
            "pk": f"ISS#{ISS}",
            "sk": f"CLIENT#{CLIENT_ID}",
            "kind": "platform_index",
            "platform_id": platform_id,
            "org_id": site["org"].org_id,
        }
    )
    ok(launch_fn(login_event(issuer_only, path="/lti/login")), 302)
    for method in ("GET", "POST"):
        answer = ok(launch_fn(login_event(params, method=method, path="/lti/login")), 302)
        BROWSER.keep(answer)
        auth = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    token = id_token_for({**auth, "_target": target})
    ok(launch_fn(launch_post({"id_token": token, "state": auth["state"]}, "/lti/launch")), 302)
    for path in (org_path("launch"), "/lti/launch"):
        ok(launch_fn(token_event("GET", path)))


def platforms_flows(call: Driver, org: Any, cookie: str, site: dict[str, Any]) -> None:
    platforms_fn = functools.partial(call, "platforms")
    api_key = org.api_key
    created = ok(platforms_fn(vary("platforms-create.json", api_key=api_key)), 201).body
    path = {"platform_id": created["id"]}
    for name in ("platforms-get.json", "platforms-update.json", "platforms-deactivate.json", "platforms-activate.json"):
        ok(platforms_fn(vary(name, api_key=api_key, path_params=path)))
    listed = vary("platforms-list.json", api_key=api_key)
    ok(platforms_fn(listed))
    listed["rawQueryString"], listed["queryStringParameters"] = "", None
    ok(platforms_fn(listed))
    ok(platforms_fn(console_event("GET", "/api/platforms", cookie=cookie)))
    # LTI 1.1 bindings: the pending one the LTI 1.3 flows recorded, listed, approved, rejected.
    wpath = {"platform_id": site["platform"]["id"]}
    event = vary("platforms-lti11-bindings-list.json", api_key=api_key, path_params=wpath)
    event["rawQueryString"], event["queryStringParameters"] = "", None
    [binding] = ok(platforms_fn(event)).body["bindings"]
    for action in ("approve", "reject"):
        bpath = {**wpath, "binding_id": binding["id"]}
        ok(platforms_fn(vary(f"platforms-lti11-bindings-{action}.json", api_key=api_key, path_params=bpath)))
    ok(platforms_fn(vary("platforms-delete.json", api_key=api_key, path_params=path)), 200, 204)
    # The site's platform, made a legacy registration by the LTI 1.3 flows: deleting it deletes its
    # stack-wide ISS# index item too.
    ok(platforms_fn(vary("platforms-delete.json", api_key=api_key, path_params=wpath)), 200, 204)
    # Tool configuration, keys, JWKS.
    ok(platforms_fn(vary("tool-configuration.json", api_key=api_key)))
    ok(platforms_fn(vary("tool-configuration-canvas.json", api_key=api_key)))
    ok(platforms_fn(vary("platforms-rotate-key.json", api_key=api_key)))
    ok(platforms_fn(vary("platforms-jwks.json")))
    ok(platforms_fn(token_event("GET", f"/lti/orgs/{org.org_id}/jwks.json")))
    # Dynamic registration, from a registration URL to the stored platform.
    lms = RegistrationPlatform().start()
    try:
        url = ok(platforms_fn(vary("platforms-registration-url.json", api_key=api_key, body={})), 201).body[
            "registration_url"
        ]
        query = {"openid_configuration": lms.config_url, "registration_token": lms.registration_token}
        token = url.rsplit("/", 1)[1]
        ok(platforms_fn(vary("platforms-register.json", path_params={"token": token}, query=query)))
        # A reusable URL is checked (ConditionCheck), not consumed, in the registering transaction.
        body = {"reusable": True}
        url = ok(platforms_fn(vary("platforms-registration-url.json", api_key=api_key, body=body)), 201).body[
            "registration_url"
        ]
        token = url.rsplit("/", 1)[1]
        ok(platforms_fn(vary("platforms-register.json", path_params={"token": token}, query=query)))
    finally:
        lms.stop()


def export_flows(call: Driver, org: Any, cookie: str, lti11_world: dict[str, Any], monkeypatch) -> None:
    export_fn = functools.partial(call, "export")
    class_id = lti11_world["class"]["class_id"]
    path = {"class_id": class_id}
    for fmt in ("csv", "json", "cc", "xml"):
        ok(export_fn(vary("exports-class.json", api_key=org.api_key, path_params=path, query={"format": fmt})))
    upath = {**path, "unit_id": lti11_world["unit"]["unit_id"]}
    ok(export_fn(vary("exports-unit-config.json", api_key=org.api_key, path_params=upath)))
    for fmt in ("csv", "json"):
        ok(export_fn(vary("exports-org.json", api_key=org.api_key, query={"format": fmt})))
    cookie_event = console_event("GET", "/api/classes/{class_id}/lti-settings", path_params=path, cookie=cookie)
    ok(export_fn(cookie_event))
    # Too large to answer inline: handed over through the bucket and a presigned GET.
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "10")
    answer = export_fn(vary("exports-class.json", api_key=org.api_key, path_params=path, query={"format": "cc"}))
    assert answer.status in (200, 303), answer.raw
    monkeypatch.delenv("EXPORT_INLINE_MAX_BYTES")


def token_flows(call: Driver, lti11: dict[str, Any], lti13: dict[str, Any]) -> None:
    token_fn = functools.partial(call, "token")

    def app(launched: dict[str, Any], method: str, target: str, body: Any = None, key: str | None = None):
        auth = service_auth(launched["api_key"], key) if key else ltik_auth(launched["api_key"], launched["ltik"])
        return token_fn(token_event(method, target, authorization=auth, body=body))

    score = {"userId": "user-1", "activityProgress": "Completed", "gradingProgress": "FullyGraded"}
    score |= {"scoreGiven": 7.5, "scoreMaximum": 10.0}
    # LTI 1.1: the ID token (a service key issued), outcomes behind the line items API.
    key = ok(app(lti11, "GET", "/api/idtoken")).body["services"]["serviceKey"]
    [item] = ok(app(lti11, "GET", "/api/lineitems")).body["lineItems"]
    ok(app(lti11, "GET", f"/api/lineitems/{item['id']}"))
    ok(app(lti11, "POST", f"/api/lineitems/{item['id']}/scores", {**score, "userId": lti11["user_id"]}), 204)
    ok(app(lti11, "GET", f"/api/lineitems/{item['id']}/scores"))
    # The context's service key: its resource links' records (Query), one link's record, one learner's.
    [keyed] = ok(app(lti11, "GET", "/api/lineitems", key=key)).body["lineItems"]
    ok(app(lti11, "GET", f"/api/lineitems/{keyed['id']}", key=key))
    learner_score = {**score, "userId": lti11["user_id"]}
    ok(app(lti11, "POST", f"/api/lineitems/{keyed['id']}/scores", learner_score, key=key), 204)
    ok(app(lti11, "DELETE", "/api/servicekey", key=key), 204)
    ok(app(lti11, "POST", "/api/console-link"), 200, 201)
    # LTI 1.3: NRPS, AGS (the platform's token endpoint on loopback), deep linking.
    key = ok(app(lti13, "GET", "/api/idtoken")).body["services"]["serviceKey"]
    # A newer launch of the same context: its ID token refreshes the key's service data (UpdateItem).
    ok(app({**lti13, **lti13["launch"]()}, "GET", "/api/idtoken"))
    ok(app(lti13, "GET", "/api/memberships"))
    ok(app(lti13, "GET", "/api/memberships", key=key))
    # The platform forgot its tokens: the cached one answers 401, is dropped (DeleteItem) and replaced.
    lti13["lms"].expire_tokens()
    ok(app(lti13, "GET", "/api/memberships"))
    ok(app(lti13, "GET", "/api/lineitems"))
    created = ok(app(lti13, "POST", "/api/lineitems", {"label": "Essay", "scoreMaximum": 20}), 201).body
    ok(app(lti13, "PUT", f"/api/lineitems/{created['id']}", {"label": "Essay 2", "scoreMaximum": 25}))
    ok(app(lti13, "GET", f"/api/lineitems/{created['id']}"))
    ok(app(lti13, "POST", f"/api/lineitems/{created['id']}/scores", score), 204)
    ok(app(lti13, "GET", f"/api/lineitems/{created['id']}/scores"))
    ok(app(lti13, "DELETE", f"/api/lineitems/{created['id']}"), 204)
    ok(app(lti13, "DELETE", "/api/servicekey", key=key), 204)
    settings = {"deep_link_return_url": "http://127.0.0.1:9/dl-return", "accept_types": ["ltiResourceLink"]}
    dl = {**lti13, **lti13["launch"](message_type="LtiDeepLinkingRequest", deep_linking=settings)}
    forget_keys(lti13["stack"], f"TOOLKEY#rsa#{lti13['org'].org_id}")  # the first signer creates the set
    items = {"contentItems": [{"type": "ltiResourceLink", "title": "Waves", "url": APP}]}
    ok(app(dl, "POST", "/api/deeplinking", items))
    ok(app(dl, "POST", "/api/deeplinking/form", items))


def console_flows(call: Driver, org: Any, lti11: dict[str, Any]) -> tuple[str, str]:
    console_fn = functools.partial(call, "console")
    ok(console_fn(console_event("GET", "/console")))
    ok(console_fn(console_event("GET", "/console/assets/{name}", path_params={"name": "console.js"})))
    signed = ok(console_fn(console_event("POST", "/console/session", body={"api_key": org.api_key})))
    cookie = signed.cookies[0].split(";", 1)[0]
    ok(console_fn(console_event("GET", "/console/session", cookie=cookie)))
    # A one-time link from an instructor's launch (token function), spent by a sign-in.
    link = ok(
        call("token", token_event("POST", "/api/console-link", authorization=ltik_auth(org.api_key, lti11["ltik"]))),
        200,
        201,
    )
    url = link.body["url"]
    linked = ok(console_fn(console_event("POST", "/console/session", body={"link": url.split("#link=", 1)[1]})))
    other = linked.cookies[0].split(";", 1)[0]
    ok(
        console_fn(
            console_event(
                "DELETE", "/console/session", cookie=other, headers={"X-CSRF-Token": linked.body["csrf_token"]}
            )
        ),
        200,
        204,
    )
    return cookie, signed.body["csrf_token"]


def rotation_flow(call: Driver, org: Any, stack: dict[str, str]) -> None:
    import boto3

    table = boto3.resource("dynamodb").Table(stack["KEYS_TABLE"])
    table.update_item(
        Key={"pk": f"TOOLKEY#rsa#{org.org_id}", "sk": "CURRENT"},
        UpdateExpression="SET updated_at = :old",
        ExpressionAttributeValues={":old": "2020-01-01T00:00:00Z"},
    )
    result = call.modules["rotation"].lambda_handler({"source": "aws.events"}, FakeContext())
    assert result["rotated"] >= 1 and result["failed"] == 0, result


# -- the test --------------------------------------------------------------------------------------


def _record(stack, org, monkeypatch, site, lti13) -> tuple[list[iam_recorder.Call], set[tuple[str, str]]]:
    from tests.peers.outcome_service import OutcomeService
    from tests.support.app_fixtures import SOURCEDID, USER_ID, make_lti11_world

    template = _template()
    with iam_recorder.recording() as calls:
        call = Driver(monkeypatch, template)
        lti11_world = make_lti11_world(org, monkeypatch, unit=True)
        forget_keys(stack, "TOOLKEY#ltik")  # the first launch of a new stack creates the ltik key
        with OutcomeService({lti11_world["key"]: lti11_world["secret"]}, {SOURCEDID}) as outcomes:
            reference, ltik = lti11_launch_flows(call, lti11_world, outcomes.url)
            lti11 = {"api_key": org.api_key, "ltik": ltik, "user_id": USER_ID}
            stale_last_use(stack, org)
            cookie, csrf = console_flows(call, org, lti11)
            stale_last_use(stack, org)
            relaunched = {**lti13, **lti13["launch"](), "api_key": org.api_key, "stack": stack}
            token_flows(call, lti11, relaunched)
        stale_last_use(stack, org)
        keys_flows(call, org, cookie)
        launch_error_flow(call, org, reference)
        stale_last_use(stack, org)
        classes_flows(call, org, cookie, csrf)
        lti13_launch_flows(call, site, stack)
        stale_last_use(stack, org)
        platforms_flows(call, org, cookie, site)
        stale_last_use(stack, org)
        export_flows(call, org, cookie, lti11_world, monkeypatch)
        rotation_flow(call, org, stack)
        # A fresh stack's first app API call, before any launch: the token function creates the ltik key.
        forget_keys(stack, "TOOLKEY#ltik")
        ok(call("token", token_event("GET", "/api/idtoken", authorization=ltik_auth(org.api_key, "x.y.z"))), 401)
    return calls, call.reached


def _evaluate(template: dict[str, Any], stack: dict[str, str], calls: list[iam_recorder.Call]):
    statements = iam_policy.function_statements(template, _arns(stack))
    translator = iam_recorder.Translator.for_stack(template, stack)
    denied: dict[str, str] = {}
    used: set[tuple[str, str, iam_policy.Combination]] = set()
    for recorded in calls:
        for check in translator.checks(recorded):
            decision = iam_policy.evaluate(statements[check.function], check)
            if not decision.allowed:
                denied.setdefault(check.describe(), decision.closest)
                continue
            allowing = {grant[0] for grant in decision.used}
            for st in statements[check.function]:
                if st.effect == "Allow" and st.sid in allowing:
                    used |= {(check.function, st.sid, c) for c in iam_policy.used_combinations(st, check)}
    granted = {
        (fn, st.sid, c)
        for fn, sts in statements.items()
        for st in sts
        if st.effect == "Allow"
        for c in iam_policy.granted_combinations(st)
    }
    return denied, granted - used


def unused_problems(unused: set[tuple[str, str, iam_policy.Combination]]) -> list[str]:
    """One line per granted combination no call used (unless :data:`REVIEWED`), and per stale entry."""
    problems, reviewed_used = [], set()
    for fn, sid, (action, resource, values) in sorted(unused):
        entry = (fn, sid, action, tuple(value for _, _, value in values))
        if entry in REVIEWED:
            reviewed_used.add(entry)
            continue
        on = "".join(f" with {key.split(':')[-1]} {value!r}" for _, key, value in values)
        problems.append(
            f"UNUSED {fn}.{sid}: {action} on {resource}{on} (no flow made this call: drop it or split the statement)"
        )
    problems += [f"STALE REVIEWED entry {entry}: the grant is used or gone" for entry in set(REVIEWED) - reviewed_used]
    return problems


@pytest.fixture
def recorded(stack, org, monkeypatch, world, lti13, insecure_platform_urls):  # noqa: F811
    return _record(stack, org, monkeypatch, world, lti13)


def test_every_call_is_allowed_every_grant_used_and_every_route_driven(recorded, stack):
    calls, reached = recorded
    template = _template()
    denied, unused = _evaluate(template, stack, calls)
    problems = [f"DENIED {call}\n    closest: {why}" for call, why in sorted(denied.items())]
    problems += unused_problems(unused)
    problems += [f"NOT DRIVEN {fn}: {route}" for fn, route in sorted(_route_keys(template) - reached)]
    problems += [f"UNKNOWN ROUTE {fn}: {route}" for fn, route in sorted(reached - _route_keys(template))]
    assert len(calls) > 100
    assert not problems, "\n".join(problems)
    # The pair rule bites on this same recording (evaluating it again is cheap; the flows are not).
    for mutate, expected in PAIR_MUTATIONS:
        mutated = _template()
        mutate(mutated)
        denied, unused = _evaluate(mutated, stack, calls)
        found = unused_problems(unused)
        assert not denied and any(all(part in p for part in expected) for p in found), (expected, found)


def _merged(template: dict[str, Any], function: str, sids: set[str], sid: str) -> None:
    """Put ``sids`` of ``function`` back into one statement ``sid``: their actions x their prefixes."""
    statements = template["Resources"][function]["Properties"]["Policies"][0]["Statement"]
    chosen = [s for s in statements if s.get("Sid") in sids]
    assert len(chosen) == len(sids), sids
    actions = list(dict.fromkeys(a for s in chosen for a in _as_list(s["Action"])))
    prefixes = list(
        dict.fromkeys(p for s in chosen for p in s["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
    )
    statements[:] = [s for s in statements if s.get("Sid") not in sids] + [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions,
            "Resource": chosen[0]["Resource"],
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": prefixes}},
        }
    ]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


PLATFORM_ITEM_SIDS = {
    "PlatformRecords",
    "PlatformIssuerIndex",
    "LegacyIssuerIndexRelease",
    "RegistrationUrls",
    "Lti11Bindings",
    "SigningKeySets",
}
# In-memory mutations of the template (each used action and each used prefix still used by some call,
# so only the (action, prefix) rule sees them) and a line the test must then report.
PAIR_MUTATIONS = [
    (  # the statement before it was split: the platforms function could delete the org's signing keys
        lambda t: _merged(t, "PlatformsFunction", PLATFORM_ITEM_SIDS, "PlatformItems"),
        ("UNUSED PlatformsFunction.PlatformItems: dynamodb:DeleteItem on", "LeadingKeys 'TOOLKEY#rsa*'"),
    ),
    (
        lambda t: _merged(t, "TokenFunction", {"SigningKeySets", "LtikKeyCreate"}, "ToolKeys"),
        ("UNUSED TokenFunction.ToolKeys: dynamodb:Query on", "LeadingKeys 'TOOLKEY#ltik'"),
    ),
    (  # ONCE#oauth1# is put (Lti11Nonces), never read or deleted
        lambda t: _statement_of(t, "LaunchFunction", "LoginStates")["Condition"]["ForAllValues:StringLike"][
            "dynamodb:LeadingKeys"
        ].append("ONCE#oauth1#*"),
        ("UNUSED LaunchFunction.LoginStates: dynamodb:DeleteItem on", "LeadingKeys 'ONCE#oauth1#*'"),
    ),
]


def unbounded_problems(statements: dict[str, list[iam_policy.Statement]]) -> list[str]:
    """Every DynamoDB grant names the partition-key prefixes it may touch (``dynamodb:LeadingKeys``),
    each a literal prefix naming a whole key segment (``CLASS#*``, ``TOOLKEY#rsa*``), never ``*``."""
    problems, reviewed = [], set()
    for fn, sts in sorted(statements.items()):
        for st in sts:
            if st.effect != "Allow" or not any(r.startswith("arn:aws:dynamodb:") for r in st.resources):
                continue
            where = f"{fn}.{st.sid}"
            if (fn, st.sid) in UNBOUNDED:
                reviewed.add((fn, st.sid))
                continue
            known = {a.lower() for a in ITEM_ACTIONS}
            for action in st.actions:
                if action.lower() not in known:
                    problems.append(f"{where}: {action} is not an item-level action (no partition key to bound)")
            found = [
                (operator, st.conditions[operator]["dynamodb:LeadingKeys"])
                for operator in LEADING_KEYS_OPERATORS
                if "dynamodb:LeadingKeys" in st.conditions.get(operator, {})
            ]
            if not found:
                problems.append(f"{where}: no ForAllValues dynamodb:LeadingKeys condition (an unbounded grant)")
            for operator, patterns in found:
                for pattern in patterns:
                    head = pattern.split("*", 1)[0].split("?", 1)[0] if operator.endswith("Like") else pattern
                    if not head or (head != pattern and "#" not in head):
                        problems.append(f"{where}: {operator} dynamodb:LeadingKeys {pattern!r} names no key prefix")
    problems += [f"STALE UNBOUNDED entry {entry}: bounded or gone" for entry in sorted(set(UNBOUNDED) - reviewed)]
    return problems


def _stack_arns() -> dict[str, str]:
    names = {"KEYS_TABLE": "k", "LAUNCH_TABLE": "l", "CLASSES_TABLE": "c", "KMS_KEY_ID": "i", "EXPORTS_BUCKET": "b"}
    return _arns(names)


def test_every_dynamodb_grant_names_its_partition_key_prefixes():
    assert unbounded_problems(iam_policy.function_statements(_template(), _stack_arns())) == []


def _statement_of(template: dict[str, Any], function: str, sid: str) -> dict[str, Any]:
    [found] = [
        s for s in template["Resources"][function]["Properties"]["Policies"][0]["Statement"] if s.get("Sid") == sid
    ]
    return found


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        (
            lambda t: _statement_of(t, "TokenFunction", "LaunchTableReads").pop("Condition"),
            "TokenFunction.LaunchTableReads: no ForAllValues dynamodb:LeadingKeys condition",
        ),
        (
            lambda t: _statement_of(t, "ClassesFunction", "ClassesTableListings").pop("Condition"),
            "ClassesFunction.ClassesTableListings: no ForAllValues",
        ),
        (
            lambda t: (
                _statement_of(t, "KeysFunction", "IdempotencyRecords")["Condition"].update(
                    {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": ["IDEMPOTENCY#*"]}}
                )
                or _statement_of(t, "KeysFunction", "IdempotencyRecords")["Condition"].pop("ForAllValues:StringLike")
            ),
            "KeysFunction.IdempotencyRecords: no ForAllValues",
        ),
        (
            lambda t: _statement_of(t, "LaunchFunction", "LoginStates")["Condition"]["ForAllValues:StringLike"].update(
                {"dynamodb:LeadingKeys": ["STATE#*", "*"]}
            ),
            "LaunchFunction.LoginStates: ForAllValues:StringLike dynamodb:LeadingKeys '*' names no key prefix",
        ),
        (
            lambda t: _statement_of(t, "LaunchFunction", "LoginStates")["Condition"]["ForAllValues:StringLike"].update(
                {"dynamodb:LeadingKeys": ["S*"]}
            ),
            "names no key prefix",
        ),
        (
            lambda t: _statement_of(t, "ConsoleFunction", "ConsoleSessions")["Action"].append("dynamodb:Scan"),
            "ConsoleFunction.ConsoleSessions: dynamodb:Scan is not an item-level action",
        ),
        (lambda t: UNBOUNDED.update({("KeysFunction", "Gone"): "x"}), "STALE UNBOUNDED entry"),
    ],
)
def test_an_unbounded_dynamodb_grant_fails(mutation, expected, monkeypatch):
    monkeypatch.setattr(f"{__name__}.UNBOUNDED", dict(UNBOUNDED))
    template = _template()
    mutation(template)
    problems = unbounded_problems(iam_policy.function_statements(template, _stack_arns()))
    assert any(expected in p for p in problems), problems


# -- the evaluator itself (so a passing run above means something) --------------------------------

_TABLE = iam_recorder.table_arn("t")
_TRANSLATOR = iam_recorder.Translator(
    tables={"t": "KeysTable"}, keys=iam_recorder.table_keys(_template()), kms_key_id="k"
)


def _statement(**kw: Any) -> iam_policy.Statement:
    base = {"function": "F", "sid": "S", "effect": "Allow", "actions": ("dynamodb:Query",), "resources": (_TABLE,)}
    return iam_policy.Statement(**{**base, **kw})


def _query(**params: Any) -> iam_policy.Check:
    call = iam_recorder.Call("F", "dynamodb", "Query", {"TableName": "t", **params})
    [check] = _TRANSLATOR.checks(call)
    return check


_BY_ORG = {
    "KeyConditionExpression": "#p = :p",
    "ExpressionAttributeNames": {"#p": "gsi1pk", "#k": "key"},
    "ExpressionAttributeValues": {":p": {"S": "ORG#o1#CKEYS"}},
    "IndexName": "gsi1",
}
_LISTING = _statement(
    resources=(f"{_TABLE}/index/gsi1",),
    conditions={
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ("pk", "sk", "gsi1pk", "gsi1sk", "key")},
        "StringEquals": {"dynamodb:Select": ("SPECIFIC_ATTRIBUTES",)},
    },
)


@pytest.mark.parametrize(
    ("statement", "check", "allowed"),
    [
        (_statement(), _query(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "A"}}), True),
        (_statement(actions=("dynamodb:que*",)), _query(**{**_BY_ORG, "IndexName": None}), True),  # any case
        (_statement(actions=("dynamodb:GetItem",)), _query(**{**_BY_ORG, "IndexName": None}), False),
        (_statement(), _query(**_BY_ORG), False),  # the table's ARN is not its index's
        # A projected, SPECIFIC_ATTRIBUTES index Query: allowed only if every key attribute is listed too.
        (_LISTING, _query(**_BY_ORG, ProjectionExpression="#k", Select="SPECIFIC_ATTRIBUTES"), True),
        (
            replace(
                _LISTING,
                conditions={**_LISTING.conditions, "ForAllValues:StringEquals": {"dynamodb:Attributes": ("key",)}},
            ),
            _query(**_BY_ORG, ProjectionExpression="#k", Select="SPECIFIC_ATTRIBUTES"),
            False,
        ),
        (_LISTING, _query(**_BY_ORG, ProjectionExpression="#k"), False),  # no Select sent: StringEquals fails
        (_LISTING, _query(**_BY_ORG, Select="SPECIFIC_ATTRIBUTES"), False),  # no projection: every attribute
        # LeadingKeys: the index's partition value, matched by every listed pattern (StringLike).
        (
            _statement(
                resources=(f"{_TABLE}/index/*",),
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ("ORG#*#CKEYS",)}},
            ),
            _query(**_BY_ORG),
            True,
        ),
        (
            _statement(
                resources=(f"{_TABLE}/index/gsi1",),
                conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ("TOOLKEY#*",)}},
            ),
            _query(**_BY_ORG),
            False,
        ),
        (_statement(effect="Deny"), _query(**{**_BY_ORG, "IndexName": None}), False),
    ],
)
def test_the_evaluator_applies_actions_resources_and_conditions(statement, check, allowed):
    assert iam_policy.evaluate([statement], check).allowed is allowed, check.describe()


def test_a_transaction_is_checked_item_by_item():
    item = {"TableName": "t", "Key": {"pk": {"S": "REGURL#h"}, "sk": {"S": "META"}}}
    put = {"TableName": "t", "Item": {"pk": {"S": "PLATFORM#p"}, "sk": {"S": "META"}, "name": {"S": "x"}}}
    call = iam_recorder.Call(
        "F", "dynamodb", "TransactWriteItems", {"TransactItems": [{"ConditionCheck": item}, {"Put": put}]}
    )
    checks = _TRANSLATOR.checks(call)
    assert [(c.action, c.context["dynamodb:LeadingKeys"]) for c in checks] == [
        ("dynamodb:ConditionCheckItem", ("REGURL#h",)),
        ("dynamodb:PutItem", ("PLATFORM#p",)),
    ]
    assert checks[1].context["dynamodb:Attributes"] == ("name", "pk", "sk")


def _unused(statement: iam_policy.Statement, *checks: iam_policy.Check) -> set[tuple[str, ...]]:
    """``(action, listed values...)`` of ``statement`` no allowed check used."""
    used = set()
    for check in checks:
        assert iam_policy.evaluate([statement], check).allowed, check.describe()
        used |= iam_policy.used_combinations(statement, check)
    return {(a, *(v for _, _, v in values)) for a, _, values in iam_policy.granted_combinations(statement) - used}


def _item_check(action: str, pk: str, *attributes: str) -> iam_policy.Check:
    context = {"dynamodb:LeadingKeys": (pk,), "dynamodb:Attributes": ("pk", "sk", *attributes)}
    return iam_policy.Check("F", f"dynamodb:{action}", _TABLE, context)


def test_every_action_is_used_on_every_prefix_it_is_granted():
    """Get and Delete on ``A#*`` and ``B#*``: each action and each prefix is used, Delete on ``A#`` is not."""
    statement = _statement(
        actions=("dynamodb:GetItem", "dynamodb:DeleteItem"),
        conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ("A#*", "B#*")}},
    )
    checks = [_item_check("GetItem", "A#1"), _item_check("DeleteItem", "B#1"), _item_check("GetItem", "B#2")]
    assert _unused(statement, *checks) == {("dynamodb:DeleteItem", "A#*")}
    assert _unused(statement, *checks, _item_check("DeleteItem", "A#9")) == set()


def test_every_action_is_used_with_every_attribute_on_every_prefix():
    """Attributes pair with the action and the prefix too: an UpdateItem grant of ``secret`` that only a
    GetItem ever names would let the function overwrite it."""
    statement = _statement(
        actions=("dynamodb:GetItem", "dynamodb:UpdateItem"),
        conditions={
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ("A#*",)},
            "ForAllValues:StringEquals": {"dynamodb:Attributes": ("pk", "sk", "name", "secret")},
        },
    )
    checks = [_item_check("GetItem", "A#1", "name", "secret"), _item_check("UpdateItem", "A#1", "name")]
    assert _unused(statement, *checks) == {("dynamodb:UpdateItem", "secret", "A#*")}


def test_a_reviewed_combination_passes_and_a_stale_one_fails(monkeypatch):
    arn = iam_recorder.table_arn("t")
    combination = ("dynamodb:DeleteItem", arn, (("ForAllValues:StringLike", "dynamodb:LeadingKeys", "A#*"),))
    unused = {("F", "S", combination)}
    [problem] = unused_problems(unused)
    assert problem.startswith(f"UNUSED F.S: dynamodb:DeleteItem on {arn} with LeadingKeys 'A#*'"), problem
    monkeypatch.setattr(f"{__name__}.REVIEWED", {("F", "S", "dynamodb:DeleteItem", ("A#*",)): "why"})
    assert unused_problems(unused) == []
    [stale] = unused_problems(set())
    assert stale.startswith("STALE REVIEWED entry ('F', 'S', 'dynamodb:DeleteItem', ('A#*',))"), stale


@pytest.mark.parametrize(
    "condition",
    [
        {"NumericLessThan": {"dynamodb:Select": "1"}},  # an operator not implemented
        {"StringEquals": {"dynamodb:FirstPartitionKeyValues": "x"}},  # a key not implemented
        {"StringLike": {"dynamodb:LeadingKeys": ["ORG#*"]}},  # a multi-valued key without ForAllValues
    ],
)
def test_what_the_evaluator_does_not_know_fails_loudly(condition):
    template = _template()
    statements = template["Resources"]["KeysFunction"]["Properties"]["Policies"][0]["Statement"]
    statements[0]["Condition"] = condition
    with pytest.raises(iam_policy.UnsupportedPolicy):
        iam_policy.function_statements(template, _stack_arns())
