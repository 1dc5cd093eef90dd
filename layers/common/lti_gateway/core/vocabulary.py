"""The names the LTI specifications define, in one place for both protocol families.

LTI 1.3 claim URIs, message types and versions (``lti13/``, ``launch/``, ``app_api/``), the
Assignment and Grade Services and Names and Roles scopes (``admin/tool_config``, ``app_api/``), the
LTI 1.1 message types (``lti11/``, ``app_api/``) and the LIS role vocabulary with the one mapping of
LTI 1.1 role names onto LIS v2 URIs (both families store roles as LIS v2 URIs). Plain values and one
pure function: importing it costs nothing, and neither protocol imports the other to share a name.
"""

from __future__ import annotations

from collections.abc import Iterable

# -- LTI 1.3 (LTI Core, Deep Linking, AGS, NRPS) ---------------------------------------------------------

LTI_VERSION = "1.3.0"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = f"{LTI}message_type"
VERSION = f"{LTI}version"
DEPLOYMENT_ID = f"{LTI}deployment_id"
TARGET_LINK_URI = f"{LTI}target_link_uri"
RESOURCE_LINK = f"{LTI}resource_link"
ROLES = f"{LTI}roles"
ROLE_SCOPE_MENTOR = f"{LTI}role_scope_mentor"
CONTEXT = f"{LTI}context"
TOOL_PLATFORM = f"{LTI}tool_platform"
LAUNCH_PRESENTATION = f"{LTI}launch_presentation"
CUSTOM = f"{LTI}custom"
LIS = f"{LTI}lis"
LTI1P1 = f"{LTI}lti1p1"
FOR_USER = f"{LTI}for_user"
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DEEP_LINKING_SETTINGS = f"{DL}deep_linking_settings"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
SUBMISSION_REVIEW_REQUEST = "LtiSubmissionReviewRequest"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_LINEITEM_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly"
SCOPE_RESULT_READONLY = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"

# LTI Dynamic Registration: the platform's OpenID configuration and the tool's registration claims.
LTI_PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
LTI_TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"

# -- LTI 1.1 -------------------------------------------------------------------------------------------

BASIC_LAUNCH = "basic-lti-launch-request"
CONTENT_ITEM_SELECTION_REQUEST = "ContentItemSelectionRequest"

# -- LIS roles ------------------------------------------------------------------------------------------

LIS_V2 = "http://purl.imsglobal.org/vocab/lis/v2/"
_CONTEXT_ROLES = {
    name.lower(): name
    for name in (
        "Learner",
        "Instructor",
        "ContentDeveloper",
        "Member",
        "Manager",
        "Mentor",
        "Administrator",
        "TeachingAssistant",
        "Officer",
    )
}
_URN_PREFIXES = {
    "urn:lti:role:ims/lis/": "membership",
    "urn:lti:instrole:ims/lis/": "institution/person",
    "urn:lti:sysrole:ims/lis/": "system/person",
}


def _context_role(name: str) -> str:
    """A LIS context role (``Instructor``, ``Learner/GuestLearner``) as a LIS v2 membership URI."""
    principal, _, sub = name.partition("/")
    principal = _CONTEXT_ROLES.get(principal.lower(), principal)
    if principal == "TeachingAssistant":  # LIS v2 made the TA a sub-role of Instructor
        return f"{LIS_V2}membership/Instructor#{sub or 'TeachingAssistant'}"
    return f"{LIS_V2}membership/{principal}#{sub}" if sub else f"{LIS_V2}membership#{principal}"


def normalize_role(role: str) -> str:
    """One role as a LIS v2 vocabulary URI (the form LTI 1.3 uses); unknown ones unchanged.

    ``Instructor`` and ``urn:lti:role:ims/lis/Instructor`` become
    ``http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor``;
    ``urn:lti:instrole:ims/lis/Administrator`` becomes ``.../institution/person#Administrator``;
    ``urn:lti:sysrole:ims/lis/SysAdmin`` becomes ``.../system/person#SysAdmin``. LIS v2 URIs (what an
    LTI 1.3 platform sends) come back as they are.
    """
    role = role.strip()
    lowered = role.lower()
    for prefix, vocabulary in _URN_PREFIXES.items():
        if lowered.startswith(prefix):
            name = role[len(prefix) :]
            if vocabulary == "membership":
                return _context_role(name)
            return f"{LIS_V2}{vocabulary}#{name}"
    if lowered.split("/")[0] in _CONTEXT_ROLES and ":" not in role:
        return _context_role(role)
    return role


def has_context_role(roles: Iterable[str], principal: str) -> bool:
    """Whether normalized ``roles`` hold the context role ``principal`` (``Instructor``) or a sub-role of it."""
    exact, sub = f"{LIS_V2}membership#{principal}", f"{LIS_V2}membership/{principal}#"
    return any(r == exact or r.startswith(sub) for r in roles)
