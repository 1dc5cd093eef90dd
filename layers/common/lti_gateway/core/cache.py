"""A small per-container cache with a time to live, for records launches read on every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from lti_gateway.core import runtime

T = TypeVar("T")
MAX_ENTRIES = 4096


class TtlCache(Generic[T]):
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()
        runtime.register(self.clear)  # per-container state: runtime.reset() forgets it

    def get(self, key: str, load: Callable[[], T], *, ttl_seconds: float) -> T:
        """The cached value for ``key``, or ``load()`` (cached for ``ttl_seconds``; 0 disables)."""
        now = time.monotonic()
        if ttl_seconds > 0:
            hit = self._items.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = load()
        self.put(key, value, ttl_seconds=ttl_seconds)
        return value

    def peek(self, key: str) -> T | None:
        """The cached value for ``key`` if it is still fresh, else None (nothing is loaded)."""
        hit = self._items.get(key)
        return hit[1] if hit and hit[0] > time.monotonic() else None

    def put(self, key: str, value: T, *, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        with self._lock:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[key] = (time.monotonic() + ttl_seconds, value)

    def discard(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
