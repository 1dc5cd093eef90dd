"""The launch error pages' texts: every code the launch path can raise says what happened and who can fix
it, in plain words, and never shows another organisation's data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lti_gateway.core import errors
from lti_gateway.core.errors import GatewayError, IdTokenRejected, LaunchRefused, MalformedIdToken, MalformedLaunch
from lti_gateway.launch import pages
from lti_gateway.lti11 import oauth1_launch

PACKAGE = Path(pages.__file__).resolve().parents[1]
# Every module a launch or login passes through (docs/architecture.md, "Where a request goes").
LAUNCH_PATH = [
    "launch/dispatch.py",
    "launch/handover.py",
    "launch/migration.py",
    "lti11/oauth1_launch.py",
    "lti11/launch.py",
    "lti13/id_token.py",
    "lti13/oidc.py",
    "lti13/launch.py",
    "lti13/platform_jwks.py",
    "core/http.py",
    "core/validation.py",
    "web.py",
]
# Codes raised in those files by functions no launch or login calls (owner API operations).
# Default codes of error classes only other routes raise (JSON bodies, exports, outcomes, registration).
NOT_ON_THE_LAUNCH_PATH = {"invalid_json", "not_acceptable", "outcome_failed", "registration_url_unknown"}


def _codes_in(path: Path) -> set[str]:
    """Every ``code="…"`` (and ``code=f"…_{claim}"`` prefix) written in ``path``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg in ("code", "kind"):
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.add(node.value.value)
            elif isinstance(node.value, ast.JoinedStr):
                head = node.value.values[0]
                if isinstance(head, ast.Constant):
                    found.add(str(head.value) + "*")
    return found


def _default_codes() -> set[str]:
    """The default code of every GatewayError class (what ``raise NotFound(...)`` answers)."""
    return {
        cls.code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, GatewayError) and cls not in (errors.ApiError,)
    }


def test_every_code_the_launch_path_can_raise_has_a_message():
    codes = set().union(*(_codes_in(PACKAGE / name) for name in LAUNCH_PATH)) | _default_codes()
    codes |= {"class_not_in_organisation", "lti11_launch_to_lti13_url", "app_origin_not_allowed"}
    codes |= {"unknown_platform", "platform_inactive", "client_id_required", "kms_unavailable", "tool_key_missing"}
    codes -= NOT_ON_THE_LAUNCH_PATH
    # missing_{claim} and invalid_{name}: every claim the id_token chain names that way
    source = (PACKAGE / "lti13/id_token.py").read_text()
    codes |= {f"missing_{claim}" for claim in re.findall(r'_missing\("(\w+)"\)', source)}
    codes |= {f"missing_{claim}" for claim in ("iss", "aud", "exp", "iat", "nonce", "sub")}  # pyjwt's required
    codes |= {f"invalid_{name}" for name in re.findall(r'\("(\w+)", (?:CONTEXT|CUSTOM|LAUNCH_PRESENTATION)\)', source)}
    assert {"missing_deployment_id", "invalid_context", "invalid_launch_presentation"} <= codes
    missing = {code for code in codes if not code.endswith("*") and code not in pages.MESSAGES}
    assert missing == set()
    assert len(codes) > 80  # the scan found the launch path's codes (it cannot pass on an empty set)


@pytest.mark.parametrize("code", sorted(pages.MESSAGES))
def test_each_message_says_what_happened_and_who_can_fix_it(code):
    what, fix = pages.MESSAGES[code]
    assert what.strip() and fix.strip() and what != fix
    assert what.rstrip(")").endswith((".", ")")) or what.endswith(".")
    assert not re.search(r"\b(org_|cls_|unt_)[0-9a-f]", what + fix)  # never an id of anything


def test_a_configuration_problem_speaks_to_the_student_and_names_the_setting():
    what, fix = pages.explain(MalformedLaunch({"oauth_signature": "does not match"}, code="invalid_signature"))
    assert "shared secret" in what
    assert fix.startswith("If you are a student, tell your instructor.")
    assert "consumer key and shared secret in the LMS's external tool settings" in fix


@pytest.mark.parametrize(
    ("version", "said"),
    [
        ("1.3.0", "LTI 1.3 version in an LTI 1.1"),
        ("LTI-2p0", "LTI 2.0 is not supported"),
        ("garbage\x00!", "not an LTI version this tool knows"),
    ],
)
def test_a_wrong_lti_version_in_an_lti11_launch_says_what_was_sent_and_what_is_wrong(version, said):
    error = oauth1_launch_error("lti_version", version)
    assert error.code == "unsupported_lti_version"
    what, fix = pages.explain(error)
    assert "not LTI 1.1" in what and "1.3.0 only" not in what
    assert said in fix
    assert "\x00" not in what


def test_an_lti13_version_refusal_says_lti13():
    what, _ = pages.explain(
        MalformedIdToken({"version": "1.1", "supported": ["1.3.0"]}, code="unsupported_lti_version")
    )
    assert "“1.1”" in what and "LTI 1.3.0 only" in what


def test_an_lti13_message_type_in_an_lti11_form_is_named():
    error = oauth1_launch_error("lti_message_type", "LtiResourceLinkRequest")
    what, fix = pages.explain(error)
    assert error.code == "unsupported_lti_message_type"
    assert "LtiResourceLinkRequest" in what and "LTI 1.3 message type" in fix


def test_the_lti11_and_lti13_nonce_refusals_are_told_apart():
    lti11, _ = pages.explain(MalformedLaunch({"oauth_nonce": "1-255 printable characters"}, code="invalid_nonce"))
    lti13, _ = pages.explain(IdTokenRejected({"nonce": "not the one this login issued"}, code="invalid_nonce"))
    assert "oauth_nonce" in lti11 and "login issued" in lti13


def test_another_organisations_class_names_the_side_to_check_never_the_class():
    error = LaunchRefused({"class_id": "no class…"}, code="class_not_in_organisation", status=404, return_url=None)
    what, fix = pages.explain(error)
    assert "organisation of this consumer key or platform" in what
    assert "consumer key (LTI 1.1) or platform registration (LTI 1.3)" in fix


def test_the_page_says_who_can_look_the_reference_up():
    error = MalformedLaunch({"oauth_signature": "x"}, code="invalid_signature")
    page = pages.error_page(error, "ref-1").body
    assert "Reference: <code>ref-1</code><br>Give this reference to your LMS administrator" in page
    assert "they can look up what was refused and why" in page


def test_the_return_to_the_lms_carries_the_reference_and_who_can_fix_it():
    error = LaunchRefused("x", code="lti_disabled", status=409, return_url="https://lms.example.edu/back")
    answer = pages.error_return(error, "ref-9")
    location = answer.headers["Location"]
    assert "Reference%3A+ref-9" in location and "tell+your+instructor" in location


def oauth1_launch_error(name: str, value: str) -> GatewayError:
    """The refusal of the LTI parameter check for one parameter changed (the signature is not its concern)."""
    params = [
        ("lti_message_type", "basic-lti-launch-request"),
        ("lti_version", "LTI-1p0"),
        ("resource_link_id", "rl-1"),
    ]
    params = [(k, value if k == name else v) for k, v in params]
    oauth = {"oauth_consumer_key": "k", "oauth_signature_method": "HMAC-SHA1"}
    with pytest.raises(GatewayError) as refused:
        oauth1_launch._lti_launch(oauth, params, None)
    return refused.value
