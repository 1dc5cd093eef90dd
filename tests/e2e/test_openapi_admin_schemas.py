"""The admin routes' OpenAPI schemas (lti_gateway/local/openapi_admin.py) against real answers.

Every operation the module describes is driven through the local gateway over HTTP and its answer
checked: the media type is one the module documents, and a JSON (or text) body validates against the
schema with ``jsonschema.Draft202012Validator`` (formats checked), ``$ref`` resolved against the
module's SCHEMAS plus the shipped document's components. Every example validates against its schema,
the request bodies are exactly as strict as the generator's, and wrong answers are rejected (a schema
that accepts anything proves nothing).

Each test works in its own organisation, so nothing here changes what other e2e tests see.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jsonschema import Draft202012Validator
from jwt.algorithms import RSAAlgorithm

import lti_gateway
from lti_gateway.core import clock, config
from lti_gateway.local import openapi_admin as admin
from lti_gateway.lti13 import lti11_bindings
from lti_gateway.repositories import deps
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import FORM, sign_launch
from tests.peers.registration_platform import RegistrationPlatform

pytestmark = pytest.mark.e2e

DOCUMENT = json.loads((Path(lti_gateway.__file__).parent / "openapi.json").read_text(encoding="utf-8"))
COMPONENTS = {**DOCUMENT["components"]["schemas"], **admin.SCHEMAS}
PREFIXES = ("Class", "Unit", "Export", "Platform", "Lti11Binding", "Registration", "Jwks")

CLASSES = "/api/classes"
CLASS = "/api/classes/{class_id}"
UNITS = "/api/classes/{class_id}/units"
UNIT = "/api/classes/{class_id}/units/{unit_id}"
PLATFORM = "/api/platforms/{platform_id}"
BINDINGS = "/api/platforms/{platform_id}/lti11-bindings"
BINDING = "/api/platforms/{platform_id}/lti11-bindings/{binding_id}"

# What each test below drives (their union is every operation the module describes).
CLASS_OPERATIONS = {
    ("POST", CLASSES),
    ("GET", CLASSES),
    ("GET", CLASS),
    ("PATCH", CLASS),
    ("POST", UNITS),
    ("GET", UNITS),
    ("POST", f"{UNITS}/reorder"),
    ("GET", UNIT),
    ("PATCH", UNIT),
}
EXPORT_OPERATIONS = {("GET", f"{CLASS}/lti-settings"), ("GET", f"{UNIT}/lti-config.xml"), ("GET", "/api/lti-settings")}
PLATFORM_OPERATIONS = {
    ("POST", "/api/platforms"),
    ("GET", "/api/platforms"),
    ("GET", PLATFORM),
    ("PUT", PLATFORM),
    ("DELETE", PLATFORM),
    ("POST", f"{PLATFORM}/activate"),
    ("POST", f"{PLATFORM}/deactivate"),
    ("POST", "/api/platforms/registration-url"),
    ("GET", BINDINGS),
    ("POST", f"{BINDING}/approve"),
    ("POST", f"{BINDING}/reject"),
}
PUBLIC_OPERATIONS = {
    ("GET", "/lti/orgs/{org_id}/jwks.json"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/lti/register/{token}"),
    ("GET", "/classes/{class_id}/open"),
}


# -- validation --------------------------------------------------------------------------------------


def problems(schema: dict[str, Any], value: Any) -> list[str]:
    """What is wrong with ``value`` under ``schema`` (its ``$ref`` against COMPONENTS), formats checked."""
    root = {**schema, "components": {"schemas": COMPONENTS}}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    """The properties ``schema`` describes, its ``allOf`` members' included."""
    schema = _resolve(schema)
    found = dict(schema.get("properties", {}))
    for member in schema.get("allOf", []):
        found.update(_properties(member))
    return found


def undocumented(schema: dict[str, Any], value: Any, where: str = "") -> list[str]:
    """Keys of ``value`` its (valid) schema does not describe: the schemas stay open for clients, but
    every key the code answers today is documented."""
    schema = _resolve(schema)
    for choice in schema.get("oneOf", []) + schema.get("anyOf", []):
        if not problems(choice, value):
            return undocumented(choice, value, where)
    found: list[str] = []
    described = _properties(schema)
    if isinstance(value, dict) and described:
        found += [f"{where}/{key}" for key in value if key not in described]
        for key, sub in described.items():
            if key in value:
                found += undocumented(sub, value[key], f"{where}/{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += undocumented(schema["items"], item, f"{where}/{i}")
    return found


def named(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def media_type(response: requests.Response) -> str:
    return response.headers.get("Content-Type", "").split(";")[0].strip().lower()


class Api:
    """One organisation's owner over HTTP; every answer checked against the module's schemas."""

    def __init__(self, base_url: str, api_key: str | None = None, org_id: str | None = None):
        self.base_url = base_url
        self.api_key = api_key
        self.org_id = org_id
        self.seen: set[tuple[str, str]] = set()

    def __call__(
        self,
        method: str,
        path: str,
        status: int,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **path_params: str,
    ) -> requests.Response:
        sent = dict(headers or {})
        if self.api_key:
            sent["Authorization"] = f"Bearer {self.api_key}"
        response = requests.request(
            method,
            self.base_url + path.format(**path_params),
            json=body,
            params=params,
            headers=sent,
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:500]}"
        if status in (204, 302):
            assert not response.content
        else:
            self.conforms(method, path, response)
        self.seen.add((method, path))
        return response

    @staticmethod
    def conforms(method: str, path: str, response: requests.Response) -> None:
        documented = admin.RESPONSES[(method, path)]
        answered = media_type(response)
        assert answered in documented, f"{method} {path} answered {answered}; documented: {sorted(documented)}"
        schema = documented[answered]["schema"]
        if answered == "application/json":
            value: Any = response.json()
        elif schema.get("format") == "binary":
            return
        else:
            value = response.text
        found = problems(schema, value)
        assert not found, f"{method} {path}: {found}"
        extra = sorted(set(undocumented(schema, value)))
        assert not extra, f"{method} {path} answers keys its schema does not describe: {extra}"


@pytest.fixture
def owner(gateway, request) -> Api:
    """A fresh organisation (named after the test) and its owner's API key."""
    org = gateway.create_organisation(f"Schemas {request.node.name[:40]}")
    return Api(gateway.base_url, org.api_key, org.org_id)


def launched_class(gateway, api: Api) -> dict[str, Any]:
    """A class an LTI 1.1 launch from Canvas (canvas.example.edu) came into: the organisation now knows
    that LMS origin, and the class lists the launch's context."""
    key = gateway.create_consumer_key(api.org_id, label="Canvas")
    patched = requests.patch(
        f"{gateway.base_url}/api/org",
        json={"app_launch_url": gateway.stack["app_launch_url"]},
        headers={"Authorization": f"Bearer {api.api_key}"},
        timeout=30,
    )
    assert patched.status_code == 200, patched.text
    cls = api("POST", CLASSES, 201, body={"name": "Launched class"}).json()
    signed = sign_launch(cls["launch_url"], CANVAS, consumer_key=key["key"], secret=key["secret"])
    launch = requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=30
    )
    assert launch.status_code == 302, launch.text
    return cls


# -- classes and units -------------------------------------------------------------------------------


def test_classes_and_units_answer_their_schemas(gateway, owner):
    launched = launched_class(gateway, owner)
    example = admin.REQUESTS[("POST", CLASSES)]["application/json"]["example"]
    created = owner("POST", CLASSES, 201, body=example).json()  # its Class LMS URL: Canvas's origin, now known
    assert created["class_lms_url"] == example["class_lms_url"] and created["lms_contexts"] == []
    other = owner("POST", CLASSES, 201, body={"name": "Chemistry", "app_launch_url": None}).json()

    first = owner("GET", CLASSES, 200, params={"limit": "1"}).json()
    assert len(first["classes"]) == 1 and first["next"]
    last = owner("GET", CLASSES, 200, params={"limit": "100", "next": first["next"]}).json()
    assert last["next"] is None
    read = owner("GET", CLASS, 200, class_id=launched["class_id"]).json()
    assert [c["source"] for c in read["lms_contexts"]] and read["lms_context_ids"]
    update = admin.REQUESTS[("PATCH", CLASS)]["application/json"]["example"]
    assert owner("PATCH", CLASS, 200, body=update, class_id=created["class_id"]).json()["version"] == 2
    owner(
        "PATCH",
        CLASS,
        200,
        body={"class_lms_url": "https://elsewhere.example.org/course/7", "class_lms_url_confirmed": True},
        class_id=other["class_id"],
    )

    class_id = created["class_id"]
    unit_example = admin.REQUESTS[("POST", UNITS)]["application/json"]["example"]
    one = owner("POST", UNITS, 201, body=unit_example, class_id=class_id).json()
    two = owner(
        "POST",
        UNITS,
        201,
        body={"name": "Unit 2", "position": 5, "app_launch_url": gateway.stack["app_launch_url"] + "?unit=2"},
        class_id=class_id,
    ).json()
    page = owner("GET", UNITS, 200, params={"limit": "1"}, class_id=class_id).json()
    assert [u["unit_id"] for u in page["units"]] == [one["unit_id"]] and page["next"]
    owner("GET", UNITS, 200, params={"next": page["next"]}, class_id=class_id)
    owner("GET", UNIT, 200, class_id=class_id, unit_id=two["unit_id"])
    unit_update = admin.REQUESTS[("PATCH", UNIT)]["application/json"]["example"]
    owner("PATCH", UNIT, 200, body=unit_update, class_id=class_id, unit_id=one["unit_id"])
    reordered = owner(
        "POST", f"{UNITS}/reorder", 200, body={"unit_ids": [two["unit_id"], one["unit_id"]]}, class_id=class_id
    ).json()
    assert [(u["unit_id"], u["position"]) for u in reordered["units"]] == [(two["unit_id"], 0), (one["unit_id"], 1)]

    owner("DELETE", UNIT, 204, class_id=class_id, unit_id=two["unit_id"])
    owner("DELETE", CLASS, 204, class_id=other["class_id"])
    assert owner.seen >= CLASS_OPERATIONS


# -- exports -----------------------------------------------------------------------------------------


def test_exports_answer_their_schemas(gateway, owner, monkeypatch):
    gateway.create_consumer_key(owner.org_id, label="Moodle")
    cls = owner("POST", CLASSES, 201, body={"name": "Physics 101"}).json()
    units = [owner("POST", UNITS, 201, body={"name": f"Unit {i}"}, class_id=cls["class_id"]).json() for i in (1, 2)]
    settings = f"{CLASS}/lti-settings"

    as_json = owner("GET", settings, 200, params={"format": "json"}, class_id=cls["class_id"]).json()
    assert not problems(named("ExportClassSettings"), as_json) and as_json["unit_count"] == 2
    assert media_type(owner("GET", settings, 200, params={"format": "csv"}, class_id=cls["class_id"])) == "text/csv"
    assert media_type(owner("GET", settings, 200, params={"format": "xml"}, class_id=cls["class_id"])) == (
        "application/xml"
    )
    cartridge = owner("GET", settings, 200, headers={"Accept": "application/zip"}, class_id=cls["class_id"])
    assert "imsmanifest.xml" in zipfile.ZipFile(io.BytesIO(cartridge.content)).namelist()
    owner("GET", f"{UNIT}/lti-config.xml", 200, class_id=cls["class_id"], unit_id=units[0]["unit_id"])
    org_json = owner("GET", "/api/lti-settings", 200, params={"format": "json"}).json()
    assert not problems(named("ExportOrgSettings"), org_json) and org_json["class_count"] == 1
    owner("GET", "/api/lti-settings", 200, headers={"Accept": "text/csv"})

    # Too large to answer inline: a download link, in JSON, whatever the format asked.
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "64")
    config.settings.cache_clear()
    deps.export_files.cache_clear()
    try:
        for path, params in ((settings, {"format": "cc"}), ("/api/lti-settings", {"format": "csv"})):
            handed = owner("GET", path, 200, params=params, class_id=cls["class_id"]).json()
            assert not problems(named("ExportDownload"), handed), handed
    finally:
        monkeypatch.delenv("EXPORT_INLINE_MAX_BYTES")
        config.settings.cache_clear()
        deps.export_files.cache_clear()
    assert owner.seen >= EXPORT_OPERATIONS


# -- platforms and bindings --------------------------------------------------------------------------


def _rsa_public() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()


def test_platforms_and_bindings_answer_their_schemas(gateway, owner):
    example = admin.REQUESTS[("POST", "/api/platforms")]["application/json"]["example"]
    canvas = owner("POST", "/api/platforms", 201, body=example).json()
    assert canvas["authConfig"] == example["authConfig"] and canvas["publicKey"].startswith("-----BEGIN PUBLIC KEY")
    pem = _rsa_public().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    moodle = owner(
        "POST",
        "/api/platforms",
        201,
        body={
            **example,
            "url": "https://moodle.example.org",
            "name": "Moodle",
            "authConfig": {"method": "RSA_KEY", "key": pem.decode()},
            "authorizationServer": "https://moodle.example.org/mod/lti/token.php",
            "allowAnonymous": True,
        },
    ).json()
    assert moodle["authorizationServer"] and moodle["authConfig"]["method"] == "RSA_KEY"
    jwk = json.loads(RSAAlgorithm.to_jwk(_rsa_public()))
    d2l = owner(
        "POST",
        "/api/platforms",
        201,
        body={**example, "url": "https://d2l.example.org", "authConfig": {"method": "JWK_KEY", "key": jwk}},
    ).json()
    assert d2l["authConfig"]["method"] == "JWK_KEY"

    first = owner("GET", "/api/platforms", 200, params={"limit": "2"}).json()
    assert len(first["platforms"]) == 2 and first["next"]
    owner("GET", "/api/platforms", 200, params={"next": first["next"]})
    owner("GET", "/api/platforms", 200, params={"url": "https://canvas.instructure.com"})
    owner("GET", PLATFORM, 200, platform_id=canvas["id"])
    update = admin.REQUESTS[("PUT", PLATFORM)]["application/json"]["example"]
    assert owner("PUT", PLATFORM, 200, body=update, platform_id=canvas["id"]).json()["version"] == 2
    assert owner("POST", f"{PLATFORM}/deactivate", 200, platform_id=d2l["id"]).json()["active"] is False
    assert owner("POST", f"{PLATFORM}/activate", 200, platform_id=d2l["id"]).json()["active"] is True
    deleted = owner("DELETE", PLATFORM, 200, platform_id=d2l["id"]).json()
    assert deleted["deleted"] is True and not problems(named("Platform"), deleted)
    registration = admin.REQUESTS[("POST", "/api/platforms/registration-url")]["application/json"]["example"]
    owner("POST", "/api/platforms/registration-url", 201, body=registration)

    # Two launches whose lti1p1 claim could not be verified (what the launch function records).
    key = gateway.create_consumer_key(owner.org_id, label="Canvas (LTI 1.1)")["key"]
    for deployment, reason in zip(update["deploymentIds"], ("signature_missing", "signature_mismatch"), strict=True):
        lti11_bindings.for_launch(
            platform_id=canvas["id"], org_id=owner.org_id, deployment_id=deployment, consumer_key=key, reason=reason
        )
    page = owner("GET", BINDINGS, 200, params={"limit": "1"}, platform_id=canvas["id"]).json()
    assert len(page["bindings"]) == 1 and page["next"]
    pending = owner("GET", BINDINGS, 200, params={"status": "pending"}, platform_id=canvas["id"]).json()["bindings"]
    assert len(pending) == 2
    decision = admin.REQUESTS[("POST", f"{BINDING}/approve")]["application/json"]["example"]
    approved = owner(
        "POST", f"{BINDING}/approve", 200, body=decision, platform_id=canvas["id"], binding_id=pending[0]["id"]
    )
    assert approved.json()["status"] == "approved" and approved.json()["decidedBy"]
    owner("POST", f"{BINDING}/reject", 200, platform_id=canvas["id"], binding_id=pending[1]["id"])  # no body at all
    decided = owner("GET", BINDINGS, 200, platform_id=canvas["id"]).json()["bindings"]
    assert {b["status"] for b in decided} == {"approved", "rejected"}
    assert owner.seen >= PLATFORM_OPERATIONS


# -- public routes -----------------------------------------------------------------------------------


def test_public_routes_answer_their_schemas(gateway, owner):
    public = Api(gateway.base_url)
    keys = public("GET", "/lti/orgs/{org_id}/jwks.json", 200, org_id=owner.org_id).json()["keys"]
    assert len(keys) == 1
    public("GET", "/.well-known/jwks.json", 200)

    # LTI Dynamic Registration, with a URL of this organisation.
    url = owner("POST", "/api/platforms/registration-url", 201, body={}).json()["registration_url"]
    lms = RegistrationPlatform().start()
    try:
        public(
            "GET",
            "/lti/register/{token}",
            200,
            params={"openid_configuration": lms.config_url, "registration_token": lms.registration_token},
            token=url.rsplit("/", 1)[1],
        )
    finally:
        lms.stop()
    assert lms.rejections == []

    # The class link: a redirect to an owner-confirmed Class LMS URL; a page for a stored URL on an origin
    # neither a launch nor an owner vouched for (written before that rule: straight to the table).
    body = {"name": "Linked", "class_lms_url": "https://lms.example.org/course/7", "class_lms_url_confirmed": True}
    linked = owner("POST", CLASSES, 201, body=body).json()
    redirect = public("GET", "/classes/{class_id}/open", 302, class_id=linked["class_id"])
    assert redirect.headers["Location"] == body["class_lms_url"]
    deps.classes_repo().update_class(
        owner.org_id,
        linked["class_id"],
        {"class_lms_url": "https://elsewhere.example.org/course/7", "class_lms_url_confirmation": None},
        expected_version=linked["version"],
        at=clock.iso(clock.now()),
    )
    page = public("GET", "/classes/{class_id}/open", 200, class_id=linked["class_id"])
    assert "elsewhere.example.org" in page.text
    assert public.seen | owner.seen >= PUBLIC_OPERATIONS


# -- the module itself -------------------------------------------------------------------------------


def _examples() -> list[tuple[str, dict[str, Any], Any]]:
    found = [(f"SCHEMAS[{n}]", named(n), s["example"]) for n, s in admin.SCHEMAS.items() if "example" in s]
    for table, entries in (("RESPONSES", admin.RESPONSES), ("REQUESTS", admin.REQUESTS)):
        for (method, path), media in entries.items():
            for name, entry in media.items():
                if "example" in entry:
                    found.append((f"{table}[{method} {path}] {name}", entry["schema"], entry["example"]))
    return found


def test_every_schema_is_valid_and_every_example_matches_it():
    for name, schema in admin.SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        assert name.startswith(PREFIXES) and name not in ("Error", "ContractError"), name
    examples = _examples()
    assert len(examples) > 40
    for where, schema, example in examples:
        assert not problems(schema, example), (where, problems(schema, example))
    for (method, path), media in [*admin.RESPONSES.items(), *admin.REQUESTS.items()]:
        assert all("example" in entry for entry in media.values()), (method, path)


def _without_annotations(schema: Any) -> Any:
    """``schema`` without ``description``/``example`` annotations (property *names* kept)."""
    if isinstance(schema, list):
        return [_without_annotations(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for key, value in schema.items():
        if key in ("description", "example"):
            continue
        if key == "properties":
            out[key] = {name: _without_annotations(s) for name, s in value.items()}
        else:
            out[key] = _without_annotations(value)
    return out


# The request bodies as strict as the generator described them before the schema modules (its BODIES,
# which the fuzz suite was built on), pinned here now that the modules are the only description: a
# module's schema may gain descriptions and examples, never lose a bound.
_URL_OR_NULL = {"type": ["string", "null"], "maxLength": 2048}
_CLASS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "lti_enabled": {"type": "boolean"},
    "class_lms_url": _URL_OR_NULL,
    "class_lms_url_confirmed": {"type": "boolean"},
    "app_launch_url": _URL_OR_NULL,
}
_UNIT = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "position": {"type": "integer", "minimum": 0},
    "app_launch_url": _URL_OR_NULL,
}
_VERSION = {"version": {"type": "integer", "minimum": 1}}
_PLATFORM = {
    "url": {"type": "string", "format": "uri"},
    "clientId": {"type": "string", "maxLength": 255},
    "name": {"type": "string", "maxLength": 200},
    "authenticationEndpoint": {"type": "string", "format": "uri"},
    "accesstokenEndpoint": {"type": "string", "format": "uri"},
    "authorizationServer": {"type": ["string", "null"]},
    "authConfig": {
        "type": "object",
        "required": ["method", "key"],
        "properties": {"method": {"type": "string", "enum": ["JWK_SET", "JWK_KEY", "RSA_KEY"]}, "key": {}},
    },
    "deploymentIds": {"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 255}},
    "allowAnonymous": {"type": "boolean"},
    "active": {"type": "boolean"},
}


def _object(properties: dict[str, Any], required: tuple[str, ...] = (), *, closed: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


PINNED_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/classes"): _object(_CLASS, ("name",)),
    ("PATCH", "/api/classes/{class_id}"): _object(_CLASS | _VERSION),
    ("POST", "/api/classes/{class_id}/units"): _object(_UNIT, ("name",)),
    ("PATCH", "/api/classes/{class_id}/units/{unit_id}"): _object(_UNIT | _VERSION),
    ("POST", "/api/classes/{class_id}/units/reorder"): _object(
        {"unit_ids": {"type": "array", "items": {"type": "string"}}}, ("unit_ids",)
    ),
    ("POST", "/api/platforms"): _object(
        _PLATFORM,
        ("url", "clientId", "name", "authenticationEndpoint", "accesstokenEndpoint", "authConfig"),
        closed=False,
    ),
    ("PUT", "/api/platforms/{platform_id}"): _object(_PLATFORM | _VERSION, closed=False),
    ("POST", "/api/platforms/registration-url"): _object(
        {"expires_in_seconds": {"type": "integer", "minimum": 300, "maximum": 2592000}, "reusable": {"type": "boolean"}}
    ),
}


def test_request_bodies_are_exactly_as_strict_as_the_generators():
    compared = 0
    for key, media in admin.REQUESTS.items():
        schema = media["application/json"]["schema"]
        resolved = admin.SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
        if key in PINNED_BODIES:
            assert _without_annotations(resolved) == _without_annotations(PINNED_BODIES[key]), key
            compared += 1
    assert compared == len(PINNED_BODIES)
    # The decision routes take an empty body or {} only (the handler refuses any field).
    decision = named("Lti11BindingDecision")
    assert not problems(decision, {}) and problems(decision, {"status": "approved"})


def test_the_module_describes_every_operation_of_its_routes():
    mine = ("/api/classes", "/api/lti-settings", "/api/platforms", "/lti/orgs/{org_id}/jwks.json")
    mine_exact = ("/.well-known/jwks.json", "/lti/register/{token}", "/classes/{class_id}/open")
    documented = set()
    for path, operations in DOCUMENT["paths"].items():
        if path.startswith(mine) or path in mine_exact:
            for method, operation in operations.items():
                if "204" not in operation.get("responses", {}):
                    documented.add((method.upper(), path))
    assert set(admin.RESPONSES) == documented
    assert set(admin.REQUESTS) <= documented
    assert set(admin.RESPONSES) == CLASS_OPERATIONS | EXPORT_OPERATIONS | PLATFORM_OPERATIONS | PUBLIC_OPERATIONS


def _example(name: str) -> dict[str, Any]:
    return copy.deepcopy(admin.SCHEMAS[name]["example"])


def _drop(value: dict[str, Any], key: str) -> dict[str, Any]:
    value.pop(key)
    return value


WRONG: list[tuple[str, str, Callable[[], Any]]] = [
    ("a class without launch_url", "Class", lambda: _drop(_example("Class"), "launch_url")),
    ("a class id of another shape", "Class", lambda: {**_example("Class"), "class_id": "class-1"}),
    ("a class without its nullable Class LMS URL", "Class", lambda: _drop(_example("Class"), "class_lms_url")),
    ("a class version of 0", "Class", lambda: {**_example("Class"), "version": 0}),
    ("a context without source", "Class", lambda: {**_example("Class"), "lms_contexts": [{"context_id": "c"}]}),
    ("a non-date created_at", "Class", lambda: {**_example("Class"), "created_at": "yesterday"}),
    ("a unit at position -1", "Unit", lambda: {**_example("Unit"), "position": -1}),
    ("a unit with a null launch_url", "Unit", lambda: {**_example("Unit"), "launch_url": None}),
    ("a page without next", "ClassPage", lambda: {"classes": []}),
    ("a page of units that are not units", "UnitPage", lambda: {"units": [{"unit_id": "x"}], "next": None}),
    (
        "a platform authConfig method it never answers",
        "Platform",
        lambda: {
            **_example("Platform"),
            "authConfig": {"method": "SHARED_SECRET", "key": "k"},
        },
    ),
    ("a platform without publicKey", "Platform", lambda: _drop(_example("Platform"), "publicKey")),
    ("a platform active as text", "Platform", lambda: {**_example("Platform"), "active": "yes"}),
    ("a deleted platform not marked deleted", "PlatformDeleted", lambda: _example("Platform")),
    ("a binding status outside the enum", "Lti11Binding", lambda: {**_example("Lti11Binding"), "status": "maybe"}),
    ("a binding without consumerKey", "Lti11Binding", lambda: _drop(_example("Lti11Binding"), "consumerKey")),
    ("a JWK with a private exponent", "Jwks", lambda: {"keys": [{**_example("JwksKey"), "d": "AQAB"}]}),
    ("a JWK of another algorithm", "JwksKey", lambda: {**_example("JwksKey"), "alg": "HS256"}),
    ("a key set without keys", "Jwks", lambda: {}),
    (
        "a registration URL with a non-date expiry",
        "RegistrationUrl",
        lambda: {
            **_example("RegistrationUrl"),
            "expires_at": "in a week",
        },
    ),
    ("an export of another version", "ExportClassSettings", lambda: {**_example("ExportClassSettings"), "version": 2}),
    ("an export without its LTI 1.3 URLs", "ExportOrgSettings", lambda: _drop(_example("ExportOrgSettings"), "lti13")),
    ("a download without url", "ExportDownload", lambda: _drop(_example("ExportDownload"), "url")),
    ("a download of an unknown format", "ExportDownload", lambda: {**_example("ExportDownload"), "format": "pdf"}),
]


@pytest.mark.parametrize(("name", "schema", "wrong"), WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_answer_is_rejected(name, schema, wrong):
    assert problems(named(schema), wrong()), f"{schema} accepts {name}"


def test_a_wrong_media_type_or_body_fails_the_conformance_check():
    class Fake(requests.Response):
        def __init__(self, content_type: str, body: bytes):
            super().__init__()
            self.headers["Content-Type"] = content_type
            self._content = body
            self.status_code = 200

    klass = json.dumps(_drop(_example("Class"), "launch_url")).encode()
    with pytest.raises(AssertionError, match="launch_url"):
        Api.conforms("GET", CLASS, Fake("application/json", klass))
    leaky = json.dumps({**_example("Class"), "org_id": "org_0123456789abcdef"}).encode()
    with pytest.raises(AssertionError, match=r"does not describe: \['/org_id'\]"):
        Api.conforms("GET", CLASS, Fake("application/json", leaky))
    deleted = json.dumps({**_example("PlatformDeleted"), "authConfig": {"method": "JWK_SET", "key": "k", "x": 1}})
    with pytest.raises(AssertionError, match=r"does not describe: \['/authConfig/x'\]"):
        Api.conforms("DELETE", PLATFORM, Fake("application/json", deleted.encode()))
    with pytest.raises(AssertionError, match="answered text/plain"):
        Api.conforms("GET", CLASS, Fake("text/plain", b"{}"))
    with pytest.raises(AssertionError, match="doctype"):
        Api.conforms("GET", "/lti/register/{token}", Fake("text/html; charset=utf-8", b"{}"))
