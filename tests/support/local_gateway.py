"""The local gateway for a test module or package, hermetic: its own moto endpoints, never ones left in
the developer's shell, and the process environment put back as it was once it stops (``start()`` sets
``os.environ`` for the handlers it hosts).

    with local_gateway(quiet=True, environment={"ALLOW_INSECURE_PLATFORM_URLS": "false"}) as gw:
        ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from lti_gateway.local.server import LocalGateway, reset_caches

# The gateway's own endpoints, never ones left in the developer's shell (tests stay hermetic).
ENDPOINTS = ("DYNAMODB_ENDPOINT_URL", "KMS_ENDPOINT_URL", "AWS_ENDPOINT_URL")


@contextmanager
def local_gateway(*, environment: Mapping[str, str] | None = None, **options: Any) -> Iterator[LocalGateway]:
    """A started :class:`LocalGateway` (``options``: its keyword arguments; ``port`` 0 unless given),
    with ``environment`` set before it starts; stopped and the environment restored afterwards."""
    saved = dict(os.environ)
    for name in ENDPOINTS:
        os.environ.pop(name, None)
    os.environ.update(environment or {})
    gw = LocalGateway(**{"port": 0, **options})
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_caches()
