"""The spilling zip writer: the bytes ``zipfile`` writes, with a central directory that is spooled as
entries finish instead of kept as ``ZipInfo`` objects — and the cartridge it writes, read back."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from xml.etree import ElementTree as ET

import pytest

from lti_gateway.admin import exports, tool_config, zipstream
from lti_gateway.admin.zipstream import SpillingZipFile

from .test_exports_csv import CLS, CONTEXT, NullSink, _peak, units

WHEN = (2026, 1, 2, 3, 4, 5)
CC = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"


class Collect(io.RawIOBase):
    """A write-only, non-seekable sink that keeps what it is given (zipfile then writes data descriptors)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.chunks.append(bytes(b))
        return len(b)

    def value(self) -> bytes:
        return b"".join(self.chunks)


def _output(seekable: bool):
    return io.BytesIO() if seekable else Collect()


def _bytes(out) -> bytes:
    return out.getvalue() if isinstance(out, io.BytesIO) else out.value()


def _info(name: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=WHEN)
    info.compress_type = compress_type
    info.external_attr = 0o644 << 16
    return info


def _mixed_archive(factory, out, entries: int) -> None:
    """UTF-8 and ASCII names, deflated, stored and LZMA entries, one written through open(), a comment."""
    with factory(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.comment = b"a comment"
        for i in range(entries):
            name = f"unt_{i:06d}{'-ü' if i % 3 == 0 else ''}.xml"
            archive.writestr(_info(name), f"<unit>{i}</unit>".encode() * (i % 40))
        archive.writestr(_info("stored.txt", zipfile.ZIP_STORED), b"stored")
        archive.writestr(_info("lzma.txt", zipfile.ZIP_LZMA), b"lzma " * 100)
        archive.writestr(_info("folder/"), b"")
        with archive.open(_info("last.xml"), "w") as last:
            last.write(b"<last/>" * 1000)


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "streamed"])
@pytest.mark.parametrize("entries", [0, 1, 50])
def test_the_archive_is_byte_for_byte_what_zipfile_writes(seekable, entries):
    ours, theirs = _output(seekable), _output(seekable)
    _mixed_archive(SpillingZipFile, ours, entries)
    _mixed_archive(zipfile.ZipFile, theirs, entries)

    assert _bytes(ours) == _bytes(theirs)
    archive = zipfile.ZipFile(io.BytesIO(_bytes(ours)))
    assert archive.testzip() is None
    assert len(archive.namelist()) == entries + 4
    assert archive.comment == b"a comment"


def test_more_entries_than_a_zip_end_record_counts_get_zipfiles_zip64_end_records():
    infos = []
    for i in range(3):
        info = _info(f"e{i}")
        info.CRC, info.compress_size, info.file_size, info.header_offset = 0, 10, 10, i * 40
        infos.append(info)
    many = infos * 23_000  # 69,000 records (> 65,535): a class may have that many units
    assert _stock_directory(many, start_dir=1_000) == _our_directory(many, start_dir=1_000)
    with pytest.raises(zipfile.LargeZipFile):
        zipstream.end_records(len(many), 1, 1_000, b"", allow_zip64=False)


def test_records_past_4_gib_carry_zipfiles_zip64_extra_field():
    big = _info("big.xml")
    big.CRC, big.compress_size, big.file_size, big.header_offset = 1, 5 << 30, 6 << 30, 0
    far = _info("far-ü.xml")
    far.CRC, far.compress_size, far.file_size, far.header_offset = 2, 10, 10, 5 << 30
    far.comment = b"far"
    infos = [big, far]
    assert _stock_directory(infos, start_dir=6 << 30) == _our_directory(infos, start_dir=6 << 30)
    with pytest.raises(zipfile.LargeZipFile):
        zipstream.central_directory_record(far, allow_zip64=False)


class _Position(io.RawIOBase):
    """Keeps what is written, and tells positions as if ``offset`` bytes came first."""

    def __init__(self, offset: int) -> None:
        self.offset, self.data = offset, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)

    def tell(self) -> int:
        return self.offset + len(self.data)


def _stock_directory(infos: list[zipfile.ZipInfo], *, start_dir: int) -> bytes:
    """What zipfile itself writes at close for these entries, the directory starting at ``start_dir``."""
    archive = zipfile.ZipFile(io.BytesIO(), "w")
    sink = _Position(start_dir)
    archive.filelist, archive.start_dir, archive.fp = list(infos), start_dir, sink
    archive._write_end_record()
    archive.fp = None  # nothing more to write
    return bytes(sink.data)


def _our_directory(infos: list[zipfile.ZipInfo], *, start_dir: int) -> bytes:
    records = b"".join(zipstream.central_directory_record(i) for i in infos)
    return records + zipstream.end_records(len(infos), len(records), start_dir, b"")


def test_finished_entries_are_forgotten_and_memory_stays_flat():
    def peak(entries: int) -> int:
        tracemalloc.start()
        try:
            with SpillingZipFile(NullSink(), "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for i in range(entries):
                    archive.writestr(_info(f"unt_{i:016x}.xml"), b"<unit/>" * 50)
                    assert len(archive.filelist) <= 1 and len(archive.NameToInfo) <= 1
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(1_000), peak(10_000)
    assert large < small * 1.2, (small, large)


def test_closing_with_a_writer_open_is_refused_and_the_archive_stays_usable():
    out = io.BytesIO()
    archive = SpillingZipFile(out, "w")
    archive.writestr(_info("first"), b"1")
    writer = archive.open(_info("second"), "w")
    with pytest.raises(ValueError, match="open writing handle"):
        archive.close()
    writer.write(b"2")
    writer.close()
    archive.close()
    assert {n: zipfile.ZipFile(out).read(n) for n in ("first", "second")} == {"first": b"1", "second": b"2"}


@pytest.mark.parametrize("mode", ["r", "a"])
def test_only_new_archives_are_written(mode):
    with pytest.raises(ValueError, match="new archives only"):
        SpillingZipFile(io.BytesIO(), mode)


# -- the cartridge ----------------------------------------------------------------------------------


def _names(count: int) -> list[str]:
    return [f'Unit {i}: "quoted" & <tagged> — ünïcödé {"🧪" if i % 7 == 0 else ""}' for i in range(count)]


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "streamed"])
def test_a_cartridge_of_thousands_of_units_reads_back_entry_by_entry(seekable):
    count = 3_000
    out = _output(seekable)
    assert exports.write_cartridge(out, CLS, units(_names(count)), CONTEXT) == count

    archive = zipfile.ZipFile(io.BytesIO(_bytes(out)))
    assert archive.testzip() is None
    expected = list(units(_names(count)))
    assert archive.namelist() == [f"{u.unit_id}.xml" for u in expected] + ["imsmanifest.xml"]
    domain = tool_config.domain(CONTEXT.base)
    for unit in expected:
        assert archive.read(f"{unit.unit_id}.xml") == exports._unit_link(CLS, unit, domain)
    manifest = ET.fromstring(archive.read("imsmanifest.xml"))  # noqa: S314 - our own output, no DTD
    items = [i for i in manifest.iter(f"{CC}item") if i.get("identifierref")]
    assert [(i.get("identifierref"), i.findtext(f"{CC}title")) for i in items] == [
        (f"R_{u.unit_id}", u.name) for u in expected
    ]
    hrefs = [r.find(f"{CC}file").get("href") for r in manifest.iter(f"{CC}resource")]
    assert hrefs == [f"{u.unit_id}.xml" for u in expected]
    assert {i.date_time for i in archive.infolist()} == {(2026, 1, 2, 3, 4, 4)}


def test_a_cartridges_peak_memory_does_not_grow_with_its_units():
    def cartridge(out, unit_views) -> int:
        return exports.write_cartridge(out, CLS, unit_views, CONTEXT)

    # Both sizes spill the manifest fragments to disk; zipfile's own directory made this ~2x.
    small, large = _peak(1_000, cartridge), _peak(3_000, cartridge)
    assert large < small * 1.2, (small, large)


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "streamed"])
def test_a_cartridge_is_byte_for_byte_what_zipfile_wrote_and_deterministic(seekable, monkeypatch):
    def render() -> bytes:
        out = _output(seekable)
        exports.write_cartridge(out, CLS, units(_names(40)), CONTEXT)
        return _bytes(out)

    ours, again = render(), render()
    monkeypatch.setattr(exports, "SpillingZipFile", zipfile.ZipFile)
    assert ours == again == render()
