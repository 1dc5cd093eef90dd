"""The layer resolves for the runtime it ships on: every dependency of ``layers/common/requirements.txt``
has a wheel for CPython 3.13 on arm64 (``cp313``, ``abi3`` or pure Python; ``manylinux`` aarch64 or
``any``), the way ``layers/common/Makefile`` installs them (``--only-binary=:all:``: nothing is ever
compiled for Lambda on this machine).

pip resolves it without installing (``--dry-run --report``, ~2 s against the package index). Without
an index this test skips, except under ``CI=true``, where the index is reachable and it must run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
TRACING_REQUIREMENTS = ROOT / "layers" / "common" / "requirements-tracing.txt"
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
MAKEFILE = ROOT / "layers" / "common" / "Makefile"


def _runtime_tag(tag: Tag) -> bool:
    """Installable on CPython 3.13, arm64 Linux."""
    if tag.platform != "any" and "aarch64" not in tag.platform:
        return False
    if tag.abi == "none" and tag.interpreter.startswith("py3"):
        return True
    if tag.interpreter == "cp313" and tag.abi in ("cp313", "abi3", "none"):
        return True
    if tag.abi == "abi3" and tag.interpreter.startswith("cp3"):
        return int(tag.interpreter[3:]) <= 13  # the stable ABI of an older 3.x runs on 3.13
    return False


def test_the_layer_makefile_installs_for_cpython_313_on_arm64():
    text = MAKEFILE.read_text(encoding="utf-8")
    assert "LAMBDA_PYTHON_VERSION := 3.13" in text
    assert "LAMBDA_PLATFORM := manylinux2014_aarch64" in text
    assert "--only-binary=:all:" in text


def _resolve(tmp_path: Path, requirements: Path, *extra: str) -> list[dict]:
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--disable-pip-version-check", "--only-binary=:all:", "--platform", "manylinux2014_aarch64",
        "--implementation", "cp", "--python-version", "3.13", "--target", str(tmp_path / "target"),
        "--requirement", str(requirements), "--report", str(report), *extra,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    if done.returncode != 0:
        reason = f"pip could not resolve the layer for cp313/aarch64:\n{done.stderr[-2000:]}"
        offline = any(word in done.stderr for word in ("NewConnectionError", "Could not fetch", "Network"))
        if offline and os.environ.get("CI") != "true":
            pytest.skip(f"no package index reachable ({reason.splitlines()[-1]})")
        pytest.fail(reason)
    return json.loads(report.read_text(encoding="utf-8"))["install"]


def _name(item: dict) -> str:
    return item["metadata"]["name"].lower().replace("_", "-")


def _assert_runtime_wheels(installed: list[dict]) -> None:
    for item in installed:
        filename = item["download_info"]["url"].rsplit("/", 1)[-1]
        assert filename.endswith(".whl"), f"{item['metadata']['name']}: not a wheel ({filename})"
        _, _, _, tags = parse_wheel_filename(filename)
        assert any(_runtime_tag(tag) for tag in tags), f"{filename} does not run on CPython 3.13 arm64"


def test_every_layer_dependency_has_a_cpython_313_arm64_wheel(tmp_path):
    installed = _resolve(tmp_path, REQUIREMENTS)
    names = {_name(item) for item in installed}
    assert {"aws-lambda-powertools", "pyjwt", "oauthlib", "cryptography"} <= names
    assert not names & RUNTIME_PROVIDED  # the runtime's own
    _assert_runtime_wheels(installed)


def test_the_tracing_sdk_is_installed_without_botocore_and_misses_no_other_dependency(tmp_path):
    """Powertools' Tracer needs the X-Ray SDK (Tracing=true). The Makefile installs it with --no-deps,
    because it requires botocore (the runtime's); every other requirement must be listed beside it."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    assert '--no-deps --target "$(SITE)" --requirement "$(LAYER_DIR)/requirements-tracing.txt"' in makefile
    installed = _resolve(tmp_path, TRACING_REQUIREMENTS, "--no-deps")
    names = {_name(item) for item in installed}
    assert names == {"aws-xray-sdk", "wrapt"}
    _assert_runtime_wheels(installed)
    for item in installed:
        for requirement in map(Requirement, item["metadata"].get("requires_dist") or []):
            if requirement.marker is not None and "extra" in str(requirement.marker):
                continue
            name = canonicalize_name(requirement.name)
            assert name in names | RUNTIME_PROVIDED, f"{_name(item)} requires {name}, not installed with it"
