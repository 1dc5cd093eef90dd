"""The local gateway's HTTP server (issue 13, item 14), over real sockets.

``LocalGateway`` is served by waitress: a burst of 30 parallel requests is answered (none reset), a
request with two different ``Content-Length`` headers is a 400 naming the problem, ``TRACE`` is a 405,
and the access log never shows a registration URL token, an ltik, an API key or any query value.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import threading
from urllib.parse import quote, urlsplit

import pytest

from lti_gateway.local.server import REDACTED, redacted_target
from tests.support.app_api import lti13_claims, store_lti13_launch
from tests.support.local_gateway import local_gateway

PARALLEL = 30


@pytest.fixture(scope="module")
def gateway():
    """The local gateway with its access log on (not seeded: the test makes what it needs)."""
    with local_gateway(seed=False, quiet=False) as gw:
        org = gw.create_organisation("Local HTTP University")
        gw.stack.update(org_id=org.org_id, api_key=org.api_key)
        yield gw


def address(gateway) -> tuple[str, int]:
    parts = urlsplit(gateway.base_url)
    return parts.hostname, parts.port


def request(gateway, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None):
    connection = http.client.HTTPConnection(*address(gateway), timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def raw_exchange(gateway, data: bytes) -> bytes:
    """Bytes on a socket, everything the server answers until it closes (hand-written on purpose: no
    client library sends two Content-Length headers)."""
    with socket.create_connection(address(gateway), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_thirty_parallel_requests_are_all_answered(gateway):
    bearer = {"Authorization": f"Bearer {gateway.api_key}"}
    answers: list[int | str] = []
    start = threading.Barrier(PARALLEL)

    def one() -> None:
        start.wait()  # all 30 connect at once: the listen backlog must hold them
        try:
            answers.append(request(gateway, "GET", "/api/org", headers=bearer)[0])
        except OSError as exc:  # a reset connection, a refused connect
            answers.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert answers == [200] * PARALLEL


def test_two_conflicting_content_lengths_are_a_400_naming_the_problem(gateway):
    answer = raw_exchange(
        gateway,
        b"POST /api/keys HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{}{}{}{}{}{}",
    )

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    assert b"Content-Length" in rest.partition(b"\r\n\r\n")[2]  # the body says which header is wrong
    assert answer.count(b"HTTP/1.1") == 1  # nothing smuggled: no second answer for the leftover bytes


def test_one_content_length_is_served_as_ever(gateway):
    status, _, body = request(
        gateway,
        "POST",
        "/api/keys",
        headers={"Authorization": f"Bearer {gateway.api_key}", "Content-Type": "application/json"},
        body=b'{"label": "Moodle"}',
    )

    assert status == 201, body


@pytest.mark.parametrize("path", ["/api/org", "/no/such/route", "/lti/launch"])
def test_trace_is_a_405(gateway, path):
    status, headers, body = request(gateway, "TRACE", path, headers={"Cookie": "secret=1", "X-Probe": "echo"})

    assert status == 405
    assert "TRACE" not in headers["Allow"] and "GET" in headers["Allow"]
    assert b"secret=1" not in body and b"X-Probe" not in body  # nothing of the request is echoed
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_tokens_ltiks_and_keys_never_reach_the_access_log(gateway, capfd):
    bearer = {"Authorization": f"Bearer {gateway.api_key}"}
    status, _, body = request(
        gateway,
        "POST",
        "/api/platforms/registration-url",
        headers={**bearer, "Content-Type": "application/json"},
        body=b"{}",
    )
    assert status == 201, body
    registration_url = json.loads(body)["registration_url"]
    token = urlsplit(registration_url).path.rsplit("/", 1)[1]
    _, ltik = store_lti13_launch(
        gateway.org_id,
        lti13_claims(issuer="https://lms.example.edu", client_id="c1"),
        platform_id="p1",
        client_id="c1",
    )
    registration_token = secrets.token_urlsafe(24)
    state = secrets.token_urlsafe(24)
    capfd.readouterr()  # only what these requests log

    answers = [
        request(
            gateway,
            "GET",
            f"/lti/register/{token}?openid_configuration=https%3A%2F%2Fx.example%2F"
            f"&registration_token={registration_token}",
        ),
        request(gateway, "GET", f"/api/idtoken?ltik={quote(ltik)}"),
        request(gateway, "GET", "/api/idtoken", headers={"Authorization": f"LTIK-AUTH-V2 {gateway.api_key}:{ltik}"}),
        request(gateway, "GET", f"/_demo/app?ltik={quote(ltik)}"),
        request(gateway, "POST", f"/lti/launch?state={state}&id_token={ltik}"),
        request(gateway, "GET", f"/nowhere/{token}/{quote(gateway.api_key)}?key={quote(gateway.api_key)}"),
        request(gateway, "TRACE", f"/lti/register/{token}?ltik={ltik}"),
    ]
    out, err = capfd.readouterr()

    # (the registration page is a 502: the platform named is unreachable; no answer is a crash)
    assert all(status != 500 for status, _, _ in answers), answers
    access_log = [line for line in err.splitlines() if line.startswith("[lti-gateway]")]
    # every request logged once, and the demo app's own call to /api/idtoken (it renders server-side)
    assert len(access_log) == len(answers) + 1, err
    assert '"GET /lti/register/{token}?openid_configuration=[redacted]&registration_token=[redacted]"' in err
    assert '"GET /api/idtoken?ltik=[redacted]"' in err
    for secret in (token, ltik, gateway.api_key, gateway.api_key.split(".")[1], registration_token, state):
        assert secret not in out and secret not in err
        assert quote(secret) not in err and quote(secret, safe="") not in err


@pytest.mark.parametrize(
    ("raw_path", "raw_query", "route", "params", "logged"),
    [
        ("/lti/register/abc", "", "/lti/register/{token}", {"token": "abc"}, "/lti/register/{token}"),
        (
            "/api/classes/cls_1/units/u_2",
            "limit=5&next=tok",
            "/api/classes/{class_id}/units/{unit_id}",
            {"class_id": "cls_1", "unit_id": "u_2"},
            "/api/classes/cls_1/units/u_2?limit=[redacted]&next=[redacted]",
        ),
        (
            "/api/lineitems/aHR0cHM6Ly9sbXM",
            "",
            "/api/lineitems/{id+}",
            {"id": "aHR0cHM6Ly9sbXM"},
            "/api/lineitems/{id+}",
        ),
        ("/x/" + "a" * 33 + "/y", "bare", None, None, f"/x/{REDACTED}/y?bare"),
        ("/x/a b\x1b", "", None, None, f"/x/{REDACTED}"),
        ("/api/classes/" + "c" * 80, "", "/api/classes/{class_id}", {"class_id": "c" * 80}, f"/api/classes/{REDACTED}"),
    ],
)
def test_the_access_log_shows_ids_and_names_never_values(raw_path, raw_query, route, params, logged):
    assert redacted_target(raw_path, raw_query, route, params) == logged
