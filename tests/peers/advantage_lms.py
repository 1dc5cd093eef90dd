"""An LTI 1.3 platform that launches (lti1p3platform: login, id_token, JWKS) and also answers its own
AGS/NRPS claim URLs (``{issuer}/api/contexts/{context_id}/…``) and token URL (``{issuer}/token``) with
the :class:`AdvantagePlatform` peer, on the same server."""

from __future__ import annotations

from typing import Any

import requests

from tests.peers.advantage_platform import AdvantagePlatform
from tests.peers.lti13_platform import Lti13Platform


class AdvantageLms(Lti13Platform):
    def __init__(self, jwks_url: str, *, context_id: str, **kwargs: Any):
        super().__init__(**kwargs)
        context = f"/api/contexts/{context_id}"
        self.services = AdvantagePlatform(
            client_id=self.client_id,
            jwks=lambda: requests.get(jwks_url, timeout=5).json(),
            mounted_on=lambda: self.issuer,
            line_items_path=f"{context}/lineitems",
            memberships_path=f"{context}/memberships",
            token_path="/token",
        )

    def serve_other(self, request: Any) -> None:
        self.services.serve(request)
