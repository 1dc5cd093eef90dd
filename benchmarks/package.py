"""Package: build CommonLayer exactly as ``sam build`` does (layers/common/Makefile) and measure it.

Needs python3.13 (on PATH, or pyenv's 3.13) and pip access to the package index for the aarch64
wheels (pip's cache makes later runs offline-fast). When either is missing the figure is skipped
with the reason. Reported: zipped size (deflate, what gets uploaded) against the 10 MB target,
unzipped size by package, and the bytecode check (every .py compiled by 3.13, unchecked-hash).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks.timing import Report, heading
from tests.support import layer_package

ROOT = Path(__file__).resolve().parents[1]


def python313() -> str | None:
    found = shutil.which("python3.13")
    candidates = [found] if found else []
    pyenv = shutil.which("pyenv")
    if pyenv:
        prefix = subprocess.run([pyenv, "prefix", "3.13"], capture_output=True, text=True, check=False)  # noqa: S603
        if prefix.returncode == 0 and prefix.stdout.strip():
            candidates.append(str(Path(prefix.stdout.strip().splitlines()[0]) / "bin" / "python3.13"))
    for candidate in candidates:
        probe = subprocess.run(  # noqa: S603
            [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 13))"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    return None


def run(report: Report) -> None:
    heading("Package: CommonLayer built as `sam build` does (layers/common/Makefile), without boto3")
    python = python313()
    if python is None:
        reason = "package: python3.13 not found (PATH or pyenv); the layer bytecode must be compiled by 3.13"
        print(f"  skipped: {reason}")
        report.skipped.append(reason)
        return
    with tempfile.TemporaryDirectory(prefix="lti-layer-") as artifacts:
        start = time.perf_counter()
        build = subprocess.run(  # noqa: S603
            [  # noqa: S607 - make from PATH, as `make bench` itself runs
                "make",
                "--no-print-directory",
                "-f",
                str(ROOT / "layers" / "common" / "Makefile"),
                "build-CommonLayer",
                f"ARTIFACTS_DIR={artifacts}",
                f"PYTHON={python}",
            ],
            capture_output=True,
            text=True,
            cwd=str(ROOT),
            timeout=600,
            check=False,
        )
        if build.returncode != 0:
            reason = "package: the layer build failed (offline? pip needs the index for aarch64 wheels)"
            print(f"  skipped: {reason}\n" + "\n".join("    " + ln for ln in build.stderr.strip().splitlines()[-8:]))
            report.skipped.append(reason)
            return
        built = time.perf_counter() - start
        info = layer_package.inspect(Path(artifacts) / "python")
    biggest = sorted(info.by_package.items(), key=lambda kv: -kv[1])[:8]
    print(f"  built in {built:.1f} s with {python}")
    print(f"  {info.files:,} files, {info.py_files:,} .py, unzipped {info.unzipped_bytes / 1e6:.1f} MB")
    print("  largest: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in biggest))
    print(
        f"  bytecode: {info.py_files - len(info.missing_pyc) - len(info.wrong_pyc):,}/{info.py_files:,} .py have "
        f"{layer_package.PYC_TAG} unchecked-hash .pyc"
    )
    verdict = "met" if info.zipped_bytes <= layer_package.MAX_ZIPPED_BYTES else "MISSED"
    print(
        f"  => zipped {info.zipped_bytes / 1e6:.2f} MB (target ≤ {layer_package.MAX_ZIPPED_BYTES / 1e6:g} MB) "
        f"{verdict}; boto3/botocore shipped: {', '.join(info.shipped_runtime) or 'no'}"
    )
    report.checks.append(
        (
            "package: CommonLayer zipped, ≤ 10 MB; every .py with 3.13 bytecode",
            f"{info.zipped_bytes / 1e6:.2f} MB, pyc {info.py_files - len(info.missing_pyc) - len(info.wrong_pyc)}"
            f"/{info.py_files}",
            not info.problems,
        )
    )
    for problem in info.problems:
        report.failures.append(f"package: {problem}")
