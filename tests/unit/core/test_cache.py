"""core.cache.Memo: computed once per key, bounded, forgotten on runtime.reset()."""

from __future__ import annotations

import pytest

from lti_gateway.core import cache, runtime


def _counting(keep=None):
    calls: list[str] = []

    def compute(key: str) -> str:
        calls.append(key)
        if key == "bad":
            raise ValueError("bad")
        return key.upper()

    return cache.Memo(compute, max_entries=3, max_key_length=5, keep=keep), calls


def test_a_key_is_computed_once_and_reset_forgets_it():
    memo, calls = _counting()
    assert memo.get("ab") == "AB" and memo.get("ab") == "AB"
    assert calls == ["ab"]
    runtime.reset()
    assert len(memo) == 0
    assert memo.get("ab") == "AB" and calls == ["ab", "ab"]


def test_long_keys_refused_values_and_errors_are_not_kept():
    memo, calls = _counting(keep=lambda value: value != "NO")
    assert memo.get("toolong") == "TOOLONG"
    assert memo.get("no") == "NO"
    with pytest.raises(ValueError):
        memo.get("bad")
    assert list(memo) == []
    memo.get("toolong")
    assert calls.count("toolong") == 2


def test_it_never_holds_more_than_its_bound():
    memo, _ = _counting()
    for key in ("a", "b", "c", "d", "e", "f", "g"):
        memo.get(key)
        assert 0 < len(memo) <= 3
