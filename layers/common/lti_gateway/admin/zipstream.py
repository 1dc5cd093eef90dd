"""A ``zipfile.ZipFile`` for new archives whose central directory does not grow in memory.

``zipfile`` keeps a ``ZipInfo`` per entry (in ``filelist`` and ``NameToInfo``) until ``close()``
writes the central directory from them: a few hundred bytes per entry, so an archive of 10,000
small files holds megabytes it has already written. :class:`SpillingZipFile` packs each finished
entry's central-directory record as the next entry starts (and at ``close()``) into a spooled
temporary file, forgets the ``ZipInfo``, and at ``close()`` copies the records after the entries and
writes the end-of-central-directory record itself.

The bytes are those ``zipfile`` writes: the records are packed field for field as
``ZipFile._write_end_record`` packs them (its structs and constants, ZIP64 included), so the same
entries give the same archive, seekable output or not (a non-seekable one gets data descriptors,
as with ``zipfile``). What is given up: ``namelist()``, ``infolist()`` and ``getinfo()`` see only
the entry not spilled yet, and a duplicate name is not warned about. Write-only: modes ``w``/``x``.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from tempfile import SpooledTemporaryFile
from typing import IO, Any

DIRECTORY_IN_MEMORY = 64 * 1024  # spilled records kept in memory up to this, then on disk (/tmp)


def central_directory_record(zinfo: zipfile.ZipInfo, *, allow_zip64: bool = True) -> bytes:
    """``zinfo``'s central-directory record: header, name, extra field, comment — the bytes
    ``ZipFile._write_end_record`` writes for it."""
    dt = zinfo.date_time
    dosdate = (dt[0] - 1980) << 9 | dt[1] << 5 | dt[2]
    dostime = dt[3] << 11 | dt[4] << 5 | (dt[5] // 2)
    zip64: list[int] = []
    file_size, compress_size, header_offset = zinfo.file_size, zinfo.compress_size, zinfo.header_offset
    if file_size > zipfile.ZIP64_LIMIT or compress_size > zipfile.ZIP64_LIMIT:
        zip64 += [file_size, compress_size]
        file_size = compress_size = 0xFFFFFFFF
    if header_offset > zipfile.ZIP64_LIMIT:
        zip64.append(header_offset)
        header_offset = 0xFFFFFFFF
    extra = zinfo.extra
    min_version = 0
    if zip64:
        if not allow_zip64:
            raise zipfile.LargeZipFile(f"{zinfo.filename!r} would require ZIP64 extensions")
        if extra:  # zipfile strips a ZIP64 field from it first; ours never carry one
            raise zipfile.LargeZipFile(f"{zinfo.filename!r}: a ZIP64 record over an existing extra field")
        extra = struct.pack("<HH" + "Q" * len(zip64), 1, 8 * len(zip64), *zip64)
        min_version = zipfile.ZIP64_VERSION
    if zinfo.compress_type == zipfile.ZIP_BZIP2:
        min_version = max(zipfile.BZIP2_VERSION, min_version)
    elif zinfo.compress_type == zipfile.ZIP_LZMA:
        min_version = max(zipfile.LZMA_VERSION, min_version)
    filename, flag_bits = zinfo._encodeFilenameFlags()  # UTF-8 and flag 0x800 when not ASCII
    header = struct.pack(
        zipfile.structCentralDir,
        zipfile.stringCentralDir,
        max(min_version, zinfo.create_version),
        zinfo.create_system,
        max(min_version, zinfo.extract_version),
        zinfo.reserved,
        flag_bits,
        zinfo.compress_type,
        dostime,
        dosdate,
        zinfo.CRC,
        compress_size,
        file_size,
        len(filename),
        len(extra),
        len(zinfo.comment),
        0,
        zinfo.internal_attr,
        zinfo.external_attr,
        header_offset,
    )
    return header + filename + extra + zinfo.comment


def end_records(count: int, size: int, offset: int, comment: bytes, *, allow_zip64: bool = True) -> bytes:
    """The end of the archive after a central directory of ``count`` records and ``size`` bytes at
    ``offset``: the ZIP64 end record and locator when needed, then the end record and comment."""
    records = b""
    requires_zip64 = None
    if count > zipfile.ZIP_FILECOUNT_LIMIT:  # 65,535: a class of more units than that is allowed
        requires_zip64 = "Files count"
    elif offset > zipfile.ZIP64_LIMIT:
        requires_zip64 = "Central directory offset"
    elif size > zipfile.ZIP64_LIMIT:
        requires_zip64 = "Central directory size"
    if requires_zip64:
        if not allow_zip64:
            raise zipfile.LargeZipFile(requires_zip64 + " would require ZIP64 extensions")
        records += struct.pack(
            zipfile.structEndArchive64, zipfile.stringEndArchive64, 44, 45, 45, 0, 0, count, count, size, offset
        )
        records += struct.pack(
            zipfile.structEndArchive64Locator, zipfile.stringEndArchive64Locator, 0, offset + size, 1
        )
        count, size, offset = min(count, 0xFFFF), min(size, 0xFFFFFFFF), min(offset, 0xFFFFFFFF)
    end = struct.pack(
        zipfile.structEndArchive, zipfile.stringEndArchive, 0, 0, count, count, size, offset, len(comment)
    )
    return records + end + comment


class SpillingZipFile(zipfile.ZipFile):
    """``zipfile.ZipFile`` for writing (``w``/``x``) with the central directory spooled, not kept:
    memory stays flat in the number of entries. Same arguments as ``ZipFile``."""

    def __init__(self, file: Any, mode: str = "w", *args: Any, **kwargs: Any) -> None:
        if mode not in ("w", "x"):
            raise ValueError("SpillingZipFile writes new archives only (mode 'w' or 'x')")
        self._directory: IO[bytes] = SpooledTemporaryFile(max_size=DIRECTORY_IN_MEMORY)  # noqa: SIM115 - closed in close()
        self._spilled = 0
        try:
            super().__init__(file, mode, *args, **kwargs)
        except BaseException:
            self._directory.close()
            raise

    def open(self, name: Any, mode: str = "r", pwd: bytes | None = None, **kwargs: Any) -> IO[bytes]:
        if mode == "w":  # writestr() and write() come here too: the previous entry is finished
            with self._lock:
                self._spill()
        return super().open(name, mode, pwd, **kwargs)

    def _spill(self) -> None:
        """Pack the finished entries' records into the spool and forget their ``ZipInfo``."""
        for zinfo in self.filelist:
            self._directory.write(central_directory_record(zinfo, allow_zip64=self._allowZip64))
        self._spilled += len(self.filelist)
        self.filelist.clear()
        self.NameToInfo.clear()

    def _write_end_record(self) -> None:
        # close() calls this under the lock, with fp at start_dir (the end of the last entry).
        self._spill()
        self._directory.seek(0)
        shutil.copyfileobj(self._directory, self.fp)
        size = self.fp.tell() - self.start_dir
        self.fp.write(end_records(self._spilled, size, self.start_dir, self._comment, allow_zip64=self._allowZip64))
        self.fp.flush()

    def close(self) -> None:
        try:
            super().close()
        finally:
            directory = getattr(self, "_directory", None)  # None if __init__ refused the mode
            if self.fp is None and directory is not None:  # closed, not refused (a writer still open)
                directory.close()
