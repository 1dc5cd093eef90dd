"""The registry of per-container state: whatever a warm container keeps registers how to forget it.

A Lambda container keeps module-level state between invocations (boto3 clients, settings,
repositories, TTL caches of records launches read often). Tests, benchmarks and the local gateway
point the code at a fresh backend between sessions and must forget all of it. Rather than one
function importing every domain module to clear its caches (which made the whole package one import
cycle), each piece of state registers its ``clear`` here when it is created:

- ``TtlCache()`` registers itself (core/cache.py);
- a ``@runtime.cached`` function is ``functools.cache`` whose ``cache_clear`` is registered;
- a module with other state calls ``runtime.register(its_reset)`` at import time.

``reset()`` calls every registered clear. A module that was never imported has no state, so nothing
is imported to reset it. Standard library only, and tiny: every handler's cold start imports it.
"""

from __future__ import annotations

import functools
import threading
import types
import weakref
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable[..., object])
Clear = TypeVar("Clear", bound=Callable[[], object])

# A bound method is held weakly (a throwaway TtlCache built in a test is not kept alive by the
# registry); plain functions and functools.cache's cache_clear are held as they are.
_clears: list[Callable[[], object | None]] = []
_lock = threading.Lock()


def _live(ref: Callable[[], object | None]) -> Callable[[], object] | None:
    return ref() if isinstance(ref, weakref.WeakMethod) else ref  # type: ignore[return-value]


def register(clear: Clear) -> Clear:
    """Remember ``clear`` (called with no argument by ``reset``); returns it, so it can decorate.

    Registering the same callable twice keeps one entry (a module re-imported by a test)."""
    ref = weakref.WeakMethod(clear) if isinstance(clear, types.MethodType) else clear
    with _lock:
        _clears[:] = [known for known in _clears if _live(known) is not None]
        if not any(_live(known) == clear for known in _clears):
            _clears.append(ref)
    return clear


def cached(fn: F) -> F:
    """``functools.cache`` of ``fn``, its ``cache_clear`` registered: a once-per-container factory."""
    wrapped = functools.cache(fn)
    register(wrapped.cache_clear)
    return wrapped  # type: ignore[return-value]


def reset() -> None:
    """Forget every per-container object (idempotent: clearing what is empty is harmless)."""
    with _lock:
        clears = [_live(known) for known in _clears]
    for clear in clears:
        if clear is not None:
            clear()
