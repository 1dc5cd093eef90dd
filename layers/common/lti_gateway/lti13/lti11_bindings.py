"""Owner-approved LTI 1.1 → 1.3 bindings, for platforms whose ``lti1p1`` claim cannot be verified.

A 1.3 launch's ``lti1p1`` claim names the LTI 1.1 consumer key the course launched with before
(``oauth_consumer_key``). With a verifiable ``oauth_consumer_key_sign`` the launch binds it at once
(:func:`lti_gateway.launch.migration.lti11_migration`). Canvas and Blackboard may send no signature,
or one that does not verify; then the launch records a **pending binding** — platform, deployment,
consumer key — which an owner of the organisation approves or rejects through the platforms API::

    GET  /api/platforms/{platform_id}/lti11-bindings?status=&limit=&next=
    POST /api/platforms/{platform_id}/lti11-bindings/{binding_id}/approve
    POST /api/platforms/{platform_id}/lti11-bindings/{binding_id}/reject

Rules:

* A binding is recorded only when the claimed key exists and belongs to the platform's own
  organisation: another organisation's key is never offered for approval (approving its id is a 404).
* One item per platform + deployment + key, ``LTI1P1BIND#{platform_id}`` / ``{binding_id}`` in the
  keys table, ``binding_id`` a hash of deployment and key (so every launch names the same item), written
  by one conditional put: two launches leave one pending item, and a launch never overwrites an
  approved or rejected binding.
* An approved binding binds the later launches of that platform and deployment that claim that key:
  the launch context records ``lti11_consumer_key`` exactly as a verified signature does
  (``lti1p1_verified`` stays false, ``lti1p1_binding`` says ``approved``). The launch still requires the
  key to be active and of the platform's organisation at that moment.
* A launch that relies on a binding reads it, strongly consistent, on every launch (one GetItem):
  nothing about a binding is remembered between launches, so a rejection (which unbinds) or an
  approval counts from the very next launch on every container. A launch that names no ``lti1p1``
  claim, or whose signature verifies, never reads a binding.
* Approve: from pending or rejected. Reject: from pending or approved (which unbinds later launches).
  Each decision is conditional on the status read (409 ``concurrent_change`` when two owners race).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from lti_gateway.admin.orgs import Principal
from lti_gateway.core import clock
from lti_gateway.core.errors import Conflict, NotFound, ValidationFailed
from lti_gateway.core.observability import logger
from lti_gateway.lti13 import platforms
from lti_gateway.repositories import deps

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)
SIGNATURE_MISSING, SIGNATURE_MISMATCH = "signature_missing", "signature_mismatch"
BINDING_ID = re.compile(r"lb_[0-9a-f]{32}")
DECISIONS = {"approve": APPROVED, "reject": REJECTED}


def binding_id(deployment_id: str, consumer_key: str) -> str:
    """The same id for every launch of a deployment claiming a key (neither contains a newline)."""
    return "lb_" + hashlib.sha256(f"{deployment_id}\n{consumer_key}".encode()).hexdigest()[:32]


def view(item: dict[str, Any]) -> dict[str, Any]:
    out = {
        "id": item["binding_id"],
        "platformId": item["platform_id"],
        "deploymentId": item["deployment_id"],
        "consumerKey": item["consumer_key"],
        "status": item["status"],
        "reason": item.get("reason"),
        "firstSeenAt": item["first_seen_at"],
        "decidedAt": item.get("decided_at"),
        "decidedBy": item.get("decided_by"),
        "version": int(item.get("version", 1)),
    }
    return {k: v for k, v in out.items() if v is not None}


# -- launches -----------------------------------------------------------------------------------------


def for_launch(*, platform_id: str, org_id: str, deployment_id: str, consumer_key: str, reason: str) -> str:
    """The status of this launch's binding (``pending``, ``approved`` or ``rejected``), recording it as
    pending the first time it is seen. The caller has checked that the key is of ``org_id``."""
    bid = binding_id(deployment_id, consumer_key)
    repo = deps.platforms_repo()
    item = repo.get_binding(platform_id, bid, consistent=True)
    if item is None:
        now = clock.now()
        recorded = repo.add_pending_binding(
            {
                "binding_id": bid,
                "platform_id": platform_id,
                "org_id": org_id,
                "deployment_id": deployment_id,
                "consumer_key": consumer_key,
                "consumer_key_org_id": org_id,
                "status": PENDING,
                "reason": reason,
                "first_seen_at": clock.iso(now),
                "version": 1,
            }
        )
        if recorded:
            logger.info("lti 1.1 binding awaits approval", extra={"platform_id": platform_id, "binding_id": bid})
            return PENDING
        item = repo.get_binding(platform_id, bid, consistent=True)  # another launch recorded it just now
    if item is None or item.get("org_id") != org_id:
        return PENDING
    return str(item.get("status"))


# -- owners -------------------------------------------------------------------------------------------


def list_bindings(
    principal: Principal, platform_id: str, *, limit: int, token: str | None, status: str | None = None
) -> dict[str, Any]:
    """One page of the platform's bindings (``status`` filters: pending, approved, rejected)."""
    platforms.owned(principal, platform_id)
    if status not in (None, "", *STATUSES):
        raise ValidationFailed({"status": f"must be one of {', '.join(STATUSES)}"})
    items, next_token = deps.platforms_repo().list_bindings(
        platform_id, limit=limit, token=token, status=status or None
    )
    return {"bindings": [view(i) for i in items if i.get("org_id") == principal.org_id], "next": next_token}


def decide(principal: Principal, platform_id: str, binding: str, decision: str) -> dict[str, Any]:
    """Approve or reject a binding of the principal's platform."""
    platforms.owned(principal, platform_id)
    status = DECISIONS[decision]
    repo = deps.platforms_repo()
    item = repo.get_binding(platform_id, binding, consistent=True) if BINDING_ID.fullmatch(binding or "") else None
    if item is None or item.get("org_id") != principal.org_id:
        raise NotFound({"binding_id": "no such binding"})
    if item.get("consumer_key_org_id") != principal.org_id:
        raise ValidationFailed(
            {"consumerKey": "is not a consumer key of this organisation"}, code="consumer_key_not_in_organisation"
        )
    if item["status"] == status:
        raise Conflict(f"the binding is already {status}", code=f"already_{status}")
    updated = repo.decide_binding(
        principal.org_id,
        platform_id,
        binding,
        status=status,
        expected=item["status"],
        by=principal.credential_id,
        at=clock.iso(clock.now()),
    )
    return view(updated)
