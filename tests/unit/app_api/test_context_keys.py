"""Context service keys without a table: the line item id of an LTI 1.1 resource link names its
outcome record, and the LTI 1.3 context data a newer launch refreshes (``service_keys.merged``)."""

from __future__ import annotations

import pytest

from lti_gateway.app_api import line_item_ids, service_keys
from lti_gateway.app_api import platform_services as ps
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.core.errors import ApiError
from lti_gateway.repositories.schema import outcome_link_digest

BASE = "https://lms.example/api/lti/courses/7"


@pytest.mark.parametrize("context_id", ["course-7", None, 'ü "quoted" / odd'])
def test_the_li11_id_is_the_link_records_digest(context_id):
    ctx = ServiceContext("1.1", "org_a", "l1", context_id=context_id, resource_link_id="rl-1", consumer_key="ck")

    assert line_item_ids.lti11_id(ctx) == "li11_" + outcome_link_digest("org_a", "ck", context_id, "rl-1")
    assert outcome_link_digest("org_b", "ck", context_id, "rl-1") != outcome_link_digest(
        "org_a", "ck", context_id, "rl-1"
    )


def _launch(launch_id: str, item: str, *, container: str = f"{BASE}/line_items", scopes=("s1",), nrps=None):
    return ServiceContext(
        "1.3",
        "org_a",
        launch_id,
        context_id="course-7",
        resource_link_id=launch_id,
        issuer="https://lms.example",
        client_id="c",
        deployment_id="d",
        ags={"lineitems": container, "lineitem": item, "scope": list(scopes)},
        nrps=nrps,
    ).for_context()


def test_a_newer_launch_replaces_what_it_shows_and_every_launch_adds_its_line_item():
    stored = _launch("l1", "https://lms.example/mod/item/1", nrps={"context_memberships_url": f"{BASE}/nrps"})
    newer = _launch("l2", f"{BASE}/line_items/2", container=f"{BASE}/line_items_v2", scopes=("s1", "s2"))

    merged = service_keys.merged(stored, newer, stored_at=100, launched_at=200)
    older = service_keys.merged(stored, newer, stored_at=300, launched_at=200)

    assert merged.ags["lineitems"] == f"{BASE}/line_items_v2" and merged.ags["scope"] == ["s1", "s2"]
    assert merged.nrps == stored.nrps  # not shown by the newer launch: kept
    assert merged.line_items_seen == ["https://lms.example/mod/item/1", f"{BASE}/line_items/2"]
    assert older.ags == stored.ags and older.line_items_seen == merged.line_items_seen
    assert service_keys.merged(merged, newer, stored_at=200, launched_at=200) == merged  # nothing new: no write


def test_the_seen_line_items_are_capped_newest_kept():
    ctx = _launch("l0", f"{BASE}/line_items/0")
    for n in range(1, service_keys.MAX_LINE_ITEMS_SEEN + 5):
        ctx = service_keys.merged(ctx, _launch(f"l{n}", f"{BASE}/x/{n}"), stored_at=n, launched_at=n)

    assert len(ctx.line_items_seen) == service_keys.MAX_LINE_ITEMS_SEEN
    assert ctx.line_items_seen[-1] == f"{BASE}/x/{service_keys.MAX_LINE_ITEMS_SEEN + 4}"


def test_a_context_key_may_call_the_line_items_seen_and_nothing_else_outside_the_container():
    ctx = service_keys.merged(
        _launch("l1", "https://lms.example/mod/item/1"),
        _launch("l2", f"{BASE}/line_items/2"),
        stored_at=1,
        launched_at=2,
    )

    for url in ("https://lms.example/mod/item/1/scores", f"{BASE}/line_items/2", f"{BASE}/line_items/9/results"):
        assert ps.check_url(ctx, url, "ags") == url
    with pytest.raises(ApiError) as refused:
        ps.check_url(ctx, "https://lms.example/mod/item/3/scores", "ags")
    assert refused.value.status == 403
