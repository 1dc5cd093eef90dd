"""The export function end to end on moto: CSV, JSON, Common Cartridge and LTI 1.1 XML exports of a
class's LTI settings, the organisation-level export, access rules, content negotiation, 10,000 units
streamed page by page, the S3 hand-over of large exports, and a CSV launch URL launched for real."""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from urllib.parse import parse_qs, unquote, urlsplit
from xml.etree import ElementTree as ET

import boto3
import pytest

from lti_gateway.admin import classes, orgs
from lti_gateway.core import config
from lti_gateway.lti11 import consumer_keys
from lti_gateway.repositories import aws, deps
from lti_gateway.repositories.schema import class_pk, unit_order_key, unit_sk, units_partition
from tests.support.events import vary
from tests.support.lambda_context import FakeContext
from tests.support.stack import load_function

HOST = "abc123.execute-api.us-east-1.amazonaws.com"  # requestContext.domainName of events/*.json
BASE = f"https://{HOST}"
APP = "https://app.example.com/lti/start"
CC = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
BLTI = "{http://www.imsglobal.org/xsd/imsbasiclti_v1p0}"
LTICM = "{http://www.imsglobal.org/xsd/imslticm_v1p0}"
LTICC = "{http://www.imsglobal.org/xsd/imslticc_v1p0}"


@pytest.fixture(autouse=True)
def _settings(stack, monkeypatch):
    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("EXPORT_INLINE_MAX_BYTES", raising=False)
    config.settings.cache_clear()
    deps.export_files.cache_clear()
    yield
    config.settings.cache_clear()
    deps.export_files.cache_clear()


def parse_xml(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own output, no DTD


class Answer:
    def __init__(self, result: dict):
        self.status = result["statusCode"]
        self.headers = {k.lower(): v for k, v in (result.get("headers") or {}).items()}
        raw = result.get("body") or ""
        self.data = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        self.base64 = bool(result.get("isBase64Encoded"))

    def json(self):
        return json.loads(self.data)

    def text(self) -> str:
        return self.data.decode("utf-8-sig")

    def csv_rows(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.text(), newline="")))

    def zip(self) -> zipfile.ZipFile:
        return zipfile.ZipFile(io.BytesIO(self.data))


@pytest.fixture
def export_fn(stack):
    module = load_function("export")
    return lambda event: Answer(module.lambda_handler(event, FakeContext()))


def principal_of(org, role: str = "owner") -> orgs.Principal:
    return orgs.Principal(org.org_id, org.credential_id, role)


def new_class(org, name: str = "Physics 101", **fields) -> dict:
    return classes.create_class(principal_of(org), {"name": name, **fields}, base=BASE)


def new_units(org, class_id: str, names) -> list[dict]:
    return [classes.create_unit(principal_of(org), class_id, {"name": n}, base=BASE) for n in names]


def export_class(export_fn, api_key, class_id, *, fmt: str | None = "csv", accept: str | None = None):
    query = {} if fmt is None else {"format": fmt}
    headers = {"accept": accept}
    return export_fn(
        vary("exports-class.json", api_key=api_key, path_params={"class_id": class_id}, query=query, headers=headers)
    )


def export_org(export_fn, api_key, *, fmt: str | None = "csv", accept: str | None = None):
    query = {} if fmt is None else {"format": fmt}
    return export_fn(vary("exports-org.json", api_key=api_key, query=query, headers={"accept": accept}))


def unit_config(export_fn, api_key, class_id, unit_id):
    return export_fn(
        vary("exports-unit-config.json", api_key=api_key, path_params={"class_id": class_id, "unit_id": unit_id})
    )


def member_key(org) -> str:
    return orgs.create_credential(principal_of(org), {"role": "member"})["api_key"]


def manifest_of(archive: zipfile.ZipFile) -> ET.Element:
    return parse_xml(archive.read("imsmanifest.xml"))


# -- CSV ---------------------------------------------------------------------------------------------


def test_an_empty_class_exports_its_class_row_and_the_organisation_settings(org, export_fn):
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    cls = new_class(org, class_lms_url="https://lms.example.edu/courses/7", class_lms_url_confirmed=True)

    answer = export_class(export_fn, org.api_key, cls["class_id"])

    assert answer.status == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].startswith('attachment; filename="Physics-101-lti-settings.csv"')
    assert answer.headers["cache-control"] == "no-store"
    assert answer.data.startswith(b"\xef\xbb\xbf")  # utf-8-sig: Excel reads UTF-8
    assert b"\r\n" in answer.data and answer.data.count(b"\r\n") == 2  # RFC 4180 line ends; header + 1 row
    [row] = answer.csv_rows()
    assert row["row_type"] == "class"
    assert row["class_id"] == cls["class_id"]
    assert row["class_name"] == "Physics 101"
    assert row["lti11_launch_url"] == row["lti13_target_link_uri"] == cls["launch_url"]
    assert row["class_lms_url"] == "https://lms.example.edu/courses/7"
    assert row["consumer_keys"] == key["key"]
    assert row["consumer_key_labels"] == "Canvas"
    # The organisation's own LTI 1.3 URLs (a login there matches its registrations only).
    assert row["lti13_login_url"] == f"{BASE}/lti/orgs/{org.org_id}/login"
    assert row["lti13_redirect_url"] == f"{BASE}/lti/orgs/{org.org_id}/launch"
    assert row["lti13_jwks_url"] == f"{BASE}/lti/orgs/{org.org_id}/jwks.json"
    assert row["unit_id"] == row["unit_name"] == row["position"] == ""


def test_one_unit(org, export_fn):
    cls = new_class(org)
    [unit] = new_units(org, cls["class_id"], ["Waves"])

    rows = export_class(export_fn, org.api_key, cls["class_id"]).csv_rows()

    assert [r["row_type"] for r in rows] == ["class", "unit"]
    assert rows[1] | {} == {
        **dict.fromkeys(rows[1], ""),
        "row_type": "unit",
        "class_id": cls["class_id"],
        "class_name": "Physics 101",
        "unit_id": unit["unit_id"],
        "unit_name": "Waves",
        "position": "0",
        "lti11_launch_url": unit["launch_url"],
        "lti13_target_link_uri": unit["launch_url"],
    }


TRICKY = [
    'Quotes "inside" here',
    "Commas, semicolons; and pipes | inside",
    "Zoë Ñúñez-O'Connor 🧪 日本語 العربية",
    '=HYPERLINK("http://evil.example","click")',
    "+1+2",
    "-2+3",
    "@SUM(A1:A2)",
    "Plain & <xml> ]]> name",
]


def test_names_with_commas_quotes_unicode_and_formula_prefixes_survive_and_never_run(org, export_fn):
    cls = new_class(org, name="=cmd|' /C calc'!A0")
    units = new_units(org, cls["class_id"], TRICKY)

    answer = export_class(export_fn, org.api_key, cls["class_id"])
    rows = answer.csv_rows()[1:]

    formula = ("=", "+", "-", "@", "\t", "\r")
    expected = [("'" + u["name"]) if u["name"].startswith(formula) else u["name"] for u in units]
    assert [r["unit_name"] for r in rows] == expected
    assert {r["class_name"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    for row in answer.csv_rows():
        assert not any(cell.startswith(formula) for cell in row.values()), row
    assert answer.headers["content-disposition"].startswith('attachment; filename="cmd-C-calc-A0-lti-settings.csv"')


def test_a_class_with_no_ascii_in_its_name_is_named_by_its_id(org, export_fn):
    cls = new_class(org, name="日本語")
    answer = export_class(export_fn, org.api_key, cls["class_id"])
    disposition = answer.headers["content-disposition"]
    assert f'filename="{cls["class_id"]}-lti-settings.csv"' in disposition


# -- JSON and content negotiation ---------------------------------------------------------------------


def test_json_nests_the_units_in_order_with_both_lti_urls(org, export_fn):
    key = consumer_keys.create_consumer_key(org.org_id, label="Moodle")
    cls = new_class(org)
    units = new_units(org, cls["class_id"], ["A", "B", "C"])

    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt="json")

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["class"] == {
        "class_id": cls["class_id"],
        "name": "Physics 101",
        "lti_enabled": True,
        "launch_url": cls["launch_url"],
        "lti13_target_link_uri": cls["launch_url"],
        "class_lms_url": None,
    }
    assert body["consumer_keys"] == [{"key": key["key"], "label": "Moodle"}]
    assert body["lti13"] == {
        "login_url": f"{BASE}/lti/orgs/{org.org_id}/login",
        "redirect_url": f"{BASE}/lti/orgs/{org.org_id}/launch",
        "jwks_url": f"{BASE}/lti/orgs/{org.org_id}/jwks.json",
    }
    assert body["units"] == [
        {
            "unit_id": u["unit_id"],
            "name": u["name"],
            "position": i,
            "lti11_launch_url": u["launch_url"],
            "lti13_target_link_uri": u["launch_url"],
        }
        for i, u in enumerate(units)
    ]
    assert body["unit_count"] == 3


def test_an_empty_class_in_json(org, export_fn):
    cls = new_class(org)
    body = export_class(export_fn, org.api_key, cls["class_id"], fmt="json").json()
    assert body["units"] == [] and body["unit_count"] == 0 and body["consumer_keys"] == []


@pytest.mark.parametrize(
    ("accept", "expected_type"),
    [
        ("text/csv", "text/csv; charset=utf-8"),
        ("application/json", "application/json"),
        ("application/vnd.ims.imsccv1p1", "application/vnd.ims.imsccv1p1"),
        ("application/zip", "application/vnd.ims.imsccv1p1"),
        ("application/xml", "application/xml"),
        ("text/html, application/xml;q=0.9, */*;q=0.8", "application/xml"),
        ("application/json;q=0.2, text/csv;q=0.9", "text/csv; charset=utf-8"),
        ("text/*", "text/csv; charset=utf-8"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
def test_accept_chooses_the_format_when_no_format_is_named(org, export_fn, accept, expected_type):
    cls = new_class(org)
    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt=None, accept=accept)
    assert answer.status == 200
    assert answer.headers["content-type"] == expected_type


def test_format_wins_over_accept(org, export_fn):
    cls = new_class(org)
    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt="CSV", accept="application/json")
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"


@pytest.mark.parametrize("fmt", ["pdf", "", "xlsx", "csv;", "../json"])
def test_an_unknown_format_is_a_400(org, export_fn, fmt):
    cls = new_class(org)
    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt=fmt)
    assert answer.status == 400
    assert answer.json() == {"error": "unsupported_format", "details": {"format": "must be one of csv, json, cc, xml"}}


@pytest.mark.parametrize("accept", ["image/png", "text/html", "application/json;q=0, text/csv;q=0"])
def test_an_unsatisfiable_accept_is_a_406(org, export_fn, accept):
    cls = new_class(org)
    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt=None, accept=accept)
    assert answer.status == 406
    assert answer.json()["error"] == "not_acceptable"


# -- who may export -----------------------------------------------------------------------------------


def test_members_export_their_organisations_classes_too(org, export_fn):
    cls = new_class(org)
    new_units(org, cls["class_id"], ["A"])
    answer = export_class(export_fn, member_key(org), cls["class_id"])
    assert answer.status == 200
    assert len(answer.csv_rows()) == 2


def test_another_organisations_class_is_not_found_like_an_unknown_one(make_org, export_fn):
    acme, other = make_org("Acme"), make_org("Other")
    cls = new_class(acme)

    foreign = export_class(export_fn, other.api_key, cls["class_id"])
    unknown = export_class(export_fn, acme.api_key, "cls_0000000000000000")
    malformed = export_class(export_fn, acme.api_key, "cls_../../etc")

    for answer in (foreign, unknown, malformed):
        assert answer.status == 404
        assert answer.json() == {"error": "not_found", "details": {"class_id": "no such class"}}


def test_no_or_a_bad_api_key_is_a_401(org, export_fn):
    cls = new_class(org)
    event = vary("exports-class.json", path_params={"class_id": cls["class_id"]}, headers={"authorization": None})
    assert export_fn(event).status == 401
    assert export_class(export_fn, org.api_key + "x", cls["class_id"]).status == 401


# -- the organisation export ------------------------------------------------------------------------


def test_owners_export_every_class_of_their_organisation(make_org, export_fn):
    acme, other = make_org("Acme"), make_org("Other")
    first, second = new_class(acme, name="First"), new_class(acme, name="Second")
    a = new_units(acme, first["class_id"], ["A1", "A2"])
    b = new_units(acme, second["class_id"], ["B1"])
    new_units(other, new_class(other, name="Elsewhere")["class_id"], ["X"])

    rows = export_org(export_fn, acme.api_key).csv_rows()
    body = export_org(export_fn, acme.api_key, fmt="json").json()

    # Classes come in creation order (ties within a second by id); each class row is followed by its units.
    order = [r["class_name"] for r in rows if r["row_type"] == "class"]
    assert sorted(order) == ["First", "Second"]
    expected = {"First": [("class", ""), ("unit", "A1"), ("unit", "A2")], "Second": [("class", ""), ("unit", "B1")]}
    assert [(r["row_type"], r["class_name"], r["unit_name"]) for r in rows] == [
        (kind, name, unit) for name in order for kind, unit in expected[name]
    ]
    assert body["org_id"] == acme.org_id
    assert body["class_count"] == 2
    by_id = {first["class_id"]: a, second["class_id"]: b}
    assert sorted(c["class_id"] for c in body["classes"]) == sorted(by_id)
    for exported in body["classes"]:
        assert [u["unit_id"] for u in exported["units"]] == [u["unit_id"] for u in by_id[exported["class_id"]]]


def test_the_organisation_export_is_for_owners_and_csv_or_json_only(org, export_fn):
    member = export_org(export_fn, member_key(org))
    assert member.status == 403
    assert member.json()["error"] == "owner_role_required"
    cc = export_org(export_fn, org.api_key, fmt="cc")
    assert cc.status == 400
    assert cc.json()["details"] == {"format": "must be one of csv, json"}
    assert export_org(export_fn, org.api_key, fmt=None, accept="application/zip").status == 406


def test_an_organisation_without_classes_exports_just_the_header(org, export_fn):
    answer = export_org(export_fn, org.api_key)
    assert answer.status == 200
    assert answer.csv_rows() == []
    assert export_org(export_fn, org.api_key, fmt="json").json()["classes"] == []


# -- Common Cartridge ---------------------------------------------------------------------------------


def test_the_cartridge_unzips_and_lists_every_unit_once_in_order_with_its_launch_url(org, export_fn):
    cls = new_class(org, name="Physics & <Chemistry>")
    units = new_units(org, cls["class_id"], ["Waves", *TRICKY])

    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt="cc")

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/vnd.ims.imsccv1p1"
    assert 'filename="Physics-Chemistry-lti-settings.imscc"' in answer.headers["content-disposition"]
    archive = answer.zip()
    assert archive.testzip() is None
    manifest = manifest_of(archive)
    assert manifest.tag == f"{CC}manifest"
    assert manifest.findtext(f"{CC}metadata/{CC}schema") == "IMS Common Cartridge"
    assert manifest.findtext(f"{CC}metadata/{CC}schemaversion") == "1.1.0"
    [organization] = manifest.findall(f"{CC}organizations/{CC}organization")
    assert organization.get("structure") == "rooted-hierarchy"
    [root] = organization.findall(f"{CC}item")
    [class_item] = root.findall(f"{CC}item")
    assert class_item.findtext(f"{CC}title") == "Physics & <Chemistry>"
    unit_items = class_item.findall(f"{CC}item")
    assert [i.findtext(f"{CC}title") for i in unit_items] == [u["name"] for u in units]
    resources = {r.get("identifier"): r for r in manifest.findall(f"{CC}resources/{CC}resource")}
    assert len(resources) == len(units)
    identifiers = [i.get("identifier") for i in manifest.iter(f"{CC}item")] + list(resources)
    assert len(identifiers) == len(set(identifiers))  # xs:ID: unique in the manifest
    launch_urls = []
    for item, unit in zip(unit_items, units, strict=True):
        resource = resources[item.get("identifierref")]
        assert resource.get("type") == "imsbasiclti_xmlv1p0"
        [file] = resource.findall(f"{CC}file")
        link = parse_xml(archive.read(file.get("href")))
        assert link.tag == f"{LTICC}cartridge_basiclti_link"
        assert link.findtext(f"{BLTI}title") == unit["name"]
        assert link.findtext(f"{BLTI}launch_url") == unit["launch_url"]
        assert link.findtext(f"{BLTI}secure_launch_url") == unit["launch_url"]
        assert link.findtext(f"{BLTI}vendor/{{http://www.imsglobal.org/xsd/imslticp_v1p0}}code") == "lti-gateway"
        launch_urls.append(link.findtext(f"{BLTI}launch_url"))
    assert sorted(launch_urls) == sorted({u["launch_url"] for u in units})
    assert set(archive.namelist()) == {"imsmanifest.xml"} | {f"{u['unit_id']}.xml" for u in units}


def test_cartridge_links_carry_the_canvas_extensions(org, export_fn):
    cls = new_class(org)
    [unit] = new_units(org, cls["class_id"], ["Waves"])
    archive = export_class(export_fn, org.api_key, cls["class_id"], fmt="cc").zip()
    link = parse_xml(archive.read(f"{unit['unit_id']}.xml"))
    [canvas] = link.findall(f"{BLTI}extensions")
    assert canvas.get("platform") == "canvas.instructure.com"
    properties = {p.get("name"): p.text for p in canvas.findall(f"{LTICM}property")}
    assert properties == {"privacy_level": "public", "domain": HOST}
    [navigation] = canvas.findall(f"{LTICM}options")
    assert navigation.get("name") == "course_navigation"
    assert {p.get("name"): p.text for p in navigation.findall(f"{LTICM}property")} == {"enabled": "false"}


def test_an_empty_class_makes_a_valid_empty_cartridge(org, export_fn):
    cls = new_class(org)
    archive = export_class(export_fn, org.api_key, cls["class_id"], fmt="cc").zip()
    manifest = manifest_of(archive)
    [class_item] = manifest.findall(f"{CC}organizations/{CC}organization/{CC}item/{CC}item")
    assert class_item.findall(f"{CC}item") == []
    assert manifest.findall(f"{CC}resources/{CC}resource") == []
    assert archive.namelist() == ["imsmanifest.xml"]


# -- LTI 1.1 XML configurations ----------------------------------------------------------------------


def test_the_class_xml_configuration_is_a_cartridge_basiclti_link(org, export_fn):
    cls = new_class(org, name="Physics & Co")
    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt="xml")
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/xml"
    assert answer.data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    link = parse_xml(answer.data)
    assert link.tag == f"{LTICC}cartridge_basiclti_link"
    assert link.findtext(f"{BLTI}title") == "Physics & Co"
    assert link.findtext(f"{BLTI}launch_url") == cls["launch_url"]
    order = [child.tag.split("}")[1] for child in link]
    assert order == ["title", "description", "extensions", "launch_url", "secure_launch_url", "vendor"]


def test_a_units_xml_configuration(make_org, export_fn):
    acme, other = make_org("Acme"), make_org("Other")
    cls = new_class(acme)
    [unit] = new_units(acme, cls["class_id"], ["Waves"])

    answer = unit_config(export_fn, member_key(acme), cls["class_id"], unit["unit_id"])

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/xml"
    link = parse_xml(answer.data)
    assert link.findtext(f"{BLTI}title") == "Waves"
    assert link.findtext(f"{BLTI}launch_url") == unit["launch_url"]
    assert unit_config(export_fn, other.api_key, cls["class_id"], unit["unit_id"]).status == 404
    assert unit_config(export_fn, acme.api_key, cls["class_id"], "unt_0000000000000000").status == 404


# -- scale: 10,000 units, one Query per page -----------------------------------------------------------


def seed_units(stack, org, class_id: str, count: int) -> list[str]:
    """Units written straight into the table (the API's 10,000 transactions would take minutes on moto),
    in the layout the classes repository writes. Positions are shuffled against creation order."""
    table = boto3.resource("dynamodb").Table(stack["CLASSES_TABLE"])
    ids = [f"unt_{i:016x}" for i in range(count)]
    with table.batch_writer() as batch:
        for position, unit_id in reversed(list(enumerate(ids))):
            seq = count - position
            batch.put_item(
                Item={
                    "pk": class_pk(class_id),
                    "sk": unit_sk(unit_id),
                    "kind": "unit",
                    "gsi1pk": units_partition(class_id),
                    "gsi1sk": unit_order_key(position, seq, unit_id),
                    "unit_id": unit_id,
                    "class_id": class_id,
                    "org_id": org.org_id,
                    "name": f'Unit {position}, "part" {position % 7}',
                    "position": position,
                    "seq": seq,
                    "version": 1,
                    "created_at": "2026-01-01T00:00:00Z",
                }
            )
    return ids


class CallCounter:
    """Every DynamoDB operation this process sends, by name (both boto3 clients the code uses)."""

    def __init__(self):
        self.calls: list[str] = []
        self._clients = [aws.dynamodb().meta.client, aws.dynamodb_client()]
        for client in self._clients:
            client.meta.events.register("before-call.dynamodb", self._count)

    def _count(self, model, **_):
        self.calls.append(model.name)

    def close(self):
        for client in self._clients:
            client.meta.events.unregister("before-call.dynamodb", self._count)


def test_ten_thousand_units_stream_in_order_one_query_per_page(stack, org, export_fn):
    cls = new_class(org)
    ids = seed_units(stack, org, cls["class_id"], 10_000)
    counter = CallCounter()
    try:
        answer = export_class(export_fn, org.api_key, cls["class_id"])
    finally:
        counter.close()

    assert answer.status == 200
    rows = answer.csv_rows()[1:]
    assert [r["unit_id"] for r in rows] == ids
    assert [int(r["position"]) for r in rows] == list(range(10_000))
    assert rows[42]["unit_name"] == 'Unit 42, "part" 0'
    assert "Scan" not in counter.calls
    # API key (read, first use recorded), class, consumer keys, then the units: one Query per page.
    assert counter.calls[:4] == ["GetItem", "UpdateItem", "GetItem", "Query"]
    unit_queries = counter.calls[4:]
    assert set(unit_queries) == {"Query"}
    page = deps.exports_repo().page_size
    # 10 full pages; DynamoDB may answer an 11th, empty one (the 10th still carried a LastEvaluatedKey).
    assert 10_000 // page <= len(unit_queries) <= 10_000 // page + 1


def test_pages_are_queried_lazily_as_rows_are_written(stack, org):
    cls = new_class(org)
    seed_units(stack, org, cls["class_id"], 2_500)
    repo = deps.exports_repo()
    counter = CallCounter()
    try:
        units = repo.units(cls["class_id"])
        first = [next(units) for _ in range(repo.page_size)]
        assert counter.calls == ["Query"]
        next(units)
        assert counter.calls == ["Query", "Query"]
        rest = list(units)
    finally:
        counter.close()
    assert len(first) + 1 + len(rest) == 2_500
    assert counter.calls == ["Query"] * 3


# -- large exports go through S3 -----------------------------------------------------------------------


def test_an_export_too_large_to_answer_is_handed_over_through_a_presigned_url(stack, org, export_fn, monkeypatch):
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "2000")
    config.settings.cache_clear()
    cls = new_class(org, name="Big Class")
    units = new_units(org, cls["class_id"], [f"Unit {i}" for i in range(12)])

    answer = export_class(export_fn, org.api_key, cls["class_id"], fmt="cc")

    assert answer.status == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"url", "expires_in", "format", "filename", "bytes", "units"}
    assert body["expires_in"] == 900
    assert body["format"] == "cc"
    assert body["filename"] == "Big-Class-lti-settings.imscc"
    assert body["units"] == 12 and body["bytes"] > 1500
    url = urlsplit(body["url"])
    query = parse_qs(url.query)
    assert url.scheme == "https"
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    bucket = stack["EXPORTS_BUCKET"]
    assert url.netloc.startswith(f"{bucket}.s3.")
    key = unquote(url.path.lstrip("/"))
    assert key.startswith(f"exports/{org.org_id}/") and key.endswith("/Big-Class-lti-settings.imscc")
    stored = boto3.client("s3").get_object(Bucket=bucket, Key=key)
    assert stored["ContentType"] == "application/vnd.ims.imsccv1p1"
    assert stored["ContentDisposition"].startswith('attachment; filename="Big-Class-lti-settings.imscc"')
    assert stored["ServerSideEncryption"] == "AES256"
    archive = zipfile.ZipFile(io.BytesIO(stored["Body"].read()))
    titles = [i.findtext(f"{CC}title") for i in manifest_of(archive).iter(f"{CC}item") if i.get("identifierref")]
    assert titles == [u["name"] for u in units]


def test_an_export_that_fits_is_answered_inline(org, export_fn, monkeypatch):
    cls = new_class(org)
    new_units(org, cls["class_id"], ["A"])
    size = len(export_class(export_fn, org.api_key, cls["class_id"]).data)
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", str((size + 2) // 3 * 4))  # exactly its base64 length
    config.settings.cache_clear()
    answer = export_class(export_fn, org.api_key, cls["class_id"])
    assert answer.base64 and answer.headers["content-type"].startswith("text/csv")
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", str((size + 2) // 3 * 4 - 1))
    config.settings.cache_clear()
    assert "url" in export_class(export_fn, org.api_key, cls["class_id"]).json()


def test_without_an_exports_bucket_a_large_export_is_refused_not_crashed(org, export_fn, monkeypatch):
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "100")
    monkeypatch.delenv("EXPORTS_BUCKET")
    config.settings.cache_clear()
    deps.export_files.cache_clear()
    cls = new_class(org)
    answer = export_class(export_fn, org.api_key, cls["class_id"])
    assert answer.status == 413
    assert answer.json()["error"] == "export_too_large"


# -- secrets ----------------------------------------------------------------------------------------


def test_no_export_carries_a_secret(stack, org, export_fn, monkeypatch):
    secret = "s3cr3t-shared-secret-0123456789abcdef"
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas", key="acme-canvas-key-01", secret=secret)
    revoked = consumer_keys.create_consumer_key(org.org_id, label="Old")
    consumer_keys.revoke_key(principal_of(org), revoked["key"])
    cls = new_class(org)
    [unit] = new_units(org, cls["class_id"], ["Waves"])
    api_secret = org.api_key.split(".", 1)[1]

    answers = [export_class(export_fn, org.api_key, cls["class_id"], fmt=f) for f in ("csv", "json", "cc", "xml")]
    answers += [export_org(export_fn, org.api_key, fmt=f) for f in ("csv", "json")]
    answers.append(unit_config(export_fn, org.api_key, cls["class_id"], unit["unit_id"]))
    monkeypatch.setenv("EXPORT_INLINE_MAX_BYTES", "10")
    config.settings.cache_clear()
    handed_over = export_class(export_fn, org.api_key, cls["class_id"], fmt="json").json()
    bucket_objects = boto3.client("s3").list_objects_v2(Bucket=stack["EXPORTS_BUCKET"])["Contents"]

    texts = [a.data for a in answers]
    for answer in answers:
        if answer.data.startswith(b"PK"):
            texts += [answer.zip().read(name) for name in answer.zip().namelist()]
    texts += [
        boto3.client("s3").get_object(Bucket=stack["EXPORTS_BUCKET"], Key=o["Key"])["Body"].read()
        for o in bucket_objects
    ]
    texts.append(json.dumps(handed_over).encode())
    assert key["key"].encode() in answers[0].data  # the key itself is shown …
    for text in texts:
        assert secret.encode() not in text  # … never its secret
        assert api_secret.encode() not in text
        assert b"secret" not in text.lower()
        assert revoked["key"].encode() not in text  # revoked keys are not offered for pasting


# -- round trip: a launch URL from the CSV launches that unit ------------------------------------------


def test_a_unit_launch_url_from_the_csv_launches_that_unit(stack, org, export_fn):
    from tests.peers.lms_params import CANVAS
    from tests.peers.oauth1_signer import launch_event, sign_launch

    orgs.update_settings(principal_of(org), {"app_launch_url": APP})
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    cls = new_class(org)
    units = new_units(org, cls["class_id"], ["Intro", "Waves", "Optics"])
    rows = export_class(export_fn, org.api_key, cls["class_id"]).csv_rows()
    [row] = [r for r in rows if r["unit_name"] == "Waves"]
    assert rows[0]["consumer_keys"] == key["key"]

    url = row["lti11_launch_url"]
    signed = sign_launch(url, CANVAS, consumer_key=rows[0]["consumer_keys"], secret=key["secret"])
    launch = load_function("launch").lambda_handler(
        launch_event(signed, host=urlsplit(url).netloc, raw_path=urlsplit(url).path), FakeContext()
    )

    assert launch["statusCode"] == 302, launch.get("body")
    assert launch["headers"]["Location"].startswith(APP + "?ltik=")
    items = boto3.resource("dynamodb").Table(stack["LAUNCH_TABLE"]).scan()["Items"]
    [context] = [i for i in items if i["pk"].startswith("LAUNCH#")]
    assert context["class_id"] == cls["class_id"]
    assert context["unit_id"] == units[1]["unit_id"] == row["unit_id"]
