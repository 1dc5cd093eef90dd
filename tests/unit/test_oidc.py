"""The OIDC login initiation: what is checked, what is stored, where the browser is sent."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from lti_gateway import oidc
from lti_gateway.errors import GatewayError
from lti_gateway.platforms import Registration, UnknownPlatform

BASE = "https://gw.example.com"
NOW = 1_700_000_000
REG = Registration(
    platform_id="plt_0123456789abcdef",
    org_id="org_1",
    name="Canvas",
    issuer="https://canvas.instructure.com",
    client_id="10000000000001",
    deployment_ids=("1:abc",),
    auth_login_url="https://sso.canvaslms.com/api/lti/authorize_redirect?x=1",
    auth_token_url="https://sso.canvaslms.com/login/oauth2/token",
    jwks_url="https://sso.canvaslms.com/api/lti/security/jwks",
    public_key=None,
    auth_server=None,
    active=True,
    allow_anonymous=False,
)


class States:
    def __init__(self) -> None:
        self.items: dict[str, tuple[dict[str, Any], int]] = {}

    def put_state(self, state: str, item: dict[str, Any], *, expires_at: int) -> None:
        assert state not in self.items
        self.items[state] = (item, expires_at)


def find(issuer: str, client_id: str | None) -> Registration:
    if issuer != REG.issuer or client_id not in (None, REG.client_id):
        raise UnknownPlatform("not registered")
    return REG


def params(**changes: str | None) -> dict[str, str]:
    base = {
        "iss": REG.issuer,
        "login_hint": "535fa085f22b4655f48cd5a36a9215f64c062838",
        "target_link_uri": f"{BASE}/lti/launch/cls_0123456789abcdef",
        "lti_message_hint": "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJ2ZXJpZmllciI6IjEifQ.c2ln",
        "client_id": REG.client_id,
        "lti_deployment_id": "1:abc",
        "canvas_region": "us-east-1",
        "canvas_environment": "prod",
    }
    for name, value in changes.items():
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def login(p: dict[str, str], states: States | None = None, bases=(BASE,), registration=None) -> oidc.LoginRedirect:
    lookup = (lambda i, c: registration) if registration else find
    return oidc.login(p, bases=bases, find_registration=lookup, states=states or States(), now=NOW)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def test_a_canvas_login_redirects_to_the_platform_with_every_oidc_parameter():
    states = States()

    redirect = login(params(), states)

    assert redirect.location.startswith("https://sso.canvaslms.com/api/lti/authorize_redirect?")
    sent = query(redirect.location)
    assert sent["scope"] == "openid" and sent["response_type"] == "id_token"
    assert sent["response_mode"] == "form_post" and sent["prompt"] == "none"
    assert sent["client_id"] == REG.client_id
    assert sent["redirect_uri"] == f"{BASE}/lti/launch"
    assert sent["login_hint"] == params()["login_hint"]
    assert sent["lti_message_hint"] == params()["lti_message_hint"]  # a JWT, untouched
    assert sent["x"] == "1"  # the registered URL's own query is kept
    assert sent["canvas_region"] == "us-east-1" and sent["canvas_environment"] == "prod"
    assert sent["state"] == redirect.state
    item, expires_at = states.items[redirect.state]
    assert sent["nonce"] == item["nonce"] and sent["nonce"] != sent["state"]
    assert expires_at == NOW + 600
    assert item["platform_id"] == REG.platform_id and item["org_id"] == "org_1"
    assert item["issuer"] == REG.issuer and item["client_id"] == REG.client_id
    assert item["target_link_uri"] == params()["target_link_uri"]


def test_state_and_nonce_have_at_least_128_bits_and_are_fresh_each_time():
    seen = set()
    for _ in range(50):
        sent = query(login(params()).location)
        assert len(sent["state"]) >= 22 and len(sent["nonce"]) >= 22  # ≥ 128 bits of base64url
        seen |= {sent["state"], sent["nonce"]}
    assert len(seen) == 100


def test_lti_storage_target_is_accepted_and_not_passed_on():
    sent = query(login(params(lti_storage_target="_parent")).location)
    assert "lti_storage_target" not in sent and sent["state"]


def test_the_client_id_may_be_omitted_and_so_may_the_message_hint():
    sent = query(login(params(client_id=None, lti_message_hint=None, lti_deployment_id=None)).location)
    assert sent["client_id"] == REG.client_id and "lti_message_hint" not in sent


def test_an_extra_parameter_never_overrides_an_oidc_one():
    hostile = params(redirect_uri="https://evil.example/steal", response_mode="query", prompt="login", nonce="x")
    hostile |= {"claims": "{}", "scope_extra": "fine", "Weird-Name": "dropped"}

    pairs = parse_qsl(urlsplit(login(hostile).location).query)
    sent = dict(pairs)

    assert sent["redirect_uri"] == f"{BASE}/lti/launch"
    assert sent["response_mode"] == "form_post" and sent["prompt"] == "none" and sent["nonce"] != "x"
    assert "claims" not in sent and "Weird-Name" not in sent and sent["scope_extra"] == "fine"
    assert len([k for k, _ in pairs if k == "redirect_uri"]) == 1


@pytest.mark.parametrize(
    "target",
    [
        f"{BASE}/lti/launch",
        f"{BASE}/lti/launch/",
        f"{BASE}/lti/launch/cls_0123456789abcdef/unt_0123456789abcdef",
        f"{BASE}:443/lti/launch?x=1",
        "HTTPS://GW.EXAMPLE.COM/lti/launch",
    ],
)
def test_launch_urls_of_this_gateway_are_accepted_as_targets(target):
    assert login(params(target_link_uri=target)).state


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/lti/launch",
        "http://gw.example.com/lti/launch",
        "https://gw.example.com:8443/lti/launch",
        "https://gw.example.com/api/keys",
        "https://gw.example.com/lti/launchpad",
        "https://gw.example.com/lti/launch/a/b/c",
        "https://user@gw.example.com/lti/launch",
        "https://gw.example.com/lti/launch#frag",
        "javascript:alert(1)",
        "https://[::1/lti/launch",
    ],
)
def test_a_target_link_uri_elsewhere_is_refused(target):
    states = States()
    with pytest.raises(GatewayError) as caught:
        login(params(target_link_uri=target), states)
    assert (caught.value.status, caught.value.code) == (400, "invalid_target_link_uri")
    assert states.items == {}


def test_a_base_with_a_path_prefix():
    assert oidc.launch_target("https://x.example/prod/lti/launch/cls_1", ["https://x.example/prod"]) == (
        "https://x.example/prod",
        "cls_1",
        None,
    )
    assert oidc.launch_target("https://x.example/lti/launch/cls_1", ["https://x.example/prod"]) is None


@pytest.mark.parametrize("missing", ["iss", "login_hint", "target_link_uri"])
def test_a_required_parameter_missing_is_a_400_and_stores_nothing(missing):
    states = States()
    with pytest.raises(GatewayError) as caught:
        login(params(**{missing: None}), states)
    assert (caught.value.status, caught.value.code) == (400, "missing_login_parameter")
    assert states.items == {}


def test_an_unknown_platform_or_deployment_is_refused():
    with pytest.raises(GatewayError) as caught:
        login(params(iss="https://unknown.example"))
    assert caught.value.code == "unknown_platform"
    with pytest.raises(GatewayError) as caught:
        login(params(lti_deployment_id="9:zzz"))
    assert caught.value.code == "unknown_deployment"


def test_a_repeated_login_parameter_is_refused_and_repeated_extras_keep_the_first():
    with pytest.raises(GatewayError) as caught:
        oidc.login_params([("iss", "a"), ("iss", "b")])
    assert caught.value.code == "duplicate_login_parameter"
    assert oidc.login_params([("x", "1"), ("x", "2")]) == {"x": "1"}


def test_oversized_parameters_are_refused():
    with pytest.raises(GatewayError) as caught:
        login(params(login_hint="h" * 5000))
    assert caught.value.code == "invalid_login_parameter"


def test_an_auth_login_url_that_is_not_http_is_never_redirected_to():
    with pytest.raises(GatewayError):
        login(params(), registration=replace(REG, auth_login_url="javascript:alert(1)"))
