"""Rotation function: the scheduled rotation of the tool's LTI 1.3 signing keys (EventBridge, daily).

Every key set (one per organisation, plus the stack-wide set of registrations made before tenant
scoping) whose current key is older than ``TOOL_KEY_ROTATION_DAYS`` gets a new current key; the
previous one stays published in that organisation's JWKS until the next rotation, so tokens signed
just before (and LMSs that cached the JWKS) keep verifying for a whole rotation period. A set that
fails (a concurrent rotation: 409) is reported and left for the next day; the others go on.
"""

from __future__ import annotations

import os

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway.core.observability import logger, metrics
from lti_gateway.core.tracing import traced
from lti_gateway.lti13 import tool_keys

DEFAULT_DAYS = 90


def _max_age_days() -> int:
    raw = os.environ.get("TOOL_KEY_ROTATION_DAYS", "")
    try:
        days = int(raw) if raw else DEFAULT_DAYS
    except ValueError:
        days = DEFAULT_DAYS
    return max(1, days)


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    days = _max_age_days()
    outcomes = tool_keys.rotate_due(days)
    rotated = [o for o in outcomes if o.get("rotated")]
    failed = [o for o in outcomes if o.get("error")]
    for outcome in outcomes:
        logger.info(
            "tool key set rotated" if outcome.get("rotated") else "tool key set not rotated",
            extra={
                "org_id": outcome.get("owner") or "stack-wide",
                "kid": (outcome.get("current") or {}).get("kid"),
                "error": outcome.get("error"),
            },
        )
    metrics.add_metric(name="ToolKeysRotated", unit=MetricUnit.Count, value=len(rotated))
    if failed:
        metrics.add_metric(name="ToolKeyRotationFailed", unit=MetricUnit.Count, value=len(failed))
    return {"max_age_days": days, "rotated": len(rotated), "failed": len(failed)}
