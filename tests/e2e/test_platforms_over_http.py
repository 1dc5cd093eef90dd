"""LTI 1.3 registrations, the tool's JWKS and dynamic registration through the local gateway (make run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lti_gateway.local.__main__ import summary
from tests.peers.registration_platform import RegistrationPlatform

pytestmark = pytest.mark.e2e


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "lti_gateway.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def jwks_url(gateway) -> str:
    return f"{gateway.base_url}/lti/orgs/{gateway.org_id}/jwks.json"  # the demo organisation's keys


def test_jwks_is_served_publicly(gateway):
    answer = requests.get(jwks_url(gateway), timeout=30)

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=300"
    assert answer.json()["keys"][0]["alg"] == "RS256"


def test_cli_rotates_the_tool_key(gateway, state_dir):
    before = requests.get(jwks_url(gateway), timeout=30).json()["keys"][0]["kid"]

    result = _cli("tool-keys", "rotate", "--org", gateway.org_id, "--local", "--state-dir", str(state_dir))

    assert result.returncode == 0, result.stderr
    assert f"previous kid   {before}" in result.stdout
    kids = [k["kid"] for k in requests.get(jwks_url(gateway), timeout=30).json()["keys"]]
    assert kids[1] == before and kids[0] != before


def test_dynamic_registration_with_the_seeded_url(gateway):
    lms = RegistrationPlatform().start()
    try:
        answer = requests.get(
            gateway.stack["registration_url"],
            params={"openid_configuration": lms.config_url, "registration_token": lms.registration_token},
            timeout=30,
        )
    finally:
        lms.stop()

    assert answer.status_code == 200, answer.text
    assert "org.imsglobal.lti.close" in answer.text
    assert lms.rejections == []
    listed = requests.get(
        f"{gateway.base_url}/api/platforms",
        params={"url": lms.origin},
        headers={"Authorization": f"Bearer {gateway.api_key}"},
        timeout=30,
    ).json()["platforms"]
    assert [(p["clientId"], p["deploymentIds"], p["active"]) for p in listed] == [("client-1", ["deployment-1"], True)]


def test_make_run_prints_the_lti13_urls(gateway, tmp_path: Path):
    text = summary(gateway.stack, tmp_path / "dev-stack.json")
    base = gateway.base_url

    for expected in (
        f"{base}/lti/orgs/{gateway.org_id}/login",
        f"{base}/lti/orgs/{gateway.org_id}/launch",
        f"{base}/lti/orgs/{gateway.org_id}/jwks.json",
        gateway.stack["registration_url"],
        f"{base}/api/tool-configuration",
        f"{base}/api/platforms/registration-url",
    ):
        assert expected in text, expected
