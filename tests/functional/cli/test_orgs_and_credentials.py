"""``lti-gateway orgs …`` and ``credentials …``: the operator's listing of organisations, and API keys
managed with the API's own rules (printed once, never listed, the last owner never revoked)."""

from __future__ import annotations

import os
import stat

from lti_gateway.admin import orgs


def _secret_part(api_key: str) -> str:
    return api_key.split(".", 1)[1]


def test_orgs_create_prints_the_owner_key_once_and_list_shows_every_organisation(run, acme, other):
    listed = run("orgs", "list", "--json")
    table = run("orgs", "list")

    assert set(acme) == {"name", "org_id", "credential_id", "api_key"}
    assert orgs.authenticate_api_key(acme["api_key"]).org_id == acme["org_id"]
    assert listed.code == 0, listed.shown
    found = listed.json["organisations"]
    assert {(o["org_id"], o["name"]) for o in found} == {
        (acme["org_id"], "Acme University"),
        (other["org_id"], "Other University"),
    }
    assert all(set(o) == {"org_id", "name", "created_at"} for o in found)
    assert found == sorted(found, key=lambda o: (o["created_at"], o["org_id"]))  # oldest first
    header, *rows = table.out.splitlines()
    assert header.split() == ["ORG", "ID", "NAME", "CREATED"]
    assert [row.split()[0] for row in rows] == [o["org_id"] for o in found]
    assert all(row[header.index("NAME") :].split()[1] == "University" for row in rows)  # aligned columns
    for shown in (listed, table):
        assert _secret_part(acme["api_key"]) not in shown.out + shown.err and "secret" not in shown.out


def test_orgs_create_warns_on_stderr_and_the_old_spelling_still_works(run):
    made = run("org", "create", "Legacy Spelling University")

    assert made.code == 0, made.shown
    assert "Organisation created" in made.out and "api key" in made.out
    assert "shown only now" in made.err and "shown only now" not in made.out


def test_orgs_list_of_an_empty_stack_prints_an_empty_list(run):
    as_json = run("orgs", "list", "--json")
    readable = run("orgs", "list")

    assert (as_json.code, as_json.json) == (0, {"organisations": []})
    assert readable.code == 0 and readable.out == "" and "No organisations" in readable.err


def test_orgs_show_answers_the_settings_and_never_a_credential(run, acme):
    shown = run("orgs", "show", acme["org_id"], "--json")
    readable = run("orgs", "show", acme["org_id"])

    assert shown.code == 0, shown.shown
    assert shown.json["org_id"] == acme["org_id"] and shown.json["name"] == "Acme University"
    assert "credential" not in shown.json and "app_origins" in shown.json
    assert acme["credential_id"] not in readable.out and acme["org_id"] in readable.out


def test_orgs_show_of_an_unknown_organisation_is_not_found(run):
    for org_id in ("org_0000000000000000", "ORG#x", "x" * 65):
        missing = run("orgs", "show", org_id)
        assert missing.code == 3 and "not_found" in missing.err and missing.out == "", missing.shown


def test_orgs_update_changes_settings_as_patch_org_does(run, acme):
    updated = run("orgs", "update", acme["org_id"], "--tool-name", "Acme Labs", "--json")
    refused = run("orgs", "update", acme["org_id"], "--tool-icon-url", "http://cdn.example.com/i.png")

    assert updated.code == 0 and updated.json["tool_name"] == "Acme Labs", updated.shown
    assert refused.code == 5 and "tool_icon_url" in refused.err, refused.shown
    assert run("orgs", "show", acme["org_id"], "--json").json["tool_name"] == "Acme Labs"


def test_credentials_create_list_revoke(run, acme):
    made = run("credentials", "create", "--org", acme["org_id"], "--role", "member", "--label", "CI", "--json")
    assert orgs.authenticate_api_key(made.json["api_key"]).role == "member"
    listed = run("credentials", "list", "--org", acme["org_id"], "--json")
    table = run("credentials", "list", "--org", acme["org_id"])
    revoked = run("credentials", "revoke", made.json["credential_id"], "--org", acme["org_id"], "--json")
    again = run("credentials", "revoke", made.json["credential_id"], "--org", acme["org_id"])

    assert made.code == 0 and "shown only now" in made.err, made.shown
    assert listed.code == 0 and listed.json["org_id"] == acme["org_id"]
    found = {c["credential_id"]: c for c in listed.json["credentials"]}
    assert set(found) == {acme["credential_id"], made.json["credential_id"]}
    assert found[made.json["credential_id"]]["label"] == "CI"
    for shown in (listed, table):
        assert _secret_part(made.json["api_key"]) not in shown.out and _secret_part(acme["api_key"]) not in shown.out
        assert "hash" not in shown.out and "sealed" not in shown.out and "api_key" not in shown.out
    assert table.out.splitlines()[0].split()[:3] == ["CREDENTIAL", "ID", "ROLE"]
    assert revoked.code == 0 and revoked.json["status"] == "revoked", revoked.shown
    assert again.code == 4 and "already_revoked" in again.err, again.shown


def test_the_old_credential_spelling_still_creates_one(run, acme):
    made = run("credential", "create", "--org", acme["org_id"], "--json")

    assert made.code == 0 and made.json["role"] == "member", made.shown


def test_the_last_owner_credential_is_never_revoked(run, acme):
    refused = run("credentials", "revoke", acme["credential_id"], "--org", acme["org_id"])

    assert refused.code == 4 and "last_owner" in refused.err and refused.out == "", refused.shown
    assert orgs.authenticate_api_key(acme["api_key"]).org_id == acme["org_id"]

    second = run("credentials", "create", "--org", acme["org_id"], "--role", "owner", "--json").json
    revoked = run("credentials", "revoke", acme["credential_id"], "--org", acme["org_id"])
    last = run("credentials", "revoke", second["credential_id"], "--org", acme["org_id"])

    assert revoked.code == 0, revoked.shown
    assert last.code == 4 and "last_owner" in last.err


def test_another_organisations_credential_is_not_found_and_unchanged(run, acme, other):
    listed = run("credentials", "list", "--org", other["org_id"], "--json").json
    refused = run("credentials", "revoke", acme["credential_id"], "--org", other["org_id"])

    assert acme["credential_id"] not in {c["credential_id"] for c in listed["credentials"]}
    assert refused.code == 3 and "not_found" in refused.err, refused.shown
    assert orgs.authenticate_api_key(acme["api_key"]).org_id == acme["org_id"]


def test_a_credential_of_an_unknown_organisation_is_not_found(run):
    made = run("credentials", "create", "--org", "org_0000000000000000")
    listed = run("credentials", "list", "--org", "org_0000000000000000")

    assert made.code == 3 and listed.code == 3 and "not_found" in made.err


def test_secret_file_writes_the_key_to_a_new_0600_file_and_not_to_stdout(run, acme, tmp_path):
    path = tmp_path / "key.txt"
    made = run("credentials", "create", "--org", acme["org_id"], "--secret-file", str(path), "--json")
    existing = run("credentials", "create", "--org", acme["org_id"], "--secret-file", str(path))

    assert made.code == 0, made.shown
    api_key = path.read_text().strip()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert orgs.authenticate_api_key(api_key).org_id == acme["org_id"]
    assert "api_key" not in made.json and _secret_part(api_key) not in made.out + made.err
    assert str(path) in made.err
    assert existing.code == 2 and "exists" in existing.err
    count = len(run("credentials", "list", "--org", acme["org_id"], "--json").json["credentials"])
    assert count == 2  # the owner's and the first: the refused one made nothing


def test_secret_file_is_removed_when_the_creation_is_refused(run, tmp_path):
    path = tmp_path / "never.txt"
    refused = run("credentials", "create", "--org", "org_0000000000000000", "--secret-file", str(path))

    assert refused.code == 3 and not path.exists()
