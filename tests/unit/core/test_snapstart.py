"""core/snapstart.py: after a SnapStart restore every per-container object is forgotten; outside a
SnapStart container (local runs, tests, on-demand Lambda) nothing is registered or imported."""

from __future__ import annotations

import sys

from lti_gateway.core import runtime, snapstart


def test_nothing_is_registered_outside_a_snapstart_container():
    registered = []
    for kind in (None, "on-demand", "provisioned-concurrency"):
        env = {} if kind is None else {"AWS_LAMBDA_INITIALIZATION_TYPE": kind}
        assert snapstart.register(env, hooks=registered.append) is False
    assert registered == []


def test_a_snapstart_container_registers_the_restore_hook():
    registered = []
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}, hooks=registered.append)
    assert registered == [snapstart.after_restore]


def test_without_the_runtime_library_registration_is_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # only Lambda's runtime has it
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}) is False


def test_with_the_runtime_library_its_register_after_restore_is_used(monkeypatch):
    import types

    registered = []
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_after_restore = registered.append
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    assert snapstart.register({"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"})
    assert registered == [snapstart.after_restore]


def test_after_restore_forgets_per_container_state():
    """What init cached before the snapshot (clients, settings, caches) is rebuilt after a restore."""
    calls = []

    @runtime.cached
    def client():
        calls.append(1)
        return object()

    first = client()
    assert client() is first
    snapstart.after_restore()
    assert client() is not first
    assert len(calls) == 2
