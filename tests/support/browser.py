"""A browser's cookie jar for driving LTI 1.3 logins and launches through the handlers.

The login answers a cookie that binds its state to the browser (``lti13/oidc.py``); a browser sends it
back with the launch. :data:`BROWSER` is "the user's browser" the launch tests' drivers share:
``keep(answer)`` after a login, ``carry(event, state)`` on the launch post adds the cookie that login
set (and only it: a browser sends every cookie, but the others name other states and change nothing).
A test that plays another browser makes its own :class:`Browser`, or sends no cookie at all.
"""

from __future__ import annotations

import hashlib
from typing import Any


class Browser:
    def __init__(self) -> None:
        self.jar: dict[str, str] = {}

    def keep(self, answer: Any) -> list[str]:
        """Store the answer's cookies (HTTP API v2 ``cookies``); answers their names."""
        names = []
        for set_cookie in getattr(answer, "cookies", None) or []:
            pair, *attributes = [part.strip() for part in set_cookie.split(";")]
            name, _, value = pair.partition("=")
            if any(a.lower() in ("max-age=0",) for a in attributes):
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
            names.append(name)
        return names

    def cookies_for(self, state: str | None) -> list[str]:
        """``name=value`` of the cookie the login of ``state`` set, if this browser has it."""
        if not state:
            return []
        suffix = "lti_state_" + hashlib.sha256(state.encode()).hexdigest()[:16]
        return [f"{n}={v}" for n, v in self.jar.items() if n.endswith(suffix)]

    def carry(self, event: dict[str, Any], state: str | None) -> dict[str, Any]:
        """``event`` with this browser's cookie for ``state`` in ``cookies`` (as API Gateway passes it)."""
        cookies = self.cookies_for(state)
        if cookies:
            event["cookies"] = [*event.get("cookies", []), *cookies]
        return event


BROWSER = Browser()
