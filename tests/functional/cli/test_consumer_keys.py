"""``lti-gateway consumer-keys …``: LTI 1.1 keys with the rules of POST /api/keys (lti11/consumer_keys.py)."""

from __future__ import annotations

import io

from lti_gateway.lti11 import consumer_keys

OWN_KEY = "cli.consumer-key.2026"
OWN_SECRET = "s3cret|value/with$chars+ok"


def _launch_secrets(key: str) -> tuple[str, ...]:
    consumer_keys.clear_cache()
    return consumer_keys.launch_credentials(key).secrets


def test_create_generated_prints_the_secret_once_and_it_launches(run, acme):
    made = run("consumer-keys", "create", "--org", acme["org_id"], "--label", "Canvas", "--json")
    readable = run("consumer-keys", "create", "--org", acme["org_id"], "--label", "Moodle")

    assert made.code == 0, made.shown
    created = made.json
    assert {"org_id", "key", "secret", "label", "status", "created_at"} <= set(created)
    assert created["label"] == "Canvas" and created["status"] == "active"
    assert _launch_secrets(created["key"]) == (created["secret"],)
    assert "shown only now" in made.err and "shown only now" not in made.out
    assert readable.code == 0 and "Consumer key created" in readable.out and "secret" in readable.out


def test_create_with_your_own_key_and_secret(run, acme):
    made = run("consumer-keys", "create", "--org", acme["org_id"], "--key", OWN_KEY, "--secret", OWN_SECRET, "--json")

    assert made.code == 0, made.shown
    assert (made.json["key"], made.json["secret"]) == (OWN_KEY, OWN_SECRET)
    assert _launch_secrets(OWN_KEY) == (OWN_SECRET,)


def test_create_reads_a_supplied_secret_from_stdin_so_it_stays_out_of_shell_history(run, acme, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(OWN_SECRET + "\nignored second line\n"))
    made = run("consumer-keys", "create", "--org", acme["org_id"], "--key", OWN_KEY, "--secret", "-", "--json")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    empty = run("consumer-keys", "create", "--org", acme["org_id"], "--key", OWN_KEY + "x", "--secret", "-")

    assert made.code == 0, made.shown
    assert (made.json["key"], made.json["secret"]) == (OWN_KEY, OWN_SECRET)
    assert _launch_secrets(OWN_KEY) == (OWN_SECRET,)
    assert empty.code == 5 and "stdin" in empty.err and empty.out == "", empty.shown
    assert consumer_keys.launch_credentials(OWN_KEY + "x").status == "unknown"  # nothing made


def test_create_refuses_what_the_api_refuses(run, acme, other):
    where = ("--org", acme["org_id"])
    short = run("consumer-keys", "create", *where, "--key", "short", "--secret", OWN_SECRET)
    alone = run("consumer-keys", "create", *where, "--key", OWN_KEY)
    same = run("consumer-keys", "create", *where, "--key", OWN_KEY, "--secret", OWN_KEY)
    upper = run("consumer-keys", "create", *where, "--key", "UPPER.case.key.2026", "--secret", OWN_SECRET)
    first = run("consumer-keys", "create", *where, "--key", OWN_KEY, "--secret", OWN_SECRET, "--label", "L")
    taken = run("consumer-keys", "create", "--org", other["org_id"], "--key", OWN_KEY, "--secret", OWN_SECRET + "x")
    label = run("consumer-keys", "create", *where, "--label", "L")

    for refused in (short, alone, same, upper):
        assert refused.code == 5 and "validation_failed" in refused.err and refused.out == "", refused.shown
        assert OWN_SECRET not in refused.err
    assert first.code == 0, first.shown
    assert taken.code == 4 and "key_taken" in taken.err, taken.shown
    assert label.code == 4 and "label_taken" in label.err, label.shown
    assert _launch_secrets(OWN_KEY) == (OWN_SECRET,)  # the refused ones changed nothing


def test_list_and_show_never_print_a_secret(run, acme):
    created = run("consumer-keys", "create", "--org", acme["org_id"], "--label", "Canvas", "--json").json
    listed = run("consumer-keys", "list", "--org", acme["org_id"], "--json")
    table = run("consumer-keys", "list", "--org", acme["org_id"])
    shown = run("consumer-keys", "show", created["key"], "--org", acme["org_id"], "--json")
    readable = run("consumer-keys", "show", created["key"], "--org", acme["org_id"])

    assert listed.code == 0 and [k["key"] for k in listed.json["keys"]] == [created["key"]]
    assert shown.code == 0 and shown.json["key"] == created["key"] and shown.json["label"] == "Canvas"
    assert table.out.splitlines()[0].split()[:3] == ["KEY", "LABEL", "STATUS"]
    for ran in (listed, table, shown, readable):
        assert created["secret"] not in ran.out + ran.err and "secret_sealed" not in ran.out
        assert '"secret"' not in ran.out


def test_rotate_with_a_grace_period_then_revoke(run, acme):
    created = run("consumer-keys", "create", "--org", acme["org_id"], "--json").json
    key = created["key"]
    rotated = run("consumer-keys", "rotate", key, "--org", acme["org_id"], "--grace-period-seconds", "3600", "--json")

    assert rotated.code == 0, rotated.shown
    assert rotated.json["secret"] != created["secret"] and "shown only now" in rotated.err
    assert "previous_secret_valid_until" in rotated.json
    assert set(_launch_secrets(key)) == {rotated.json["secret"], created["secret"]}

    bad_grace = run("consumer-keys", "rotate", key, "--org", acme["org_id"], "--grace-period-seconds", "-1")
    revoked = run("consumer-keys", "revoke", key, "--org", acme["org_id"], "--json")
    again = run("consumer-keys", "revoke", key, "--org", acme["org_id"])
    rotate_revoked = run("consumer-keys", "rotate", key, "--org", acme["org_id"])

    assert bad_grace.code == 5 and "grace_period_seconds" in bad_grace.err
    assert revoked.code == 0 and revoked.json["status"] == "revoked", revoked.shown
    assert _launch_secrets(key) == ()
    assert again.code == 4 and "already_revoked" in again.err
    assert rotate_revoked.code == 4 and "key_revoked" in rotate_revoked.err


def test_another_organisations_key_is_not_found_and_unchanged(run, acme, other):
    created = run("consumer-keys", "create", "--org", acme["org_id"], "--json").json
    where = ("--org", other["org_id"])

    results = [
        run("consumer-keys", "show", created["key"], *where),
        run("consumer-keys", "rotate", created["key"], *where),
        run("consumer-keys", "revoke", created["key"], *where),
    ]
    listed = run("consumer-keys", "list", *where, "--json").json

    for ran in results:
        assert ran.code == 3 and "not_found" in ran.err and ran.out == "", ran.shown
    assert listed["keys"] == []
    assert _launch_secrets(created["key"]) == (created["secret"],)


def test_secret_file_takes_a_rotated_secret_off_stdout(run, acme, tmp_path):
    created = run("consumer-keys", "create", "--org", acme["org_id"], "--json").json
    path = tmp_path / "secret"
    rotated = run("consumer-keys", "rotate", created["key"], "--org", acme["org_id"], "--secret-file", str(path))

    assert rotated.code == 0, rotated.shown
    secret = path.read_text().strip()
    assert secret not in rotated.out + rotated.err and _launch_secrets(created["key"]) == (secret,)
