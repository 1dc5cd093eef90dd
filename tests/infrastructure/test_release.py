"""One version, one licence, reported everywhere a user looks: pyproject.toml (read from
lti_gateway/version.py), `lti-gateway --version`, the OpenAPI document's ``info.version``, CHANGELOG.md;
the Apache-2.0 licence in LICENSE and in the package metadata."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from lti_gateway import cli
from lti_gateway.version import VERSION

ROOT = Path(__file__).resolve().parents[2]
SEMVER = re.compile(r"\d+\.\d+\.\d+")


def test_the_version_is_a_semantic_version_and_pyproject_reads_it_from_the_package():
    assert SEMVER.fullmatch(VERSION)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lti_gateway.version.VERSION"}


def test_the_cli_reports_the_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"lti-gateway {VERSION}"


def test_the_openapi_document_reports_the_version():
    document = json.loads((ROOT / "layers/common/lti_gateway/openapi.json").read_text(encoding="utf-8"))
    assert document["info"]["version"] == VERSION


def test_the_changelog_starts_with_this_version():
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert headings and headings[0] == VERSION


def test_the_licence_is_apache_2_and_the_metadata_says_so():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("Apache License") and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
