"""The app API's service routes: Names and Roles, Assignment and Grades, and LTI 1.1 outcomes.

One function per route; each takes the authenticated :class:`~lti_gateway.app_api.auth.AppSession`.

Every URL called, however it arrived (the claims, ``url``, a line item id), stays inside the launch's
own context: :func:`lti_gateway.app_api.platform_services.check_url` (400 another origin, 403 the same
LMS but another course or anything the launch did not name), before anything is sent.

- **LTI 1.3** contexts call the platform (:mod:`lti_gateway.app_api.platform_services`): AGS line items,
  results and scores, NRPS memberships, with the media types of the specs, the contract's status codes
  (``ltiaas-api.md`` §5.4), camelCase members, Link-header paging, nulls dropped before forwarding,
  score timestamps set here, and opaque line item ids (:mod:`lti_gateway.app_api.line_item_ids`).
- **LTI 1.1** contexts with an outcome service expose one synthetic line item per resource link
  (``li11_…``, score maximum 1): ``POST …/scores`` is a Basic Outcomes ``replaceResult`` of
  ``scoreGiven / scoreMaximum`` (``comment`` as its text), signed with the consumer key's current
  secret; ``GET …/scores`` is a ``readResult``. Everything else (creating, changing or deleting line
  items, rosters) is 403 ``SERVICE_NOT_AVAILABLE_FOR_CONTEXT``.

  - An **ltik** grades the launching user only, with the launch's own ``lis_result_sourcedid`` (an
    instructor's ltik too: an ltik travels in the browser's URL, so grading other learners is left to
    the back end's service key).
  - A **service key** (one per LMS context, ``service_keys``) sees every resource link of the context
    that learners launched with an outcome service (the outcome records the launches wrote:
    ``repositories/launch.py:outcome_items``) and grades any learner who launched it, with that
    learner's own stored outcome URL and sourcedid (404 ``NOT_FOUND`` for a learner who never did).
    The records are found by the key's own organisation, consumer key and context, so nothing of
    another context or organisation can be named.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from lti_gateway.app_api import line_item_ids
from lti_gateway.app_api import platform_services as ps
from lti_gateway.app_api.auth import AppSession
from lti_gateway.app_api.errors import PLATFORM_REQUEST_FAILED, not_available, platform_failed, validation_error
from lti_gateway.app_api.launch_context import ServiceContext
from lti_gateway.core.errors import ApiError, OutcomeFailed
from lti_gateway.core.observability import logger
from lti_gateway.core.urls import with_query
from lti_gateway.core.vocabulary import SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE
from lti_gateway.lti11 import consumer_keys, outcomes
from lti_gateway.repositories import deps

NRPS_CONTAINER = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
LINEITEM_CONTAINER = "application/vnd.ims.lis.v2.lineitemcontainer+json"
LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
RESULT_CONTAINER = "application/vnd.ims.lis.v2.resultcontainer+json"
SCORE = "application/vnd.ims.lis.v1.score+json"

ACTIVITY_PROGRESS = ("Initialized", "Started", "InProgress", "Submitted", "Completed")
GRADING_PROGRESS = ("FullyGraded", "Pending", "PendingManual", "Failed", "NotReady")
PAGING_RELS = ("next", "prev", "first", "last")
MAX_LIMIT = 1000
MAX_TEXT = 4096
_MEMBER_FIELDS = {
    "user_id": "userId",
    "given_name": "givenName",
    "family_name": "familyName",
    "middle_name": "middleName",
    "lis_person_sourcedid": "lisPersonSourcedId",
    "lti11_legacy_user_id": "lti11LegacyUserId",
}


def _ctx(session: AppSession) -> ServiceContext:
    assert session.service is not None
    return session.service


def drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def _sub_resource(line_item_url: str, name: str) -> str:
    """``{line item path}/{name}`` keeping the line item's query (AGS results and scores)."""
    parts = urlsplit(line_item_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/" + name, parts.query, ""))


def _limit(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_LIMIT:  # "²".isdigit() is True
        raise validation_error({"limit": f"must be an integer from 1 to {MAX_LIMIT}"})
    return str(int(value))


def _resource_link(ctx: ServiceContext, value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value.lower() == "true":
        return ctx.resource_link_id
    if value.lower() == "false":
        return None
    return value


def _paging(answer: ps.LmsAnswer) -> dict[str, str]:
    links = answer.links()
    return {rel: links[rel] for rel in PAGING_RELS if rel in links}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(body: dict[str, Any], name: str, errors: dict[str, str], *, required: bool = False) -> None:
    value = body.get(name)
    if value is None:
        if required:
            errors[name] = "is required"
        return
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
        errors[name] = "must be a non-empty string" if required else "must be a string"


# -- Names and Roles --------------------------------------------------------------------------------------


def _member(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    member = {_MEMBER_FIELDS.get(k, k): v for k, v in raw.items() if v is not None}
    user_id = member.get("userId")
    if user_id is None:
        return None
    member["userId"] = str(user_id)
    roles = member.get("roles")
    member["roles"] = [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
    member.setdefault("status", "Active")
    return member


def memberships(session: AppSession, query: dict[str, str]) -> dict[str, Any]:
    ctx = _ctx(session)
    ps.require(ctx, "nrps")
    base = ps.service_urls(ctx, "nrps")[0]
    if query.get("url"):
        url = query["url"]
    else:
        params = {
            "role": query.get("role") or None,
            "limit": _limit(query.get("limit")),
            "rlid": _resource_link(ctx, query.get("resourceLinkId")),
        }
        url = with_query(base, **{k: v for k, v in params.items() if v})
    answer = ps.call(ctx, "nrps", "GET", url, accept=NRPS_CONTAINER)
    data = answer.data if isinstance(answer.data, dict) else {}
    members = [m for m in (_member(r) for r in data.get("members") or []) if m is not None]
    context = data.get("context") if isinstance(data.get("context"), dict) else {}
    context = {k: v for k, v in context.items() if v is not None}
    context["id"] = str(context.get("id") or ctx.context_id or "")
    out: dict[str, Any] = {"id": str(data.get("id") or url), "context": context, "members": members}
    out.update(_paging(answer))
    return out


# -- line items ------------------------------------------------------------------------------------------


def _line_item_out(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    return {**{k: v for k, v in item.items() if v is not None}, "id": line_item_ids.encode(item["id"])}


def _line_item_body(body: dict[str, Any]) -> dict[str, Any]:
    body = drop_nulls(body)
    errors: dict[str, str] = {}
    _text(body, "label", errors, required=True)
    if not _number(body.get("scoreMaximum")) or body["scoreMaximum"] <= 0:
        errors["scoreMaximum"] = "must be a number greater than 0"
    for name in ("resourceLinkId", "resourceId", "tag", "startDateTime", "endDateTime"):
        _text(body, name, errors)
    if "gradesReleased" in body and not isinstance(body["gradesReleased"], bool):
        errors["gradesReleased"] = "must be a boolean"
    if errors:
        raise validation_error(errors)
    body.pop("id", None)
    return body


def _lti11_line_item(ctx: ServiceContext) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": line_item_ids.lti11_id(ctx),
        "label": ctx.resource_link_title or "Grade",
        "scoreMaximum": 1,
    }
    if ctx.resource_link_id:
        item["resourceLinkId"] = ctx.resource_link_id
    return item


def _require_outcomes(ctx: ServiceContext) -> None:
    if not ctx.has_outcomes:
        raise not_available("This LTI 1.1 launch has no outcome service (lis_outcome_service_url).")


def list_line_items(session: AppSession, query: dict[str, str]) -> dict[str, Any]:
    ctx = _ctx(session)
    if ctx.family == "1.1":
        wanted_link = _resource_link(ctx, query.get("resourceLinkId"))
        items = [
            item
            for item in _lti11_line_items(ctx)
            if (wanted_link is None or wanted_link == item.get("resourceLinkId"))
            and not query.get("resourceId")
            and not query.get("tag")
            and query.get("label") in (None, "", item["label"])
        ]
        return {"lineItems": items}
    ps.require(ctx, "ags", SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    ags = ctx.ags or {}
    if query.get("url"):
        url = query["url"]
    elif isinstance(ags.get("lineitems"), str):
        params = {
            "resource_link_id": _resource_link(ctx, query.get("resourceLinkId")),
            "resource_id": query.get("resourceId") or None,
            "tag": query.get("tag") or None,
            "limit": _limit(query.get("limit")),
        }
        url = with_query(ags["lineitems"], **{k: v for k, v in params.items() if v})
    else:
        # Only the launch's own line item was offered (no container URL): list just that one.
        answer = ps.call(ctx, "ags", "GET", ags["lineitem"], accept=LINEITEM)
        single = _line_item_out(answer.data)
        return {"lineItems": [single] if single else []}
    answer = ps.call(ctx, "ags", "GET", url, accept=LINEITEM_CONTAINER)
    raw = answer.data if isinstance(answer.data, list) else []
    items = [i for i in (_line_item_out(r) for r in raw) if i is not None]
    if query.get("label"):
        items = [i for i in items if i.get("label") == query["label"]]
    return {"lineItems": items, **_paging(answer)}


def create_line_item(session: AppSession, body: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(session)
    if ctx.family == "1.1":
        _require_outcomes(ctx)
        raise not_available("LTI 1.1 outcomes have one grade per resource link; line items cannot be created.")
    ps.require(ctx, "ags", SCOPE_LINEITEM)
    lineitems = (ctx.ags or {}).get("lineitems")
    if not isinstance(lineitems, str):
        raise not_available("The platform offers no line items container for this context.")
    answer = ps.call(ctx, "ags", "POST", lineitems, accept=LINEITEM, content_type=LINEITEM, body=_line_item_body(body))
    created = _line_item_out(answer.data)
    if created is None:
        raise platform_failed("The platform's answer to creating a line item has no id.", url=lineitems)
    return created


def _line_item_url(ctx: ServiceContext, raw_id: str) -> str:
    """The LMS URL a line item id names, checked against the context's AGS origin (400) and scope (403:
    the container's line items and the launch's own line item only, ``platform_services.check_url``)."""
    decoded = line_item_ids.decode(raw_id)
    if decoded is None or decoded.startswith(line_item_ids.LTI11_PREFIX):
        raise ApiError(404, "NOT_FOUND", "No such line item.")
    return ps.check_url(ctx, decoded, "ags")


def _lti11_item_or_404(ctx: ServiceContext, raw_id: str) -> dict[str, Any]:
    """The LTI 1.1 line item ``raw_id`` names: the launch's own (ltik), or one of the context's resource
    links that learners launched with an outcome service (a context's service key)."""
    if ctx.is_context_key:
        return _link_item(_link_record(ctx, raw_id))
    _require_outcomes(ctx)
    item = _lti11_line_item(ctx)
    if line_item_ids.decode(raw_id) != item["id"]:
        raise ApiError(404, "NOT_FOUND", "No such line item.")
    return item


# -- LTI 1.1: a context's resource links and learners (service keys) --------------------------------------

_LINK_DIGEST = re.compile(r"[A-Za-z0-9_-]{22}")
# readResult calls for one results listing without userId: each is a signed call to the LMS (~0.1 to 0.5 s),
# and 20 stay well inside the function's 15 s timeout. More learners: ask per userId.
MAX_RESULTS_READ = 20


def _lti11_line_items(ctx: ServiceContext) -> list[dict[str, Any]]:
    if not ctx.is_context_key:
        _require_outcomes(ctx)
        return [_lti11_line_item(ctx)]
    links = deps.app_tokens_repo().list_outcome_links(
        ctx.org_id, str(ctx.consumer_key), ctx.context_id, lms=ctx.lms_instance
    )
    return [_link_item(link) for link in links if link.get("org_id") == ctx.org_id]


def _link_item(link: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": line_item_ids.LTI11_PREFIX + str(link["sk"]).split("#", 1)[1],
        "label": str(link.get("resource_link_title") or "Grade"),
        "scoreMaximum": 1,
        "resourceLinkId": str(link["resource_link_id"]),
    }


def _link_record(ctx: ServiceContext, raw_id: str) -> dict[str, Any]:
    decoded = line_item_ids.decode(raw_id) or ""
    digest = decoded[len(line_item_ids.LTI11_PREFIX) :] if decoded.startswith(line_item_ids.LTI11_PREFIX) else ""
    link = None
    if _LINK_DIGEST.fullmatch(digest):
        link = deps.app_tokens_repo().get_outcome_link(
            ctx.org_id, str(ctx.consumer_key), ctx.context_id, digest, lms=ctx.lms_instance
        )
    if link is None or link.get("org_id") != ctx.org_id:
        raise ApiError(
            404,
            "NOT_FOUND",
            "No such line item: no learner of this context launched that resource link with an outcome service.",
        )
    return link


def _learner(ctx: ServiceContext, link: dict[str, Any], user_id: str) -> ServiceContext | None:
    """The service context of one learner's launch of ``link`` (their own outcome URL and sourcedid),
    from the outcome record that launch wrote; None when the learner never launched it."""
    digest = str(link["sk"]).split("#", 1)[1]
    record = deps.app_tokens_repo().get_learner_outcome(
        ctx.org_id, str(ctx.consumer_key), ctx.context_id, digest, user_id, lms=ctx.lms_instance
    )
    if record is None or record.get("org_id") != ctx.org_id or record.get("consumer_key") != ctx.consumer_key:
        return None
    return _learner_context(ctx, record)


def _learner_context(ctx: ServiceContext, record: dict[str, Any]) -> ServiceContext:
    return replace(
        ctx,
        user_id=str(record["user_id"]),
        resource_link_id=str(record.get("resource_link_id")),
        resource_link_title=record.get("resource_link_title"),
        outcome_url=str(record["lis_outcome_service_url"]),
        sourcedid=str(record["lis_result_sourcedid"]),
    )


def get_line_item(session: AppSession, raw_id: str) -> dict[str, Any]:
    ctx = _ctx(session)
    if ctx.family == "1.1":
        return _lti11_item_or_404(ctx, raw_id)
    ps.require(ctx, "ags", SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY)
    url = _line_item_url(ctx, raw_id)
    item = _line_item_out(ps.call(ctx, "ags", "GET", url, accept=LINEITEM).data)
    if item is None:
        raise platform_failed("The platform's line item has no id.", url=url)
    return item


def update_line_item(session: AppSession, raw_id: str, body: dict[str, Any]) -> dict[str, Any]:
    ctx = _ctx(session)
    if ctx.family == "1.1":
        _lti11_item_or_404(ctx, raw_id)
        raise not_available("The LTI 1.1 grade column belongs to the LMS; it cannot be changed.")
    ps.require(ctx, "ags", SCOPE_LINEITEM)
    url = _line_item_url(ctx, raw_id)
    payload = {**_line_item_body(body), "id": url}
    answer = ps.call(ctx, "ags", "PUT", url, accept=LINEITEM, content_type=LINEITEM, body=payload)
    return _line_item_out(answer.data) or {**payload, "id": line_item_ids.encode(url)}


def delete_line_item(session: AppSession, raw_id: str) -> None:
    ctx = _ctx(session)
    if ctx.family == "1.1":
        _lti11_item_or_404(ctx, raw_id)
        raise not_available("The LTI 1.1 grade column belongs to the LMS; it cannot be deleted.")
    ps.require(ctx, "ags", SCOPE_LINEITEM)
    ps.call(ctx, "ags", "DELETE", _line_item_url(ctx, raw_id), accept=LINEITEM)


# -- scores and results -----------------------------------------------------------------------------------


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _score_body(ctx: ServiceContext, body: dict[str, Any]) -> dict[str, Any]:
    body = drop_nulls(body)
    errors: dict[str, str] = {}
    user_id = body.get("userId", ctx.user_id)
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 255:
        errors["userId"] = "is required (the LMS user id)"
    if body.get("activityProgress") not in ACTIVITY_PROGRESS:
        errors["activityProgress"] = f"must be one of {', '.join(ACTIVITY_PROGRESS)}"
    if body.get("gradingProgress") not in GRADING_PROGRESS:
        errors["gradingProgress"] = f"must be one of {', '.join(GRADING_PROGRESS)}"
    if "scoreGiven" in body and (not _number(body["scoreGiven"]) or body["scoreGiven"] < 0):
        errors["scoreGiven"] = "must be a number of at least 0"
    if "scoreMaximum" in body and (not _number(body["scoreMaximum"]) or body["scoreMaximum"] <= 0):
        errors["scoreMaximum"] = "must be a number greater than 0"
    _text(body, "comment", errors)
    if errors:
        raise validation_error(errors)
    return {**body, "userId": user_id, "timestamp": _timestamp()}


def submit_score(session: AppSession, raw_id: str, body: dict[str, Any]) -> None:
    ctx = _ctx(session)
    score = _score_body(ctx, body)
    if ctx.family == "1.1":
        if ctx.is_context_key:
            link = _link_record(ctx, raw_id)
            learner = _learner(ctx, link, score["userId"])
            if learner is None:
                raise ApiError(
                    404,
                    "NOT_FOUND",
                    "This learner (userId) never launched this resource link with an outcome service: "
                    "the LMS gave no lis_result_sourcedid to grade.",
                )
            _lti11_replace(learner, score)
            return
        _lti11_item_or_404(ctx, raw_id)
        _lti11_replace(ctx, score)
        return
    ps.require(ctx, "ags", SCOPE_SCORE)
    url = _line_item_url(ctx, raw_id)
    access = ps.access_for(ctx)
    if "scoreGiven" in score and "scoreMaximum" not in score:
        if not set(ctx.ags_scopes) & {SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY}:
            raise validation_error({"scoreMaximum": "is required with scoreGiven"})
        item = ps.call(ctx, "ags", "GET", url, accept=LINEITEM, access=access).data
        maximum = item.get("scoreMaximum") if isinstance(item, dict) else None
        if not _number(maximum) or maximum <= 0:
            raise validation_error({"scoreMaximum": "is required with scoreGiven (the line item has none)"})
        score["scoreMaximum"] = maximum
    ps.call(
        ctx,
        "ags",
        "POST",
        _sub_resource(url, "scores"),
        accept="application/json",
        content_type=SCORE,
        body=score,
        access=access,
    )


def _result_out(raw: Any, line_item_url: str) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or raw.get("userId") is None:
        return None
    result = {k: v for k, v in raw.items() if v is not None}
    result["userId"] = str(result["userId"])
    of = result.get("scoreOf") if isinstance(result.get("scoreOf"), str) else line_item_url
    result["scoreOf"] = line_item_ids.encode(of)
    if not isinstance(result.get("id"), str):
        result["id"] = f"{_sub_resource(of, 'results')}/{result['userId']}"
    return result


def get_scores(session: AppSession, raw_id: str, query: dict[str, str]) -> dict[str, Any]:
    ctx = _ctx(session)
    user_filter = query.get("userId") or query.get("user_id") or None
    if ctx.family == "1.1":
        if ctx.is_context_key:
            return _lti11_read_context(ctx, raw_id, user_filter, query)
        item = _lti11_item_or_404(ctx, raw_id)
        return _lti11_read(ctx, item["id"], user_filter)
    ps.require(ctx, "ags", SCOPE_RESULT_READONLY)
    url = _line_item_url(ctx, raw_id)
    if query.get("url"):
        results_url = query["url"]
    else:
        params = {"user_id": user_filter, "limit": _limit(query.get("limit"))}
        results_url = with_query(_sub_resource(url, "results"), **{k: v for k, v in params.items() if v})
    answer = ps.call(ctx, "ags", "GET", results_url, accept=RESULT_CONTAINER)
    raw = answer.data if isinstance(answer.data, list) else []
    scores = [s for s in (_result_out(r, url) for r in raw) if s is not None]
    return {"scores": scores, **_paging(answer)}


# -- LTI 1.1 Basic Outcomes behind the same routes ----------------------------------------------------------


def _lti11_secret(ctx: ServiceContext) -> str:
    creds = consumer_keys.launch_credentials(ctx.consumer_key or "")
    if creds.status != "active" or creds.org_id != ctx.org_id or not creds.secrets:
        raise not_available("The consumer key of this launch is no longer active; outcomes cannot be signed.")
    return creds.secrets[0]


def _outcome_failed(ctx: ServiceContext, failure: OutcomeFailed) -> ApiError:
    body = failure.description or (failure.details if isinstance(failure.details, str) else None)
    return platform_failed(f"The LMS outcome service failed ({failure.code}).", url=ctx.outcome_url, body=body)


def _lti11_replace(ctx: ServiceContext, score: dict[str, Any]) -> None:
    if score["userId"] != ctx.user_id:
        raise validation_error({"userId": "LTI 1.1 outcomes can only grade the user of the launch"})
    if "scoreGiven" not in score:
        raise validation_error({"scoreGiven": "is required for LTI 1.1 outcomes (replaceResult sends a score)"})
    maximum = score.get("scoreMaximum", 1)
    ratio = score["scoreGiven"] / maximum
    if not 0 <= ratio <= 1:
        raise validation_error({"scoreGiven": "must be between 0 and scoreMaximum"})
    try:
        outcomes.replace_result(
            ps.check_url(ctx, str(ctx.outcome_url), "outcomes"),
            str(ctx.sourcedid),
            ratio,
            score.get("comment"),
            consumer_key=str(ctx.consumer_key),
            secret=_lti11_secret(ctx),
            http=ps.outbound_http(),
        )
    except OutcomeFailed as failure:
        raise _outcome_failed(ctx, failure) from None


def _lti11_read_context(
    ctx: ServiceContext, raw_id: str, user_filter: str | None, query: dict[str, str]
) -> dict[str, Any]:
    """Results of a context's resource link: one learner's (``userId``), or a ``readResult`` for each
    learner who launched it (``limit``, at most :data:`MAX_RESULTS_READ`)."""
    link = _link_record(ctx, raw_id)
    item_id = _link_item(link)["id"]
    if user_filter is not None:
        learner = _learner(ctx, link, user_filter)
        return {"scores": [] if learner is None else _lti11_read(learner, item_id, None)["scores"]}
    limit = int(_limit(query.get("limit")) or MAX_RESULTS_READ)
    if limit > MAX_RESULTS_READ:
        raise validation_error({"limit": f"must be at most {MAX_RESULTS_READ} for LTI 1.1 (one readResult each)"})
    digest = str(link["sk"]).split("#", 1)[1]
    records = deps.app_tokens_repo().list_learner_outcomes(
        ctx.org_id, str(ctx.consumer_key), ctx.context_id, digest, lms=ctx.lms_instance, limit=limit
    )
    scores: list[dict[str, Any]] = []
    failed: ApiError | None = None
    for record in records:
        if record.get("org_id") == ctx.org_id and record.get("consumer_key") == ctx.consumer_key:
            try:
                scores += _lti11_read(_learner_context(ctx, record), item_id, None)["scores"]
            except ApiError as error:  # one learner the LMS no longer knows does not hide the others
                if error.code != PLATFORM_REQUEST_FAILED:
                    raise  # ours (a revoked consumer key, a URL outside the context): the same for all
                failed = error
                logger.warning("readResult failed for one learner", extra={"code": error.code})
    if failed is not None and not scores:
        raise failed
    return {"scores": scores}


def _lti11_read(ctx: ServiceContext, line_item_id: str, user_filter: str | None) -> dict[str, Any]:
    if user_filter is not None and user_filter != ctx.user_id:
        return {"scores": []}
    try:
        result = outcomes.read_result(
            ps.check_url(ctx, str(ctx.outcome_url), "outcomes"),
            str(ctx.sourcedid),
            consumer_key=str(ctx.consumer_key),
            secret=_lti11_secret(ctx),
            http=ps.outbound_http(),
        )
    except OutcomeFailed as failure:
        raise _outcome_failed(ctx, failure) from None
    user_id = ctx.user_id or ""
    score: dict[str, Any] = {
        "id": f"{line_item_id}/results/{user_id}",
        "userId": user_id,
        "scoreOf": line_item_id,
        "resultMaximum": 1,
    }
    if result.score is not None:
        score["resultScore"] = result.score
    return {"scores": [score]}
