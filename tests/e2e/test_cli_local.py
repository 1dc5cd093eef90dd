"""The installed ``lti-gateway`` console script against the local gateway (``--local --state-dir``), as an
infrastructure team would drive it, with every change checked through the HTTP API and an LTI 1.1 launch.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import FORM, sign_launch

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = ROOT / ".venv" / "bin" / "lti-gateway"
LMS = "https://canvas.example.edu/courses/42"


@pytest.fixture(scope="module")
def cli(state_dir):
    if not CONSOLE_SCRIPT.exists():
        pytest.fail(f"{CONSOLE_SCRIPT} is not installed: make venv (pip install -e '.[dev]')")

    def run(*args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(  # noqa: S603 - the project's own console script
            [str(CONSOLE_SCRIPT), *args, "--local", "--state-dir", str(state_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == expect, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr
        return done

    return run


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _launch(url: str, key: str, secret: str) -> requests.Response:
    signed = sign_launch(url, CANVAS, consumer_key=key, secret=secret)
    return requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=10
    )


def test_an_operator_sets_up_an_organisation_with_the_cli(cli, gateway, tmp_path):
    api = gateway.base_url
    made = json.loads(cli("orgs", "create", "CLI Flow University", "--json").stdout)
    org_id, owner = made["org_id"], made["api_key"]
    where = ("--org", org_id)

    # orgs list: the demo organisation and this one
    listed = {o["org_id"] for o in json.loads(cli("orgs", "list", "--json").stdout)["organisations"]}
    assert {gateway.org_id, org_id} <= listed
    assert org_id in cli("orgs", "list").stdout

    # credentials: create (works over HTTP), list (no secret), revoke (refused from the next request)
    member = json.loads(cli("credentials", "create", *where, "--label", "reporting", "--json").stdout)
    assert requests.get(f"{api}/api/org", headers=_bearer(member["api_key"]), timeout=10).status_code == 200
    listing = cli("credentials", "list", *where).stdout
    assert member["credential_id"] in listing and member["api_key"].split(".")[1] not in listing
    cli("credentials", "revoke", member["credential_id"], *where)
    assert requests.get(f"{api}/api/org", headers=_bearer(member["api_key"]), timeout=10).status_code == 401
    cli("credentials", "revoke", made["credential_id"], *where, expect=4)  # the last owner

    # classes and units: the launch URLs the CLI prints are the API's
    cli("orgs", "update", org_id, "--app-launch-url", gateway.stack["app_launch_url"])
    cls = json.loads(
        cli("classes", "create", "Physics 101", *where, "--lms-url", LMS, "--confirm-lms-url", "--json").stdout
    )
    unit = json.loads(cli("units", "create", cls["class_id"], "Unit 1: Waves", *where, "--json").stdout)
    shown = cli("classes", "show", cls["class_id"], *where).stdout
    over_http = requests.get(f"{api}/api/classes/{cls['class_id']}", headers=_bearer(owner), timeout=10).json()
    assert cls["launch_url"] == over_http["launch_url"] and cls["launch_url"].startswith(api)
    assert cls["launch_url"] in shown and unit["launch_url"] in shown

    # consumer keys: made by the CLI, listed by GET /api/keys, launching; rotated with a grace period; revoked
    key = json.loads(cli("consumer-keys", "create", *where, "--label", "Canvas", "--json").stdout)
    keys = requests.get(f"{api}/api/keys", headers=_bearer(owner), timeout=10).json()["keys"]
    assert [k["key"] for k in keys] == [key["key"]] and "secret" not in keys[0]
    assert key["secret"] not in cli("consumer-keys", "list", *where).stdout
    assert _launch(unit["launch_url"], key["key"], key["secret"]).status_code == 302
    rotated = json.loads(
        cli("consumer-keys", "rotate", key["key"], *where, "--grace-period-seconds", "600", "--json").stdout
    )
    assert _launch(cls["launch_url"], key["key"], rotated["secret"]).status_code == 302
    assert _launch(cls["launch_url"], key["key"], key["secret"]).status_code == 302  # still in its grace period
    cli("consumer-keys", "revoke", key["key"], *where)
    read = requests.get(f"{api}/api/keys/{key['key']}", headers=_bearer(owner), timeout=10).json()
    assert read["status"] == "revoked"
    assert _launch(cls["launch_url"], key["key"], rotated["secret"]).status_code != 302

    # platforms: registered from a JSON file, listed by GET /api/platforms, deactivated and activated
    body = {
        "url": "https://moodle.example.edu",
        "clientId": "cli-flow-client",
        "name": "Moodle",
        "authenticationEndpoint": "https://moodle.example.edu/mod/lti/auth.php",
        "accesstokenEndpoint": "https://moodle.example.edu/mod/lti/token.php",
        "authConfig": {"method": "JWK_SET", "key": "https://moodle.example.edu/mod/lti/certs.php"},
        "deploymentIds": ["1"],
    }
    (tmp_path / "platform.json").write_text(json.dumps(body))
    platform = json.loads(
        cli("platforms", "register", *where, "--file", str(tmp_path / "platform.json"), "--json").stdout
    )
    assert platform["id"] in cli("platforms", "list", *where).stdout

    def active() -> bool:
        url = f"{api}/api/platforms/{platform['id']}"
        return requests.get(url, headers=_bearer(owner), timeout=10).json()["active"]

    cli("platforms", "deactivate", platform["id"], *where)
    assert active() is False
    cli("platforms", "activate", platform["id"], *where)
    assert active() is True

    # another organisation's things are not found through --org of the demo organisation
    cli("classes", "show", cls["class_id"], "--org", gateway.org_id, expect=3)
    cli("platforms", "deactivate", platform["id"], "--org", gateway.org_id, expect=3)
    assert active() is True
