"""A stack on a custom domain (template DomainName -> PUBLIC_DOMAIN_NAME) hands out only URLs on that
domain, whatever host a request arrived on (here: the execute-api host of the sample events), and what
LMSs display of the tool (name, description, icon) is the organisation's, else the stack's default.

Through the handlers: the classes API, the tool configuration and Canvas JSON, and every export format.
"""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile
from xml.etree import ElementTree as ET

import pytest

from lti_gateway.core import clock, config, runtime
from lti_gateway.repositories import deps
from tests.support.events import load_event, vary
from tests.support.lambda_context import FakeContext
from tests.support.stack import load_function

EXECUTE_API = "abc123.execute-api.us-east-1.amazonaws.com"  # requestContext.domainName of events/*.json
DOMAIN = "lti.example.edu"
PUBLIC = f"https://{DOMAIN}"
ICON = "https://cdn.example.edu/acme.png"
APP = "https://app.example.com/lti/start"
BLTI = "{http://www.imsglobal.org/xsd/imsbasiclti_v1p0}"
LTICP = "{http://www.imsglobal.org/xsd/imslticp_v1p0}"
URL = re.compile(r"https?://[^\s\"'<>,\\]+")
TOOL_ENV = ("TOOL_NAME", "TOOL_DESCRIPTION", "TOOL_ICON_URL")
# XML namespaces and schemas, LTI scope and claim names: names, not URLs anyone follows.
XML_NAMESPACES = (
    "http://www.imsglobal.org/",
    "https://purl.imsglobal.org/",
    "http://www.w3.org/",
    "http://ltsc.ieee.org/",
)


@pytest.fixture(autouse=True)
def _custom_domain(stack, monkeypatch):
    """What the template gives the functions with DomainName set (and nothing else overriding it)."""
    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("LAUNCH_BASE_URL", raising=False)
    monkeypatch.setenv("PUBLIC_DOMAIN_NAME", DOMAIN)
    for name in TOOL_ENV:
        monkeypatch.delenv(name, raising=False)
    runtime.reset()
    yield
    runtime.reset()


def test_the_sample_events_arrive_on_the_execute_api_host():
    """The premise of every test here: a request on another host than the public one."""
    for name in ("classes-create.json", "tool-configuration.json", "exports-class.json"):
        event = load_event(name)
        assert event["requestContext"]["domainName"] == EXECUTE_API
        assert event["headers"]["host"] == EXECUTE_API


def only_public_urls(text: str) -> list[str]:
    """Every URL in ``text``; fails if one is not on the public domain (or names the execute-api host)."""
    found = URL.findall(text)
    assert found, "no URL at all: the check would prove nothing"
    assert EXECUTE_API not in text
    strays = [u for u in found if not (u == PUBLIC or u.startswith(PUBLIC + "/")) and not u.startswith(XML_NAMESPACES)]
    assert strays == [], strays
    return found


def set_tool(org_id: str, **fields: str | None) -> None:
    """The organisation's tool_name / tool_description / tool_icon_url, written as PATCH /api/org stores them."""
    deps.keys_repo().update_organisation_settings(org_id, fields, clock.iso(clock.now()))


def export(module, api_key: str, class_id: str, fmt: str):
    result = module.lambda_handler(
        vary("exports-class.json", api_key=api_key, path_params={"class_id": class_id}, query={"format": fmt}),
        FakeContext(),
    )
    assert result["statusCode"] == 200, result.get("body")
    raw = result["body"]
    return base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()


@pytest.fixture
def physics(classes_fn, org):
    created = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "Physics"}))
    assert created.status == 201, created.raw
    unit = classes_fn(
        vary(
            "units-create.json",
            api_key=org.api_key,
            path_params={"class_id": created.body["class_id"]},
            body={"name": "Waves"},
        )
    )
    assert unit.status == 201, unit.raw
    return created.body, unit.body


# -- URLs --------------------------------------------------------------------------------------------


def test_class_and_unit_launch_urls_are_on_the_domain(classes_fn, org, physics):
    cls, unit = physics
    assert cls["launch_url"] == f"{PUBLIC}/lti/launch/{cls['class_id']}"
    assert unit["launch_url"] == f"{PUBLIC}/lti/launch/{cls['class_id']}/{unit['unit_id']}"
    for name, path in (("classes-get.json", {"class_id": cls["class_id"]}), ("classes-list.json", None)):
        answer = classes_fn(vary(name, api_key=org.api_key, path_params=path))
        assert answer.status == 200, answer.raw
        only_public_urls(answer.raw)


def test_the_tool_configuration_and_canvas_json_are_on_the_domain(platforms_fn, org):
    for name in ("tool-configuration.json", "tool-configuration-canvas.json"):
        answer = platforms_fn(vary(name, api_key=org.api_key))
        assert answer.status == 200, answer.raw
        urls = only_public_urls(answer.raw)
        assert f"{PUBLIC}/lti/orgs/{org.org_id}/login" in urls
    conf = platforms_fn(vary("tool-configuration.json", api_key=org.api_key)).body
    assert conf["domain"] == DOMAIN
    assert conf["jwks_url"] == f"{PUBLIC}/lti/orgs/{org.org_id}/jwks.json"


def test_a_registration_url_is_on_the_domain(platforms_fn, org):
    answer = platforms_fn(vary("platforms-registration-url.json", api_key=org.api_key, body={}))
    assert answer.status == 201, answer.raw
    assert answer.body["registration_url"].startswith(f"{PUBLIC}/lti/register/")


@pytest.mark.parametrize("fmt", ["csv", "json", "xml"])
def test_exports_are_on_the_domain(org, physics, fmt):
    cls, unit = physics
    text = export(load_function("export"), org.api_key, cls["class_id"], fmt).decode("utf-8-sig")
    urls = only_public_urls(text)
    assert cls["launch_url"] in urls
    if fmt != "xml":
        assert unit["launch_url"] in urls
        assert f"{PUBLIC}/lti/orgs/{org.org_id}/jwks.json" in urls


def test_the_common_cartridge_is_on_the_domain(org, physics):
    cls, unit = physics
    archive = zipfile.ZipFile(io.BytesIO(export(load_function("export"), org.api_key, cls["class_id"], "cc")))
    link = archive.read(f"{unit['unit_id']}.xml").decode()
    assert unit["launch_url"] in only_public_urls(link)
    assert f'<lticm:property name="domain">{DOMAIN}</lticm:property>' in link
    for name in archive.namelist():
        assert EXECUTE_API not in archive.read(name).decode()


def test_the_organisation_export_is_on_the_domain(org, physics):
    result = load_function("export").lambda_handler(
        vary("exports-org.json", api_key=org.api_key, query={"format": "json"}), FakeContext()
    )
    assert result["statusCode"] == 200
    body = base64.b64decode(result["body"]).decode() if result.get("isBase64Encoded") else result["body"]
    only_public_urls(body)


def test_without_a_domain_the_request_host_is_used(classes_fn, org, monkeypatch):
    monkeypatch.delenv("PUBLIC_DOMAIN_NAME")
    runtime.reset()
    created = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "Physics"}))
    assert created.body["launch_url"].startswith(f"https://{EXECUTE_API}/lti/launch/")


def test_an_explicit_public_base_url_wins_over_the_domain(classes_fn, org, monkeypatch):
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://proxy.example.edu/lti")
    runtime.reset()
    created = classes_fn(vary("classes-create.json", api_key=org.api_key, body={"name": "Physics"}))
    assert created.body["launch_url"].startswith("https://proxy.example.edu/lti/lti/launch/")


# -- what LMSs display of the tool --------------------------------------------------------------------


def tool_answers(platforms_fn, org) -> tuple[dict, dict]:
    conf = platforms_fn(vary("tool-configuration.json", api_key=org.api_key))
    canvas = platforms_fn(vary("tool-configuration-canvas.json", api_key=org.api_key))
    assert conf.status == canvas.status == 200, (conf.raw, canvas.raw)
    return conf.body, canvas.body


def test_the_stack_default_tool_name_without_organisation_settings(platforms_fn, org):
    conf, canvas = tool_answers(platforms_fn, org)
    assert (conf["title"], canvas["title"]) == ("LTI Gateway", "LTI Gateway")
    assert conf["description"] == canvas["description"]
    assert "icon_url" not in conf and "icon_url" not in canvas["extensions"][0]["settings"]
    assert {m["label"] for m in conf["messages"]} == {"LTI Gateway"}


def test_the_stack_default_comes_from_the_template_parameters(platforms_fn, org, monkeypatch):
    monkeypatch.setenv("TOOL_NAME", "State University Labs")
    monkeypatch.setenv("TOOL_DESCRIPTION", "Labs for every course.")
    monkeypatch.setenv("TOOL_ICON_URL", "https://cdn.example.edu/labs.png")
    runtime.reset()
    conf, canvas = tool_answers(platforms_fn, org)
    assert conf["title"] == canvas["title"] == "State University Labs"
    assert conf["description"] == canvas["description"] == "Labs for every course."
    assert conf["icon_url"] == canvas["extensions"][0]["settings"]["icon_url"] == "https://cdn.example.edu/labs.png"


def test_the_organisations_tool_name_description_and_icon(platforms_fn, org, make_org):
    set_tool(org.org_id, tool_name="Acme Labs", tool_description="Acme's virtual labs.", tool_icon_url=ICON)
    other = make_org("Other University")

    conf, canvas = tool_answers(platforms_fn, org)
    assert (conf["title"], conf["description"], conf["icon_url"]) == ("Acme Labs", "Acme's virtual labs.", ICON)
    assert {m["label"] for m in conf["messages"]} == {"Acme Labs"}
    assert {m["icon_uri"] for m in conf["messages"]} == {ICON}
    assert (canvas["title"], canvas["description"]) == ("Acme Labs", "Acme's virtual labs.")
    settings = canvas["extensions"][0]["settings"]
    assert (settings["text"], settings["icon_url"]) == ("Acme Labs", ICON)
    assert {p["text"] for p in settings["placements"]} == {"Acme Labs"}
    # Another organisation of the stack keeps the stack's defaults.
    theirs, _ = tool_answers(platforms_fn, other)
    assert theirs["title"] == "LTI Gateway" and "icon_url" not in theirs
    assert "Acme" not in json.dumps(theirs)


def test_a_partial_setting_falls_back_field_by_field(platforms_fn, org):
    set_tool(org.org_id, tool_name="Acme Labs")
    conf, _ = tool_answers(platforms_fn, org)
    assert conf["title"] == "Acme Labs"
    assert conf["description"] == config.DEFAULT_TOOL_DESCRIPTION
    assert "icon_url" not in conf


def _link(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)  # noqa: S314 - our own output, no DTD


def test_exported_links_carry_the_organisations_name_and_icon(org, physics):
    set_tool(org.org_id, tool_name="Acme Labs", tool_description="Acme's virtual labs.", tool_icon_url=ICON)
    cls, unit = physics
    module = load_function("export")

    config_xml = _link(export(module, org.api_key, cls["class_id"], "xml"))
    assert config_xml.findtext(f"{BLTI}title") == "Physics"
    assert config_xml.findtext(f"{BLTI}description") == "Acme's virtual labs."
    assert config_xml.findtext(f"{BLTI}icon") == config_xml.findtext(f"{BLTI}secure_icon") == ICON
    assert config_xml.findtext(f"{BLTI}vendor/{LTICP}name") == "Acme Labs"
    order = [child.tag.split("}")[1] for child in config_xml]
    assert order.index("secure_launch_url") < order.index("icon") < order.index("secure_icon") < order.index("vendor")

    archive = zipfile.ZipFile(io.BytesIO(export(module, org.api_key, cls["class_id"], "cc")))
    link = _link(archive.read(f"{unit['unit_id']}.xml"))
    assert link.findtext(f"{BLTI}title") == "Waves"
    assert link.findtext(f"{BLTI}icon") == ICON
    assert link.findtext(f"{BLTI}vendor/{LTICP}name") == "Acme Labs"

    unit_xml = module.lambda_handler(
        vary(
            "exports-unit-config.json",
            api_key=org.api_key,
            path_params={"class_id": cls["class_id"], "unit_id": unit["unit_id"]},
        ),
        FakeContext(),
    )
    assert unit_xml["statusCode"] == 200
    body = base64.b64decode(unit_xml["body"]) if unit_xml.get("isBase64Encoded") else unit_xml["body"].encode()
    assert _link(body).findtext(f"{BLTI}vendor/{LTICP}name") == "Acme Labs"


def test_exported_links_without_settings_carry_the_stack_default(org, physics):
    cls, _unit = physics
    config_xml = _link(export(load_function("export"), org.api_key, cls["class_id"], "xml"))
    assert config_xml.findtext(f"{BLTI}vendor/{LTICP}name") == "LTI Gateway"
    assert config_xml.find(f"{BLTI}icon") is None
    assert config_xml.findtext(f"{BLTI}description") == config.DEFAULT_TOOL_DESCRIPTION


def test_the_export_reads_only_the_tool_attributes_of_the_organisation(org, physics):
    """The export function's IAM policy allows the organisation's tool attributes only (projected)."""
    from lti_gateway.repositories.aws import dynamodb

    set_tool(org.org_id, tool_name="Acme Labs")
    requests: list[dict] = []

    def record(params, **_):
        if "ORG#" in json.dumps(params["Key"], default=str):
            requests.append(params)

    client = dynamodb().meta.client
    client.meta.events.register("before-parameter-build.dynamodb.GetItem", record)
    try:
        export(load_function("export"), org.api_key, physics[0]["class_id"], "cc")
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.GetItem", record)
    assert requests, "the export read no organisation"
    for params in requests:
        names = set(params["ExpressionAttributeNames"].values())
        assert names == {"tool_name", "tool_description", "tool_icon_url"}


# -- launches keep verifying on either host ------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        DOMAIN,  # the launch URL handed out now, signed by the LMS against the domain
        EXECUTE_API,  # a course set up before the move: the execute-api URL still answers
    ],
)
def test_an_lti11_launch_verifies_on_the_host_the_lms_signed(org, physics, host):
    from urllib.parse import urlsplit

    from lti_gateway.admin import orgs
    from lti_gateway.lti11 import consumer_keys
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import launch_event, sign_launch

    _cls, unit = physics
    orgs.update_settings(orgs.Principal(org.org_id, org.credential_id, "owner"), {"app_launch_url": APP})
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    path = urlsplit(unit["launch_url"]).path
    assert unit["launch_url"] == f"{PUBLIC}{path}"
    url = f"https://{host}{path}"

    signed = sign_launch(url, CANVAS, consumer_key=key["key"], secret=key["secret"])
    launch = load_function("launch").lambda_handler(launch_event(signed, host=host, raw_path=path), FakeContext())

    assert launch["statusCode"] == 302, launch.get("body")
    assert launch["headers"]["Location"].startswith(APP + "?ltik=")


def test_an_lti11_launch_signed_for_another_host_is_refused(org, physics):
    """The signature covers the URL: a launch signed for the domain but arriving elsewhere fails."""
    from urllib.parse import urlsplit

    from lti_gateway.admin import orgs
    from lti_gateway.lti11 import consumer_keys
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import launch_event, sign_launch

    _cls, unit = physics
    orgs.update_settings(orgs.Principal(org.org_id, org.credential_id, "owner"), {"app_launch_url": APP})
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    path = urlsplit(unit["launch_url"]).path
    signed = sign_launch(f"{PUBLIC}{path}", CANVAS, consumer_key=key["key"], secret=key["secret"])
    launch = load_function("launch").lambda_handler(
        launch_event(signed, host=EXECUTE_API, raw_path=path), FakeContext()
    )
    assert launch["statusCode"] == 401, launch.get("body")
