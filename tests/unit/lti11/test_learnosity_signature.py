"""Our Data API signature check agrees with the official SDK's signer, byte for byte."""

from __future__ import annotations

import json

import pytest
from learnosity_sdk.request import Init

from lti_gateway.lti11.learnosity import expected_signature, parse_form


@pytest.mark.parametrize(
    ("security", "request_packet", "action"),
    [
        ({"consumer_key": "ak_0123456789abcdef", "domain": "localhost"}, {"label": "Canvas"}, "set"),
        ({"consumer_key": "ak_0123456789abcdef", "domain": "x.example", "user_id": "u1"}, {"limit": 5}, "get"),
        (
            {"consumer_key": "ak_0123456789abcdef", "domain": "d", "expires": "20991231-2359"},
            {"label": "Ünïcödé & <quotes> \"'"},
            "set",
        ),
    ],
)
def test_signature_matches_the_sdk(security, request_packet, action):
    form = Init("data", security, "the-secret", request_packet, action).generate()
    packet, request_raw, parsed_action = parse_form({k: [v] for k, v in form.items()})

    assert expected_signature("the-secret", packet, request_raw, parsed_action) == packet["signature"]
    assert expected_signature("other-secret", packet, request_raw, parsed_action) != packet["signature"]
    assert json.loads(request_raw)["meta"]  # the SDK's telemetry is part of what it signed
