"""An LMS launch over HTTP into `make run`'s seeded demo class, signed by an independent signer."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from lti_gateway.app_api import ltik
from tests.peers.lms_params import CANVAS, MOODLE
from tests.peers.oauth1_signer import FORM, sign_launch


def _post(url: str, params, gateway, **sign_kw) -> requests.Response:
    signed = sign_launch(url, params, consumer_key=gateway.consumer_key, secret=gateway.consumer_secret, **sign_kw)
    return requests.post(
        signed.url, data=signed.body.encode(), headers={"Content-Type": FORM}, allow_redirects=False, timeout=10
    )


def test_a_class_launch_reaches_the_demo_app_with_an_ltik(gateway):
    answer = _post(gateway.stack["class_launch_url"], CANVAS, gateway)

    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(gateway.stack["app_launch_url"] + "?ltik=")
    token = parse_qs(urlsplit(location).query)["ltik"][0]
    assert ltik.verify(token).org_id == gateway.org_id
    page = requests.get(location, timeout=10)
    assert page.status_code == 200 and "launch received" in page.text


def test_a_unit_launch_with_a_query_string_and_sha256(gateway):
    unit_url = gateway.stack["units"][1]["launch_url"] + "?lang=fr&t=a%20b"

    answer = _post(unit_url, MOODLE, gateway, method="HMAC-SHA256")

    assert answer.status_code == 302, answer.text
    assert "ltik=" in answer.headers["Location"]


def test_a_launch_through_the_function_url_verifies(gateway):
    function_url = gateway.stack["function_urls"]["LaunchFunction"].rstrip("/")
    class_path = urlsplit(gateway.stack["class_launch_url"]).path

    answer = _post(function_url + class_path, CANVAS, gateway)

    assert answer.status_code == 302, answer.text


def test_a_tampered_launch_gets_an_html_page(gateway):
    signed = sign_launch(
        gateway.stack["class_launch_url"], CANVAS, consumer_key=gateway.consumer_key, secret=gateway.consumer_secret
    )
    body = signed.body.replace("Ada", "Eve")

    answer = requests.post(signed.url, data=body.encode(), headers={"Content-Type": FORM}, timeout=10)

    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("text/html") and "invalid_signature" in answer.text
