"""Over HTTP through the local gateway: a refused launch's page names its reference, the organisation's
owner looks it up through the API, another organisation's owner cannot, and a launch URL opened in a
browser explains itself."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import requests

from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import FORM, sign_launch

PARAMS = [(k, v) for k, v in CANVAS if k != "launch_presentation_return_url"]


def _refused(gateway) -> requests.Response:
    signed = sign_launch(gateway.stack["class_launch_url"], PARAMS, consumer_key=gateway.consumer_key, secret="wrong")
    return requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=10
    )


def _lookup(gateway, reference: str, api_key: str) -> requests.Response:
    return requests.get(
        f"{gateway.base_url}/api/launch-errors/{reference}", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
    )


def test_the_reference_on_a_refused_launch_page_is_looked_up_by_the_owner_only(gateway):
    page = _refused(gateway)

    assert page.status_code == 401 and page.headers["Content-Type"].startswith("text/html")
    text = html.unescape(page.text)
    assert "If you are a student, tell your instructor." in text
    assert "Give this reference to your LMS administrator" in text
    reference = re.search(r"Reference: <code>([^<]+)</code>", page.text)[1]

    found = _lookup(gateway, reference, gateway.api_key)
    assert found.status_code == 200, found.text
    record = found.json()
    assert (record["reference"], record["code"], record["verified"]) == (reference, "invalid_signature", False)
    assert record["consumer_key"] == gateway.consumer_key
    assert record["lms"]["resource_link_id"] == dict(CANVAS)["resource_link_id"]
    assert gateway.consumer_secret not in found.text

    other = gateway.create_organisation("Elsewhere University")
    theirs = _lookup(gateway, reference, other.api_key)
    unknown = _lookup(gateway, "Zz00000000000=", other.api_key)
    assert theirs.status_code == unknown.status_code == 404 and theirs.json() == unknown.json()


def test_a_class_launch_url_opened_in_a_browser_is_a_page_about_the_url(gateway):
    for url in (gateway.stack["class_launch_url"], gateway.stack["units"][0]["launch_url"]):
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
        assert "This is an LTI launch URL" in answer.text
        assert "LTI 1.1" in answer.text and "LTI 1.3" in answer.text
        assert "Demo Class" not in answer.text and gateway.org_id not in answer.text
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]

    made_up = urlsplit(gateway.stack["class_launch_url"])._replace(path="/lti/launch/cls_0000000000000000").geturl()
    assert requests.get(made_up, timeout=10).status_code == 200
