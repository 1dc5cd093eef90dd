"""``lti-gateway`` through ``cli.main(argv)`` against a moto stack (the ``stack`` fixture's tables and KMS key,
read from the environment as with neither ``--stack`` nor ``--local``).

    def test_x(run):
        made = run("orgs", "create", "Acme", "--json")      # Ran(code, out, err); .json parses stdout
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pytest

BASE = "https://lti.example.edu"


@dataclass(frozen=True)
class Ran:
    """One CLI run: its exit code, stdout and stderr (also used by tests/infrastructure/test_cli_permissions.py)."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def shown(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@pytest.fixture
def run(stack, capsys, monkeypatch):
    """Run one command in this process; the environment a target option sets is undone after the test."""
    from lti_gateway import cli

    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    saved = dict(os.environ)

    def invoke(*argv: str) -> Ran:
        capsys.readouterr()
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    yield invoke
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def acme(run) -> dict[str, str]:
    """An organisation made by the CLI: org_id, credential_id, api_key."""
    made = run("orgs", "create", "Acme University", "--json")
    assert made.code == 0, made.shown
    return made.json


@pytest.fixture
def other(run) -> dict[str, str]:
    made = run("orgs", "create", "Other University", "--json")
    assert made.code == 0, made.shown
    return made.json
