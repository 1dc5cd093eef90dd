"""The app API's OpenAPI schemas (``lti_gateway/local/openapi_app.py``) hold for what the gateway answers.

Every operation of the module is driven through the local gateway (``make run``'s, over HTTP) and its
answer validated with ``jsonschema.Draft202012Validator`` against the module's media type map, ``$ref``
resolved from the module's ``SCHEMAS`` plus the shipped document's components. Launches are real: an
LTI 1.1 launch signed by an independent signer (Authlib) with a local Basic Outcomes service, and LTI
1.3 launches from an independent platform (``lti1p3platform`` on loopback) that also answers AGS, NRPS
and its token endpoint (``tests/peers/advantage_platform.py``). Each schema is also shown to refuse a
few wrong answers (a schema that accepts anything proves nothing), and every example validates.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import lti_gateway
from lti_gateway.local import openapi_app
from lti_gateway.local.openapi_app import REQUESTS, RESPONSES, SCHEMAS
from tests.peers.advantage_lms import AdvantageLms
from tests.peers.lms_params import CANVAS
from tests.peers.lti13_platform import INSTRUCTOR, AutoSubmitForm, Course, PendingLaunch, User
from tests.peers.oauth1_signer import FORM, sign_launch
from tests.peers.outcome_service import OutcomeService

DOCUMENT = json.loads((Path(lti_gateway.__file__).parent / "openapi.json").read_text(encoding="utf-8"))
ROOT = "urn:lti-gateway:openapi"
REGISTRY = Registry().with_resource(
    ROOT,
    Resource.from_contents(
        {"components": {"schemas": {**DOCUMENT["components"]["schemas"], **SCHEMAS}}},
        default_specification=DRAFT202012,
    ),
)
SOURCEDID = dict(CANVAS)["lis_result_sourcedid"]
USER_ID = dict(CANVAS)["user_id"]
COURSE = Course("course-openapi", "Physics", "PHYS101")
TEACHER = User("teacher-1", (INSTRUCTOR,), "Grace Hopper", "grace@example.edu")
TIMEOUT = 10


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    if "$ref" in schema:
        schema = {"$ref": ROOT + schema["$ref"]}
    return Draft202012Validator(schema, registry=REGISTRY)


def named(name: str) -> Draft202012Validator:
    return validator({"$ref": f"#/components/schemas/{name}"})


def problems(name: str, value: Any) -> list[str]:
    return [error.message for error in named(name).iter_errors(value)]


def conforms(key: tuple[str, str], answer: requests.Response) -> Any:
    """The answer's body, after checking it against the module's success media type map for ``key``."""
    media = RESPONSES[key]
    kind = answer.headers.get("Content-Type", "").split(";")[0].strip()
    assert kind in media, f"{key}: {kind!r} is not one of {list(media)}"
    body = answer.json() if kind == "application/json" else answer.text
    errors = [e.message for e in validator(media[kind]["schema"]).iter_errors(body)]
    assert errors == [], f"{key}: {errors}"
    return body


def sent(key: tuple[str, str], body: Any) -> Any:
    """A request body, checked against the module's request schema for ``key`` first."""
    assert [e.message for e in validator(REQUESTS[key]["application/json"]["schema"]).iter_errors(body)] == []
    return body


def refuses(name: str, *wrong: Any) -> None:
    for value in wrong:
        assert problems(name, value), f"{name} accepted {value!r}"


def no_content(answer: requests.Response) -> None:
    assert answer.status_code == 204, answer.text
    assert answer.content == b""


# -- the examples --------------------------------------------------------------------------------------


def test_every_schema_is_valid_and_every_example_validates():
    for name, schema in SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        for example in schema.get("examples", []):
            assert problems(name, example) == [], name
    for table in (RESPONSES, REQUESTS):
        for key, media in table.items():
            for entry in media.values():
                assert [e.message for e in validator(entry["schema"]).iter_errors(entry["example"])] == [], key
    # The module keeps to the contract: plain data, its own name prefixes, the document's paths.
    prefixes = ("IdToken", "Member", "LineItem", "Score", "Result", "DeepLinking", "ServiceKey", "ConsoleLink")
    assert all(name.startswith((*prefixes, "Launch", "App")) for name in SCHEMAS)
    assert not {"Error", "ContractError"} & set(SCHEMAS)
    paths = set(DOCUMENT["paths"]) | {"/api/lineitems/{id}/scores"}
    assert {path for _, path in [*RESPONSES, *REQUESTS]} <= paths
    tree = ast.parse(Path(openapi_app.__file__).read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "typing"}


# -- launches ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outcome_service(gateway):
    with OutcomeService({gateway.consumer_key: gateway.consumer_secret}, {SOURCEDID}) as service:
        yield service


def launch_11(gateway, outcome_service, *, target: str, context_id: str | None = None) -> str:
    replaced = {"lis_outcome_service_url": outcome_service.url, "context_id": context_id}
    params = [(k, replaced.get(k) or v) for k, v in CANVAS]
    signed = sign_launch(target, params, consumer_key=gateway.consumer_key, secret=gateway.consumer_secret)
    answer = requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=TIMEOUT
    )
    assert answer.status_code == 302, answer.text  # the launch routes' success: a 302 to the app, no page
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ltik"][0]


@pytest.fixture(scope="module")
def lti11_ltik(gateway, outcome_service) -> str:
    """A learner's grade-able launch of a unit launch URL (``gateway.target`` "unit")."""
    return launch_11(gateway, outcome_service, target=gateway.stack["units"][0]["launch_url"])


@pytest.fixture(scope="module")
def lms(gateway):
    with AdvantageLms(f"{gateway.base_url}/lti/orgs/{gateway.org_id}/jwks.json", context_id=COURSE.id) as platform:
        answer = requests.post(
            f"{gateway.base_url}/api/platforms",
            json=platform.registration_body(),
            headers={"Authorization": f"Bearer {gateway.api_key}"},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 201, answer.text
        yield platform


def login_url(gateway, lms: AdvantageLms, *, deep_linking: bool = False) -> str:
    target = f"{gateway.base_url}/lti/launch" if deep_linking else gateway.stack["class_launch_url"]
    tool_login = f"{gateway.base_url}/lti/orgs/{gateway.org_id}/login"
    return lms.login_url(tool_login, PendingLaunch(target, TEACHER, COURSE, deep_linking=deep_linking))


def launch_13(gateway, lms: AdvantageLms, *, deep_linking: bool = False) -> str:
    """A browser's OIDC round trip: the organisation's login URL (302) → the platform → its launch (302)."""
    browser = requests.Session()
    to_platform = browser.get(login_url(gateway, lms, deep_linking=deep_linking), allow_redirects=False, timeout=10)
    assert to_platform.status_code == 302, to_platform.text
    form = AutoSubmitForm(browser.get(to_platform.headers["Location"], allow_redirects=False, timeout=10).text)
    answer = browser.post(form.action, data=form.fields, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["ltik"][0]


@pytest.fixture(scope="module")
def lti13_ltik(gateway, lms) -> str:
    """An instructor's launch of the class launch URL (``gateway.target`` "class")."""
    return launch_13(gateway, lms)


def app(gateway, *, ltik: str | None = None, service_key: str | None = None) -> requests.Session:
    session = requests.Session()
    scheme = f"LTIK-AUTH-V2 {gateway.api_key}:{ltik}" if ltik else f"SERVICE-AUTH-V1 {gateway.api_key}:{service_key}"
    session.headers["Authorization"] = scheme
    return session


# -- GET /api/idtoken ------------------------------------------------------------------------------------

IDTOKEN = ("GET", "/api/idtoken")


def test_idtoken_of_an_lti13_launch_in_both_shapes(gateway, lms, lti13_ltik):
    client = app(gateway, ltik=lti13_ltik)

    token = conforms(IDTOKEN, client.get(f"{gateway.base_url}/api/idtoken", timeout=TIMEOUT))
    raw = conforms(IDTOKEN, client.get(f"{gateway.base_url}/api/idtoken?raw=true", timeout=TIMEOUT))

    assert problems("IdToken", token) == [] and problems("IdTokenRaw13", raw) == []
    assert token["ltiVersion"] == raw["ltiVersion"] == "1.3.0"
    assert token["gateway"]["target"] == "class" and token["gateway"]["unitId"] is None
    assert token["services"]["assignmentAndGrades"]["available"] is True
    assert raw["aud"] == lms.client_id
    # what the schemas refuse
    broken = copy.deepcopy(token)
    del broken["services"]["outcomes"]
    refuses(
        "IdToken",
        {k: v for k, v in token.items() if k != "user"},
        {**token, "ltiVersion": "2.0"},
        {**token, "launch": {**token["launch"], "type": "LtiStartProctoring"}},
        {**token, "launch": {**token["launch"], "custom": {"x": None}}},
        broken,
        {**token, "gateway": {k: v for k, v in token["gateway"].items() if k != "unitId"}},
        {**token, "services": {**token["services"], "serviceKey": "not-a-key"}},
    )
    refuses(
        "IdTokenRaw13",
        {**raw, "aud": [lms.client_id]},
        {k: v for k, v in raw.items() if k != "iss"},
        {**raw, "ltiVersion": "1.2.0"},
    )
    refuses("IdTokenAnswer", {"ltiVersion": "1.3.0"}, [token], "token")


def test_idtoken_of_an_lti11_launch_in_both_shapes(gateway, lti11_ltik):
    client = app(gateway, ltik=lti11_ltik)

    token = conforms(IDTOKEN, client.get(f"{gateway.base_url}/api/idtoken", timeout=TIMEOUT))
    raw = conforms(IDTOKEN, client.get(f"{gateway.base_url}/api/idtoken?raw=True", timeout=TIMEOUT))

    assert problems("IdToken", token) == [] and problems("IdTokenRaw11", raw) == []
    assert token["ltiVersion"] == raw["ltiVersion"] == "1.2.0"
    assert token["gateway"]["target"] == "unit" and token["services"]["outcomes"] == {"available": True}
    assert "oauth_signature" not in raw and raw["lis_result_sourcedid"] == SOURCEDID
    refuses(
        "IdToken",
        {**token, "services": {**token["services"], "outcomes": {"available": "yes"}}},
        {**token, "user": {"roles": []}},
        {**token, "platform": "canvas"},
    )
    refuses(
        "IdTokenRaw11",
        {**raw, "oauth_timestamp": 1767225600},  # every parameter is text
        {**raw, "lti_message_type": "ContentItemSelectionRequest"},
        {k: v for k, v in raw.items() if k != "resource_link_id"},
    )


# -- GET /api/memberships -------------------------------------------------------------------------------


def test_memberships_pages_with_next(gateway, lms, lti13_ltik):
    client = app(gateway, ltik=lti13_ltik)
    key = ("GET", "/api/memberships")

    first = conforms(key, client.get(f"{gateway.base_url}/api/memberships?limit=4", timeout=TIMEOUT))
    rest = conforms(key, client.get(f"{gateway.base_url}/api/memberships", params={"url": first["next"]}, timeout=10))

    assert len(first["members"]) == 4 and first["next"].startswith(lms.issuer) and "next" not in rest
    member = first["members"][0]
    refuses(
        "MembershipContainer",
        {**first, "members": [{k: v for k, v in member.items() if k != "userId"}]},
        {**first, "members": [{**member, "roles": "Learner"}]},
        {**first, "context": {"label": "PHY"}},
        {k: v for k, v in first.items() if k != "id"},
        {**first, "next": 2},
    )


# -- line items, scores and results (LTI 1.3 AGS) --------------------------------------------------------


def test_the_line_item_and_score_cycle_of_an_lti13_launch(gateway, lms, lti13_ltik):
    client = app(gateway, ltik=lti13_ltik)
    base = f"{gateway.base_url}/api/lineitems"

    body = sent(("POST", "/api/lineitems"), {"label": "Essay", "scoreMaximum": 20, "resourceLinkId": "rl-1"})
    created = client.post(base, json=body, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    item = conforms(("POST", "/api/lineitems"), created)
    item_url = f"{base}/{item['id']}"
    listed = conforms(("GET", "/api/lineitems"), client.get(base, timeout=TIMEOUT))
    one = conforms(("GET", "/api/lineitems/{id}"), client.get(item_url, timeout=TIMEOUT))
    body = sent(("PUT", "/api/lineitems/{id}"), {"label": "Essay (final)", "scoreMaximum": 25})
    updated = conforms(("PUT", "/api/lineitems/{id}"), client.put(item_url, json=body, timeout=TIMEOUT))
    score = sent(
        ("POST", "/api/lineitems/{id}/scores"),
        {
            "userId": "user-2",
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "scoreGiven": 20,
            "scoreMaximum": 25,
            "comment": "Clear argument.",
        },
    )
    no_content(client.post(f"{item_url}/scores", json=score, timeout=TIMEOUT))
    results = conforms(
        ("GET", "/api/lineitems/{id}/scores"), client.get(f"{item_url}/scores?userId=user-2", timeout=TIMEOUT)
    )
    # a raw LMS URL as the id (the Python client's quote()) answers the same shapes
    raw_id = quote(lms.services.item_url(), safe="/")
    by_url = conforms(("GET", "/api/lineitems/{id}"), client.get(f"{base}/{raw_id}", timeout=TIMEOUT))
    no_content(client.delete(item_url, timeout=TIMEOUT))

    assert item["id"] in [i["id"] for i in listed["lineItems"]] and "first" in listed  # the LMS's Link header
    assert one["id"] == updated["id"] == item["id"] and updated["label"] == "Essay (final)"
    assert results["scores"][0]["scoreOf"] == item["id"] and results["scores"][0]["resultScore"] == 20
    assert by_url["id"].startswith("li_")
    refuses(
        "LineItem",
        {**item, "id": lms.services.item_url()},  # the app never sees a raw LMS URL as an id
        {**item, "scoreMaximum": "20"},
        {k: v for k, v in item.items() if k != "label"},
    )
    refuses("LineItemContainer", {"items": listed["lineItems"]}, {"lineItems": [{"id": item["id"]}]})
    result = results["scores"][0]
    refuses(
        "ResultContainer",
        {"scores": [{k: v for k, v in result.items() if k != "scoreOf"}]},
        {"scores": [{**result, "resultScore": "20"}]},
        {"results": [result]},
    )


def test_request_bodies_the_schemas_refuse_are_refused_by_the_gateway_too(gateway, lms, lti13_ltik):
    client = app(gateway, ltik=lti13_ltik)
    base = f"{gateway.base_url}/api/lineitems"
    item = lms.services.item_url()
    cases = [
        (("POST", "/api/lineitems"), "post", base, {"label": "   ", "scoreMaximum": 10}),
        (("POST", "/api/lineitems"), "post", base, {"label": "Quiz", "scoreMaximum": 0}),
        (("PUT", "/api/lineitems/{id}"), "put", f"{base}/{quote(item, safe='')}", {"label": "Quiz"}),
        (
            ("POST", "/api/lineitems/{id}/scores"),
            "post",
            f"{base}/{quote(item, safe='')}/scores",
            {"userId": "user-2", "activityProgress": "Done", "gradingProgress": "FullyGraded"},
        ),
        (
            ("POST", "/api/lineitems/{id}/scores"),
            "post",
            f"{base}/{quote(item, safe='')}/scores",
            {"userId": "user-2", "activityProgress": "Completed", "gradingProgress": "FullyGraded", "scoreGiven": -1},
        ),
        (("POST", "/api/deeplinking"), "post", f"{gateway.base_url}/api/deeplinking", {"contentItems": [{"t": 1}]}),
    ]
    for key, method, url, body in cases:
        schema = REQUESTS[key]["application/json"]["schema"]
        assert list(validator(schema).iter_errors(body)), (key, body)
        answer = getattr(client, method)(url, json=body, timeout=TIMEOUT)
        assert answer.status_code == 400, (key, body, answer.text)
        assert problems("ContractError", answer.json()) == []


# -- line items, scores and results (LTI 1.1 outcomes) ---------------------------------------------------


def test_lti11_line_items_and_scores_with_an_ltik_and_the_service_key(gateway, lti11_ltik, outcome_service):
    client = app(gateway, ltik=lti11_ltik)
    base = f"{gateway.base_url}/api/lineitems"

    [item] = conforms(("GET", "/api/lineitems"), client.get(base, timeout=TIMEOUT))["lineItems"]
    one = conforms(("GET", "/api/lineitems/{id}"), client.get(f"{base}/{item['id']}", timeout=TIMEOUT))
    score = sent(
        ("POST", "/api/lineitems/{id}/scores"),
        {
            "userId": USER_ID,
            "activityProgress": "Completed",
            "gradingProgress": "FullyGraded",
            "scoreGiven": 8,
            "scoreMaximum": 10,
        },
    )
    no_content(client.post(f"{base}/{item['id']}/scores", json=score, timeout=TIMEOUT))
    mine = conforms(("GET", "/api/lineitems/{id}/scores"), client.get(f"{base}/{item['id']}/scores", timeout=10))
    key = client.get(f"{gateway.base_url}/api/idtoken", timeout=TIMEOUT).json()["services"]["serviceKey"]
    cron = app(gateway, service_key=key)
    listed = conforms(("GET", "/api/lineitems"), cron.get(base, timeout=TIMEOUT))
    learner = conforms(
        ("GET", "/api/lineitems/{id}/scores"),
        cron.get(f"{base}/{item['id']}/scores", params={"userId": USER_ID}, timeout=TIMEOUT),
    )
    everyone = conforms(("GET", "/api/lineitems/{id}/scores"), cron.get(f"{base}/{item['id']}/scores", timeout=10))
    nobody = conforms(
        ("GET", "/api/lineitems/{id}/scores"),
        cron.get(f"{base}/{item['id']}/scores", params={"userId": "never-launched"}, timeout=TIMEOUT),
    )

    assert item["id"].startswith("li11_") and item["scoreMaximum"] == 1 and one == item
    assert outcome_service.grades[SOURCEDID][0] == "0.8" and outcome_service.rejections == []
    assert mine["scores"][0]["resultScore"] == 0.8 and mine["scores"][0]["scoreOf"] == item["id"]
    assert item["id"] in [i["id"] for i in listed["lineItems"]]
    assert learner == mine and everyone["scores"] and nobody == {"scores": []}
    refuses("LineItem", {**item, "id": "li11 x"}, {**item, "scoreMaximum": None})
    refuses("ResultContainer", {"scores": [{**mine["scores"][0], "scoreOf": "Grade"}]}, {"scores": {}})


# -- deep linking ----------------------------------------------------------------------------------------


def test_deep_linking_message_and_form(gateway, lms):
    client = app(gateway, ltik=launch_13(gateway, lms, deep_linking=True))
    body = sent(
        ("POST", "/api/deeplinking"),
        {"contentItems": [{"type": "ltiResourceLink", "title": "Unit 1", "custom": {"unit": "1"}}]},
    )
    body = sent(("POST", "/api/deeplinking/form"), {**body, "options": {"message": "Added Unit 1"}})

    message = conforms(
        ("POST", "/api/deeplinking"), client.post(f"{gateway.base_url}/api/deeplinking", json=body, timeout=10)
    )
    form = conforms(
        ("POST", "/api/deeplinking/form"),
        client.post(f"{gateway.base_url}/api/deeplinking/form", json=body, timeout=TIMEOUT),
    )

    assert message["target"] == f"{lms.issuer}/deep-link-return"
    assert f'action="{lms.issuer}/deep-link-return"' in form["form"] and 'name="JWT"' in form["form"]
    refuses(
        "DeepLinkingMessage",
        {**message, "message": "not a jwt"},
        {k: v for k, v in message.items() if k != "target"},
        {"form": form["form"]},
    )
    refuses("DeepLinkingForm", {"form": "<p>hello</p>"}, message, form["form"])


# -- POST /api/console-link ------------------------------------------------------------------------------


def test_console_link(gateway, lms, lti13_ltik):
    answer = app(gateway, ltik=lti13_ltik).post(f"{gateway.base_url}/api/console-link", timeout=TIMEOUT)

    assert answer.status_code == 201, answer.text
    link = conforms(("POST", "/api/console-link"), answer)
    assert link["url"].startswith(f"{gateway.base_url}/console#link=") and link["class_id"] == gateway.stack["class_id"]
    refuses(
        "ConsoleLink",
        {k: v for k, v in link.items() if k != "class_id"},
        {**link, "url": f"{gateway.base_url}/console"},
        {**link, "expires_at": None},
    )


# -- DELETE /api/servicekey ------------------------------------------------------------------------------


def test_service_key_revocation(gateway, outcome_service):
    # a course of its own: revoking its key touches no other test's course
    ltik = launch_11(gateway, outcome_service, target=gateway.stack["class_launch_url"], context_id="openapi-course")
    token = app(gateway, ltik=ltik).get(f"{gateway.base_url}/api/idtoken", timeout=TIMEOUT).json()
    key = token["services"]["serviceKey"]
    assert validator({"$ref": "#/components/schemas/ServiceKey"}).is_valid(key)
    cron = app(gateway, service_key=key)

    no_content(cron.delete(f"{gateway.base_url}/api/servicekey", timeout=TIMEOUT))

    refused = cron.get(f"{gateway.base_url}/api/lineitems", timeout=TIMEOUT)
    assert refused.status_code == 401 and problems("ContractError", refused.json()) == []
    refuses("ServiceKey", "", "sk_", "ak_0000000000000000.secret", None)


# -- the launch function's pages and redirects -----------------------------------------------------------

_CONFIG = re.compile(r"var c = (\{.*?\});\n", re.S)


def page(key: tuple[str, str], answer: requests.Response) -> str:
    assert answer.status_code == 200, answer.text
    return conforms(key, answer)


def test_launch_urls_opened_in_a_browser_are_pages(gateway):
    class_id, unit_id = gateway.stack["class_id"], gateway.stack["units"][0]["unit_id"]
    for path, url in (
        ("/lti/launch", "/lti/launch"),
        ("/lti/launch/{class_id}", f"/lti/launch/{class_id}"),
        ("/lti/launch/{class_id}/{unit_id}", f"/lti/launch/{class_id}/{unit_id}"),
        ("/lti/orgs/{org_id}/launch", f"/lti/orgs/{gateway.org_id}/launch"),
    ):
        text = page(("GET", path), requests.get(f"{gateway.base_url}{url}", timeout=TIMEOUT))
        assert "LTI" in text
    refuses("LaunchPage", '{"error": "not_found"}', "<html>", None)


def test_logins_and_launches_redirect_or_answer_their_storage_pages(gateway, lms, outcome_service):
    # LTI 1.1 posts to a class and a unit launch URL: 302 to the app (launch_11 asserts it)
    launch_11(gateway, outcome_service, target=gateway.stack["class_launch_url"])
    launch_11(gateway, outcome_service, target=gateway.stack["units"][1]["launch_url"])
    # the organisation's login, GET and POST: 302 to the platform
    start = login_url(gateway, lms)
    tool_login, query = start.split("?", 1)
    params = {k: v[0] for k, v in parse_qs(query).items()}
    posted = requests.post(tool_login, data=params, allow_redirects=False, timeout=TIMEOUT)
    assert posted.status_code == 302 and posted.headers["Location"].startswith(lms.auth_url)
    # with platform storage: the login's page (GET and POST), then the launch's check page (no cookie back)
    for method in ("GET", "POST"):
        stored = {**params, "lti_storage_target": "_parent"}
        if method == "GET":
            answer = requests.get(f"{tool_login}?{urlencode(stored)}", allow_redirects=False, timeout=TIMEOUT)
        else:
            answer = requests.post(tool_login, data=stored, allow_redirects=False, timeout=TIMEOUT)
        text = page((method, "/lti/orgs/{org_id}/login"), answer)
    auth_url = json.loads(_CONFIG.search(text).group(1))["location"]
    form = AutoSubmitForm(requests.get(auth_url, allow_redirects=False, timeout=TIMEOUT).text)
    check = requests.post(form.action, data=form.fields, allow_redirects=False, timeout=TIMEOUT)  # no cookie
    assert form.action == f"{gateway.base_url}/lti/orgs/{gateway.org_id}/launch"
    assert '<form id="launch" method="post">' in page(("POST", "/lti/orgs/{org_id}/launch"), check)
    # the stack-wide login and launch (registrations made before tenant scoping): pages, never JSON
    for method, path in (("GET", "/lti/login"), ("POST", "/lti/login"), ("POST", "/lti/launch")):
        answer = requests.request(method, f"{gateway.base_url}{path}", data=params, allow_redirects=False, timeout=10)
        assert answer.headers["Content-Type"].startswith("text/html"), (method, path, answer.status_code)
        assert named("LaunchPage").is_valid(answer.text)
