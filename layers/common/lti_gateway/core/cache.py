"""Small per-container caches: :class:`TtlCache` (a time to live, for records launches read on every
request) and :class:`Memo` (what is computed from a short input once, e.g. a token's header segment)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
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


class Memo(Generic[T]):
    """``compute(key)``, remembered per container for keys of at most ``max_key_length`` characters whose
    value ``keep`` accepts; at most ``max_entries`` of them (all forgotten when full: a flood of made-up
    keys costs a recomputation, never memory), and none after ``runtime.reset()``. An exception from
    ``compute`` propagates and nothing is remembered. No lock: a lost entry only costs a recomputation."""

    def __init__(
        self,
        compute: Callable[[str], T],
        *,
        max_entries: int,
        max_key_length: int,
        keep: Callable[[T], bool] | None = None,
    ) -> None:
        self.compute = compute
        self.max_entries = max_entries
        self.max_key_length = max_key_length
        self.keep = keep
        self._items: dict[str, T] = {}
        runtime.register(self.clear)

    def get(self, key: str) -> T:
        try:
            return self._items[key]
        except KeyError:
            pass
        value = self.compute(key)
        if len(key) <= self.max_key_length and (self.keep is None or self.keep(value)):
            if len(self._items) >= self.max_entries:
                self._items.clear()
            self._items[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
