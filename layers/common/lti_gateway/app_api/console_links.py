"""``POST /api/console-link``: a one-time link into the owner console for the instructor of a launch.

The app calls it with the launch's ``LTIK-AUTH-V2 <API_KEY>:<LTIK>`` (nothing else: a bearer key or a
service key is refused by :func:`lti_gateway.app_api.auth.authenticate`). Only a launch whose roles
hold Instructor (or a sub-role of it) or Administrator, as a context role, or Administrator as an
institution role, gets one (403 ``INSTRUCTOR_ROLE_REQUIRED`` otherwise); a launch that names no class
(an LTI 1.3 deep-linking request) has none to open (409 ``NO_CLASS``). The link opens a session of
role ``instructor`` scoped to the launch's class, for the API key the app called with (revoking it ends
the session), and is one-time and 5 minutes (:mod:`lti_gateway.admin.console_sessions`). Roles are
read from the stored launch context, where both LTI versions keep them as LIS v2 URIs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lti_gateway.admin import console_sessions
from lti_gateway.app_api.auth import AppSession
from lti_gateway.core.errors import Conflict, Forbidden
from lti_gateway.core.vocabulary import LIS_V2, has_context_role

INSTITUTION_ADMINISTRATOR = f"{LIS_V2}institution/person#Administrator"


def may_manage_class(roles: Iterable[Any]) -> bool:
    """Instructor or Administrator of the context, or an institution Administrator (normalized roles)."""
    names = [r for r in roles if isinstance(r, str)]
    return (
        has_context_role(names, "Instructor")
        or has_context_role(names, "Administrator")
        or INSTITUTION_ADMINISTRATOR in names
    )


def create(session: AppSession, *, base: str) -> dict[str, Any]:
    """``{"url", "expires_at", "class_id"}`` of a new instructor link for ``session``'s launch."""
    launch = session.launch or {}
    if not may_manage_class(launch.get("roles") or []):
        raise Forbidden(
            "only an instructor or administrator of the launch may open its class in the console",
            code="instructor_role_required",
        )
    class_id = launch.get("class_id")
    if not isinstance(class_id, str) or not class_id:
        raise Conflict("this launch names no class to open in the console", code="no_class")
    return console_sessions.create_class_link(session.org_id, session.principal.credential_id, class_id, base=base)
