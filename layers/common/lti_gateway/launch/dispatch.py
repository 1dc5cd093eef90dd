"""Which protocol a launch speaks, and its way from the form post to the app: the launch function's one call.

``POST /lti/launch[/{class_id}[/{unit_id}]]`` → :func:`launch`:

- **LTI 1.1** (a form with ``oauth_signature``, posted to a class or unit URL): verified by
  :func:`lti_gateway.lti11.launch.verify` (URL the LMS signed, OAuth 1.0a, timestamp, nonce, LTI
  parameters) → the class and unit the URL names.
- **LTI 1.3** (a form with ``id_token``/``state``, or a platform's ``error``): validated by
  :func:`lti_gateway.lti13.launch.validate` → the class and unit the launch names
  (:func:`lti_gateway.lti13.launch.target`) → the ``lti1p1`` migration claim (:mod:`.migration`). A
  form post carrying an ``id_token`` to a class or unit launch URL is an LTI 1.3 launch too (platforms
  that post to the target link URI instead of the redirect URI); the claim and the URL must agree.

Both then end in the same :mod:`.handover`: the class (and app launch URL) checked, the LMS course
recorded on the class, the launch context stored for 24 h, the 302 to the app with ``?ltik=``. Past
verification a refusal carries the LMS return URL (:func:`handover.after_verification`).

``GET|POST /lti/orgs/{org_id}/login`` → :func:`lti13_login` (LTI 1.3 OIDC login initiation,
:mod:`lti_gateway.lti13.oidc`), matched against that organisation's registrations only; its
``POST /lti/orgs/{org_id}/launch`` accepts only launches whose login matched there. The stack-wide
``/lti/login`` and ``/lti/launch`` serve registrations made before tenant scoping.

A warm LTI 1.1 launch makes four DynamoDB calls (consumer key and class read consistently, nonce and
launch context written), a warm LTI 1.3 launch four (state read, state consumed, class read, launch
context written).
"""

from __future__ import annotations

from typing import Any

from lti_gateway.core import http
from lti_gateway.core.errors import MalformedIdToken, ValidationFailed
from lti_gateway.core.urls import launch_bases
from lti_gateway.launch import handover, migration
from lti_gateway.launch.handover import Handover
from lti_gateway.lti11 import launch as lti11
from lti_gateway.lti13 import launch as lti13
from lti_gateway.lti13 import oidc


def launch(
    event: dict[str, Any], class_id: str | None = None, unit_id: str | None = None, *, org_id: str | None = None
) -> Handover:
    """A launch form post: LTI 1.3 when it carries an ``id_token`` (or ``state``), else LTI 1.1.
    ``org_id``: posted to that organisation's ``/lti/orgs/{org_id}/launch`` (LTI 1.3 only)."""
    params = http.form_pairs(event)
    if lti13.is_launch_form(params):
        return lti13_launch(event, params, class_id, unit_id, org_id=org_id)
    if class_id is None:
        if any(name in ("oauth_signature", "lti_message_type", "oauth_consumer_key") for name, _ in params):
            raise ValidationFailed(
                {
                    "launch_url": "an LTI 1.1 launch was sent to the LTI 1.3 redirect URL; "
                    "LTI 1.1 launches go to a class or unit launch URL (…/lti/launch/{class_id}[/{unit_id}])"
                },
                code="lti11_launch_to_lti13_url",
            )
        raise MalformedIdToken({"id_token": "missing"}, code="missing_id_token")
    return lti11_launch(event, class_id, unit_id, params=params)


def lti11_launch(
    event: dict[str, Any], class_id: str, unit_id: str | None, *, params: list[tuple[str, str]] | None = None
) -> Handover:
    if params is None:
        params = http.form_pairs(event)
    launch_url = lti11.signed_url(event)
    verified = lti11.verify(launch_url, params)
    org_id = verified.consumer.org_id
    facts = {
        "consumer_key": verified.consumer_key,
        "context_id": verified.context_id,
        "resource_link_id": verified.resource_link_id,
        "user_id": verified.user_id,
    }
    with handover.after_verification(verified.launch_presentation_return_url, org_id=org_id, facts=facts):
        where = handover.destination(org_id, class_id, unit_id)
    handover.remember_context(where.class_item, verified.context_id, verified.consumer_key)
    record = lti11.context_record(verified, org_id, class_id, unit_id) | handover.gateway_side(where, launch_url)
    return handover.hand_over(
        where.app_url,
        record,
        org_id=org_id,
        class_id=class_id,
        unit_id=unit_id,
        family="1.1",
        learner_outcome=lti11.learner_outcome(verified, org_id, class_id, unit_id),
    )


def lti13_launch(
    event: dict[str, Any],
    params: list[tuple[str, str]],
    path_class: str | None = None,
    path_unit: str | None = None,
    *,
    org_id: str | None = None,
) -> Handover:
    validated = lti13.validate(params, org_id, event=event)
    org_id = str(validated.registration.org_id)
    registration = validated.registration
    facts = {
        "platform_id": registration.platform_id,
        "issuer": registration.issuer,
        "client_id": validated.client_id,
        "deployment_id": validated.deployment_id,
        "context_id": lti13.context_id(validated),
        "resource_link_id": lti13.resource_link_id(validated),
        "user_id": validated.claims.get("sub"),
    }
    with handover.after_verification(lti13.return_url(validated), org_id=org_id, facts=facts):
        class_id, unit_id = lti13.target(validated, launch_bases(event), path_class, path_unit)
        where = handover.destination(org_id, class_id, unit_id)
    handover.remember_context(where.class_item, lti13.context_id(validated), str(validated.registration.issuer))
    record = lti13.context_record(validated, org_id, class_id, unit_id, migration.lti11_migration(validated, org_id))
    record |= handover.gateway_side(where, lti13.launch_url(validated, event))
    return handover.hand_over(where.app_url, record, org_id=org_id, class_id=class_id, unit_id=unit_id, family="1.3")


def lti13_login(event: dict[str, Any], org_id: str | None = None) -> oidc.LoginRedirect:
    """``GET|POST /lti/orgs/{org_id}/login`` (legacy: ``/lti/login``): the 302 to the platform's
    authorization endpoint (see :mod:`oidc`)."""
    return lti13.login(event, launch_bases(event), org_id)
