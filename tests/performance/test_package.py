"""Package gate (issue #7), when a build exists: the layer ``sam build`` left in ``.aws-sam/build``.

Offline and quick (it reads the build; it does not make one): every ``.py`` of the layer has
CPython 3.13 bytecode compiled with unchecked-hash invalidation, the zipped layer is at most 10 MB,
boto3/botocore and the dev server are not shipped. Without a build in the checkout the test is skipped;
``make test`` still applies the same gate to the real ``make build`` that tests/infrastructure/test_sam.py
runs into a temporary directory, and ``make bench`` builds the layer itself and checks the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import layer_package

BUILT_LAYER = Path(__file__).resolve().parents[2] / ".aws-sam" / "build" / "CommonLayer" / "python"


@pytest.mark.skipif(not BUILT_LAYER.is_dir(), reason="no .aws-sam/build/CommonLayer (run `make build`)")
def test_the_built_layer_is_compiled_for_313_and_small():
    info = layer_package.inspect(BUILT_LAYER)

    assert info.problems == []
    assert info.zipped_bytes <= layer_package.MAX_ZIPPED_BYTES


def test_the_inspection_finds_what_a_default_build_gets_wrong(tmp_path):
    """No bytecode (what the default `sam build` ships), an old interpreter's bytecode, boto3 shipped."""
    site = tmp_path / "python"
    (site / "lti_gateway" / "__pycache__").mkdir(parents=True)
    (site / "lti_gateway" / "__init__.py").write_text("")
    (site / "lti_gateway" / "ltik.py").write_text("X = 1\n")
    (site / "lti_gateway" / "__pycache__" / "ltik.cpython-313.pyc").write_bytes(bytes.fromhex("a70d0d0a") + bytes(12))
    (site / "boto3").mkdir()

    info = layer_package.inspect(site)

    assert info.missing_pyc == ["lti_gateway/__init__.py"]
    assert info.wrong_pyc == ["lti_gateway/ltik.py"]
    assert info.shipped_runtime == ["boto3"]
    assert len(info.problems) == 3
