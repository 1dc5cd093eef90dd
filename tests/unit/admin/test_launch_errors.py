"""What a launch error record keeps of a stranger's values: bounded, and nothing that hides or reorders text."""

from __future__ import annotations

import pytest

from lti_gateway.admin import launch_errors


def _record(context_id: str) -> dict:
    return launch_errors.build(
        "ref-1",
        org_id="org_1",
        route="POST /lti/launch/{class_id}",
        code="invalid_signature",
        status=401,
        message="m",
        verified=False,
        facts={"context_id": context_id},
        now=0,
    )


@pytest.mark.parametrize(
    "hidden",
    ["\x1b[2J", "\x9b31m", "\u202eevil", "\u2066x\u2069", "a\u200bb", "\ufeffx", "\ud800", "\x00"],
)
def test_control_and_invisible_format_characters_are_replaced(hidden):
    kept = _record(f"course{hidden}1")["lms"]["context_id"]
    assert kept.startswith("course") and kept.endswith("1")
    assert all(ch.isprintable() for ch in kept), repr(kept)


def test_ordinary_text_in_any_script_is_kept_as_sent():
    assert _record("物理学 101: 波")["lms"]["context_id"] == "物理学 101: 波"
