"""Fixtures of the app API tests (import them into a test module: ``from tests.support.app_fixtures import *``).

- ``token_fn``: the token function on the moto stack; ``token_fn(event) -> Answer``.
- ``outcome_lms``: a local LTI 1.1 outcome service (Authlib-verified) with the org's consumer key.
- ``lti11``: a verified LTI 1.1 launch through the launch function (Canvas parameters, the outcome
  service URL pointing at ``outcome_lms``): ``{"org", "ltik", "launch_id", "key", "secret", ...}``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.peers.advantage_platform import AdvantagePlatform
from tests.peers.lms_params import CANVAS
from tests.peers.oauth1_signer import launch_event, sign_launch
from tests.peers.outcome_service import OutcomeService
from tests.support.app_api import HOST, SCOPES, lti13_claims, ltik_from, store_lti13_launch

APP = "https://app.example.com/lti/start"
SOURCEDID = dict(CANVAS)["lis_result_sourcedid"]
USER_ID = dict(CANVAS)["user_id"]

__all__ = [
    "insecure_platform_urls",
    "lti11",
    "lti11_launch",
    "lti11_world",
    "lti13",
    "outcome_lms",
]
CLIENT_ID = "client-abc"


@pytest.fixture
def insecure_platform_urls(stack, monkeypatch):
    """Loopback http peers allowed (what the local gateway sets for its test platforms)."""
    from lti_gateway.app_api import platform_services
    from lti_gateway.core import config

    monkeypatch.setenv("ALLOW_INSECURE_PLATFORM_URLS", "true")
    config.settings.cache_clear()
    platform_services.outbound_http.cache_clear()
    yield
    config.settings.cache_clear()
    platform_services.outbound_http.cache_clear()


def make_lti11_world(org, monkeypatch, *, unit: bool = False) -> dict:
    """An organisation set up for LTI 1.1 launches: its app launch URL (origin allowed), a consumer
    key labelled Canvas, a class with a Class LMS URL, and a unit in it when ``unit``.

    ``{"org", "principal", "key", "secret", "class"[, "unit"]}``; needs the moto ``stack``.
    """
    from lti_gateway.admin import classes, orgs
    from lti_gateway.core import config
    from lti_gateway.lti11 import consumer_keys

    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    config.settings.cache_clear()
    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    orgs.update_settings(principal, {"app_launch_url": APP})
    key = consumer_keys.create_consumer_key(org.org_id, label="Canvas")
    base = f"https://{HOST}"
    cls = classes.create_class(
        principal,
        {"name": "Physics 101", "class_lms_url": "https://lms.example.edu/c/1", "class_lms_url_confirmed": True},
        base=base,
    )
    world = {"org": org, "principal": principal, "key": key["key"], "secret": key["secret"], "class": cls}
    if unit:
        world["unit"] = classes.create_unit(principal, cls["class_id"], {"name": "Waves"}, base=base)
    return world


@pytest.fixture
def lti11_world(stack, org, monkeypatch):
    return make_lti11_world(org, monkeypatch)


@pytest.fixture
def outcome_lms(lti11_world):
    with OutcomeService({lti11_world["key"]: lti11_world["secret"]}, {SOURCEDID}) as service:
        yield service


@pytest.fixture
def lti11_launch(lti11_world, launch_fn):
    """``launch(params) -> {"ltik", "launch_id"}``: a verified LTI 1.1 launch into the world's class."""
    from lti_gateway.app_api import ltik as ltik_mod

    def launch(params=CANVAS, *, world=None) -> dict:
        world = world or lti11_world
        url = world["class"]["launch_url"]
        signed = sign_launch(url, params, consumer_key=world["key"], secret=world["secret"])
        answer = launch_fn(launch_event(signed, host=HOST, raw_path=urlsplit(url).path))
        assert answer.status == 302, answer.raw
        token = ltik_from(answer.headers["location"])
        return {"ltik": token, "launch_id": ltik_mod.verify(token).launch_id}

    return launch


@pytest.fixture
def lti11(lti11_world, lti11_launch, outcome_lms, insecure_platform_urls):
    params = [(k, outcome_lms.url if k == "lis_outcome_service_url" else v) for k, v in CANVAS]
    launched = lti11_launch(params)
    return {**lti11_world, **launched, "params": params, "api_key": lti11_world["org"].api_key}


@pytest.fixture
def lti13(stack, org, insecure_platform_urls):
    """A registered LTI 1.3 platform served on loopback (token endpoint, AGS, NRPS) and a launch
    context from it: ``{"lms", "platform_id", "launch", "org", "api_key", "ltik", "launch_id"}``.
    ``launch(**claims_kw)`` stores another launch of the same platform."""
    from lti_gateway.admin import orgs
    from lti_gateway.lti13 import platforms, tool_keys

    principal = orgs.Principal(org.org_id, org.credential_id, "owner")
    jwks = tool_keys.public_jwks(org.org_id)  # what this organisation's LMS was given
    with AdvantagePlatform(client_id=CLIENT_ID, jwks=lambda: jwks) as lms:
        created = platforms.create_platform(
            principal,
            lms.registration("Example LMS"),
        )

        def launch(**claims_kw) -> dict:
            claims_kw.setdefault(
                "ags", {"scope": list(SCOPES), "lineitems": lms.line_items_url, "lineitem": lms.item_url()}
            )
            claims_kw.setdefault("nrps", {"context_memberships_url": lms.memberships_url, "service_versions": ["2.0"]})
            claims = lti13_claims(issuer=lms.base, client_id=CLIENT_ID, **claims_kw)
            launch_id, token = store_lti13_launch(org.org_id, claims, platform_id=created["id"], client_id=CLIENT_ID)
            return {"ltik": token, "launch_id": launch_id, "claims": claims}

        yield {
            "lms": lms,
            "platform_id": created["id"],
            "launch": launch,
            "org": org,
            "api_key": org.api_key,
            **launch(),
        }
