"""Organisation settings on the local gateway (`make run`), over HTTP and through `lti-gateway`:
README's `PATCH /api/org` example answers 200 with no AllowedAppOrigins configured (issue 14 section 3),
`lti-gateway org update` changes what the API shows, `lti-gateway launch-errors show` looks a refused
launch up by its reference."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import requests

from lti_gateway import cli
from lti_gateway.core.errors import NotFound

pytestmark = pytest.mark.e2e


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def _org(gateway, api_key: str) -> dict:
    answer = requests.get(f"{gateway.base_url}/api/org", headers=_bearer(api_key), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "lti_gateway.cli", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_readme_example_sets_the_app_launch_url_on_a_fresh_local_gateway(gateway):
    assert gateway.stack["environment"].get("ALLOWED_APP_ORIGINS", "") == ""  # no operator list needed
    created = gateway.create_organisation("README University")

    answer = requests.patch(
        f"{gateway.base_url}/api/org",
        headers={**_bearer(created.api_key), "Content-Type": "application/json"},
        data=json.dumps({"app_launch_url": "https://app.example.com/lti/start"}),
        timeout=10,
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["app_launch_url"] == "https://app.example.com/lti/start"
    assert _org(gateway, created.api_key)["app_origins"] == ["https://app.example.com"]


def test_the_demo_organisation_allows_its_demo_app(gateway):
    org = _org(gateway, gateway.stack["api_key"])

    assert org["app_launch_url"] == gateway.stack["app_launch_url"]
    assert org["app_origins"] == [gateway.base_url]


# -- lti-gateway org update ---------------------------------------------------------------------------


def test_cli_org_update_changes_what_the_api_shows(gateway, state_dir: Path):
    created = gateway.create_organisation("CLI Settings University")

    result = _cli(
        "org",
        "update",
        created.org_id,
        "--app-launch-url",
        "https://labs.example.com/lti",
        "--tool-name",
        "Acme Labs",
        "--tool-description",
        "Physics labs",
        "--tool-icon-url",
        "https://cdn.example.com/icon.png",
        "--local",
        "--state-dir",
        str(state_dir),
        "--json",
    )

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    shown = _org(gateway, created.api_key)
    expected = {
        "app_launch_url": "https://labs.example.com/lti",
        "app_origins": ["https://labs.example.com"],
        "tool_name": "Acme Labs",
        "tool_description": "Physics labs",
        "tool_icon_url": "https://cdn.example.com/icon.png",
    }
    assert {k: printed[k] for k in expected} == expected
    assert {k: shown[k] for k in expected} == expected

    cleared = _cli("org", "update", created.org_id, "--clear", "tool_name", "--local", "--state-dir", str(state_dir))

    assert cleared.returncode == 0, cleared.stderr
    assert "Organisation updated" in cleared.stdout
    assert _org(gateway, created.api_key)["tool_name"] is None


def test_cli_org_update_refusals_are_one_line_and_change_nothing(gateway, state_dir: Path):
    created = gateway.create_organisation("CLI Refusals University")
    before = _org(gateway, created.api_key)
    where = ("--local", "--state-dir", str(state_dir))

    bad_url = _cli("org", "update", created.org_id, "--app-launch-url", "http://labs.example.com/lti", *where)
    bad_icon = _cli("org", "update", created.org_id, "--tool-icon-url", "https://10.0.0.1/i.png", *where)
    unknown = _cli("org", "update", "org_0000000000000000", "--tool-name", "X", *where)
    nothing = _cli("org", "update", created.org_id, *where)

    assert bad_url.returncode == 5 and "validation_failed" in bad_url.stderr and "https" in bad_url.stderr
    assert bad_icon.returncode == 5 and "tool_icon_url" in bad_icon.stderr
    assert unknown.returncode == 3 and "not_found" in unknown.stderr
    assert nothing.returncode == 2 and "nothing to update" in nothing.stderr
    for result in (bad_url, bad_icon, unknown, nothing):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _org(gateway, created.api_key) == before


# -- lti-gateway launch-errors show -------------------------------------------------------------------


def test_cli_launch_errors_show_looks_the_reference_up_in_the_named_organisation(gateway, monkeypatch, capsys):
    calls = []

    def lookup(org_id: str, reference: str) -> dict:
        calls.append((org_id, reference))
        if reference != "ref-1":
            raise NotFound({"reference": "no such launch error"})
        return {"reference": reference, "error": "app_origin_not_allowed", "at": "2026-01-01T00:00:00Z"}

    fake = types.ModuleType("lti_gateway.admin.launch_errors")
    fake.lookup = lookup  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lti_gateway.admin.launch_errors", fake)
    import lti_gateway.admin as admin_package

    monkeypatch.setattr(admin_package, "launch_errors", fake, raising=False)

    found = cli.main(["launch-errors", "show", "ref-1", "--org", gateway.org_id, "--json"])
    printed = capsys.readouterr()
    missing = cli.main(["launch-errors", "show", "ref-2", "--org", gateway.org_id])
    refused = capsys.readouterr()
    plain = cli.main(["launch-errors", "show", "ref-1", "--org", gateway.org_id])
    text = capsys.readouterr()

    assert found == 0 and json.loads(printed.out)["error"] == "app_origin_not_allowed"
    assert missing == 3 and "not_found" in refused.err and refused.out == ""
    assert plain == 0 and "app_origin_not_allowed" in text.out and "ref-1" in text.out
    assert calls == [(gateway.org_id, "ref-1"), (gateway.org_id, "ref-2"), (gateway.org_id, "ref-1")]


def test_cli_launch_errors_show_of_an_unknown_reference_is_one_line(gateway, state_dir: Path):
    result = _cli(
        "launch-errors", "show", "no-such-reference", "--org", gateway.org_id, "--local", "--state-dir", str(state_dir)
    )

    assert result.returncode == 3, result.stdout
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
