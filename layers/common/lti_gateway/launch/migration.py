"""The LTI 1.1 → 1.3 migration claim (``lti1p1``) of an LTI 1.3 launch: which LTI 1.1 consumer key it
continues, if any.

The one place where both protocol families meet, which is why it lives in ``launch/`` and not in
``lti11/`` or ``lti13/`` (they never import each other): the claimed consumer key is looked up in
LTI 1.1's :mod:`consumer_keys`, its ``oauth_consumer_key_sign`` verified with LTI 1.3's
:func:`id_token.verify_lti1p1_sign`, and a launch that cannot be verified (Canvas and Blackboard sign
nothing) is bound only by an owner's approval (:mod:`lti_gateway.lti13.lti11_bindings`).
"""

from __future__ import annotations

from typing import Any

from lti_gateway.core import vocabulary as lti
from lti_gateway.lti11 import consumer_keys
from lti_gateway.lti13 import id_token
from lti_gateway.lti13.id_token import ValidatedLaunch


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def lti11_migration(validated: ValidatedLaunch, org_id: str) -> dict[str, Any]:
    """The ``lti1p1`` claim, and ``lti11_consumer_key`` when the claimed key is active, belongs to the
    platform's organisation, and either its ``oauth_consumer_key_sign`` verifies with that key's secret
    or an owner approved the binding of this platform + deployment to it (a launch without a
    verifiable signature records the binding as pending the first time)."""
    claim = validated.claims.get(lti.LTI1P1)
    if not isinstance(claim, dict):
        return {}
    out: dict[str, Any] = {"lti1p1": claim, "lti1p1_verified": False}
    key = _string(claim.get("oauth_consumer_key"))
    if not key or len(key) > 255:
        return out
    credentials = consumer_keys.launch_credentials(key)
    if credentials.org_id != org_id or credentials.status != "active":
        return out  # unknown, revoked or another organisation's key: never bound, never offered for approval
    signed = _string(claim.get("oauth_consumer_key_sign")) is not None
    if signed and id_token.verify_lti1p1_sign(validated.claims, validated.client_id, credentials.secrets):
        return out | {"lti1p1_verified": True, "lti11_consumer_key": key}
    from lti_gateway.lti13 import lti11_bindings  # imported on first use only (LTI 1.1 cold starts stay lean)

    status = lti11_bindings.for_launch(
        platform_id=str(validated.registration.platform_id),
        org_id=org_id,
        deployment_id=validated.deployment_id,
        consumer_key=key,
        reason=lti11_bindings.SIGNATURE_MISMATCH if signed else lti11_bindings.SIGNATURE_MISSING,
    )
    out["lti1p1_binding"] = status
    if status == lti11_bindings.APPROVED:
        out["lti11_consumer_key"] = key
    return out
