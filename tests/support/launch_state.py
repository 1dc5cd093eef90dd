"""What a warm launch container keeps between launches, forgotten: a cold launch function.

The launch caches organisations (:mod:`lti_gateway.launch.handover`), platform public keys and the
JWKS client (:mod:`lti_gateway.lti13.launch`); classes, units, consumer keys and binding decisions are
read on every launch. Tests that change one of those records behind the cache's
back, or need a cold container, call :func:`forget`. Unlike ``runtime.reset()`` it keeps the AWS
clients (and the fault injection hooked onto them) and the settings.
"""

from __future__ import annotations


def forget() -> None:
    from lti_gateway.launch import handover
    from lti_gateway.lti13 import launch

    handover._orgs.clear()
    launch.platform_keys.clear()
    launch._jwks_http.cache_clear()
