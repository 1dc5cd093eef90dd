"""An LTI 1.1 launch, verified and recorded: what :mod:`lti_gateway.launch.dispatch` asks of LTI 1.1.

:func:`signed_url` rebuilds the URL the LMS signed (:func:`lti_gateway.core.http.public_url`); :func:`verify` checks
OAuth 1.0a, the timestamp window, the nonce and the LTI parameters (:mod:`oauth1_launch`, with the
consumer key's secrets from :mod:`consumer_keys`). :func:`context_record` is the launch context the
handover stores for the app API (``lti_version_family: "1.1"``).

Every launch reads the consumer key's item once, strongly consistent
(:func:`consumer_keys.launch_credentials`): a revocation, a rotation or a creation made by any
container is seen by the very next launch, so there is no stale copy to retry against.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lti_gateway.core import clock, http
from lti_gateway.core.config import settings
from lti_gateway.lti11 import consumer_keys, oauth1_launch
from lti_gateway.lti11.oauth1_launch import VerifiedLaunch
from lti_gateway.repositories import deps


class DynamoNonceStore:
    """OAuth nonces, one conditional put each, kept for the timestamp window plus skew."""

    def add_once(self, consumer_key: str, nonce: str, ttl_seconds: int) -> bool:
        now = int(clock.now())
        return deps.launch_repo().add_once(f"oauth1#{consumer_key}", nonce, now=now, expires_at=now + ttl_seconds)


_nonces = DynamoNonceStore()


def signed_url(event: dict[str, Any]) -> str:
    """The URL the LMS signed (and launched): the request's public URL (:func:`lti_gateway.core.http.public_url`)."""
    return http.public_url(event, public_base_url=settings().launch_base_url)


def verify(url: str, params: list[tuple[str, str]]) -> VerifiedLaunch:
    """The launch form ``params`` posted to ``url`` (:func:`signed_url`), verified (a ``LaunchRejected``
    otherwise)."""
    return oauth1_launch.verify_launch(
        "POST",
        url,
        params,
        lookup_secret=consumer_keys.launch_credentials,
        nonce_store=_nonces,
        now=clock.now(),
        window_seconds=settings().launch_window_seconds,
    )


def context_record(verified: VerifiedLaunch, org_id: str, class_id: str, unit_id: str | None) -> dict[str, Any]:
    """The launch context of a verified LTI 1.1 launch into ``class_id`` (and ``unit_id``)."""
    record = {k: v for k, v in asdict(verified).items() if k not in ("consumer", "params") and v not in (None, {}, ())}
    record |= {
        "lti_version_family": "1.1",
        "org_id": org_id,
        "class_id": class_id,
        "unit_id": unit_id,
        "roles": list(verified.roles),
        "params": [list(p) for p in verified.params],
        "created_at": clock.iso(clock.now()),
    }
    return {k: v for k, v in record.items() if v is not None}


def learner_outcome(verified: VerifiedLaunch, org_id: str, class_id: str, unit_id: str | None) -> dict[str, Any] | None:
    """The learner's Basic Outcomes data to keep per (context, resource link, learner), or None when the
    launch has no outcome service, no ``lis_result_sourcedid`` (an instructor's launch, in most LMSs) or
    no ``user_id``. Stored in the same DynamoDB call as the launch context
    (``repositories/launch.py:outcome_items``), kept a year from the learner's latest launch, so a back
    end with the context's service key can grade any learner who launched the link."""
    if not (verified.lis_outcome_service_url and verified.lis_result_sourcedid and verified.user_id):
        return None
    outcome = {
        "org_id": org_id,
        "consumer_key": verified.consumer_key,
        "context_id": verified.context_id,
        "resource_link_id": verified.resource_link_id,
        "resource_link_title": verified.resource_link_title,
        "user_id": verified.user_id,
        "lis_outcome_service_url": verified.lis_outcome_service_url,
        "lis_result_sourcedid": verified.lis_result_sourcedid,
        "class_id": class_id,
        "unit_id": unit_id,
        "launched_at": int(clock.now()),
    }
    return {k: v for k, v in outcome.items() if v is not None}
