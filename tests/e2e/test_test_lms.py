"""The local gateway's test LMS (``/_lms/``) and demo app (``/_demo/app``) over HTTP, as a browser uses them.

A "browser" (requests, one hop at a time, sending the ``Origin`` a browser sends on a form post) picks a
class or unit, a user, a role and a protocol on the test LMS page, follows the launch into the gateway
and lands on the demo app; the demo app's forms post scores and deep-linking choices through the public
app API, and the test LMS's grade book and deep-linking table show what came back.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from lti_gateway.app_api import ltik
from lti_gateway.lti11 import outcomes
from lti_gateway.repositories import deps
from tests.peers.lti13_platform import AutoSubmitForm


class Forms(HTMLParser):
    """Every form of a page: action, hidden fields, select options, checkbox values, button labels."""

    def __init__(self, page: str):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "hidden": {}, "selects": {}, "checkboxes": [], "buttons": []})
        elif not self.forms:
            return
        elif tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["hidden"][a["name"]] = a.get("value") or ""
        elif tag == "input" and a.get("type") == "checkbox":
            self.forms[-1]["checkboxes"].append(a.get("value"))
        elif tag == "select":
            self._select = a["name"]
            self.forms[-1]["selects"][self._select] = []
        elif tag == "option" and self._select:
            self.forms[-1]["selects"][self._select].append(a.get("value"))
        elif tag == "button":
            self.forms[-1]["buttons"].append("")
            self._button = True

    def handle_data(self, data):
        if self.forms and getattr(self, "_button", False):
            self.forms[-1]["buttons"][-1] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "button":
            self._button = False

    def by_action(self, action: str) -> dict:
        return next(f for f in self.forms if f["action"] == action)


@pytest.fixture(scope="module")
def lms(gateway):
    assert gateway.lms is not None
    return gateway.lms


def origin(gateway) -> dict[str, str]:
    return {"Origin": gateway.base_url}


def unit_key(gateway, index: int = 0) -> str:
    return f"{gateway.stack['class_id']}/{gateway.stack['units'][index]['unit_id']}"


def launch(gateway, *, target: str, user: str, role: str, version: str, message: str = "resource_link"):
    """Test LMS form -> the gateway -> the demo app. Answers (browser, demo app URL, demo app page)."""
    browser = requests.Session()
    form = {"target": target, "user": user, "role": role, "lti_version": version, "message": message}
    answer = browser.post(
        f"{gateway.base_url}/_lms/launch", data=form, headers=origin(gateway), allow_redirects=False, timeout=15
    )
    if version == "1.3":
        assert answer.status_code == 302, answer.text
        assert answer.headers["Location"].startswith(f"{gateway.base_url}/lti/orgs/{gateway.org_id}/login?")
        to_lms = browser.get(answer.headers["Location"], allow_redirects=False, timeout=15)
        assert to_lms.status_code == 302, to_lms.text
        assert to_lms.headers["Location"].startswith(f"{gateway.base_url}/_lms/auth?")
        answer = browser.get(to_lms.headers["Location"], allow_redirects=False, timeout=15)
    assert answer.status_code == 200, answer.text
    assert "script-src 'nonce-" in answer.headers["Content-Security-Policy"]
    submit = AutoSubmitForm(answer.text)
    landed = browser.post(submit.action, data=submit.fields, allow_redirects=False, timeout=15)
    assert landed.status_code == 302, landed.text
    location = landed.headers["Location"]
    assert location.startswith(gateway.stack["app_launch_url"] + "?ltik=")
    page = browser.get(location, timeout=30)
    assert page.status_code == 200 and "Demo app: launch received" in page.text
    return browser, location, page


def token_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["ltik"][0]


def context_of(location: str) -> dict:
    claims = ltik.verify(token_of(location))
    return deps.launch_repo().get_launch_context(claims.launch_id, now=int(time.time()))


def gradebook(gateway) -> str:
    page = requests.get(f"{gateway.base_url}/_lms/", timeout=15)
    assert page.status_code == 200
    return page.text.split('id="gradebook-heading"', 1)[1].split('id="roster-heading"', 1)[0]


# -- the page ------------------------------------------------------------------------------------------------


def test_the_test_lms_page_lists_the_demo_classes_units_users_and_roles_without_secrets(gateway):
    page = requests.get(f"{gateway.base_url}/_lms/", timeout=15)

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["Cache-Control"] == "no-store"
    [form] = [f for f in Forms(page.text).forms if f["action"] == "/_lms/launch"]
    # Classes are listed oldest first, ties (the same second) by id: other tests' classes may come first.
    targets = form["selects"]["target"]
    at = targets.index(gateway.stack["class_id"])
    assert targets[at : at + 3] == [gateway.stack["class_id"], unit_key(gateway, 0), unit_key(gateway, 1)]
    assert {"student-1", "teacher-1"} <= set(form["selects"]["user"])
    assert {"learner", "instructor", "instructor_administrator"} <= set(form["selects"]["role"])
    assert form["buttons"] == ["Launch"]
    assert gateway.consumer_key in page.text
    assert 'style="' not in page.text and "<script" not in page.text  # nothing the CSP would block
    assert gateway.consumer_secret not in page.text and gateway.api_key not in page.text
    assert "ContentItemSelectionRequest" in page.text  # deep linking: LTI 1.3 only, said on the page


def test_names_shown_on_the_page_are_escaped(gateway):
    bearer = {"Authorization": f"Bearer {gateway.api_key}"}
    created = requests.post(
        f"{gateway.base_url}/api/classes", json={"name": '<script>alert("x")</script> & Co'}, headers=bearer, timeout=10
    )
    assert created.status_code == 201, created.text

    page = requests.get(f"{gateway.base_url}/_lms/", timeout=15).text

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page
    requests.delete(f"{gateway.base_url}/api/classes/{created.json()['class_id']}", headers=bearer, timeout=10)


def test_a_launch_posted_from_another_origin_is_refused(gateway):
    form = {"target": gateway.stack["class_id"], "user": "student-1", "role": "learner", "lti_version": "1.1"}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {}):
        answer = requests.post(
            f"{gateway.base_url}/_lms/launch", data=form, headers=headers, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 403 and "Launch refused" in answer.text


def test_lti11_deep_linking_is_refused_with_a_page_saying_to_use_lti13(gateway):
    form = {
        "target": gateway.stack["class_id"],
        "user": "teacher-1",
        "role": "instructor",
        "lti_version": "1.1",
        "message": "deep_linking",
    }
    answer = requests.post(f"{gateway.base_url}/_lms/launch", data=form, headers=origin(gateway), timeout=10)

    assert answer.status_code == 400
    assert "ContentItemSelectionRequest" in answer.text and "choose LTI 1.3" in answer.text


def test_an_unknown_target_user_or_role_is_refused(gateway):
    base = {"target": gateway.stack["class_id"], "user": "student-1", "role": "learner", "lti_version": "1.1"}
    for change in ({"target": "cls_nope"}, {"user": "eve"}, {"role": "superuser"}, {"lti_version": "2.0"}):
        answer = requests.post(
            f"{gateway.base_url}/_lms/launch", data={**base, **change}, headers=origin(gateway), timeout=10
        )
        assert answer.status_code == 400, change


# -- LTI 1.1 -------------------------------------------------------------------------------------------------


def test_an_lti11_learner_launch_lands_on_the_demo_app_with_an_ltik(gateway):
    _browser, location, page = launch(
        gateway, target=unit_key(gateway, 0), user="student-1", role="learner", version="1.1"
    )

    context = context_of(location)
    assert context["lti_version_family"] == "1.1" and context["user_id"] == "student-1"
    assert context["class_id"] == gateway.stack["class_id"]
    assert context["unit_id"] == gateway.stack["units"][0]["unit_id"]
    assert "Unit 1: Getting started" in page.text  # the idtoken's gateway block, shown
    assert "<dt>Protocol</dt><dd>LTI 1.1 (" in page.text and "basic-lti-launch-request (LTI 1.1)" in page.text
    assert "valid until 20" in page.text and " UTC." in page.text and "epoch" not in page.text
    forms = Forms(page.text)
    assert forms.by_action("/_demo/app/score")["buttons"] == ["Send score"]
    assert not any(f["action"] == "/_demo/app/console" for f in forms.forms)  # a learner: no console button
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"] and 'style="' not in page.text


def test_the_demo_app_posts_an_lti11_score_and_the_grade_book_shows_it(gateway, lms):
    browser, _location, page = launch(
        gateway, target=unit_key(gateway, 1), user="student-2", role="learner", version="1.1"
    )
    score_form = Forms(page.text).by_action("/_demo/app/score")
    [line_item] = score_form["selects"]["line_item"]

    answer = browser.post(
        f"{gateway.base_url}/_demo/app/score",
        data={
            **score_form["hidden"],
            "line_item": line_item,
            "user_id": "student-2",
            "score_given": "7",
            "score_maximum": "8",
            "comment": "Nice <b>work</b>",
        },
        headers=origin(gateway),
        timeout=30,
    )

    assert answer.status_code == 200 and "sent: 204" in answer.text, answer.text
    book = gradebook(gateway)
    # As sent (an outcome is a fraction), then the score in the form both protocols share; the course
    # by its class name; the time in UTC.
    assert re.search(
        r"<td>LTI 1\.1</td><td>Demo Class<br><small>LMS course id course-cls_[^<]+</small></td>"
        r"<td>Unit 2: Practice</td><td>student-2</td><td>0\.875</td><td>0\.875</td>"
        r"<td>Nice &lt;b&gt;work&lt;/b&gt;</td><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>",
        book,
    ), book
    assert lms.refusals == [] or all("outcomes" not in r for r in lms.refusals)


def test_a_demo_app_post_without_the_gateways_origin_or_ltik_is_refused_and_nothing_is_sent(gateway, lms):
    _browser, _location, page = launch(
        gateway, target=gateway.stack["class_id"], user="student-1", role="learner", version="1.1"
    )
    score_form = Forms(page.text).by_action("/_demo/app/score")
    data = {
        **score_form["hidden"],
        "line_item": score_form["selects"]["line_item"][0],
        "user_id": "student-1",
        "score_given": "1",
        "score_maximum": "1",
    }
    before = dict(lms.grades11)

    cross_site = requests.post(
        f"{gateway.base_url}/_demo/app/score", data=data, headers={"Origin": "http://evil.example"}, timeout=10
    )
    no_origin = requests.post(f"{gateway.base_url}/_demo/app/score", data=data, timeout=10)
    no_ltik = requests.post(
        f"{gateway.base_url}/_demo/app/score", data={**data, "ltik": ""}, headers=origin(gateway), timeout=10
    )

    assert cross_site.status_code == 403 and no_origin.status_code == 403 and "Refused" in cross_site.text
    assert no_ltik.status_code == 400 and "no ltik" in no_ltik.text
    assert lms.grades11 == before


def _pox(gateway, lms, *, secret: str, sourcedid: str, score: float = 0.5, tamper: bool = False):
    body = outcomes.build_request("replaceResult", sourcedid, "msg-1", score=score)
    url = f"{gateway.base_url}/_lms/outcomes"
    headers = outcomes.sign_request(url, body, consumer_key=gateway.consumer_key, secret=secret)
    if tamper:
        body = body.replace(outcomes.format_score(score), "1.0")
    return requests.post(url, data=body.encode(), headers=headers, timeout=10)


def test_a_forged_outcome_is_refused_by_the_outcome_service(gateway, lms):
    _browser, location, _page = launch(
        gateway, target=gateway.stack["class_id"], user="student-1", role="learner", version="1.1"
    )
    sourcedid = context_of(location)["lis_result_sourcedid"]
    before = dict(lms.grades11)

    wrong_secret = _pox(gateway, lms, secret="not-the-secret", sourcedid=sourcedid)
    tampered = _pox(gateway, lms, secret=gateway.consumer_secret, sourcedid=sourcedid, tamper=True)

    for answer in (wrong_secret, tampered):
        assert answer.status_code == 401 and "<imsx_codeMajor>failure</imsx_codeMajor>" in answer.text
    assert "signature does not verify" in wrong_secret.text and "oauth_body_hash" in tampered.text
    assert lms.grades11 == before

    genuine = _pox(gateway, lms, secret=gateway.consumer_secret, sourcedid=sourcedid, score=0.25)
    assert genuine.status_code == 200 and "<imsx_codeMajor>success</imsx_codeMajor>" in genuine.text
    replay = requests.post(genuine.request.url, data=genuine.request.body, headers=genuine.request.headers, timeout=10)
    assert replay.status_code == 401  # the nonce was used


# -- LTI 1.3 -------------------------------------------------------------------------------------------------


def test_an_lti13_instructor_launch_lands_on_the_demo_app_with_a_console_button(gateway, lms):
    _browser, location, page = launch(
        gateway, target=gateway.stack["class_id"], user="teacher-1", role="instructor_administrator", version="1.3"
    )

    context = context_of(location)
    assert context["lti_version_family"] == "1.3" and context["issuer"] == lms.issuer
    assert context["client_id"] == "test-lms" and context["deployment_id"] == lms.deployment_id
    assert context["class_id"] == gateway.stack["class_id"] and context["user_id"] == "teacher-1"
    assert context["roles"] == [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    ]
    assert Forms(page.text).by_action("/_demo/app/console")["buttons"] == ["Open this class in the console"]


def test_the_demo_app_shows_the_nrps_roster_of_an_lti13_launch(gateway):
    _browser, _location, page = launch(
        gateway, target=unit_key(gateway, 0), user="student-1", role="learner", version="1.3"
    )

    assert "GET /api/memberships &rarr; 200" in page.text
    for name in ("Alex Student", "Blake Student", "Casey Teacher"):
        assert name in page.text
    users = Forms(page.text).by_action("/_demo/app/score")["selects"]["user_id"]
    assert users[0] == "student-1" and "student-2" in users


def test_an_lti13_score_from_the_demo_app_reaches_the_test_lms_grade_book(gateway, lms):
    browser, _location, page = launch(
        gateway, target=unit_key(gateway, 1), user="student-2", role="learner", version="1.3"
    )
    score_form = Forms(page.text).by_action("/_demo/app/score")
    line_item = score_form["selects"]["line_item"][0]

    answer = browser.post(
        f"{gateway.base_url}/_demo/app/score",
        data={
            **score_form["hidden"],
            "line_item": line_item,
            "user_id": "student-2",
            "score_given": "9.5",
            "score_maximum": "10",
            "comment": "AGS",
        },
        headers=origin(gateway),
        timeout=30,
    )

    assert answer.status_code == 200 and "sent: 204" in answer.text, answer.text
    book = gradebook(gateway)
    assert re.search(
        r"<td>LTI 1\.3</td><td>Demo Class<br><small>[^<]+</small></td><td>Unit 2: Practice</td><td>student-2</td>"
        r"<td>9\.5 / 10</td><td>0\.95 \(9\.5 / 10\)</td><td>AGS</td><td>[^<]+ UTC</td>",
        book,
    ), book


def test_an_lti13_deep_linking_round_trip_ends_with_the_items_in_the_test_lms(gateway, lms):
    browser, _location, page = launch(
        gateway,
        target=gateway.stack["class_id"],
        user="teacher-1",
        role="instructor",
        version="1.3",
        message="deep_linking",
    )
    dl_form = Forms(page.text).by_action("/_demo/app/deeplinking")
    units = [u["unit_id"] for u in gateway.stack["units"]]
    assert dl_form["checkboxes"] == units
    before = len(lms.deep_links)

    chosen = browser.post(
        f"{gateway.base_url}/_demo/app/deeplinking",
        data=[("ltik", dl_form["hidden"]["ltik"]), ("unit_id", units[0]), ("unit_id", units[1])],
        headers=origin(gateway),
        timeout=30,
    )

    assert chosen.status_code == 200, chosen.text
    # The gateway's form is embedded as returned; the CSP allows exactly its script and its
    # style="display: none;" attribute by their hashes, nothing else inline.
    csp = chosen.headers["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src")).split()
    style_src = next(d for d in csp.split(";") if d.strip().startswith("style-src")).split()
    [script] = re.findall(r"<script>(.*?)</script>", chosen.text)
    assert csp_hash(script) in script_src and len(script_src) == 3  # script-src 'nonce-…' 'sha256-…'
    assert 'style="display: none;"' in chosen.text and chosen.text.count('style="') == 1
    assert style_src[2:] == ["'unsafe-hashes'", csp_hash("display: none;")], csp
    assert "unsafe-inline" not in csp
    returned = AutoSubmitForm(chosen.text)
    assert html.unescape(returned.action) == f"{gateway.base_url}/_lms/deeplinking/return"
    assert set(returned.fields) == {"JWT"}
    back = browser.post(html.unescape(returned.action), data=returned.fields, timeout=30)
    assert back.status_code == 200 and "Deep linking: 2 unit(s) added by the demo app" in back.text
    assert len(lms.deep_links) == before + 1
    items = lms.deep_links[-1]["items"]
    assert [i["title"] for i in items] == ["Unit 1: Getting started", "Unit 2: Practice"]
    assert [i["url"] for i in items] == [u["launch_url"] for u in gateway.stack["units"]]
    table = back.text.split('id="deep-links-heading"', 1)[1]
    assert "Unit 1: Getting started" in table and "Unit 2: Practice" in table

    replay = browser.post(html.unescape(returned.action), data=returned.fields, timeout=30)
    assert replay.status_code == 400 and len(lms.deep_links) == before + 1


def csp_hash(text: str) -> str:
    import base64
    import hashlib

    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_a_deep_linking_launch_offers_units_but_no_score_form(gateway):
    _browser, _location, page = launch(
        gateway,
        target=gateway.stack["class_id"],
        user="teacher-1",
        role="instructor",
        version="1.3",
        message="deep_linking",
    )

    actions = [f["action"] for f in Forms(page.text).forms]
    assert "/_demo/app/deeplinking" in actions and "/_demo/app/score" not in actions
    assert "LtiDeepLinkingRequest (LTI 1.3.0)" in page.text and "<dt>Protocol</dt><dd>LTI 1.3</dd>" in page.text


def test_a_class_launch_says_the_whole_class_not_none(gateway):
    _browser, _location, page = launch(
        gateway, target=gateway.stack["class_id"], user="student-1", role="learner", version="1.3"
    )

    details = page.text.split('id="launch-heading"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Unit</dt><dd>none: the whole class (a class launch URL)</dd>" in details
    assert "None" not in details and "a class launch URL (opens the whole class)" in details


def test_a_refused_launch_message_is_an_error_on_the_test_lms_and_news_is_a_notice(gateway):
    refused = requests.get(
        f"{gateway.base_url}/_lms/return",
        params={"lti_errormsg": "Launches are <off>. (Reference: abc)"},
        timeout=10,
    )
    news = requests.get(f"{gateway.base_url}/_lms/return", params={"lti_msg": "All done"}, timeout=10)

    assert refused.status_code == 200
    assert '<p class="error" role="alert">The tool says: Launches are &lt;off&gt;. (Reference: abc)</p>' in refused.text
    assert 'role="status"' not in refused.text
    assert '<p class="notice" role="status">All done</p>' in news.text and 'role="alert"' not in news.text


def test_a_deep_linking_response_not_signed_by_the_tool_is_refused(gateway, lms):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    forged = jwt.encode(
        {"iss": "test-lms", "aud": lms.issuer, "iat": int(time.time()), "exp": int(time.time()) + 60, "nonce": "n"},
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "not-the-tools"},
    )
    before = len(lms.deep_links)

    answer = requests.post(f"{gateway.base_url}/_lms/deeplinking/return", data={"JWT": forged}, timeout=15)

    assert answer.status_code == 401 and "does not verify" in answer.text
    assert len(lms.deep_links) == before


def test_the_token_endpoint_refuses_a_forged_client_assertion(gateway, lms):
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    now = int(time.time())
    claims = {"iss": "test-lms", "sub": "test-lms", "aud": lms.token_url, "iat": now, "exp": now + 60, "jti": "j1"}
    forged = jwt.encode(
        claims,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": "unknown"},
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": forged,
        "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    }

    answer = requests.post(lms.token_url, data=form, timeout=15)
    services = requests.get(
        f"{lms.issuer}/nrps/course-{gateway.stack['class_id']}/memberships",
        headers={"Authorization": "Bearer made-up"},
        timeout=10,
    )

    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert services.status_code == 401


# -- the console button and `make run` -----------------------------------------------------------------------


def test_the_console_button_sends_an_instructor_to_a_one_time_console_link(gateway):
    browser, _location, page = launch(
        gateway, target=gateway.stack["class_id"], user="teacher-1", role="instructor", version="1.1"
    )
    console = Forms(page.text).by_action("/_demo/app/console")

    answer = browser.post(
        f"{gateway.base_url}/_demo/app/console",
        data=console["hidden"],
        headers=origin(gateway),
        allow_redirects=False,
        timeout=30,
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["Location"].startswith(f"{gateway.base_url}/console#link=")


def test_make_run_prints_the_console_sign_in_link_first_then_the_test_lms(gateway, tmp_path):
    from lti_gateway.local.__main__ import summary

    text = summary(gateway.stack, tmp_path / "dev-stack.json")

    assert gateway.stack["test_lms_url"] == f"{gateway.base_url}/_lms/"
    first_url = re.search(r"https?://\S+", text).group(0)
    assert first_url == gateway.stack["console_url"]
    assert gateway.stack["console_url"].startswith(f"{gateway.base_url}/console#link=")
    assert f"then launch from the test LMS:  {gateway.base_url}/_lms/" in text
    assert "owner API key" in text and "valid 5 minutes" in text
