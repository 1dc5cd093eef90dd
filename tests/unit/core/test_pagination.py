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


def test_a_base_table_listing_round_trips_with_only_the_table_key():
    key = {"pk": "LTI1P1BIND#p", "sk": "b1"}
    assert pagination.decode(pagination.encode(key), index_pk="pk", index_pk_value="LTI1P1BIND#p") == key


def _forged(**attributes) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(attributes).encode()).decode().rstrip("=")


OWN = {"gsi1pk": "ORG#o#CKEYS"}


@pytest.mark.parametrize(
    "token",
    [
        _forged(**OWN),  # the caller's own partition, no table key: DynamoDB refused it (a 500)
        _forged(**OWN, pk="CK#a", sk="META"),  # no index sort key
        _forged(**OWN, pk="CK#a", sk="META", gsi1sk="x", extra="y"),  # an attribute no key has
        _forged(**OWN, pk="", sk="META", gsi1sk="x"),  # empty key value
        _forged(**OWN, pk=1, sk="META", gsi1sk="x"),  # not a string
        _forged(**OWN, pk=["CK#a"], sk="META", gsi1sk="x"),
        _forged(**OWN, pk="CK#a", sk="META", gsi1sk="x" * 1025),  # past DynamoDB's 1,024-byte sort key
        _forged(**OWN, pk="CK#a", sk="META", gsi1sk="é" * 600),  # 1,200 UTF-8 bytes
        _forged(**OWN, pk="CK#\ud800", sk="META", gsi1sk="x"),  # a lone surrogate (a JSON escape)
        _forged(**OWN, pk="CK#a\u0000", sk="META", gsi1sk="x"),  # NUL
        _forged(**OWN, pk="CK#a\n", sk="META", gsi1sk="x"),  # a control character
        _forged(gsi1pk="ORG#o#CKEYS", pk="CK#a", sk="META", gsi1sk="x")[:-2] + "\u00e9\u00e9",  # not ASCII
        "W10",  # []
        "bnVsbA",  # null
        _forged(gsi1pk="ORG#o#CKEYS", pk="CK#a", sk="META", gsi1sk="x") + "!",  # a stray character
    ],
)
def test_forged_tokens_keeping_the_callers_partition_are_refused(token):
    with pytest.raises(ValidationFailed) as refused:
        pagination.decode(token, index_pk="gsi1pk", index_pk_value="ORG#o#CKEYS")
    assert refused.value.code == "invalid_page_token"


def test_a_base_table_token_carrying_index_attributes_is_refused():
    token = _forged(pk="LTI1P1BIND#p", sk="b1", gsi1pk="LTI1P1BIND#p", gsi1sk="x")
    with pytest.raises(ValidationFailed):
        pagination.decode(token, index_pk="pk", index_pk_value="LTI1P1BIND#p")
