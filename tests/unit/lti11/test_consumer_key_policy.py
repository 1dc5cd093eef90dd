"""The Learnosity key rules, at the domain layer."""

from __future__ import annotations

import pytest

from lti_gateway.core.errors import ValidationFailed
from lti_gateway.lti11.consumer_keys import KEY_CHARS, parse_grace, validate_new_key


def test_every_allowed_character_is_accepted():
    key = KEY_CHARS
    secret = KEY_CHARS[::-1]
    assert validate_new_key({"key": key, "secret": secret}) == (key, secret, None)


@pytest.mark.parametrize("char", list("ABZ ;:'\"<>?@[]{}()=~`\\é\t"))
def test_every_other_character_is_refused(char):
    with pytest.raises(ValidationFailed) as raised:
        validate_new_key({"key": "a" * 20 + char, "secret": "b" * 20})
    assert "key" in raised.value.details


def test_neither_key_nor_secret_means_generate_both():
    assert validate_new_key({"label": "Canvas"}) == (None, None, "Canvas")


@pytest.mark.parametrize(
    ("body", "expected"), [({}, 0), ({"grace_period_seconds": 0}, 0), ({"grace_period_seconds": 604800}, 604800)]
)
def test_grace_periods(body, expected):
    assert parse_grace(body) == expected
