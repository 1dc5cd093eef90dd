"""What the app API knows about one launch's services: :class:`ServiceContext`.

Built from a stored launch context (an ltik session, ``scope="launch"``) or from a service key's item
(a service session; launch contexts expire after 24 h, service keys do not, so the key carries its own
copy: ``scope="context"``, what :meth:`ServiceContext.for_context` keeps of a launch for its whole LMS
context; keys issued before context keys carry one launch's copy, ``scope="launch"``).
LTI 1.1 contexts carry the Basic Outcomes data (``lis_outcome_service_url``, ``lis_result_sourcedid``,
the consumer key that signs); LTI 1.3 contexts carry the platform registration's identity and the
AGS endpoint and NRPS claims of the id_token.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from lti_gateway.core.urls import url_origin
from lti_gateway.core.vocabulary import AGS_ENDPOINT, CONTEXT, DEPLOYMENT_ID, NRPS, RESOURCE_LINK


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as int/float, recursively (JSON and pydantic want plain numbers)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def family(context: dict[str, Any]) -> str:
    return str(context.get("lti_version_family") or "1.1")


def claims_of(context: dict[str, Any]) -> dict[str, Any]:
    """The verified id_token claims an LTI 1.3 launch context stored (a map, or its JSON text)."""
    for name in ("claims", "id_token_claims", "id_token"):
        raw = context.get(name)
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                continue
        if isinstance(raw, dict):
            return plain(raw)
    return {}


def _dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) and value else None


@dataclass(frozen=True)
class ServiceContext:
    family: str  # "1.1" or "1.3"
    org_id: str
    launch_id: str
    user_id: str | None = None
    context_id: str | None = None
    resource_link_id: str | None = None
    resource_link_title: str | None = None
    # LTI 1.1 Basic Outcomes
    consumer_key: str | None = None
    outcome_url: str | None = None
    # Which LMS site (the outcome service's origin): part of a context key's and the records' identity.
    lms_instance: str | None = None
    sourcedid: str | None = None
    # LTI 1.3
    platform_id: str | None = None
    issuer: str | None = None
    client_id: str | None = None
    deployment_id: str | None = None
    ags: dict[str, Any] | None = field(default=None, hash=False)
    nrps: dict[str, Any] | None = field(default=None, hash=False)
    # "launch": one launch's services (an ltik session, or a service key issued before context keys);
    # "context": a service key's, for every resource link of one LMS context (see ``service_keys``).
    scope: str = "launch"
    # LTI 1.3 context keys: the resource links' own line items (``lineitem`` claims) seen in launches of
    # the context, newest last; ``platform_services.check_url`` allows them like the launch's own.
    line_items_seen: list[str] = field(default_factory=list, hash=False)

    @property
    def is_context_key(self) -> bool:
        return self.scope == "context"

    @property
    def has_outcomes(self) -> bool:
        """This launch's own learner can be graded (LTI 1.1: an outcome service URL and a sourcedid)."""
        return self.family == "1.1" and bool(self.outcome_url and self.sourcedid)

    @property
    def has_services(self) -> bool:
        """Whether a service key may be issued: AGS or NRPS (1.3); an outcome service (1.1: the link is
        graded, even when this launch, an instructor's say, has no sourcedid of its own)."""
        if self.family == "1.1":
            return bool(self.outcome_url) or (self.is_context_key and bool(self.consumer_key))
        return bool(self.ags or self.nrps)

    def for_context(self) -> ServiceContext:
        """The context-level services a launch shows (what its context's service key stores): LTI 1.1
        the consumer key and context (learners come from the outcome records); LTI 1.3 the line items
        container and scopes, the NRPS claim, the launch's own line item as one seen."""
        common = {
            "family": self.family,
            "org_id": self.org_id,
            "launch_id": self.launch_id,
            "context_id": self.context_id,
            "scope": "context",
        }
        if self.family == "1.1":
            return ServiceContext(**common, consumer_key=self.consumer_key, lms_instance=self.lms_instance)
        ags = dict(self.ags or {}) or None
        own = (ags or {}).get("lineitem")
        return ServiceContext(
            **common,
            platform_id=self.platform_id,
            issuer=self.issuer,
            client_id=self.client_id,
            deployment_id=self.deployment_id,
            ags=ags,
            nrps=self.nrps,
            line_items_seen=[own] if isinstance(own, str) else [],
        )

    @property
    def ags_scopes(self) -> tuple[str, ...]:
        scopes = (self.ags or {}).get("scope") or ()
        return tuple(s for s in scopes if isinstance(s, str))

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServiceContext:
        data = json.loads(text)
        names = set(cls.__dataclass_fields__)
        data = {k: v for k, v in data.items() if k in names}
        data["line_items_seen"] = [u for u in data.get("line_items_seen") or [] if isinstance(u, str)]
        return cls(**data)

    @classmethod
    def from_launch(cls, context: dict[str, Any], launch_id: str) -> ServiceContext:
        if family(context) == "1.3":
            claims = claims_of(context)
            aud = claims.get("aud")
            client_id = context.get("client_id") or (aud if isinstance(aud, str) else None)
            return cls(
                family="1.3",
                org_id=str(context["org_id"]),
                launch_id=launch_id,
                user_id=_str(claims.get("sub") or context.get("user_id")),
                context_id=_str((_dict(claims.get(CONTEXT)) or {}).get("id")),
                resource_link_id=_str((_dict(claims.get(RESOURCE_LINK)) or {}).get("id")),
                resource_link_title=_str((_dict(claims.get(RESOURCE_LINK)) or {}).get("title")),
                platform_id=_str(context.get("platform_id")),
                issuer=_str(context.get("issuer") or claims.get("iss")),
                client_id=_str(client_id),
                deployment_id=_str(context.get("deployment_id") or claims.get(DEPLOYMENT_ID)),
                ags=_dict(claims.get(AGS_ENDPOINT)),
                nrps=_dict(claims.get(NRPS)),
            )
        return cls(
            family="1.1",
            org_id=str(context["org_id"]),
            launch_id=launch_id,
            user_id=_str(context.get("user_id")),
            context_id=_str(context.get("context_id")),
            resource_link_id=_str(context.get("resource_link_id")),
            resource_link_title=_str(context.get("resource_link_title")),
            consumer_key=_str(context.get("consumer_key")),
            outcome_url=_str(context.get("lis_outcome_service_url")),
            lms_instance=url_origin(context.get("lis_outcome_service_url")),
            sourcedid=_str(context.get("lis_result_sourcedid")),
        )

    def slot_identity(self) -> str:
        """Organisation + platform + context + resource link: one service key per such slot."""
        platform = (
            f"1.1|{self.consumer_key}"
            if self.family == "1.1"
            else f"1.3|{self.issuer}|{self.client_id}|{self.deployment_id}"
        )
        return json.dumps([self.org_id, platform, self.context_id, self.resource_link_id])

    def context_slot_identity(self) -> str:
        """Organisation + platform + LMS context: one service key per such slot (context keys)."""
        return json.dumps(["context", self.org_id, self._platform(), self.context_id])

    def _platform(self) -> list[str | None]:
        """Each part its own JSON element: no issuer or client id can run into the next."""
        if self.family == "1.1":
            return ["1.1", self.consumer_key, self.lms_instance]
        return ["1.3", self.issuer, self.client_id, self.deployment_id]


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)
