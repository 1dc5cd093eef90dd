from __future__ import annotations

import pytest

from lti_gateway.core import pagination
from lti_gateway.core.errors import ValidationFailed

KEY = {"pk": "CK#a", "sk": "META", "gsi1pk": "ORG#o#CKEYS", "gsi1sk": "2026#a"}


def test_round_trip():
    token = pagination.encode(KEY)
    assert pagination.decode(token, index_pk="gsi1pk", index_pk_value="ORG#o#CKEYS") == KEY


@pytest.mark.parametrize(
    "token",
    ["%%%", "e30", pagination.encode({"gsi1pk": "ORG#other#CKEYS"}), pagination.encode({"gsi1pk": 5}), "x" * 3000],
)
def test_foreign_or_broken_tokens_are_refused(token):
    with pytest.raises(ValidationFailed):
        pagination.decode(token, index_pk="gsi1pk", index_pk_value="ORG#o#CKEYS")


@pytest.mark.parametrize("raw", ["0", "101", "-1", "1.5", "abc"])
def test_limits_out_of_range(raw):
    with pytest.raises(ValidationFailed):
        pagination.parse_limit(raw)
