"""Fixtures for the template tests: template.yaml parsed with its CloudFormation tags (cfn-lint's
decoder turns ``!Ref X`` into ``{"Ref": "X"}``, ``!GetAtt A.B`` into ``{"Fn::GetAtt": ["A", "B"]}``…)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode_str

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def template_text() -> str:
    return TEMPLATE_PATH.read_text()


@pytest.fixture(scope="session")
def _parsed_template(template_text: str) -> dict[str, Any]:
    parsed, problems = decode_str(template_text)
    assert not problems, [str(p) for p in problems]
    # Plain dicts and lists (the decoder's node classes carry line marks we do not need).
    return json.loads(json.dumps(parsed))


@pytest.fixture
def template(_parsed_template: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy per test: negative tests mutate it."""
    return copy.deepcopy(_parsed_template)
