"""Launch function: LTI 1.1 and LTI 1.3 dispatch into a class or a unit (HTTP API route and Function URL).

Routes (see template.yaml):
  GET|POST /lti/orgs/{org_id}/login        LTI 1.3 OIDC login initiation into one organisation (what its
                                           LMS admin pastes): 302 to the platform (or, with
                                           lti_storage_target, a page that stores state and nonce in
                                           the platform's storage frame, then goes there)
  POST /lti/orgs/{org_id}/launch           LTI 1.3 launch (the redirect URI: id_token + state)
  GET|POST /lti/login, POST /lti/launch    the same for registrations made before tenant scoping
  POST /lti/launch/{class_id}              the class launch URL (LTI 1.1; an LTI 1.3 id_token too)
  POST /lti/launch/{class_id}/{unit_id}    a unit launch URL (one per LMS assignment)
  GET  /lti/launch/{class_id}               the class launch URL opened in a browser: a page saying it is
                                           an LTI launch URL to paste into the LMS, and which LTI
                                           versions it accepts (the same page for every id: nothing
                                           about the class, not even whether it exists)
  GET  /lti/launch/{class_id}/{unit_id}     the same page for a unit launch URL
  GET  /lti/orgs/{org_id}/launch           the LTI 1.3 redirect URL opened in a browser: what it is for
  GET  /lti/launch                         the same for the stack-wide redirect URL

A person sees these answers in the LMS iframe: success is a 302 to the app with ``?ltik=``; a
failure is a short HTML page saying what happened and who can fix it, with a reference (or, once the
signature verified and the LMS gave a return URL, a 302 back to it with ``lti_errormsg``). Never JSON,
never a trace. The refusal is recorded under that reference for the organisation it concerns
(``launch/error_records.py``), which its owners look up with ``GET /api/launch-errors/{reference}``.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lti_gateway import web
from lti_gateway.core import responses, snapstart
from lti_gateway.core.errors import GatewayError, NotFound
from lti_gateway.core.observability import logger, metrics
from lti_gateway.core.tracing import traced
from lti_gateway.launch import dispatch
from lti_gateway.lti13.oidc import ORG_ID_RE, StorageCheckRequired

_PAGE_HEADERS = responses.PAGE_HEADERS
snapstart.register()  # with SnapStart on: forget per-container state after a restore


def _answer(error: GatewayError, correlation_id: str) -> Response:
    """How a refused or failed launch is answered (counted by reason first): back to the LMS with
    ``lti_errormsg`` once the launch verified, else the launch error page. Never JSON: an AWS fault is a
    503 page with ``Retry-After``, a bug a 500 page with only a reference (``web.refusal`` classified
    and logged it)."""
    metrics.add_dimension(name="reason", value=error.code)
    metrics.add_metric(name="LaunchRejected", unit=MetricUnit.Count, value=1)
    # the error pages and records: a cold start that hands over never loads them
    from lti_gateway.launch import error_records, pages

    what, _ = pages.explain(error)
    route_args = app.context.get("_route_args") or {}
    error_records.remember(app.current_event.raw_event, error, correlation_id, route_args, what)
    return pages.error_return(error, correlation_id) or pages.error_page(error, correlation_id)


LAUNCH_REJECTED = "launch rejected"
app = web.resolver(_answer, LAUNCH_REJECTED, not_found=NotFound("no such launch URL"))


def _refused(error: GatewayError) -> Response:
    return web.refusal(app, error, _answer, LAUNCH_REJECTED)


def _launch(class_id: str | None, unit_id: str | None, *, org_id: str | None = None) -> Response:
    try:
        handover = dispatch.launch(
            app.current_event.raw_event, class_id, unit_id, org_id=None if org_id is None else _org(org_id)
        )
    except GatewayError as error:
        return _refused(error)
    except StorageCheckRequired as check:  # no cookie came back: the platform's storage must vouch (oidc)
        from lti_gateway.lti13 import platform_storage  # only launches that need the check page

        metrics.add_metric(name="LaunchStorageCheck", unit=MetricUnit.Count, value=1)
        return platform_storage.launch_check_response(check)
    logger.info(
        "launch accepted",
        extra={
            "org_id": handover.org_id,
            "class_id": handover.class_id,
            "unit_id": handover.unit_id,
            "launch_id": handover.launch_id,
            "lti_version_family": handover.lti_version_family,
        },
    )
    metrics.add_metric(name="LaunchAccepted", unit=MetricUnit.Count, value=1)
    return Response(status_code=302, headers={**_PAGE_HEADERS, "Location": handover.location}, body="")


def _org(org_id: str) -> str:
    if not ORG_ID_RE.fullmatch(org_id):
        raise NotFound("no such launch URL")
    return org_id


@app.route("/lti/login", method=["GET", "POST"])
def login():
    return _login(None)


@app.route("/lti/orgs/<org_id>/login", method=["GET", "POST"])
def org_login(org_id: str):
    return _login(org_id)


def _login(org_id: str | None) -> Response:
    try:
        redirect = dispatch.lti13_login(app.current_event.raw_event, None if org_id is None else _org(org_id))
    except GatewayError as error:
        return _refused(error)
    logger.info(
        "login redirected to the platform",
        extra={
            "org_id": redirect.org_id,
            "platform_id": redirect.platform_id,
            "client_storage": redirect.storage_target is not None,
        },
    )
    metrics.add_metric(name="LoginRedirected", unit=MetricUnit.Count, value=1)
    cookies = [redirect.cookie] if redirect.cookie is not None else []  # binds the state to this browser
    if redirect.storage_target is None:
        return Response(
            status_code=302, headers={**_PAGE_HEADERS, "Location": redirect.location}, body="", cookies=cookies
        )
    from lti_gateway.lti13 import platform_storage  # only platforms offering client-side storage

    answer = platform_storage.login_response(
        location=redirect.location, target=redirect.storage_target, state=redirect.state, nonce=redirect.nonce
    )
    answer.cookies.extend(cookies)
    return answer


@app.post("/lti/launch")
def platform_launch():
    return _launch(None, None)


@app.post("/lti/orgs/<org_id>/launch")
def org_launch(org_id: str):
    return _launch(None, None, org_id=org_id)


@app.post("/lti/launch/<class_id>")
def class_launch(class_id: str):
    return _launch(class_id, None)


@app.post("/lti/launch/<class_id>/<unit_id>")
def unit_launch(class_id: str, unit_id: str):
    return _launch(class_id, unit_id)


# Someone opened a launch URL in a browser: what it is for. Nothing is read: the page is the same for
# every class, unit and organisation id, existing or not.
def _launch_url_page(kind: str) -> Response:
    from lti_gateway.launch import pages

    return pages.launch_url_page(kind)


@app.get("/lti/launch")
def platform_launch_page():
    return _launch_url_page("redirect")


@app.get("/lti/orgs/<org_id>/launch")
def org_launch_page(org_id: str):
    return _launch_url_page("redirect")


@app.get("/lti/launch/<class_id>")
def class_launch_page(class_id: str):
    return _launch_url_page("class")


@app.get("/lti/launch/<class_id>/<unit_id>")
def unit_launch_page(class_id: str, unit_id: str):
    return _launch_url_page("class")


@traced  # X-Ray, when the stack's Tracing parameter is on (core/tracing.py)
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
