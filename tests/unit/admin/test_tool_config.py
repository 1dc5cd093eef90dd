"""The tool's LTI 1.3 configuration: one module builds every admin-visible field."""

from __future__ import annotations

from urllib.parse import urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_gateway.admin import tool_config
from lti_gateway.lti13 import tool_keys

BASE = "https://lti.example.com/prefix"
ORG = "org_0123456789abcdef"
ORG_BASE = f"{BASE}/lti/orgs/{ORG}"


@pytest.fixture(scope="module")
def jwk() -> dict:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return tool_keys._jwk(key.public_key(), tool_keys.thumbprint(key.public_key()))


def test_urls():
    assert tool_config.login_url(BASE + "/", ORG) == f"{ORG_BASE}/login"
    assert tool_config.launch_url(BASE, ORG) == f"{ORG_BASE}/launch"
    assert tool_config.redirect_uris(BASE, ORG) == [f"{ORG_BASE}/launch"]
    assert tool_config.deep_link_url(BASE, ORG) == f"{ORG_BASE}/launch"
    assert tool_config.jwks_url(BASE, ORG) == f"{ORG_BASE}/jwks.json"
    assert tool_config.domain(BASE) == "lti.example.com"


def test_every_url_is_the_organisations_own():
    """Two organisations never share a login, launch or JWKS URL (a login is matched inside the
    organisation its URL names; each signs with its own keys)."""
    other = "org_fedcba9876543210"
    mine, theirs = tool_config.configuration(BASE, ORG), tool_config.configuration(BASE, other)
    for name in ("login_url", "launch_url", "jwks_url", "target_link_uri", "deep_link_url"):
        assert ORG in mine[name] and other in theirs[name] and mine[name] != theirs[name]


def test_manual_configuration():
    conf = tool_config.configuration(BASE, ORG)

    assert conf["login_url"] == f"{ORG_BASE}/login"
    assert conf["redirect_uris"] == [f"{ORG_BASE}/launch"]
    assert conf["target_link_uri"] == conf["launch_url"] == conf["deep_link_url"] == f"{ORG_BASE}/launch"
    assert conf["jwks_url"] == f"{ORG_BASE}/jwks.json"
    assert conf["scopes"] == list(tool_config.SCOPES)
    assert [m["type"] for m in conf["messages"]] == ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
    assert "public_jwk" not in conf


def test_scopes_are_ags_and_nrps():
    assert set(tool_config.SCOPES) == {
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
        "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
        "https://purl.imsglobal.org/spec/lti-ags/scope/score",
        "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    }


def test_canvas_developer_key_shape():
    key = tool_config.canvas_developer_key(BASE, ORG)

    assert set(key) == {
        "title",
        "description",
        "oidc_initiation_url",
        "target_link_uri",
        "public_jwk_url",
        "scopes",
        "extensions",
        "custom_fields",
    }
    assert key["oidc_initiation_url"] == f"{ORG_BASE}/login"
    assert key["target_link_uri"] == f"{ORG_BASE}/launch"
    assert key["public_jwk_url"] == f"{ORG_BASE}/jwks.json"
    assert key["scopes"] == list(tool_config.SCOPES)
    [extension] = key["extensions"]
    assert extension["platform"] == "canvas.instructure.com"
    assert extension["domain"] == "lti.example.com"
    assert extension["privacy_level"] == "public"
    placements = {p["placement"]: p for p in extension["settings"]["placements"]}
    assert {"link_selection", "assignment_selection"} <= set(placements)
    for placement in placements.values():
        assert placement["message_type"] == "LtiDeepLinkingRequest"
        assert placement["target_link_uri"] == f"{ORG_BASE}/launch"
    assert all(isinstance(v, str) and v.startswith("$") for v in key["custom_fields"].values())


def test_canvas_inline_jwk_carries_alg_and_use(jwk):
    key = tool_config.canvas_developer_key(BASE, ORG, public_jwk=jwk)

    assert "public_jwk_url" not in key
    inline = key["public_jwk"]
    assert (inline["kty"], inline["alg"], inline["use"]) == ("RSA", "RS256", "sig")
    assert inline["kid"] and inline["n"] and inline["e"] == "AQAB"
    assert "d" not in inline
    assert jwt.PyJWK.from_dict(inline).key_id == inline["kid"]


def test_dynamic_registration_request():
    body = tool_config.registration_request(BASE, ORG)

    assert body["application_type"] == "web"
    assert body["response_types"] == ["id_token"]
    assert body["grant_types"] == ["implicit", "client_credentials"]
    assert body["initiate_login_uri"] == f"{ORG_BASE}/login"
    assert body["redirect_uris"] == [f"{ORG_BASE}/launch"]
    assert body["jwks_uri"] == f"{ORG_BASE}/jwks.json"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["scope"].split() == list(tool_config.SCOPES)
    lti = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert lti["domain"] == urlsplit(BASE).netloc
    assert lti["target_link_uri"] == f"{ORG_BASE}/launch"
    assert lti["claims"] == list(tool_config.CLAIMS)
    assert [m["type"] for m in lti["messages"]] == ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]
    assert all("placements" not in m for m in lti["messages"])


def test_one_source_for_every_document():
    manual = tool_config.configuration(BASE, ORG)
    canvas = tool_config.canvas_developer_key(BASE, ORG)
    dynamic = tool_config.registration_request(BASE, ORG)

    assert manual["login_url"] == canvas["oidc_initiation_url"] == dynamic["initiate_login_uri"]
    assert manual["jwks_url"] == canvas["public_jwk_url"] == dynamic["jwks_uri"]
    assert manual["redirect_uris"] == dynamic["redirect_uris"]
    assert manual["scopes"] == canvas["scopes"] == dynamic["scope"].split()
