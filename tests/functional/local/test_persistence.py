"""`make run` keeps its state across restarts (issue 16): the real ``python -m lti_gateway.local`` in a
subprocess, with its own temporary ``--state-dir`` (never the developer's ``.local/``).

A restart keeps the demo organisation (not made again), API keys, classes and units, and the KMS key:
a consumer secret sealed before the restart still verifies an LTI 1.1 launch after it. ``--fresh``
starts empty. A state file that cannot be read stops the start with a message naming it and the way
out, and is left as it was. Ctrl-C (SIGINT) stops the gateway promptly and saves what changed.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import FORM, sign_launch
from tests.support.local_process import LocalProcess


@pytest.fixture
def runs(tmp_path):
    started: list[LocalProcess] = []

    def run(*extra: str) -> LocalProcess:
        started.append(LocalProcess(tmp_path / "state", *extra))
        return started[-1]

    yield run
    for one in started:
        one.kill()


def _lti11_launch(run: LocalProcess) -> requests.Response:
    signed = sign_launch(
        run.stack["class_launch_url"],
        CANVAS,
        consumer_key=run.stack["consumer_key"],
        secret=run.stack["consumer_secret"],
    )
    return requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=30
    )


def test_a_restart_keeps_the_organisation_its_classes_units_and_sealed_secrets(runs):
    first = runs().started()
    created = requests.post(f"{first.base}/api/classes", json={"name": "Kept"}, headers=first.headers, timeout=30)
    assert created.status_code == 201, created.text
    class_id = created.json()["class_id"]
    units = [
        requests.post(
            f"{first.base}/api/classes/{class_id}/units", json={"name": f"U{i}"}, headers=first.headers, timeout=30
        ).json()["unit_id"]
        for i in range(5)
    ]
    assert first.interrupt(30) < 30 and first.process.returncode == 0, first.text()
    assert (first.state_dir / "state.json").stat().st_mode & 0o077 == 0  # the owner's alone: it holds secrets

    second = runs().started()

    assert "state restored" in second.text()
    assert (second.stack["org_id"], second.stack["api_key"]) == (first.stack["org_id"], first.stack["api_key"])
    classes = requests.get(f"{second.base}/api/classes", headers=second.headers, timeout=30).json()["classes"]
    assert sorted(c["name"] for c in classes) == ["Demo Class", "Kept"]  # the demo class is not made twice
    listed = requests.get(f"{second.base}/api/classes/{class_id}/units", headers=second.headers, timeout=30).json()
    assert [u["unit_id"] for u in listed["units"]] == units
    assert [u["position"] for u in listed["units"]] == [0, 1, 2, 3, 4]
    launch = _lti11_launch(second)  # the consumer secret, KMS-sealed before the restart, still opens
    assert launch.status_code == 302, launch.text
    assert launch.headers["Location"].startswith(second.stack["app_launch_url"] + "?ltik=")
    assert second.stack["console_url"] != first.stack["console_url"]  # a new one-time link each start
    assert requests.get(second.stack["console_url"], allow_redirects=False, timeout=30).status_code in (200, 302, 303)


def test_fresh_starts_empty_and_replaces_the_state(runs):
    first = runs().started()
    requests.post(f"{first.base}/api/classes", json={"name": "Forgotten"}, headers=first.headers, timeout=30)
    assert first.interrupt(30) < 30 and first.process.returncode == 0, first.text()

    fresh = runs("--fresh").started()

    assert "state restored" not in fresh.text()
    assert fresh.stack["org_id"] != first.stack["org_id"]
    assert requests.get(f"{fresh.base}/api/org", headers=first.headers, timeout=30).status_code == 401
    names = [
        c["name"]
        for c in requests.get(f"{fresh.base}/api/classes", headers=fresh.headers, timeout=30).json()["classes"]
    ]
    assert names == ["Demo Class"]
    assert fresh.interrupt(30) < 30 and fresh.process.returncode == 0, fresh.text()
    again = runs().started()  # the fresh start's state is the one kept now
    assert again.stack["org_id"] == fresh.stack["org_id"]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"format": "something else"}',
        b'{"format": "lti-gateway-local-state", "version": 99}',
        b"\xff\xfe",
    ],
)
def test_a_state_that_cannot_be_read_stops_the_start_with_a_message(runs, tmp_path, content):
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_bytes(content)

    refused = runs()

    assert refused.exited() == 2
    text = refused.text()
    assert "cannot start" in text and str(state / "state.json") in text and "FRESH=1" in text
    assert "Traceback" not in text
    assert (state / "state.json").read_bytes() == content  # never silently replaced
    fresh = runs("--fresh").started()
    assert fresh.stack["org_id"]


def test_ctrl_c_stops_promptly_and_saves_the_last_changes(runs):
    run = runs().started()
    created = requests.post(f"{run.base}/api/classes", json={"name": "Last"}, headers=run.headers, timeout=30)
    class_id = created.json()["class_id"]
    with requests.Session() as session:
        for i in range(100):
            answer = session.post(
                f"{run.base}/api/classes/{class_id}/units", json={"name": f"U{i}"}, headers=run.headers, timeout=30
            )
            assert answer.status_code == 201, answer.text

    # Correctness, not timing: the benchmark measures it (target 2 s).
    assert run.interrupt(30) < 15 and run.process.returncode == 0, run.text()

    saved = json.loads((run.state_dir / "state.json").read_text())
    items = saved["tables"]["ClassesTable"]
    assert sum(1 for i in items if i.get("kind", {}).get("S") == "unit" and i["class_id"]["S"] == class_id) == 100
    assert not list(run.state_dir.glob(".state-*"))  # no temporary file left behind
