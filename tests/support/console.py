"""The owner console's test helpers (issue 15): API Gateway (payload 2.0) events for the console
function and, with a session cookie instead of a bearer key, for the /api/* functions.

Import the fixtures into a test module: ``from tests.support.console import *`` (``_https_base`` is
autouse there: the stack's public base URL is https, so the cookie is ``__Host-``, Secure).
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import quote

import pytest

from lti_gateway.core import config
from tests.conftest import invoke
from tests.support.events import load_event
from tests.support.stack import load_function

BASE = "https://lti.example.edu"
__all__ = ["BASE", "Signed", "_https_base", "console_fn", "cookie_pair", "event", "sign_in"]


@pytest.fixture(autouse=True)
def _https_base(stack, monkeypatch):
    """A stack whose public base URL is https (the deployed case): the cookie is __Host-, Secure."""
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    config.settings.cache_clear()
    yield
    config.settings.cache_clear()


def event(
    method: str,
    route: str,
    *,
    path_params: dict[str, str] | None = None,
    body: Any = ...,
    raw_body: str | None = None,
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API event for ``method route`` (``route`` as template.yaml names it), built on a sample."""
    sample = copy.deepcopy(load_event("org-get.json"))
    sample["headers"].pop("authorization", None)
    path = route
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    sample["routeKey"] = f"{method} {route}"
    sample["requestContext"]["routeKey"] = f"{method} {route}"
    sample["requestContext"]["http"]["method"] = method
    sample["requestContext"]["http"]["path"] = path
    sample["rawPath"] = path
    sample["rawQueryString"] = ""
    sample.pop("queryStringParameters", None)
    if path_params:
        sample["pathParameters"] = dict(path_params)
    else:
        sample.pop("pathParameters", None)
    sample["body"] = None
    sample["isBase64Encoded"] = False
    if body is not ...:
        sample["body"] = json.dumps(body)
        sample["headers"]["content-type"] = "application/json"
    if raw_body is not None:
        sample["body"] = raw_body
        sample["headers"]["content-type"] = "application/json"
    if cookie is not None:
        sample["cookies"] = [cookie]
    for name, value in (headers or {}).items():
        sample["headers"][name.lower()] = value
    return sample


@pytest.fixture
def console_fn(stack):
    module = load_function("console")
    return lambda e: invoke(module, e)


def cookie_pair(set_cookie: str) -> str:
    """``name=value`` of a Set-Cookie value."""
    return set_cookie.split(";", 1)[0].strip()


class Signed:
    """A signed-in browser: its cookie (``name=value``) and the session's JSON."""

    def __init__(self, answer):
        assert answer.status == 200, answer.body
        assert len(answer.cookies) == 1, answer.cookies
        self.set_cookie = answer.cookies[0]
        self.cookie = cookie_pair(self.set_cookie)
        self.session = answer.body
        self.csrf = answer.body["csrf_token"]


@pytest.fixture
def sign_in(console_fn):
    def go(**body: Any) -> Signed:
        return Signed(console_fn(event("POST", "/console/session", body=body)))

    return go
