"""Hypothesis against the owner console's session (issue 15), on moto: hostile ``POST /console/session``
bodies and headers, and hostile session cookies on the console and the /api/* routes.

Never a 5xx; a refusal never repeats the API key it was given and sets no cookie; no session is ever
created by anything but a well-formed sign-in, and a cookie nobody was given opens nothing.
``FUZZ_CONSOLE_EXAMPLES`` examples per target (default: the moto budget, at most 100, so ``make test``
stays fast).
"""

from __future__ import annotations

import json
import os

from hypothesis import given
from hypothesis import strategies as st

from lti_gateway.admin import console_sessions
from lti_gateway.repositories import deps
from tests.fuzz.conftest import AWS_EXAMPLES, fuzz
from tests.support.console import *  # noqa: F403 (console_fn, the https stack)
from tests.support.console import BASE, event
from tests.support.stack import load_function

EXAMPLES = int(os.environ.get("FUZZ_CONSOLE_EXAMPLES", str(min(AWS_EXAMPLES, 100))))
HOST = BASE.split("://", 1)[1]
HOSTILE_TEXT = st.text(max_size=300) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "a\udfffb", "\u202e", "%00", "x" * 5000, "null", "[]", "{}", "\\u0000"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _sessions_stored() -> int:
    items = deps.console_sessions_repo()._table.scan()["Items"]
    return sum(1 for i in items if str(i["pk"]).startswith("CONSOLESESSION#"))


@st.composite
def sign_in_bodies(draw, api_key: str) -> str:
    """A raw body: JSON of hostile shapes (the real key now and then, beside something else), or not JSON."""
    fields = draw(
        st.dictionaries(
            st.sampled_from(["api_key", "link", "API_KEY", "api_key\x00", "extra", ""]),
            st.sampled_from([api_key, api_key + "\x00", api_key[:-1], " " + api_key]) | JSON_VALUES,
            max_size=3,
        )
    )
    shape = draw(st.sampled_from(["single"] * 3 + ["object", "value", "raw"]))
    if shape == "single":
        name = draw(st.sampled_from(["api_key", "link"]))
        value = draw(st.sampled_from([api_key, " " + api_key, api_key[:-1], "x" * 43]) | HOSTILE_TEXT)
        return json.dumps({name: value})
    if shape == "object":
        return json.dumps(fields, ensure_ascii=draw(st.booleans()))
    if shape == "value":
        return json.dumps(draw(JSON_VALUES))
    return draw(HOSTILE_TEXT)


def _well_formed_sign_in(raw: str, api_key: str) -> bool:
    try:
        body = json.loads(raw)
    except ValueError:
        return False
    return isinstance(body, dict) and set(body) == {"api_key"} and body["api_key"] in (api_key, " " + api_key)


@fuzz(EXAMPLES)
@given(data=st.data())
def test_any_sign_in_request_signs_in_or_is_a_clean_4xx(console_fn, org, data):
    raw = data.draw(sign_in_bodies(org.api_key), label="body")
    sent = event("POST", "/console/session", raw_body=raw)
    sent["headers"]["host"] = HOST
    content_type = data.draw(
        st.sampled_from(["application/json"] * 6 + ["application/json; charset=utf-8", None, "text/plain", "\ud800"]),
        label="content-type",
    )
    if content_type is None:
        sent["headers"].pop("content-type", None)
    else:
        sent["headers"]["content-type"] = content_type
    origin = data.draw(
        st.sampled_from([None] * 5 + [BASE, BASE, "https://evil.example", "null", "\x00", "http://[::1", "x" * 5000]),
        label="origin",
    )
    if origin is not None:
        sent["headers"]["origin"] = origin
    before = _sessions_stored()
    answer = console_fn(sent)
    assert answer.status < 500, (answer.status, answer.raw[:300])
    if answer.status == 200:
        assert _well_formed_sign_in(raw, org.api_key), raw
        assert content_type is not None and content_type.startswith("application/json")
        assert origin in (None, BASE)
        assert len(answer.cookies) == 1 and _sessions_stored() == before + 1
        return
    assert 400 <= answer.status < 500
    assert isinstance(answer.body, dict) and isinstance(answer.body.get("error"), str), answer.raw[:300]
    assert org.api_key.split(".", 1)[1] not in answer.raw
    assert not answer.cookies or all("Max-Age=0" in c for c in answer.cookies)
    assert _sessions_stored() == before


COOKIE_VALUES = HOSTILE_TEXT | st.text(alphabet='abcdefABCDEF0123456789-_=;," ', max_size=80)


@st.composite
def cookie_events(draw, route: tuple[str, str]) -> dict:
    method, path = route
    sent = event(method, path, body={"name": "fuzz"} if method == "POST" else ...)
    name = console_sessions.cookie_name()
    values = draw(st.lists(COOKIE_VALUES, min_size=1, max_size=3))
    where = draw(st.sampled_from(["cookies", "header", "both"]))
    pairs = [f"{draw(st.sampled_from([name, name.upper(), 'lti_gateway_console', ' ' + name]))}={v}" for v in values]
    if where in ("cookies", "both"):
        sent["cookies"] = pairs
    if where in ("header", "both"):
        sent["headers"]["cookie"] = "; ".join(pairs)
    if draw(st.booleans()):
        sent["headers"]["x-csrf-token"] = draw(COOKIE_VALUES)
    return sent


ROUTES = [
    ("keys", "GET", "/api/org"),
    ("classes", "POST", "/api/classes"),
    ("console", "GET", "/console/session"),
    ("console", "DELETE", "/console/session"),
]


@fuzz(EXAMPLES)
@given(data=st.data())
def test_any_session_cookie_nobody_was_given_opens_nothing(stack, org, data):
    from tests.conftest import invoke

    function, method, path = data.draw(st.sampled_from(ROUTES), label="route")
    sent = data.draw(cookie_events((method, path)), label="event")
    before = _sessions_stored()
    answer = invoke(load_function(function), sent)
    assert 400 <= answer.status < 500, (function, method, path, answer.status, answer.raw[:300])
    assert not answer.cookies or all("Max-Age=0" in c for c in answer.cookies)
    assert _sessions_stored() == before
