"""A Python client generated from the shipped OpenAPI document works against the local gateway.

``openapi-python-client`` (a well-kept generator) turns ``layers/common/lti_gateway/openapi.json`` into a
package in a temporary directory (no network: the document is a local file, post-generation hooks off).
The generated client then creates an LTI 1.1 consumer key with an owner's API key (``BearerAuth``) and
reads a launch with ``GET /api/idtoken`` (``LtikAuth``: ``LTIK-AUTH-V2 <API_KEY>:<LTIK>``), getting typed
models back; and the documented refusals come back as the typed error models (a member's key: 403
``Error``; a wrong ltik: 401 ``ContractError``), nothing stored for them.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from lti_gateway import openapi

PACKAGE = "lti_gateway_client"  # the name docs/api.md generates
ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "generated-client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> ModuleType:
    directory = tmp_path_factory.mktemp("client")
    config = directory / "config.yaml"
    config.write_text("post_hooks: []\n")
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(  # noqa: S603 (the venv's own generator, fixed arguments)
        [
            str(generator),
            "generate",
            "--path",
            str(openapi.DOCUMENT),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(directory / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # What the generator could not describe (it says so on stdout): only the LTI 1.1 XML export, whose
    # application/xml body it has no type for (the operation is generated, its answer left as bytes).
    output = (done.stdout + done.stderr).splitlines()
    skipped = [line for line in output if line.startswith("WARNING parsing")]
    assert skipped == ["WARNING parsing GET /api/classes/{class_id}/units/{unit_id}/lti-config.xml within exports."]
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(directory))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@contextmanager
def _launched(gateway, name: str) -> Iterator[tuple[Any, str]]:
    """A new organisation with an LTI 1.3 platform (a local LTI Advantage peer) and a stored launch of
    it: ``(organisation, ltik)``, the peer serving while the block runs."""
    from lti_gateway.admin.orgs import Principal
    from lti_gateway.lti13 import platforms, tool_keys
    from tests.peers.advantage_platform import AdvantagePlatform
    from tests.support.app_api import lti13_claims, store_lti13_launch

    org = gateway.create_organisation(name)
    owner = Principal(org.org_id, org.credential_id, "owner")
    with AdvantagePlatform(client_id=CLIENT_ID, jwks=lambda: tool_keys.public_jwks(org.org_id)) as lms:
        platform = platforms.create_platform(owner, lms.registration(f"{name} LMS"))
        claims = lti13_claims(issuer=lms.base, client_id=CLIENT_ID)
        _, ltik = store_lti13_launch(org.org_id, claims, platform_id=platform["id"], client_id=CLIENT_ID)
        yield org, ltik


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_the_generated_client_creates_a_consumer_key(generated, gateway):
    client_module = _module("client")
    create_consumer_key = _module("api.consumer_keys.create_consumer_key")
    models = _module("models")
    owner = client_module.AuthenticatedClient(base_url=gateway.base_url, token=gateway.api_key)

    created = create_consumer_key.sync(client=owner, body=models.ConsumerKeyCreate(label="Generated client LMS"))

    assert isinstance(created, models.ConsumerKeyWithSecret), created
    assert created.label == "Generated client LMS"
    assert created.status == models.ConsumerKeyStatus.ACTIVE
    assert created.secret and created.rotated_at is None and created.revoked_at is None
    stored = requests.get(
        f"{gateway.base_url}/api/keys/{created.key}",
        headers={"Authorization": f"Bearer {gateway.api_key}"},
        timeout=30,
    )
    assert stored.status_code == 200 and stored.json()["label"] == "Generated client LMS"


def test_a_members_key_gets_the_typed_403(generated, gateway):
    client_module = _module("client")
    create_consumer_key = _module("api.consumer_keys.create_consumer_key")
    list_consumer_keys = _module("api.consumer_keys.list_consumer_keys")
    models = _module("models")
    bearer = {"Authorization": f"Bearer {gateway.api_key}"}
    member = requests.post(f"{gateway.base_url}/api/credentials", json={"label": "gen"}, headers=bearer, timeout=30)
    assert member.status_code == 201
    owner = client_module.AuthenticatedClient(base_url=gateway.base_url, token=gateway.api_key)
    before = list_consumer_keys.sync(client=owner, limit=100)
    as_member = client_module.AuthenticatedClient(base_url=gateway.base_url, token=member.json()["api_key"])

    answer = create_consumer_key.sync_detailed(client=as_member, body=models.ConsumerKeyCreate(label="nope"))

    assert answer.status_code == 403
    assert isinstance(answer.parsed, models.Error) and answer.parsed.error == "owner_role_required"
    assert list_consumer_keys.sync(client=owner, limit=100).keys == before.keys


def test_the_generated_client_reads_the_launch_with_an_ltik(generated, gateway):
    client_module = _module("client")
    get_id_token = _module("api.app_api.get_id_token")
    models = _module("models")
    with _launched(gateway, "Generated Client University") as (org, ltik):
        session = client_module.AuthenticatedClient(
            base_url=gateway.base_url, token=f"{org.api_key}:{ltik}", prefix="LTIK-AUTH-V2"
        )

        token = get_id_token.sync(client=session)

        assert isinstance(token, models.IdToken), token
        assert token.lti_version == models.IdTokenLtiVersion.VALUE_0  # "1.3.0"
        assert token.user.id == "user-42" and token.user.name == "Grace Hopper"
        assert token.gateway.org_id == org.org_id
        assert token.platform.client_id == CLIENT_ID

        wrong = client_module.AuthenticatedClient(
            base_url=gateway.base_url, token=f"{org.api_key}:not-an-ltik", prefix="LTIK-AUTH-V2"
        )
        refused = get_id_token.sync_detailed(client=wrong)
        assert refused.status_code == 401
        assert isinstance(refused.parsed, models.ContractError) and refused.parsed.status == 401


def _docs_example() -> tuple[str, str]:
    """docs/api.md's generator command and the Python example after it, as written."""
    text = (ROOT / "docs/api.md").read_text(encoding="utf-8")
    found = re.search(r"A\s+typed Python client, for example:\s+```text\n(.*?)```\s+```python\n(.*?)```", text, re.S)
    assert found, "docs/api.md no longer shows how to generate and use a client"
    return found[1], found[2]


def test_the_docs_example_runs_as_written(generated, gateway):
    """The command docs/api.md gives generates this package (same generator, same options), and its
    Python example runs as written against the local gateway (its host swapped for the gateway's)."""
    command, example = _docs_example()
    generate = next(line for line in command.splitlines() if "openapi-python-client generate" in line)
    assert f"--meta none --output-path {PACKAGE}" in generate  # what the fixture runs, post hooks aside
    with _launched(gateway, "Docs Example University") as (org, ltik):
        scope: dict[str, object] = {"API_KEY": org.api_key, "LTIK": ltik}

        exec(example.replace("https://lti.example.edu", gateway.base_url), scope)  # noqa: S102 -- our docs

    key, token = scope["key"], scope["token"]
    assert key.label == "Moodle" and key.secret  # type: ignore[attr-defined]
    assert token.gateway.org_id == org.org_id  # type: ignore[attr-defined]
    bearer = {"Authorization": f"Bearer {org.api_key}"}
    listed = requests.get(f"{gateway.base_url}/api/keys", headers=bearer, timeout=30)
    assert [k["label"] for k in listed.json()["keys"]] == ["Moodle"]
