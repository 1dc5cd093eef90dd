"""The export writers on their own (no AWS): CSV quoting and formula neutralising, content negotiation,
XML escaping, the cartridge's structure, and flat memory as units grow."""

from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from xml.etree import ElementTree as ET

import pytest

from lti_gateway.admin import exports
from lti_gateway.admin.exports import ClassView, Context, UnitView
from lti_gateway.core.errors import ValidationFailed

BASE = "https://lti.example.edu"
CONTEXT = Context(
    base=BASE,
    consumer_keys=[{"key": "-starts-with-minus-key", "label": "=Canvas"}, {"key": "plain-key-0000000", "label": "B"}],
    tool=exports.tool_urls(BASE, "org_test"),
    exported_at="2026-01-02T03:04:05Z",
)
CLS = ClassView("cls_0123456789abcdef", 'Class, "quoted"', f"{BASE}/lti/launch/cls_0123456789abcdef", None, True)


def parse_xml(data: bytes) -> ET.Element:
    return ET.fromstring(data)  # noqa: S314 - our own output, no DTD


def units(names):
    for i, name in enumerate(names):
        unit_id = f"unt_{i:016x}"
        yield UnitView(unit_id, name, i, f"{BASE}/lti/launch/{CLS.class_id}/{unit_id}")


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        (None, ""),
        (True, "true"),
        (0, "0"),
        ("https://x/y", "https://x/y"),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert exports.csv_cell(value) == cell


NAMES = [
    "comma, inside",
    'double "quotes"',
    "line\nbreak",
    "carriage\r\nreturn",
    "\ttab first",
    "Zoë 🧪 日本語",
    '=HYPERLINK("http://evil")',
]


def test_csv_quotes_per_rfc_4180_and_round_trips_every_name():
    out = io.BytesIO()
    count = exports.write_csv(out, [(CLS, units(NAMES))], CONTEXT)
    data = out.getvalue()

    assert count == len(NAMES)
    rows = read_csv(data)
    assert list(rows[0]) == list(exports.CSV_COLUMNS)
    expected = [("'" + n) if n.startswith(("=", "+", "-", "@", "\t", "\r")) else n for n in NAMES]
    assert [r["unit_name"] for r in rows[1:]] == expected
    assert rows[0]["class_name"] == 'Class, "quoted"'
    assert b'"Class, ""quoted"""' in data  # doubled quotes inside a quoted field
    assert b'"line\nbreak"' in data  # embedded line breaks stay inside quotes
    assert rows[0]["consumer_keys"] == "'-starts-with-minus-key\nplain-key-0000000"
    assert rows[0]["consumer_key_labels"] == "'=Canvas\nB"
    assert data.count(b"\r\n") == len(NAMES) + 2 + 1  # records end in CRLF (+1: the CRLF inside a name)


def test_negotiate():
    allowed = exports.CLASS_FORMATS
    assert exports.negotiate("csv", "application/json", allowed) == "csv"
    assert exports.negotiate(" Json ", None, allowed) == "json"
    assert exports.negotiate(None, None, allowed) == "json"
    assert exports.negotiate(None, "text/csv;q=0.5, application/xml;q=0.6", allowed) == "xml"
    assert exports.negotiate(None, "application/json;q=0, */*", allowed) == "csv"
    assert exports.negotiate(None, "application/json;q=abc, text/csv", allowed) == "csv"
    assert exports.negotiate(None, "garbage, text/csv", allowed) == "csv"
    with pytest.raises(ValidationFailed):
        exports.negotiate("cc", None, exports.ORG_FORMATS)
    with pytest.raises(exports.NotAcceptable):
        exports.negotiate(None, "application/zip", exports.ORG_FORMATS)
    with pytest.raises(exports.NotAcceptable):
        exports.negotiate(None, "x" * 5000, allowed)


def test_xml_escapes_what_users_type():
    link = parse_xml(exports.class_config_xml(ClassView("cls_1", "<b>&amp;]]></b>\"'", f"{BASE}/x", None, True), BASE))
    assert link.findtext("{http://www.imsglobal.org/xsd/imsbasiclti_v1p0}title") == "<b>&amp;]]></b>\"'"


def test_characters_xml_cannot_carry_become_replacement_characters():
    link = parse_xml(exports.class_config_xml(ClassView("cls_1", "a\ufffeb\uffff", f"{BASE}/x", None, True), BASE))
    assert link.findtext("{http://www.imsglobal.org/xsd/imsbasiclti_v1p0}title") == "a\ufffdb\ufffd"


def test_an_http_base_gets_no_secure_launch_url():
    link = parse_xml(exports.class_config_xml(ClassView("cls_1", "c", "http://127.0.0.1:3000/x", None, True), BASE))
    assert link.find("{http://www.imsglobal.org/xsd/imsbasiclti_v1p0}secure_launch_url") is None


def test_the_cartridge_manifest_has_each_unit_once_and_escapes_names():
    names = ["<script>", "a & b", "]]>", 'q"uote']
    out = io.BytesIO()
    assert exports.write_cartridge(out, CLS, units(names), CONTEXT) == 4
    archive = zipfile.ZipFile(out)
    manifest = parse_xml(archive.read("imsmanifest.xml"))
    ns = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
    titles = [i.findtext(f"{ns}title") for i in manifest.iter(f"{ns}item") if i.get("identifierref")]
    assert titles == names
    lom = "{http://ltsc.ieee.org/xsd/imsccv1p1/LOM/manifest}"
    assert manifest.findtext(f"{ns}metadata/{lom}lom/{lom}general/{lom}title/{lom}string") == CLS.name
    assert archive.getinfo("imsmanifest.xml").date_time == (2026, 1, 2, 3, 4, 4)  # zip: 2-second steps


def _peak(count: int, writer) -> int:
    names = (f"Unit {i} with a longer name to make rows realistic" for i in range(count))
    tracemalloc.start()
    try:
        writer(NullSink(), units(names))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class NullSink(io.RawIOBase):
    """A write-only sink that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        return len(b)


@pytest.mark.parametrize(
    "writer",
    [
        lambda out, u: exports.write_csv(out, [(CLS, u)], CONTEXT),
        lambda out, u: exports.write_class_json(out, CLS, u, CONTEXT),
    ],
    ids=["csv", "json"],
)
def test_memory_stays_flat_as_units_grow(writer):
    small, large = _peak(1_000, writer), _peak(20_000, writer)
    assert large < small * 1.5 + 64 * 1024, (small, large)
