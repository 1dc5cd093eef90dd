"""core.runtime: every piece of per-container state registers how to forget it; reset() forgets all."""

from __future__ import annotations

import ast
import gc
import sys
import weakref
from pathlib import Path

import pytest

from lti_gateway.core import runtime
from lti_gateway.core.cache import TtlCache


@pytest.fixture(autouse=True)
def _forget_after():
    yield
    runtime.reset()  # nothing built here (settings from a patched env) outlives the test


def test_reset_calls_every_registered_clear_and_can_run_twice():
    calls: list[str] = []

    def forget() -> None:
        calls.append("forget")

    assert runtime.register(forget) is forget  # usable as a decorator
    runtime.register(forget)  # a second registration keeps one entry
    runtime.reset()
    runtime.reset()

    assert calls == ["forget", "forget"]


def test_a_cached_factory_is_built_once_until_reset():
    built: list[int] = []

    @runtime.cached
    def client() -> int:
        built.append(1)
        return len(built)

    assert client() == client() == 1
    runtime.reset()
    assert client() == 2


def test_a_ttl_cache_registers_itself():
    cache: TtlCache[str] = TtlCache()
    cache.put("k", "v", ttl_seconds=60)

    runtime.reset()

    assert cache.peek("k") is None


def test_the_registry_does_not_keep_a_throwaway_cache_alive():
    cache: TtlCache[str] = TtlCache()
    ref = weakref.ref(cache)
    del cache
    gc.collect()

    assert ref() is None
    runtime.reset()  # the dead entry is skipped


def test_settings_and_clients_are_forgotten_by_reset(monkeypatch):
    from lti_gateway.core import config
    from lti_gateway.repositories import deps

    for name in ("LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID"):
        monkeypatch.setenv(name, name.lower())
    monkeypatch.setenv("KEYS_TABLE", "one")
    runtime.reset()
    assert config.settings().keys_table == "one"
    monkeypatch.setenv("KEYS_TABLE", "two")
    assert config.settings().keys_table == "one"  # once per container
    runtime.reset()
    assert config.settings().keys_table == "two"
    assert deps.keys_repo.cache_info().currsize == 0


def test_the_runtime_imports_nothing_but_the_standard_library():
    """Every handler's cold start imports it (through core.cache and core.config): tiny, stdlib only."""
    tree = ast.parse(Path(runtime.__file__).read_text(encoding="utf-8"))
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and all(name.split(".")[0] in sys.stdlib_module_names | {"__future__"} for name in names)
