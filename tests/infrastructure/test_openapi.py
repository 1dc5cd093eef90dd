"""The OpenAPI document (GET /api/openapi.json) is generated from the routes and cannot drift from them.

``make openapi`` writes it from template.yaml's HttpApi routes and the handlers' resolvers; these
tests regenerate it and compare, check that every template route is an operation and every operation
a template route, and that the generator refuses a template route no handler serves, or a handler
route the template does not expose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lti_gateway import openapi
from lti_gateway.local import openapi as generator
from lti_gateway.local.template import TemplateError, load_template, routes
from tests.conftest import invoke
from tests.support.app_api import token_event
from tests.support.stack import load_function

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(openapi.DOCUMENT.read_text())


def operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}


def template_routes() -> set[tuple[str, str]]:
    return {(r.method, re.sub(r"\{(\w+)\+\}", r"{\1}", r.path)) for r in routes(load_template(ROOT / "template.yaml"))}


def test_the_shipped_document_is_what_the_routes_generate():
    assert openapi.DOCUMENT.read_text() == generator.render(generator.build(ROOT / "template.yaml")), (
        "layers/common/lti_gateway/openapi.json is out of date: run `make openapi`"
    )


def test_every_template_route_is_an_operation_and_every_operation_a_route(document):
    assert operations(document) == template_routes()


def test_every_error_answer_has_the_documented_shape(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert {"500", "503"} <= set(op["responses"]), where
            assert "Retry-After" in op["responses"]["503"]["headers"], where
            for status, answer in op["responses"].items():
                if int(status) < 400:
                    continue
                content = answer["content"]
                if "text/html" in content:
                    assert op["tags"] in (["Launch"], ["Platforms"], ["Classes"]), where
                    continue
                ref = content["application/json"]["schema"]["$ref"]
                expected = "ContractError" if op["tags"] == ["Token"] else "Error"
                if path == "/{lts_version}/consumer/keys/lti":
                    expected = "DataApiEnvelope"
                assert ref == f"#/components/schemas/{expected}", where


def test_api_routes_name_their_security_and_public_routes_none(document):
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            public = op["security"] == []
            if op["tags"] == ["Token"]:
                assert op["security"] == [{"appSession": []}], path
            elif path.startswith("/api/") and path != "/api/openapi.json":
                assert op["security"] == [{"apiKey": []}], f"{method} {path}"
            else:
                assert public, f"{method} {path}"


def _broken_template(tmp_path: Path, edit) -> Path:
    """A copy of the repository's template (and what its CodeUris point at) with one edit."""
    text = edit((ROOT / "template.yaml").read_text())
    for name in ("functions", "layers"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "template.yaml").write_text(text)
    return tmp_path / "template.yaml"


def test_a_template_route_no_handler_serves_is_refused(tmp_path):
    def add(text: str) -> str:
        line = "        GetOrg: { Type: HttpApi, Properties: { ApiId: !Ref HttpApi, Method: GET, Path: /api/org } }\n"
        assert line in text
        return text.replace(line, line + line.replace("GetOrg", "Ghost").replace("/api/org", "/api/ghost"))

    with pytest.raises(TemplateError, match="GET /api/ghost: KeysFunction's resolver serves no such route"):
        generator.build(_broken_template(tmp_path, add))


def test_a_handler_route_the_template_does_not_expose_is_refused(tmp_path):
    def drop(text: str) -> str:
        line = "        GetOrg: { Type: HttpApi, Properties: { ApiId: !Ref HttpApi, Method: GET, Path: /api/org } }\n"
        assert line in text
        return text.replace(line, "")

    with pytest.raises(TemplateError, match=r"KeysFunction: GET .*api/org.* has no template route"):
        generator.build(_broken_template(tmp_path, drop))


def test_the_keys_function_serves_it_to_anyone():
    answer = invoke(load_function("keys"), token_event("GET", "/api/openapi.json"))

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.raw == openapi.DOCUMENT.read_text()
    assert answer.body["openapi"] == "3.1.0" and answer.body["info"]["title"] == "LTI Gateway"
