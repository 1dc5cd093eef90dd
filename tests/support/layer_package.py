"""Inspect a built CommonLayer (``$(ARTIFACTS_DIR)/python``, e.g. ``.aws-sam/build/CommonLayer/python``).

Used by the package gate (tests/performance/test_package.py, when a build exists) and ``make bench``
(benchmarks/package.py, which builds the layer first). What is checked:

* every ``.py`` has bytecode for CPython 3.13 next to it (``__pycache__/<name>.cpython-313.pyc``) with
  3.13's magic number, hash-based and unchecked (``compileall --invalidation-mode unchecked-hash``:
  ``/opt`` is read-only, so without it every cold start would recompile in memory);
* the zipped size (deflate, as ``sam build``/``sam deploy`` upload it) is at most 10 MB;
* boto3/botocore/s3transfer are not shipped (the runtime has them) and neither is ``lti_gateway/local``.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ZIPPED_BYTES = 10_000_000  # 10 MB (decimal: the stricter reading)
PYC_TAG = "cpython-313"
MAGIC_313 = bytes.fromhex("f30d0d0a")  # importlib.util.MAGIC_NUMBER of CPython 3.13 (3571)
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, do not check the source
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer")


class _CountingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.size += len(b)
        return len(b)


@dataclass
class LayerInfo:
    site: Path
    zipped_bytes: int = 0
    unzipped_bytes: int = 0
    files: int = 0
    py_files: int = 0
    missing_pyc: list[str] = field(default_factory=list)
    wrong_pyc: list[str] = field(default_factory=list)  # not 3.13's magic, or not unchecked-hash
    shipped_runtime: list[str] = field(default_factory=list)
    ships_local: bool = False
    by_package: dict[str, int] = field(default_factory=dict)  # unzipped bytes per top-level entry

    @property
    def problems(self) -> list[str]:
        found = []
        if self.zipped_bytes > MAX_ZIPPED_BYTES:
            found.append(f"zipped {self.zipped_bytes / 1e6:.1f} MB > {MAX_ZIPPED_BYTES / 1e6:.1f} MB")
        if self.missing_pyc:
            found.append(f"{len(self.missing_pyc)} .py without {PYC_TAG} bytecode, e.g. {self.missing_pyc[:3]}")
        if self.wrong_pyc:
            found.append(f"{len(self.wrong_pyc)} .pyc not 3.13 unchecked-hash, e.g. {self.wrong_pyc[:3]}")
        if self.shipped_runtime:
            found.append(f"ships runtime packages {self.shipped_runtime}")
        if self.ships_local:
            found.append("ships lti_gateway/local (the dev server)")
        if self.py_files == 0:
            found.append("no Python files: not a built layer")
        return found


def inspect(site: Path) -> LayerInfo:
    info = LayerInfo(site)
    sink = _CountingSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for directory, dirs, names in os.walk(site):
            dirs.sort()
            for name in sorted(names):
                path = Path(directory) / name
                relative = path.relative_to(site)
                size = path.stat().st_size
                info.files += 1
                info.unzipped_bytes += size
                top = relative.parts[0]
                info.by_package[top] = info.by_package.get(top, 0) + size
                archive.write(path, str(Path("python") / relative))
                if name.endswith(".py"):
                    _check_bytecode(path, relative, info)
    info.zipped_bytes = sink.size
    info.shipped_runtime = [p for p in RUNTIME_PROVIDED if (site / p).exists()]
    info.ships_local = (site / "lti_gateway" / "local").exists()
    return info


def _check_bytecode(path: Path, relative: Path, info: LayerInfo) -> None:
    info.py_files += 1
    pyc = path.parent / "__pycache__" / f"{path.stem}.{PYC_TAG}.pyc"
    if not pyc.exists():
        info.missing_pyc.append(str(relative))
        return
    with pyc.open("rb") as handle:
        header = handle.read(8)
    if header[:4] != MAGIC_313 or int.from_bytes(header[4:8], "little") != UNCHECKED_HASH:
        info.wrong_pyc.append(str(relative))
