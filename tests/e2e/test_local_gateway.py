"""The local gateway over real HTTP: routing, the seeded demo organisation, the CLI, ``make run`` itself."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import yaml

from lti_gateway.local.template import load_template

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def test_an_unknown_route_is_a_json_404(gateway):
    response = requests.get(f"{gateway.base_url}/no/such/route", timeout=10)

    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "details": "no route for GET /no/such/route"}


def test_the_seeded_owner_key_reads_its_organisation(gateway):
    response = requests.get(f"{gateway.base_url}/api/org", headers=_bearer(gateway.api_key), timeout=10)

    assert response.status_code == 200, response.text
    assert response.json()["org_id"] == gateway.org_id


def test_a_double_slash_path_from_the_ltiaas_client_is_routed(gateway):
    response = requests.get(f"{gateway.base_url}//api/org", headers=_bearer(gateway.api_key), timeout=10)

    assert response.status_code == 200, response.text


def test_organisations_do_not_see_each_other(gateway):
    other = gateway.create_organisation("Other University")

    org = requests.get(f"{gateway.base_url}/api/org", headers=_bearer(other.api_key), timeout=10)
    keys = requests.get(f"{gateway.base_url}/api/keys", headers=_bearer(other.api_key), timeout=10)
    demo_key = requests.get(
        f"{gateway.base_url}/api/keys/{gateway.consumer_key}", headers=_bearer(other.api_key), timeout=10
    )

    assert org.json()["org_id"] == other.org_id != gateway.org_id
    assert gateway.consumer_key not in keys.text
    assert demo_key.status_code == 404


def test_parallel_requests_are_served_by_parallel_containers(gateway):
    def get(_):
        return requests.get(f"{gateway.base_url}/api/org", headers=_bearer(gateway.api_key), timeout=30)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(get, range(40)))

    assert [a.status_code for a in answers] == [200] * 40
    assert {a.json()["org_id"] for a in answers} == {gateway.org_id}


def test_a_form_post_reaches_the_handler_base64_encoded_and_is_answered_cleanly(gateway):
    url = gateway.stack["urls"]["LearnosityDataApiUrl"]
    form = {"security": json.dumps({"consumer_key": "nobody", "signature": "x"}), "request": "{}", "action": "get"}

    response = requests.post(url, data=form, timeout=10)

    # The handler decoded the base64 form (it complains about a field inside it), and did not crash.
    assert 400 <= response.status_code < 500, response.text
    assert "security" in json.dumps(response.json())


def test_the_dev_stack_describes_the_local_resources(gateway):
    stack = gateway.stack

    assert stack["urls"]["LearnosityDataApiUrl"] == f"{gateway.base_url}/v2023.1.LTS/consumer/keys/lti"
    assert stack["tables"]["KeysTable"] == "lti-gateway-local-KeysTable"
    assert stack["environment"]["KEYS_TABLE"] == "lti-gateway-local-KeysTable"
    assert stack["environment"]["PUBLIC_BASE_URL"] == gateway.base_url
    assert stack["dynamodb_endpoint_url"].startswith("http://127.0.0.1:")
    assert gateway.api_key and gateway.consumer_key and gateway.consumer_secret


# ----------------------------------------------------------------------------------------------- CLI


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-m", "lti_gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_cli_creates_an_organisation_on_the_local_gateway(gateway, state_dir):
    result = _cli("org", "create", "CLI University", "--local", "--state-dir", str(state_dir), "--json")

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert "shown only now" in result.stderr
    org = requests.get(f"{gateway.base_url}/api/org", headers=_bearer(created["api_key"]), timeout=10).json()
    assert (org["org_id"], org["name"]) == (created["org_id"], "CLI University")


def test_cli_errors_are_one_line_with_their_exit_code(state_dir, tmp_path):
    no_state = _cli("org", "create", "X", "--local", "--state-dir", str(tmp_path))
    bad_name = _cli("org", "create", " ", "--local", "--state-dir", str(state_dir))

    assert no_state.returncode == 7 and "make run" in no_state.stderr
    assert bad_name.returncode == 5 and "validation_failed" in bad_name.stderr
    assert "Traceback" not in no_state.stderr + bad_name.stderr


# ------------------------------------------------------------------------------------ make run itself

ECHO = """
import json

def lambda_handler(event, context):
    body = {"event": event, "function_name": context.function_name, "remaining": context.get_remaining_time_in_millis()}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "cookies": ["a=1", "b=2"],
            "body": json.dumps(body)}
"""
CRASH = """
def lambda_handler(event, context):
    raise RuntimeError("kaboom-internal-detail")
"""


def _write_template(tmp_path: Path) -> Path:
    """The real template plus an echo function (routes and a Function URL) and a crashing one."""
    template = load_template(ROOT / "template.yaml")
    template.pop("__dir__")
    resources = template["Resources"]
    resources["KeysFunction"]["Properties"]["CodeUri"] = str(ROOT / "functions" / "keys")
    for name, code in (("echo", ECHO), ("crash", CRASH)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.py").write_text(code)
    http = {"Type": "HttpApi"}
    resources["EchoFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "echo/",
            "Handler": "app.lambda_handler",
            "FunctionUrlConfig": {"AuthType": "NONE"},
            "Events": {
                "Item": {**http, "Properties": {"Method": "GET", "Path": "/echo/{item}"}},
                "Any": {**http, "Properties": {"Method": "ANY", "Path": "/echo/any/{proxy+}"}},
            },
        },
    }
    resources["CrashFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "crash/",
            "Handler": "app.lambda_handler",
            "Events": {"Crash": {**http, "Properties": {"Method": "GET", "Path": "/crash"}}},
        },
    }
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def test_python_m_lti_gateway_local_serves_the_template_and_stops_cleanly(tmp_path):
    template = _write_template(tmp_path)
    state = tmp_path / "state"
    args = ["--port", "0", "--template", str(template), "--state-dir", str(state), "--quiet"]
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "lti_gateway.local", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (state / "dev-stack.json").exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the gateway did not start in 60 s"
            time.sleep(0.1)
        time.sleep(0.2)  # the file is complete once written; the summary follows it
        stack = json.loads((state / "dev-stack.json").read_text())
        base = stack["base_url"]

        item = requests.get(f"{base}//echo/a%2Fb?x=1&x=2", headers={"Cookie": "s=1; t=2"}, timeout=10)
        form = requests.post(f"{base}/echo/any/deep/path", data={"k": "v", "empty": ""}, timeout=10)
        crash = requests.get(f"{base}/crash", timeout=10)
        fn_url = requests.get(f"{stack['function_urls']['EchoFunction']}some/path?q=1", timeout=10)
        org = requests.get(f"{base}/api/org", headers=_bearer(stack["api_key"]), timeout=10)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)

    assert proc.returncode == 0, err
    assert stack["api_key"] in out and stack["consumer_secret"] in out and "/v2023.1.LTS/consumer/keys/lti" in out
    assert (state / "dev-stack.json").stat().st_mode & 0o077 == 0

    event = item.json()["event"]
    assert (event["routeKey"], event["rawPath"], event["pathParameters"]) == (
        "GET /echo/{item}",
        "/echo/a%2Fb",
        {"item": "a/b"},
    )
    assert event["queryStringParameters"] == {"x": "1,2"} and event["cookies"] == ["s=1", "t=2"]
    assert item.json()["function_name"] == "EchoFunction" and 0 < item.json()["remaining"] <= 15_000
    assert {c.name for c in item.cookies} == {"a", "b"}

    event = form.json()["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"k=v&empty="
    assert event["pathParameters"] == {"proxy": "deep/path"}

    assert crash.status_code == 502 and crash.json()["error"] == "handler_crashed"
    assert "kaboom" not in crash.text and crash.json()["details"]["correlation_id"] in err
    assert "kaboom-internal-detail" in err

    event = fn_url.json()["event"]
    assert (event["routeKey"], event["rawPath"], event["rawQueryString"]) == ("$default", "/some/path", "q=1")
    assert org.status_code == 200
