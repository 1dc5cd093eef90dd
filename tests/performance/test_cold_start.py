"""Hard gate (issue #7): what importing each handler loads, in a fresh interpreter laid out like Lambda.

No handler loads the X-Ray SDK (tracing is opt-in: no ``Tracer`` is created at import), moto,
pylti1p3, requests or pydantic (Powertools imports pydantic only for ``enable_validation=True``,
which no resolver sets). Importing needs no credentials and makes no client (clients are lazy).
Module lists and timings per handler: ``make bench`` (benchmarks/coldstart.py).
"""

from __future__ import annotations

import pytest

from tests.support import cold_start


@pytest.mark.parametrize("handler", cold_start.HANDLERS)
def test_a_cold_start_loads_only_what_the_handler_needs(handler):
    probe = cold_start.import_handler(handler)

    assert "app" in probe.modules and "lti_gateway" in probe.modules
    loaded = [name for name in cold_start.FORBIDDEN if probe.loaded(name)]
    assert loaded == [], f"{handler} loads {loaded} at import"
    assert not probe.loaded("lti_gateway.local")  # the dev server is not even shipped


def test_the_probe_sees_a_forbidden_module_when_one_is_loaded():
    """The gate's own check: a handler importing requests would be caught."""
    probe = cold_start.import_modules(("requests",), "keys")
    assert probe.loaded("requests") and probe.loaded("urllib3")
