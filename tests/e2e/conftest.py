"""The local gateway, started once for the e2e package (in-process, 127.0.0.1, ephemeral ports).

    def test_something(gateway):
        r = requests.get(f"{gateway.base_url}/api/org", headers={"Authorization": f"Bearer {gateway.api_key}"})
        other = gateway.create_organisation("Other University")   # .org_id, .credential_id, .api_key
        key = gateway.create_consumer_key(other.org_id, label="x")  # {"key", "secret", ...}

The fixture is package-scoped (this directory is a package): it stops, and the environment it set
(fake credentials, endpoints, table names) is restored, before tests of other directories run.
Do not combine it with the ``stack`` fixture: ``mock_aws`` would intercept the gateway's own calls.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lti_gateway.local.__main__ import write_state
from tests.support.local_gateway import local_gateway


@pytest.fixture(scope="package")
def gateway():
    with local_gateway() as gw:
        yield gw


@pytest.fixture(scope="package")
def state_dir(gateway, tmp_path_factory) -> Path:
    """A directory holding the gateway's dev-stack.json (for ``lti-gateway ... --local --state-dir``)."""
    path = tmp_path_factory.mktemp("state")
    write_state(gateway.stack, path)
    return path
