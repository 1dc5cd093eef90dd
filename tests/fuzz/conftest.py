"""The fuzz suite's settings: a fixed number of examples per target and a fixed seed.

``FUZZ_EXAMPLES`` (default 1000) is the number of Hypothesis examples each pure-parser target runs;
targets that go through moto run a quarter of it, and the schemathesis run over HTTP
``FUZZ_API_EXAMPLES`` (default 100) per operation (see docs/security.md for why and what it costs).
Every target is derandomized: the same examples on every run and machine (Hypothesis derives them
from the test's name), with no example database.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "1000"))
AWS_EXAMPLES = max(1, EXAMPLES // 4)
API_EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "100"))

_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
}


def fuzz(examples: int = EXAMPLES) -> settings:
    return settings(max_examples=examples, **_COMMON)
