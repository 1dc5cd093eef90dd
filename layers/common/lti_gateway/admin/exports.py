"""Exports of a class's LTI settings: CSV, JSON, an IMS Common Cartridge and LTI 1.1 XML configurations.

What an LMS admin or teacher pastes or imports, in one file: every unit of a class in order (unit id,
name, position, LTI 1.1 launch URL, LTI 1.3 target link URI — the same unit launch URL serves both),
the class's own launch URL and Class LMS URL, the organisation's active consumer keys (key and label,
never a secret) and the tool's LTI 1.3 URLs (login, redirect, JWKS).

Formats (``format=`` or ``Accept``):

- ``csv`` (``text/csv``): UTF-8 with a BOM (Excel), RFC 4180 quoting, CRLF. One ``class`` row per class
  (its launch URL, Class LMS URL, consumer keys and LTI 1.3 tool URLs), then one ``unit`` row per unit.
  Several consumer keys share one cell, one per line. A cell that starts with ``= + - @``, a tab or a
  CR gets a leading ``'`` so no spreadsheet runs it as a formula.
- ``json`` (``application/json``): the same, nested.
- ``cc`` (``application/vnd.ims.imsccv1p1``): an IMS Common Cartridge 1.1 thin cartridge (``.imscc``):
  ``imsmanifest.xml`` with the class as the item under the organization's root and one item per unit,
  each pointing at an ``imsbasiclti_xmlv1p0`` resource (``{unit_id}.xml``, a ``cartridge_basiclti_link``).
- ``xml`` (``application/xml``): the class's LTI 1.1 XML configuration (``cartridge_basiclti_link``),
  what Canvas takes under Add App > Paste XML; :func:`unit_config` gives one unit's.

Scale: units are read one Query page at a time and written as they arrive (no list of all units is
ever built). The output goes to a spooled temporary file (memory up to the inline limit, then
``/tmp``); an export that would not fit Lambda's 6 MB synchronous response (base64 counted,
``EXPORT_INLINE_MAX_BYTES``) is put in the exports bucket and answered with a presigned GET URL
valid 15 minutes.

XML is built with ``xml.etree`` only. The manifest is streamed as serialized fragments (one ``item``
and one ``resource`` element per unit) between pieces of a skeleton that ``xml.etree`` also
serialized, split at two comment markers — user text never meets string concatenation unescaped.
The zip's central directory is spooled as entries finish (:mod:`.zipstream`), not kept as a
``ZipInfo`` per unit, so a cartridge's peak memory does not grow with its units either.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import shutil
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from tempfile import SpooledTemporaryFile
from typing import IO, Any
from urllib.parse import quote

from lti_gateway.admin import classes, tool_config
from lti_gateway.admin.orgs import Principal
from lti_gateway.admin.zipstream import SpillingZipFile
from lti_gateway.core import clock
from lti_gateway.core.config import settings
from lti_gateway.core.errors import GatewayError, NotAcceptable, ValidationFailed
from lti_gateway.core.urls import class_launch_url, unit_launch_url
from lti_gateway.core.validation import NOT_XML
from lti_gateway.repositories import deps

PRESIGNED_SECONDS = 900
SPOOL_FRAGMENTS = 64 * 1024  # manifest fragments in memory up to this (each spool), then on disk
VENDOR = {"code": "lti-gateway"}  # the vendor's name is the tool's (tool_config.ToolIdentity)


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    extension: str


FORMATS = {
    "csv": Format("csv", "text/csv; charset=utf-8", "csv"),
    "json": Format("json", "application/json", "json"),
    "cc": Format("cc", "application/vnd.ims.imsccv1p1", "imscc"),
    "xml": Format("xml", "application/xml", "xml"),
}
CLASS_FORMATS = ("csv", "json", "cc", "xml")
ORG_FORMATS = ("csv", "json")
DEFAULT_FORMAT = "json"

# Accept media types -> format (application/zip too: what most clients call a .imscc).
_MEDIA = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/vnd.ims.imsccv1p1": "cc",
    "application/zip": "cc",
    "application/xml": "xml",
    "text/xml": "xml",
}
MAX_ACCEPT = 1024


# -- content negotiation ----------------------------------------------------------------------------


def _accepted(accept: str) -> list[tuple[str, float]]:
    """``(media range, q)`` in preference order (stable for equal q); malformed entries are skipped."""
    ranges = []
    for part in accept[:MAX_ACCEPT].split(",")[:50]:
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        if "/" not in media:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
        if 0 <= q <= 1:
            ranges.append((media, q))
    return sorted(ranges, key=lambda r: -r[1])


def negotiate(requested: str | None, accept: str | None, allowed: tuple[str, ...]) -> str:
    """The format to answer in: ``format=`` wins (400 if unknown), else the best ``Accept`` match
    (406 if none), else JSON."""
    if requested is not None:
        name = requested.strip().lower()
        if name not in allowed:
            raise ValidationFailed({"format": f"must be one of {', '.join(allowed)}"}, code="unsupported_format")
        return name
    if not accept or not accept.strip():
        return DEFAULT_FORMAT
    ranges = _accepted(accept)
    refused = {_MEDIA[m] for m, q in ranges if q == 0 and m in _MEDIA}
    for media, q in ranges:
        if q == 0:
            continue
        if media == "*/*":
            choices = [DEFAULT_FORMAT, *allowed]
        elif media.endswith("/*"):
            prefix = media[:-1]
            choices = [f for m, f in _MEDIA.items() if m.startswith(prefix)]
        else:
            choices = [_MEDIA[media]] if media in _MEDIA else []
        for name in choices:
            if name in allowed and name not in refused:
                return name
    raise NotAcceptable(
        {"accept": f"none of the accepted types can be produced; use one of {', '.join(allowed)}"},
    )


# -- what an export shows ---------------------------------------------------------------------------


def tool_urls(base: str, org_id: str) -> dict[str, str]:
    """The organisation's LTI 1.3 endpoints an admin registers in the platform (from :mod:`tool_config`)."""
    return {
        "login_url": tool_config.login_url(base, org_id),
        "redirect_url": tool_config.launch_url(base, org_id),
        "jwks_url": tool_config.jwks_url(base, org_id),
    }


@dataclass(frozen=True)
class ClassView:
    class_id: str
    name: str
    launch_url: str
    class_lms_url: str | None
    lti_enabled: bool

    @classmethod
    def of(cls, item: dict[str, Any], base: str) -> ClassView:
        return cls(
            class_id=str(item["class_id"]),
            name=str(item["name"]),
            launch_url=class_launch_url(base, str(item["class_id"])),
            class_lms_url=item.get("class_lms_url"),
            lti_enabled=bool(item.get("lti_enabled", True)),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "name": self.name,
            "lti_enabled": self.lti_enabled,
            "launch_url": self.launch_url,
            "lti13_target_link_uri": self.launch_url,
            "class_lms_url": self.class_lms_url,
        }


@dataclass(frozen=True)
class UnitView:
    unit_id: str
    name: str
    position: int
    launch_url: str

    def to_json(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "name": self.name,
            "position": self.position,
            "lti11_launch_url": self.launch_url,
            "lti13_target_link_uri": self.launch_url,
        }


@dataclass(frozen=True)
class Context:
    """What every class of one export shares: the organisation's keys and the tool's URLs."""

    base: str
    consumer_keys: list[dict[str, str]]
    tool: dict[str, str]
    exported_at: str
    # The organisation's tool name, description and icon (else the stack's): the links' vendor and icon.
    identity: tool_config.ToolIdentity | None = None


def _units(class_id: str, base: str) -> Iterator[UnitView]:
    for item in deps.exports_repo().units(class_id):
        yield UnitView(
            unit_id=str(item["unit_id"]),
            name=str(item["name"]),
            position=int(item["position"]),
            launch_url=unit_launch_url(base, class_id, str(item["unit_id"])),
        )


def _context(org_id: str, base: str, *, identity: bool = False) -> Context:
    """``identity``: read the organisation's tool name and icon too (the XML formats show them)."""
    return Context(
        base=base,
        consumer_keys=deps.exports_repo().active_consumer_keys(org_id),
        tool=tool_urls(base, org_id),
        exported_at=clock.iso(clock.now()),
        identity=tool_config.for_org(org_id) if identity else None,
    )


Section = tuple[ClassView, Iterable[UnitView]]


# -- CSV --------------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "row_type",
    "class_id",
    "class_name",
    "unit_id",
    "unit_name",
    "position",
    "lti11_launch_url",
    "lti13_target_link_uri",
    "class_lms_url",
    "lti_enabled",
    "consumer_keys",
    "consumer_key_labels",
    "lti13_login_url",
    "lti13_redirect_url",
    "lti13_jwks_url",
)
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell no spreadsheet evaluates: ``'`` before a leading ``= + - @``, tab or CR."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def write_csv(out: IO[bytes], sections: Iterable[Section], context: Context) -> int:
    """Write the CSV (BOM, header, rows) to ``out`` row by row; returns the number of unit rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # QUOTE_MINIMAL: RFC 4180 quoting

    def row(values: dict[str, Any]) -> None:
        writer.writerow([csv_cell(values.get(c)) for c in CSV_COLUMNS])
        out.write(buffer.getvalue().encode("utf-8", "replace"))  # "replace": a lone surrogate is no crash
        buffer.seek(0)
        buffer.truncate()

    out.write(b"\xef\xbb\xbf")  # utf-8-sig: Excel then reads the file as UTF-8
    writer.writerow(CSV_COLUMNS)
    keys = "\n".join(k["key"] for k in context.consumer_keys)
    labels = "\n".join(k["label"] for k in context.consumer_keys)
    units = 0
    for cls, unit_views in sections:
        row(
            {
                "row_type": "class",
                "class_id": cls.class_id,
                "class_name": cls.name,
                "lti11_launch_url": cls.launch_url,
                "lti13_target_link_uri": cls.launch_url,
                "class_lms_url": cls.class_lms_url,
                "lti_enabled": cls.lti_enabled,
                "consumer_keys": keys,
                "consumer_key_labels": labels,
                "lti13_login_url": context.tool["login_url"],
                "lti13_redirect_url": context.tool["redirect_url"],
                "lti13_jwks_url": context.tool["jwks_url"],
            }
        )
        for unit in unit_views:
            row(
                {
                    "row_type": "unit",
                    "class_id": cls.class_id,
                    "class_name": cls.name,
                    "unit_id": unit.unit_id,
                    "unit_name": unit.name,
                    "position": unit.position,
                    "lti11_launch_url": unit.launch_url,
                    "lti13_target_link_uri": unit.launch_url,
                }
            )
            units += 1
    return units


# -- JSON -------------------------------------------------------------------------------------------


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def _write_units_json(out: IO[bytes], units: Iterable[UnitView]) -> int:
    out.write(b'"units":[')
    count = 0
    for unit in units:
        if count:
            out.write(b",")
        out.write(b"\n" + _dumps(unit.to_json()))
        count += 1
    out.write(b'],"unit_count":' + str(count).encode())
    return count


def _json_header(context: Context, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "export": "lti-settings",
        "version": 1,
        "exported_at": context.exported_at,
        **extra,
        "consumer_keys": context.consumer_keys,
        "lti13": context.tool,
    }


def _open_object(out: IO[bytes], header: dict[str, Any]) -> None:
    """Write ``header`` as the start of a JSON object left open for more members."""
    out.write(_dumps(header)[:-1] + b",")


def write_class_json(out: IO[bytes], cls: ClassView, units: Iterable[UnitView], context: Context) -> int:
    _open_object(out, _json_header(context, {"class": cls.to_json()}))
    count = _write_units_json(out, units)
    out.write(b"}\n")
    return count


def write_org_json(out: IO[bytes], org_id: str, sections: Iterable[Section], context: Context) -> int:
    _open_object(out, _json_header(context, {"org_id": org_id}))
    out.write(b'"classes":[')
    classes_count = units = 0
    for cls, unit_views in sections:
        out.write(b"," if classes_count else b"")
        _open_object(out, cls.to_json())
        units += _write_units_json(out, unit_views)
        out.write(b"}")
        classes_count += 1
    out.write(b'],"class_count":' + str(classes_count).encode() + b"}\n")
    return units


# -- LTI 1.1 XML (cartridge_basiclti_link) ---------------------------------------------------------

NS = {
    "cc": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1",
    "lomimscc": "http://ltsc.ieee.org/xsd/imsccv1p1/LOM/manifest",
    "lticc": "http://www.imsglobal.org/xsd/imslticc_v1p0",
    "blti": "http://www.imsglobal.org/xsd/imsbasiclti_v1p0",
    "lticm": "http://www.imsglobal.org/xsd/imslticm_v1p0",
    "lticp": "http://www.imsglobal.org/xsd/imslticp_v1p0",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
for _prefix in ("lomimscc", "blti", "lticm", "lticp", "xsi"):
    ET.register_namespace(_prefix, NS[_prefix])

LTI_SCHEMAS = " ".join(
    [
        NS["lticc"],
        "http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticc_v1p0.xsd",
        NS["blti"],
        "http://www.imsglobal.org/xsd/lti/ltiv1p0/imsbasiclti_v1p0.xsd",
        NS["lticm"],
        "http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticm_v1p0.xsd",
        NS["lticp"],
        "http://www.imsglobal.org/xsd/lti/ltiv1p0/imslticp_v1p0.xsd",
    ]
)
CC_SCHEMAS = " ".join(
    [
        NS["cc"],
        "http://www.imsglobal.org/profile/cc/ccv1p1/ccv1p1_imscp_v1p2_v1p0.xsd",
        NS["lomimscc"],
        "http://www.imsglobal.org/profile/cc/ccv1p1/LOM/ccv1p1_lommanifest_v1p0.xsd",
    ]
)


def xml_text(value: str) -> str:
    """``value`` with every character XML 1.0 cannot carry replaced by U+FFFD."""
    return NOT_XML.sub("\ufffd", value)


def _q(prefix: str, tag: str) -> str:
    return f"{{{NS[prefix]}}}{tag}"


def _sub(parent: ET.Element, prefix: str, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, _q(prefix, tag), attrs)
    if text is not None:
        element.text = xml_text(text)
    return element


def basiclti_link(
    title: str,
    description: str,
    launch_url: str,
    *,
    domain: str | None = None,
    tool: tool_config.ToolIdentity | None = None,
) -> ET.Element:
    """A ``cartridge_basiclti_link``: an LTI 1.1 link (or tool configuration) with Canvas extensions.

    Elements in the order of ``imslticc_v1p0.xsd``; ``secure_launch_url`` only for https URLs. ``tool``
    (the organisation's name and icon, else the stack's) gives the vendor name and the icon.
    """
    tool = tool or tool_config.identity()
    # The default namespace as a plain attribute: ElementTree's ``default_namespace`` refuses the
    # unqualified attributes (``name``, ``platform``) these documents are made of.
    root = ET.Element("cartridge_basiclti_link", {"xmlns": NS["lticc"], _q("xsi", "schemaLocation"): LTI_SCHEMAS})
    _sub(root, "blti", "title", title)
    _sub(root, "blti", "description", description)
    canvas = _sub(root, "blti", "extensions", platform="canvas.instructure.com")
    _sub(canvas, "lticm", "property", "public", name="privacy_level")
    if domain:
        _sub(canvas, "lticm", "property", domain, name="domain")
    navigation = _sub(canvas, "lticm", "options", name="course_navigation")
    _sub(navigation, "lticm", "property", "false", name="enabled")
    _sub(root, "blti", "launch_url", launch_url)
    if launch_url.startswith("https://"):
        _sub(root, "blti", "secure_launch_url", launch_url)
    if tool.icon_url:  # always https (checked where it was set)
        _sub(root, "blti", "icon", tool.icon_url)
        _sub(root, "blti", "secure_icon", tool.icon_url)
    vendor = _sub(root, "blti", "vendor")
    _sub(vendor, "lticp", "code", VENDOR["code"])
    _sub(vendor, "lticp", "name", tool.name)
    return root


def xml_document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _unit_link(
    cls: ClassView, unit: UnitView, domain: str | None, tool: tool_config.ToolIdentity | None = None
) -> bytes:
    link = basiclti_link(unit.name, f"{cls.name}: {unit.name}", unit.launch_url, domain=domain, tool=tool)
    return xml_document(link)


def class_config_xml(cls: ClassView, base: str, tool: tool_config.ToolIdentity | None = None) -> bytes:
    """The class's LTI 1.1 XML configuration (Canvas: Add App > Paste XML): the class's name, the tool's
    description and icon. ``domain`` makes Canvas use the app's key and secret for every unit link on
    this host too."""
    tool = tool or tool_config.identity()
    link = basiclti_link(cls.name, tool.description, cls.launch_url, domain=tool_config.domain(base), tool=tool)
    return xml_document(link)


# -- Common Cartridge ------------------------------------------------------------------------------

_ITEMS_MARK = "ITEMS"
_RESOURCES_MARK = "RESOURCES"


def _manifest_pieces(cls: ClassView) -> tuple[bytes, bytes, bytes]:
    """The manifest around the per-unit items and resources: (head, middle, tail).

    Content-packaging elements are unqualified under a default ``xmlns`` on ``manifest`` (as the unit
    fragments are); the LOM metadata is qualified (``lomimscc:``).
    """
    root = ET.Element(
        "manifest", {"identifier": f"M_{cls.class_id}", "xmlns": NS["cc"], _q("xsi", "schemaLocation"): CC_SCHEMAS}
    )
    metadata = ET.SubElement(root, "metadata")
    ET.SubElement(metadata, "schema").text = "IMS Common Cartridge"
    ET.SubElement(metadata, "schemaversion").text = "1.1.0"
    lom = _sub(metadata, "lomimscc", "lom")
    general = _sub(lom, "lomimscc", "general")
    title = _sub(general, "lomimscc", "title")
    _sub(title, "lomimscc", "string", cls.name)
    organizations = ET.SubElement(root, "organizations")
    organization = ET.SubElement(organizations, "organization", identifier="O_1", structure="rooted-hierarchy")
    top = ET.SubElement(organization, "item", identifier="LearningModules")
    class_item = ET.SubElement(top, "item", identifier=f"C_{cls.class_id}")
    ET.SubElement(class_item, "title").text = xml_text(cls.name)
    class_item.append(ET.Comment(_ITEMS_MARK))
    resources = ET.SubElement(root, "resources")
    resources.append(ET.Comment(_RESOURCES_MARK))
    text = xml_document(root)
    head, rest = text.split(f"<!--{_ITEMS_MARK}-->".encode(), 1)
    middle, tail = rest.split(f"<!--{_RESOURCES_MARK}-->".encode(), 1)
    return head, middle, tail


def _fragment(element: ET.Element) -> bytes:
    """An unqualified element serialized alone: it takes the manifest's default namespace."""
    return ET.tostring(element, encoding="utf-8", xml_declaration=False)


def _zip_info(name: str, when: tuple[int, ...]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=when[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def write_cartridge(out: IO[bytes], cls: ClassView, units: Iterable[UnitView], context: Context) -> int:
    """The thin cartridge: one ``{unit_id}.xml`` per unit as units arrive, then ``imsmanifest.xml``
    from fragments spooled meanwhile (the zip's central directory is spooled too: the bytes are
    ``zipfile``'s, the memory flat). Returns the number of units."""
    domain = tool_config.domain(context.base)
    when = tuple(int(p) for p in context.exported_at[:19].replace("T", "-").replace(":", "-").split("-"))
    count = 0
    with (
        SpillingZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        SpooledTemporaryFile(max_size=SPOOL_FRAGMENTS) as items,
        SpooledTemporaryFile(max_size=SPOOL_FRAGMENTS) as resources,
    ):
        for unit in units:
            href = f"{unit.unit_id}.xml"
            archive.writestr(_zip_info(href, when), _unit_link(cls, unit, domain, context.identity))
            item = ET.Element("item", {"identifier": f"I_{unit.unit_id}", "identifierref": f"R_{unit.unit_id}"})
            ET.SubElement(item, "title").text = xml_text(unit.name)
            items.write(_fragment(item))
            resource = ET.Element("resource", {"identifier": f"R_{unit.unit_id}", "type": "imsbasiclti_xmlv1p0"})
            ET.SubElement(resource, "file", {"href": href})
            resources.write(_fragment(resource))
            count += 1
        head, middle, tail = _manifest_pieces(cls)
        with archive.open(_zip_info("imsmanifest.xml", when), "w") as manifest:
            manifest.write(head)
            items.seek(0)
            shutil.copyfileobj(items, manifest)
            manifest.write(middle)
            resources.seek(0)
            shutil.copyfileobj(resources, manifest)
            manifest.write(tail)
    return count


# -- delivery ---------------------------------------------------------------------------------------


@dataclass
class Export:
    """An export answered inline (``body``) or handed over through S3 (``download``)."""

    format: str
    media_type: str
    filename: str
    units: int
    size: int
    body: bytes | None = None
    download: dict[str, Any] | None = None

    @property
    def disposition(self) -> str:
        return content_disposition(self.filename)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = "".join(c if c.isalnum() or c in "._-" else "-" for c in ascii_name)
    while "--" in slug:
        slug = slug.replace("--", "-")
    return slug.strip("-._")[:80]


def filename_for(name: str, fallback: str, extension: str) -> str:
    return f"{_slug(name) or fallback}-lti-settings.{extension}"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` (slugged already) and RFC 6266 ``filename*``."""
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


Renderer = Callable[[IO[bytes]], int]


def _deliver(org_id: str, fmt: Format, filename: str, render: Renderer) -> Export:
    """Render into a spooled file; answer inline if it fits, else through the exports bucket."""
    limit = settings().export_inline_max_bytes
    with SpooledTemporaryFile(max_size=limit) as spool:
        units = render(spool)
        size = spool.tell()
        export = Export(fmt.name, fmt.media_type, filename, units, size)
        if _base64_length(size) <= limit:
            spool.seek(0)
            export.body = spool.read()
            return export
        files = deps.export_files()
        if files is None:
            raise GatewayError(
                {"size": size, "hint": "no exports bucket is configured (EXPORTS_BUCKET); use `lti-gateway export`"},
                code="export_too_large",
                status=413,
            )
        key = f"exports/{org_id}/{secrets.token_hex(16)}/{filename}"
        spool.seek(0)
        files.put(key, spool, content_type=fmt.media_type, disposition=export.disposition)
    export.download = {
        "url": files.presigned_get(key, expires_in=PRESIGNED_SECONDS),
        "expires_in": PRESIGNED_SECONDS,
        "format": fmt.name,
        "filename": filename,
        "bytes": size,
        "units": units,
    }
    return export


def _owned_class(principal: Principal, class_id: str, base: str) -> ClassView:
    """The caller's class (owners and members alike); NotFound for unknown, malformed or foreign."""
    return ClassView.of(classes.get_class(principal, class_id, base=base), base)


def render_class(principal: Principal, class_id: str, fmt: str, *, base: str) -> tuple[Format, str, Renderer]:
    """Check access and return (format, filename, a function writing the export to a binary file)."""
    cls = _owned_class(principal, class_id, base)
    spec = FORMATS[fmt]
    filename = filename_for(cls.name, cls.class_id, spec.extension)
    context = _context(principal.org_id, base, identity=fmt in ("cc", "xml"))

    def render(out: IO[bytes]) -> int:
        units = _units(cls.class_id, base)
        if fmt == "csv":
            return write_csv(out, [(cls, units)], context)
        if fmt == "json":
            return write_class_json(out, cls, units, context)
        if fmt == "cc":
            return write_cartridge(out, cls, units, context)
        out.write(class_config_xml(cls, base, context.identity))
        return 0

    return spec, filename, render


def export_class(principal: Principal, class_id: str, fmt: str, *, base: str) -> Export:
    spec, filename, render = render_class(principal, class_id, fmt, base=base)
    return _deliver(principal.org_id, spec, filename, render)


def render_org(principal: Principal, fmt: str, *, base: str) -> tuple[Format, str, Renderer]:
    principal.require_owner()
    if fmt not in ORG_FORMATS:
        raise ValidationFailed({"format": f"must be one of {', '.join(ORG_FORMATS)}"}, code="unsupported_format")
    spec = FORMATS[fmt]
    filename = filename_for("", principal.org_id, spec.extension)
    context = _context(principal.org_id, base)

    def sections() -> Iterator[Section]:
        for item in deps.exports_repo().classes(principal.org_id):
            if item.get("org_id") != principal.org_id:  # the partition is the organisation's; belt and braces
                continue
            cls = ClassView.of(item, base)
            yield cls, _units(cls.class_id, base)

    def render(out: IO[bytes]) -> int:
        if fmt == "csv":
            return write_csv(out, sections(), context)
        return write_org_json(out, principal.org_id, sections(), context)

    return spec, filename, render


def export_org(principal: Principal, fmt: str, *, base: str) -> Export:
    """Every class of the caller's organisation with its units (owners only)."""
    spec, filename, render = render_org(principal, fmt, base=base)
    return _deliver(principal.org_id, spec, filename, render)


def unit_config(principal: Principal, class_id: str, unit_id: str, *, base: str) -> Export:
    """One unit's LTI 1.1 XML configuration (``cartridge_basiclti_link``)."""
    unit = classes.get_unit(principal, class_id, unit_id, base=base)
    cls = _owned_class(principal, class_id, base)
    view = UnitView(unit["unit_id"], unit["name"], int(unit["position"]), unit["launch_url"])
    body = _unit_link(cls, view, tool_config.domain(base), tool_config.for_org(principal.org_id))
    return Export("xml", FORMATS["xml"].media_type, f"{unit['unit_id']}-lti-config.xml", 1, len(body), body=body)
