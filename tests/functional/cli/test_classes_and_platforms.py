"""``lti-gateway classes|units|platforms …`` and ``export``: the launch URLs an LMS administrator pastes,
LTI 1.3 registrations from a JSON file, and export options that work as listed."""

from __future__ import annotations

import io
import json
import sys

from tests.functional.cli.conftest import BASE
from tests.support.platform_bodies import MOODLE

LMS = "https://canvas.example.edu/courses/42"


def _class(run, org_id: str, name: str = "Physics 101") -> dict:
    made = run("classes", "create", name, "--org", org_id, "--lms-url", LMS, "--confirm-lms-url", "--json")
    assert made.code == 0, made.shown
    return made.json


def test_classes_and_units_print_the_launch_urls_to_paste(run, acme):
    cls = _class(run, acme["org_id"])
    class_id = cls["class_id"]
    unit = run("units", "create", class_id, "Unit 1: Waves", "--org", acme["org_id"])
    second = run("units", "create", class_id, "Unit 2: Optics", "--org", acme["org_id"], "--json")
    shown = run("classes", "show", class_id, "--org", acme["org_id"], "--json")
    readable = run("classes", "show", class_id, "--org", acme["org_id"])
    units = run("units", "list", class_id, "--org", acme["org_id"], "--json")
    listed = run("classes", "list", "--org", acme["org_id"], "--json")
    table = run("classes", "list", "--org", acme["org_id"])

    assert cls["launch_url"] == f"{BASE}/lti/launch/{class_id}" and cls["class_lms_url"] == LMS
    assert unit.code == 0 and "Unit created" in unit.out and f"{BASE}/lti/launch/{class_id}/unt_" in unit.out
    unit_url = f"{BASE}/lti/launch/{class_id}/{second.json['unit_id']}"
    assert second.json["launch_url"] == unit_url
    assert shown.json["launch_url"] == cls["launch_url"]
    assert [u["name"] for u in shown.json["units"]] == ["Unit 1: Waves", "Unit 2: Optics"]
    assert cls["launch_url"] in readable.out and unit_url in readable.out and "UNIT ID" in readable.out
    assert units.json["units"] == shown.json["units"] and units.json["class_id"] == class_id
    assert [c["class_id"] for c in listed.json["classes"]] == [class_id]
    assert table.out.splitlines()[0].split()[:3] == ["CLASS", "ID", "NAME"] and cls["launch_url"] in table.out


def test_class_options_reach_the_api_rules(run, acme):
    unknown_lms = run("classes", "create", "X", "--org", acme["org_id"], "--lms-url", LMS)
    disabled = run("classes", "create", "Y", "--org", acme["org_id"], "--no-lti-enabled", "--json")
    base = run("classes", "create", "Z", "--org", acme["org_id"], "--base-url", "https://other.example.org", "--json")

    assert unknown_lms.code == 5 and "class_lms_url_unknown_origin" in unknown_lms.err, unknown_lms.shown
    assert disabled.code == 0 and disabled.json["lti_enabled"] is False, disabled.shown
    assert base.json["launch_url"].startswith("https://other.example.org/lti/launch/cls_")


def test_another_organisations_class_is_not_found_and_unchanged(run, acme, other):
    cls = _class(run, acme["org_id"])
    where = ("--org", other["org_id"])

    results = [
        run("classes", "show", cls["class_id"], *where),
        run("units", "list", cls["class_id"], *where),
        run("units", "create", cls["class_id"], "Intruder", *where),
        run("export", cls["class_id"], *where),
    ]

    for ran in results:
        assert ran.code == 3 and "not_found" in ran.err and ran.out == "", ran.shown
    assert run("classes", "list", *where, "--json").json["classes"] == []
    assert run("units", "list", cls["class_id"], "--org", acme["org_id"], "--json").json["units"] == []


def test_without_a_base_url_class_commands_say_what_is_missing(run, acme, monkeypatch):
    monkeypatch.delenv("PUBLIC_BASE_URL")

    missing = run("classes", "list", "--org", acme["org_id"])

    assert missing.code == 7 and "--base-url" in missing.err, missing.shown


def test_platforms_register_from_a_file_list_show_deactivate_activate(run, acme, tmp_path):
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(MOODLE))

    made = run("platforms", "register", "--org", acme["org_id"], "--file", str(path), "--json")
    platform_id = made.json["id"]
    listed = run("platforms", "list", "--org", acme["org_id"], "--json")
    table = run("platforms", "list", "--org", acme["org_id"])
    shown = run("platforms", "show", platform_id, "--org", acme["org_id"])
    off = run("platforms", "deactivate", platform_id, "--org", acme["org_id"], "--json")
    on = run("platforms", "activate", platform_id, "--org", acme["org_id"], "--json")

    assert made.code == 0 and made.json["url"] == MOODLE["url"] and made.json["active"] is True, made.shown
    assert [p["id"] for p in listed.json["platforms"]] == [platform_id]
    assert platform_id in table.out and "x7Tq2kLrP9aBcDe" in table.out
    assert shown.code == 0 and MOODLE["authenticationEndpoint"] in shown.out
    assert off.json["active"] is False and on.json["active"] is True


def test_platforms_register_reads_stdin(run, acme, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(MOODLE)))

    made = run("platforms", "register", "--org", acme["org_id"], "--file", "-", "--json")

    assert made.code == 0 and made.json["clientId"] == MOODLE["clientId"], made.shown


def test_platforms_register_refuses_bad_files_and_bodies(run, acme, tmp_path):
    where = ("--org", acme["org_id"])
    broken, array, http = tmp_path / "broken.json", tmp_path / "array.json", tmp_path / "http.json"
    broken.write_text("{not json")
    array.write_text("[]")
    http.write_text(json.dumps({**MOODLE, "url": "http://moodle.example.edu"}))

    missing = run("platforms", "register", *where, "--file", str(tmp_path / "nope.json"))
    results = [run("platforms", "register", *where, "--file", str(p)) for p in (broken, array, http)]

    assert missing.code == 2 and "nope.json" in missing.err, missing.shown
    for ran in results:
        assert ran.code == 5 and ran.out == "", ran.shown
    assert "url" in results[2].err
    assert run("platforms", "list", *where, "--json").json["platforms"] == []


def test_another_organisations_platform_is_not_found_and_unchanged(run, acme, other, tmp_path):
    path = tmp_path / "platform.json"
    path.write_text(json.dumps(MOODLE))
    platform_id = run("platforms", "register", "--org", acme["org_id"], "--file", str(path), "--json").json["id"]

    for action in ("show", "deactivate", "activate"):
        ran = run("platforms", action, platform_id, "--org", other["org_id"])
        assert ran.code == 3 and "not_found" in ran.err and ran.out == "", ran.shown
    assert run("platforms", "show", platform_id, "--org", acme["org_id"], "--json").json["active"] is True


def test_export_formats_offered_work_or_say_which_do(run, acme, tmp_path):
    cls = _class(run, acme["org_id"])
    run("units", "create", cls["class_id"], "Unit 1", "--org", acme["org_id"])

    org_json = run("export", "--org", acme["org_id"], "--format", "json")
    refused = {fmt: run("export", "--org", acme["org_id"], "--format", fmt) for fmt in ("cc", "xml")}
    cartridge = run("export", cls["class_id"], "--format", "cc", "-o", str(tmp_path / "c.imscc"))
    xml = run("export", cls["class_id"], "--format", "xml", "--org", acme["org_id"])

    assert org_json.code == 0 and json.loads(org_json.out)["classes"][0]["class_id"] == cls["class_id"], org_json.shown
    for fmt, ran in refused.items():
        assert ran.code == 2 and f"--format {fmt}" in ran.err and "csv or json" in ran.err and "CLASS_ID" in ran.err
        assert ran.out == ""
    assert cartridge.code == 0 and (tmp_path / "c.imscc").stat().st_size > 0, cartridge.shown
    assert xml.code == 0 and "<cartridge_basiclti_link" in xml.out, xml.shown
