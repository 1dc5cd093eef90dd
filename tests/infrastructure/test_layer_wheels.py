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
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "layers" / "common" / "requirements.txt"
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


def test_every_layer_dependency_has_a_cpython_313_arm64_wheel(tmp_path):
    report = tmp_path / "report.json"
    command = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
        "--disable-pip-version-check", "--only-binary=:all:", "--platform", "manylinux2014_aarch64",
        "--implementation", "cp", "--python-version", "3.13", "--target", str(tmp_path / "target"),
        "--requirement", str(REQUIREMENTS), "--report", str(report),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    if done.returncode != 0:
        reason = f"pip could not resolve the layer for cp313/aarch64:\n{done.stderr[-2000:]}"
        offline = any(word in done.stderr for word in ("NewConnectionError", "Could not fetch", "Network"))
        if offline and os.environ.get("CI") != "true":
            pytest.skip(f"no package index reachable ({reason.splitlines()[-1]})")
        pytest.fail(reason)

    installed = json.loads(report.read_text(encoding="utf-8"))["install"]
    names = {item["metadata"]["name"].lower().replace("_", "-") for item in installed}
    assert {"aws-lambda-powertools", "pyjwt", "oauthlib", "cryptography"} <= names
    assert not names & {"boto3", "botocore", "s3transfer"}  # the runtime's own
    for item in installed:
        filename = item["download_info"]["url"].rsplit("/", 1)[-1]
        assert filename.endswith(".whl"), f"{item['metadata']['name']}: not a wheel ({filename})"
        _, _, _, tags = parse_wheel_filename(filename)
        assert any(_runtime_tag(tag) for tag in tags), f"{filename} does not run on CPython 3.13 arm64"
