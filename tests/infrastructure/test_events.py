"""events/: the shapes shipped, `make events` (lti_gateway.local.sample_events) making them live for the
local gateway's demo organisation, and each live event answering the status events/README.md documents
when its function's handler runs it (the local gateway's LocalFunction: functions/<dir>/app.py's
handler, imported as Lambda does, on the gateway's tables)."""

from __future__ import annotations

import base64
import json
import re
import stat
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from lti_gateway.local import sample_events
from lti_gateway.local import template as tpl
from lti_gateway.local.events import split_target
from tests.support.local_gateway import local_gateway

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
SHIPPED = sorted(p.name for p in EVENTS.glob("*.json"))
ROW = re.compile(r"^\| `([a-z0-9-]+\.json)` \| (\w+) \| (\d{3}) \|", re.M)


def documented() -> dict[str, tuple[str, int]]:
    rows = ROW.findall((EVENTS / "README.md").read_text(encoding="utf-8"))
    assert len(rows) == len({name for name, _, _ in rows}), "an event is listed twice in events/README.md"
    return {name: (function, int(status)) for name, function, status in rows}


@pytest.fixture(scope="module")
def template() -> dict:
    return tpl.load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A fresh local gateway, the generator run against it over HTTP, the events written to a directory."""
    with local_gateway(quiet=True) as gw:
        generator = sample_events.Generator(gw.stack)
        events = generator.generate()
        out = tmp_path_factory.mktemp("events")
        sample_events.write(events, generator.environment(), out)
        yield gw, generator, out


def _body(event: dict) -> str:
    body = event.get("body") or ""
    return base64.b64decode(body).decode() if event.get("isBase64Encoded") else body


def test_each_live_event_answers_its_documented_status_through_its_handler(live):
    gw, generator, out = live
    expected = documented()
    answers = {}
    for name in SHIPPED:
        event = json.loads((out / name).read_text(encoding="utf-8"))
        route, _ = generator.router.match(event["requestContext"]["http"]["method"], event["rawPath"])
        status, _headers, body = gw.invoke(route.function_id, event, f"events-{name}")
        answers[name] = (route.function_id, status, body[:200])
    wrong = {n: a for n, a in answers.items() if (a[0], a[1]) != expected.get(n)}
    assert not wrong, wrong
    # Not vacuous: the LTI 1.3 launch really spent its login state (an LTI 1.1 replay is answered
    # idempotently with the same hand-over, by design: tests/functional/lti11/test_idempotent_replay.py).
    event = json.loads((out / "launch-lti13.json").read_text(encoding="utf-8"))
    status, _headers, _body = gw.invoke("LaunchFunction", event, "replay")
    assert 400 <= status < 500, status


def test_every_shipped_event_is_documented_and_names_the_function_of_its_route(template):
    table = documented()
    assert sorted(table) == SHIPPED, "events/README.md and the files of events/ differ"
    router = tpl.Router(tpl.routes(template))
    functions = set(tpl.resources(template, "AWS::Serverless::Function"))
    for name in SHIPPED:
        event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
        method = event["requestContext"]["http"]["method"]
        matched = router.match(method, split_target(event["rawPath"])[0])
        assert matched is not None, f"{name}: no route of template.yaml for {method} {event['rawPath']}"
        route, params = matched
        assert table[name][0] in functions, f"{name}: {table[name][0]} is not a function of template.yaml"
        assert route.function_id == table[name][0], f"{name}: its route is served by {route.function_id}"
        assert event["routeKey"] == event["requestContext"]["routeKey"] == route.route_key, name
        assert set(event.get("pathParameters") or {}) == set(params), name


def test_the_live_events_are_the_shipped_shapes_made_real(live):
    """Same routes, header names, query and body fields as the shipped files: the generator and events/ agree."""
    _gw, _generator, out = live
    assert sorted(p.name for p in out.glob("*.json") if p.name != sample_events.ENV_FILE) == SHIPPED
    for name in SHIPPED:
        shipped = json.loads((EVENTS / name).read_text(encoding="utf-8"))
        made = json.loads((out / name).read_text(encoding="utf-8"))
        assert made["version"] == "2.0" and made["routeKey"] == shipped["routeKey"], name
        assert made["requestContext"]["http"]["method"] == shipped["requestContext"]["http"]["method"], name
        assert set(made.get("pathParameters") or {}) == set(shipped.get("pathParameters") or {}), name
        assert set(shipped["headers"]) <= set(made["headers"]), (name, set(shipped["headers"]) - set(made["headers"]))
        assert set(made.get("queryStringParameters") or {}) <= set(shipped.get("queryStringParameters") or {}), name
        assert made["isBase64Encoded"] == shipped["isBase64Encoded"], name
        assert bool(made.get("body")) == bool(shipped.get("body")), name
        if shipped["headers"].get("content-type", "").startswith("application/json"):
            assert set(json.loads(made["body"])) == set(json.loads(shipped["body"])), name
        elif shipped.get("isBase64Encoded"):
            fields = {k for k, _ in parse_qsl(_body(made))}
            assert {k for k, _ in parse_qsl(_body(shipped))} <= fields | {"oauth_signature"}, name
        auth = shipped["headers"].get("authorization")
        if auth:
            assert made["headers"]["authorization"].split()[0] == auth.split()[0], name


def test_the_shipped_events_hold_no_secret():
    for name in SHIPPED:
        event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
        auth = event["headers"].get("authorization")
        assert auth is None or "REPLACE_WITH" in auth, f"{name} carries a real-looking credential"
        assert "127.0.0.1" not in json.dumps(event), f"{name} was written by make events, not a shape"


def test_the_written_events_are_the_owners_alone_and_env_json_sets_only_declared_variables(live, template):
    gw, _generator, out = live
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    env = json.loads((out / sample_events.ENV_FILE).read_text(encoding="utf-8"))
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert env["Parameters"], env
    assert set(env["Parameters"]) <= declared, set(env["Parameters"]) - declared  # sam ignores the others
    assert env["Parameters"]["KEYS_TABLE"] == gw.stack["environment"]["KEYS_TABLE"]
    assert env["Parameters"]["KMS_KEY_ID"] == gw.stack["kms_key_id"]
    # The function under `sam local invoke` talks to the local gateway's moto, not to an AWS account.
    assert env["Parameters"]["DYNAMODB_ENDPOINT_URL"] == gw.stack["dynamodb_endpoint_url"]
    assert env["Parameters"]["KMS_ENDPOINT_URL"] == gw.stack["kms_endpoint_url"]


def test_make_events_without_a_running_local_gateway_says_to_start_it(tmp_path, capsys):
    assert sample_events.main(["--state-dir", str(tmp_path)]) == 2
    assert "make run" in capsys.readouterr().err
    stack = {"base_url": "http://127.0.0.1:9", "api_key": "ak_x.y", "consumer_key": "k", "org_id": "org_x"}
    (tmp_path / "dev-stack.json").write_text(json.dumps(stack))
    assert sample_events.main(["--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "does not answer" in err and "make run" in err and "Traceback" not in err
    assert not (tmp_path / "events").exists()
