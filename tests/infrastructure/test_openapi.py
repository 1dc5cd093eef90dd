"""The OpenAPI document (GET /api/openapi.json) is generated from the routes and cannot drift from them,
and it is one a client generator can use.

``make openapi`` writes it from template.yaml's HttpApi routes, the handlers' resolvers and the schema
modules (``local/openapi_org.py``, ``openapi_admin.py``, ``openapi_app.py``); these tests regenerate it
and compare, check that every template route is an operation and every operation a template route
(the greedy line item route split into what clients see), that the generator refuses a template route
no handler serves, a handler route the template does not expose, two schema modules defining one name
and a module describing an operation that does not exist; that openapi-spec-validator accepts the
shipped and the served document, that every operation has its schemas, examples that validate against
them, a unique operationId, a tag and its security; and that the served copy names the stack's base URL.
Whether the answers match the schemas is tests/e2e/test_openapi_conformance.py's business.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lti_gateway import openapi
from lti_gateway.local import openapi as generator
from lti_gateway.local.template import TemplateError, load_template, routes
from tests.conftest import invoke
from tests.support.app_api import HOST, token_event
from tests.support.stack import load_function

ROOT = Path(__file__).resolve().parents[2]
LINE_ITEM = "/api/lineitems/{id}"


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(openapi.DOCUMENT.read_text())


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {(method.upper(), path): op for path, ops in document["paths"].items() for method, op in ops.items()}


def template_routes() -> set[tuple[str, str]]:
    """What API Gateway routes, as clients see it: the greedy ``{id+}`` route is GET/PUT/DELETE of a line
    item and GET/POST of its scores (the handler answers 404 to POST without /scores)."""
    found = set()
    for r in routes(load_template(ROOT / "template.yaml")):
        path = re.sub(r"\{(\w+)\+\}", r"{\1}", r.path)
        if r.path.endswith("+}"):
            split = {"GET": [path, f"{path}/scores"], "POST": [f"{path}/scores"]}
            found |= {(r.method, p) for p in split.get(r.method, [path])}
        else:
            found.add((r.method, path))
    return found


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


def validator(document: dict, schema: dict) -> Draft202012Validator:
    """A validator of ``schema`` resolving its ``#/components/...`` references against the document."""
    registry = Registry().with_resource("urn:document", Resource.from_contents(document, DRAFT202012))
    rooted = json.loads(json.dumps(schema).replace('"#/components/', '"urn:document#/components/'))
    return Draft202012Validator(rooted, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def success(op: dict) -> tuple[str, dict]:
    status = min(s for s in op["responses"] if int(s) < 400)
    return status, op["responses"][status]


# -- it is what the routes generate --------------------------------------------------------------------------


def test_the_shipped_document_is_what_the_routes_generate():
    assert openapi.DOCUMENT.read_text() == generator.render(generator.build(ROOT / "template.yaml")), (
        "layers/common/lti_gateway/openapi.json is out of date: run `make openapi`"
    )


def test_every_template_route_is_an_operation_and_every_operation_a_route(document):
    assert set(operations(document)) == template_routes()


def test_the_line_item_route_is_split_into_what_the_handler_serves(document):
    paths = document["paths"]
    assert set(paths[LINE_ITEM]) == {"get", "put", "delete"}
    assert set(paths[f"{LINE_ITEM}/scores"]) == {"get", "post"}
    assert paths[f"{LINE_ITEM}/scores"]["post"]["operationId"] == "postScore"
    assert "204" in paths[f"{LINE_ITEM}/scores"]["post"]["responses"]
    ref = paths[LINE_ITEM]["get"]["parameters"][0]["$ref"]
    assert "URL-encoded" in resolve(document, {"$ref": ref})["description"]


# -- a generator can use it ----------------------------------------------------------------------------------


def test_openapi_spec_validator_accepts_the_shipped_document(document):
    validate(document)


def test_every_operation_has_an_operation_id_a_tag_and_a_summary(document):
    ops = operations(document)
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    declared = {t["name"] for t in document["tags"]}
    for (method, path), op in ops.items():
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]+", op["operationId"]), f"{method} {path}: {op['operationId']}"
        assert len(op["tags"]) == 1 and op["tags"][0] in declared, f"{method} {path}"
        assert op["summary"] and op["summary"] != f"{method} {path}", f"{method} {path}: no summary in its docstring"
    assert ops[("POST", "/api/keys")]["operationId"] == "createConsumerKey"
    assert ops[("GET", "/api/idtoken")]["operationId"] == "getIdToken"
    assert ops[("GET", "/api/classes")]["operationId"] == "listClasses"


def test_a_route_without_an_operation_id_fails_the_build(monkeypatch):
    monkeypatch.delitem(generator.OPERATION_IDS, ("GET", "/api/org"))
    with pytest.raises(TemplateError, match="GET /api/org: no operationId"):
        generator.build(ROOT / "template.yaml")


def test_every_success_answer_has_a_schema_and_an_example(document):
    """The issue measured 47 of 59 success responses with an empty schema; now none (an HTML page is a
    string)."""
    empty = []
    for (method, path), op in operations(document).items():
        status, answer = success(op)
        if status in ("204", "302"):
            assert "content" not in answer, f"{method} {path}"
            if status == "302":
                assert "content" in op["responses"]["200"], f"{method} {path}: its page"
                answer = op["responses"]["200"]
            else:
                continue
        for kind, media in answer["content"].items():
            if not media.get("schema"):
                empty.append(f"{method} {path} {kind}")
            binary = media["schema"].get("format") == "binary"  # a zip: no example in a JSON document
            assert "example" in media or binary, f"{method} {path} {kind}: no example"
        assert any("example" in media for media in answer["content"].values()), f"{method} {path}"
    assert empty == []


def test_every_request_body_has_a_schema_and_an_example(document):
    bodies = 0
    for (method, path), op in operations(document).items():
        for kind, media in op.get("requestBody", {}).get("content", {}).items():
            assert media.get("schema"), f"{method} {path} {kind}"
            assert "example" in media, f"{method} {path} {kind}: no example"
            bodies += 1
    assert bodies >= 25


def examples(document: dict):
    """``(where, schema, example)`` of every example of a request body or an answer."""
    for (method, path), op in operations(document).items():
        for kind, media in op.get("requestBody", {}).get("content", {}).items():
            yield f"{method} {path} request {kind}", media["schema"], media["example"]
        for status, answer in op["responses"].items():
            for kind, media in resolve(document, answer).get("content", {}).items():
                for example in [media["example"]] if "example" in media else []:
                    yield f"{method} {path} {status} {kind}", media["schema"], example


def test_every_example_validates_against_its_schema(document):
    checked, problems = 0, []
    for where, schema, example in examples(document):
        errors = list(validator(document, schema).iter_errors(example))
        problems += [f"{where}: {e.message} at {list(e.absolute_path)}" for e in errors[:3]]
        checked += 1
    assert problems == []
    assert checked >= 150  # every operation's success, its body, and the shared error answers


def test_a_wrong_example_is_caught(document):
    """The check above can fail: an example missing a required key does not validate."""
    op = operations(document)[("POST", "/api/keys")]
    media = op["responses"]["201"]["content"]["application/json"]
    wrong = {k: v for k, v in media["example"].items() if k != "secret"}
    assert list(validator(document, media["schema"]).iter_errors(wrong))


def test_every_error_answer_has_the_documented_shape(document):
    for (method, path), op in operations(document).items():
        where = f"{method} {path}"
        assert {"500", "503"} <= set(op["responses"]), where
        assert "Retry-After" in resolve(document, op["responses"]["503"])["headers"], where
        for status, answer in op["responses"].items():
            if int(status) < 400:
                continue
            assert answer["$ref"].startswith("#/components/responses/"), where
            content = resolve(document, answer)["content"]
            if "text/html" in content:
                assert op["tags"] in (["LTI launch"], ["Platforms"], ["Classes"]), where
                continue
            ref = content["application/json"]["schema"]["$ref"]
            expected = "Error"
            if op["tags"] == ["App API"]:
                expected = "ContractError"
            if path == "/{lts_version}/consumer/keys/lti":
                expected = "DataApiEnvelope"
            assert ref == f"#/components/schemas/{expected}", where


def test_paging_parameters_are_shared_components(document):
    for (method, path), op in operations(document).items():
        if op["tags"] == ["App API"]:
            continue
        names = {resolve(document, p)["name"]: p for p in op.get("parameters", [])}
        if "next" in names:
            assert names["next"] == {"$ref": "#/components/parameters/Next"}, f"{method} {path}"
            assert names["limit"] == {"$ref": "#/components/parameters/Limit"}, f"{method} {path}"
    assert operations(document)[("GET", "/api/classes")]["parameters"]


def test_each_operation_names_the_schemes_it_accepts(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == schemes["BearerAuth"] | {"type": "http", "scheme": "bearer"}
    assert schemes["LtikAuth"] | schemes["ServiceAuth"] and all(
        schemes[name]["type"] == "apiKey"
        and schemes[name]["in"] == "header"
        and schemes[name]["name"] == "Authorization"
        for name in ("LtikAuth", "ServiceAuth")
    )
    assert "LTIK-AUTH-V2 <API_KEY>:<LTIK>" in schemes["LtikAuth"]["description"]
    assert "SERVICE-AUTH-V1 <API_KEY>:<SERVICE_KEY>" in schemes["ServiceAuth"]["description"]
    ops = operations(document)
    for (method, path), op in ops.items():
        if op["tags"] == ["App API"]:
            assert op["security"] and {n for s in op["security"] for n in s} <= {"LtikAuth", "ServiceAuth"}, path
        elif path.startswith("/api/") and path != "/api/openapi.json":
            assert op["security"] == [{"BearerAuth": []}], f"{method} {path}"
        else:
            assert op["security"] == [], f"{method} {path}"
    # The token function's session column: an ltik only, a service key only, or either.
    assert ops[("GET", "/api/idtoken")]["security"] == [{"LtikAuth": []}]
    assert ops[("DELETE", "/api/servicekey")]["security"] == [{"ServiceAuth": []}]
    assert ops[("POST", f"{LINE_ITEM}/scores")]["security"] == [{"LtikAuth": []}, {"ServiceAuth": []}]


def test_the_shipped_document_names_a_server_to_fill_in(document):
    (server,) = document["servers"]
    assert server["url"] == "https://{domain}" and server["variables"]["domain"]["default"]


# -- the build refuses what would describe the wrong API -------------------------------------------------------


def _broken_template(tmp_path: Path, edit) -> Path:
    """A copy of the repository's template (and what its CodeUris point at) with one edit."""
    text = edit((ROOT / "template.yaml").read_text())
    for name in ("functions", "layers"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "template.yaml").write_text(text)
    return tmp_path / "template.yaml"


def test_a_template_route_no_handler_serves_is_refused(tmp_path, monkeypatch):
    def add(text: str) -> str:
        line = "        GetOrg: { Type: HttpApi, Properties: { ApiId: !Ref HttpApi, Method: GET, Path: /api/org } }\n"
        assert line in text
        return text.replace(line, line + line.replace("GetOrg", "Ghost").replace("/api/org", "/api/ghost"))

    monkeypatch.setitem(generator.OPERATION_IDS, ("GET", "/api/ghost"), "getGhost")
    with pytest.raises(TemplateError, match="GET /api/ghost: KeysFunction's resolver serves no such route"):
        generator.build(_broken_template(tmp_path, add))


def test_a_handler_route_the_template_does_not_expose_is_refused(tmp_path):
    def drop(text: str) -> str:
        line = "        GetOrg: { Type: HttpApi, Properties: { ApiId: !Ref HttpApi, Method: GET, Path: /api/org } }\n"
        assert line in text
        return text.replace(line, "")

    with pytest.raises(TemplateError, match=r"KeysFunction: GET .*api/org.* has no template route"):
        generator.build(_broken_template(tmp_path, drop))


def _with_module(monkeypatch, module: SimpleNamespace) -> None:
    real = generator.schema_modules
    monkeypatch.setattr(generator, "schema_modules", lambda: [*real(), module])


def test_two_modules_defining_one_schema_name_fail_the_build(monkeypatch):
    clash = SimpleNamespace(__name__="clash", SCHEMAS={"Error": {"type": "object"}}, RESPONSES={}, REQUESTS={})
    _with_module(monkeypatch, clash)
    with pytest.raises(TemplateError, match=re.escape("schema Error: defined by both openapi.py and clash.py")):
        generator.build(ROOT / "template.yaml")


def test_two_modules_describing_one_answer_fail_the_build(monkeypatch):
    answer = {"application/json": {"schema": {"type": "object"}, "example": {}}}
    twice = SimpleNamespace(__name__="twice", SCHEMAS={}, RESPONSES={("GET", "/api/org"): answer}, REQUESTS={})
    _with_module(monkeypatch, twice)
    with pytest.raises(
        TemplateError, match=re.escape("response GET /api/org: defined by both openapi_org.py and twice.py")
    ):
        generator.build(ROOT / "template.yaml")


def test_a_module_describing_an_operation_that_does_not_exist_fails_the_build(monkeypatch):
    answer = {"application/json": {"schema": {"type": "object"}, "example": {}}}
    typo = SimpleNamespace(__name__="typo", SCHEMAS={}, RESPONSES={("GET", "/api/orgs"): answer}, REQUESTS={})
    _with_module(monkeypatch, typo)
    with pytest.raises(TemplateError, match="response of GET /api/orgs: no such operation"):
        generator.build(ROOT / "template.yaml")


def test_a_reference_to_an_undefined_schema_fails_the_build(monkeypatch):
    answer = {"application/json": {"schema": {"$ref": "#/components/schemas/Nowhere"}, "example": {}}}
    dangling = SimpleNamespace(__name__="dangling", SCHEMAS={}, RESPONSES={("GET", "/console/session"): answer})
    real = generator.schema_modules

    def without_org_session():
        found = []
        for module in real():
            if module.__name__.endswith("openapi_org"):
                module = SimpleNamespace(
                    __name__=module.__name__,
                    SCHEMAS=module.SCHEMAS,
                    RESPONSES={k: v for k, v in module.RESPONSES.items() if k != ("GET", "/console/session")},
                    REQUESTS=module.REQUESTS,
                )
            found.append(module)
        return [*found, dangling]

    monkeypatch.setattr(generator, "schema_modules", without_org_session)
    with pytest.raises(TemplateError, match="defined nowhere: Nowhere"):
        generator.build(ROOT / "template.yaml")


# -- served -------------------------------------------------------------------------------------------------


def _served(monkeypatch, *, public_base_url: str | None, host: str = HOST) -> dict:
    from lti_gateway.core import runtime

    if public_base_url:
        monkeypatch.setenv("PUBLIC_BASE_URL", public_base_url)
    else:
        monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("PUBLIC_DOMAIN_NAME", raising=False)
    for name in ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID"):  # read by settings(), never used
        monkeypatch.setenv(name, f"unused-{name.lower()}")
    runtime.reset()
    event = token_event("GET", "/api/openapi.json")
    event["requestContext"]["domainName"] = host
    answer = invoke(load_function("keys"), event)
    runtime.reset()
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    return json.loads(answer.raw)


def test_the_keys_function_serves_it_to_anyone_naming_the_public_base_url(monkeypatch, document):
    served = _served(monkeypatch, public_base_url="https://lti.example.edu")

    assert served["servers"] == [{"url": "https://lti.example.edu", "description": "This stack."}]
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in document.items() if k != "servers"}
    validate(copy.deepcopy(served))


def test_without_a_public_base_url_it_names_the_requests_own_https_host(monkeypatch):
    served = _served(monkeypatch, public_base_url=None)

    assert served["servers"][0]["url"] == f"https://{HOST}"
    validate(served)


def test_a_request_naming_no_valid_host_gets_the_shipped_servers(monkeypatch, document):
    served = _served(monkeypatch, public_base_url=None, host="not a host")

    assert served["servers"] == document["servers"]
