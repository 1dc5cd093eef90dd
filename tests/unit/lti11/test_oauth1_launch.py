"""LTI 1.1 launch verification, with launches signed by Authlib (an OAuth 1.0a signer other than oauthlib).

Every rejection has a positive twin that differs in one field.
"""

from __future__ import annotations

import base64
import contextlib
import random
import secrets
import uuid
from urllib.parse import quote, urlencode

import pytest
from oauthlib.oauth1.rfc5849 import signature as oauthlib_signature

from lti_gateway.core.errors import (
    BodyTooLarge,
    GatewayError,
    LaunchRejected,
    MalformedLaunch,
    UnsupportedMediaType,
    ValidationFailed,
)
from lti_gateway.core.http import form_pairs, public_url
from lti_gateway.core.vocabulary import LIS_V2, normalize_role
from lti_gateway.lti11.oauth1_launch import (
    ConsumerSecrets,
    InMemoryNonceStore,
    VerifiedLaunch,
    parse_roles,
    verify_launch,
)
from tests.peers.lms_params import CANVAS, MOODLE, MOODLE_SOURCEDID
from tests.peers.oauth1_signer import SignedLaunch, launch_event, sign_launch

NOW = 1_760_000_000
KEY = "moodle&key%2024!_/prod"  # our policy's punctuation, including the characters OAuth must escape
SECRET = "Sk3&t+/=~Zr9_wq8Lm2xNv7"
HOST = "lti.example.com"
PATH = "/launch/classes/c-1f2e"


class Lookup:
    """A secret lookup that records its calls."""

    def __init__(self, answers: dict[str, object] | None = None):
        self.answers = (
            {KEY: ConsumerSecrets.active(SECRET, details={"org_id": "org-1"})} if answers is None else answers
        )
        self.calls: list[str] = []

    def __call__(self, key: str):
        self.calls.append(key)
        return self.answers.get(key)


def sign(
    params=CANVAS,
    *,
    url: str = f"https://{HOST}{PATH}",
    key: str = KEY,
    secret: str = SECRET,
    method: str = "HMAC-SHA1",
    nonce: str | None = None,
    timestamp: int = NOW,
    rsa_key: str | None = None,
) -> SignedLaunch:
    return sign_launch(
        url,
        params,
        consumer_key=key,
        secret=secret,
        method=method,
        nonce=nonce or secrets.token_hex(16),
        timestamp=timestamp,
        rsa_key=rsa_key,
    )


def verify(
    signed: SignedLaunch | str,
    *,
    raw_path: str = PATH,
    raw_query: str = "",
    lookup=None,
    store: InMemoryNonceStore | None = None,
    now: float = NOW,
    public_base_url: str | None = None,
    **event_kwargs,
) -> VerifiedLaunch:
    """The whole pipeline a launch handler runs: event → URL → form body → verification."""
    event = launch_event(
        signed, host=event_kwargs.pop("host", HOST), raw_path=raw_path, raw_query=raw_query, **event_kwargs
    )
    return verify_launch(
        "POST",
        public_url(event, public_base_url=public_base_url),
        form_pairs(event),
        lookup_secret=lookup or Lookup(),
        nonce_store=store if store is not None else InMemoryNonceStore(clock=lambda: now),
        now=now,
    )


def edit(signed: SignedLaunch, name: str, value: str | None) -> str:
    """The signed body with one parameter replaced (or removed when value is None)."""
    params = [(k, value if k == name else v) for k, v in signed.params if k != name or value is not None]
    return urlencode(params, quote_via=quote)


def rejected(signed, code: str, **kwargs) -> LaunchRejected:
    with pytest.raises(LaunchRejected) as caught:
        verify(signed, **kwargs)
    assert caught.value.code == code, caught.value.details
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value.details)
    return caught.value


# -- accepted launches -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256"])
def test_canvas_launch_verifies(method):
    launch = verify(sign(CANVAS, method=method, nonce=secrets.token_urlsafe(48)))

    assert launch.consumer_key == KEY
    assert launch.signature_method == method
    assert launch.user_id == "535fa085f22b4655f48cd5a36a9215f64c062838"
    assert launch.roles == (f"{LIS_V2}membership#Instructor",)
    assert launch.is_instructor and not launch.is_learner
    assert (launch.given_name, launch.family_name, launch.email) == ("Ada", "Lovelace", "ada@example.edu")
    assert launch.context_title == 'Physics & "Quantum" Mechanics — Fall 2024'
    assert launch.resource_link_id == "a6b1f7c8d3e2b1a0f9e8d7c6b5a4f3e2d1c0b9a8"
    assert launch.lis_outcome_service_url == "https://canvas.example.edu/api/lti/v1/tools/42/grade_passback"
    assert launch.lis_result_sourcedid.startswith("42-1234-99-5678-")
    assert launch.tool_consumer_instance_guid.endswith(".canvas.example.edu")
    assert launch.custom == {
        "canvas_api_domain": "canvas.example.edu",
        "canvas_course_id": "1234",
        "canvas_user_id": "5678",
    }
    assert launch.ext == {"ext_roles": dict(CANVAS)["ext_roles"]}
    assert launch.consumer.details == {"org_id": "org-1"}
    names = [k for k, _ in launch.params]
    assert "oauth_signature" not in names and "oauth_nonce" in names and "roles" in names


@pytest.mark.parametrize("method", ["HMAC-SHA1", "HMAC-SHA256"])
def test_moodle_launch_with_a_query_string_verifies(method):
    url = f"https://{HOST}{PATH}?unit=u-9%20b&lang=fr"
    launch = verify(sign(MOODLE, url=url, method=method, nonce=uuid.uuid4().hex), raw_query="unit=u-9%20b&lang=fr")

    assert launch.roles == (
        f"{LIS_V2}membership#Instructor",
        f"{LIS_V2}system/person#Administrator",
        f"{LIS_V2}institution/person#Administrator",
    )
    assert launch.is_instructor
    assert launch.full_name == "Zoë Ñúñez-O'Connor 🧪"
    assert launch.family_name == "Ñúñez-O'Connor"
    assert launch.lis_result_sourcedid == MOODLE_SOURCEDID
    assert launch.custom == {"unit": "intro & setup", "level": "2 + 2 = 4 (100%)"}
    assert launch.ext == {"ext_lms": "moodle-2", "ext_user_username": "zoe"}
    assert launch.context_type == "CourseSection"
    assert launch.launch_presentation_return_url.endswith("instanceid=3&sesskey=Ab12")
    assert launch.person_sourcedid is None and launch.resource_link_description is None  # empty → None
    assert ("lis_person_sourcedid", "") in launch.params  # but kept raw


def test_the_query_string_is_signed():
    url = f"https://{HOST}{PATH}?unit=u-9"
    signed = sign(MOODLE, url=url)
    assert verify(signed, raw_query="unit=u-9").resource_link_id == "3"
    rejected(signed, "invalid_signature", raw_query="unit=u-8")
    rejected(signed, "invalid_signature", raw_query="")


def test_repeated_parameters_and_empty_values_are_signed_and_kept():
    params = [*MOODLE, ("custom_tag", "b"), ("custom_tag", "a"), ("custom_empty", ""), ("z", "")]
    signed = sign(params)
    launch = verify(signed)
    assert [v for k, v in launch.params if k == "custom_tag"] == ["b", "a"]  # order kept
    assert launch.custom["tag"] == "b"  # the first value
    assert launch.custom["empty"] == "" and ("z", "") in launch.params

    # Twins: each repeated or empty parameter is part of the signature.
    without_one = [(k, v) for k, v in signed.params if (k, v) != ("custom_tag", "a")]
    rejected(urlencode(without_one, quote_via=quote), "invalid_signature")
    rejected(edit(signed, "z", None), "invalid_signature")
    rejected(edit(signed, "custom_empty", "x"), "invalid_signature")


def test_non_ascii_values_are_signed_as_utf8():
    signed = sign(MOODLE)
    assert verify(signed).given_name == "Zoë"
    rejected(edit(signed, "lis_person_name_given", "Zoe"), "invalid_signature")


def test_a_plain_text_body_verifies_too():
    assert verify(sign(MOODLE), base64_body=False).user_id == "42"


@pytest.mark.parametrize(
    "nonce",
    [
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0",  # Moodle: 32 hex
        "8c1b2f0e-3d4a-4b5c-9e6f-7a8b9c0d1e2f",  # UUID with dashes
        "Zq3" * 40,  # Canvas: long
        "a+b/c=d&e~f!g h",  # punctuation OAuth must escape, a space
        "x",  # one character
        "n" * 255,
    ],
)
def test_real_lms_nonces_are_accepted(nonce):
    assert verify(sign(nonce=nonce)).consumer_key == KEY


@pytest.mark.parametrize(
    "key",
    [
        "abcdefghijklmnop",  # our policy, 16 characters
        "k" * 255,  # our policy, 255 characters
        "a-z0-9!#%&,-_/^$*+.|",  # every punctuation character of the policy
        "Legacy Key: 01",  # a stored key from before the policy (uppercase, space, colon)
    ],
)
def test_consumer_keys_of_any_stored_shape_verify(key):
    lookup = Lookup({key: ConsumerSecrets.active(SECRET)})
    assert verify(sign(key=key), lookup=lookup).consumer_key == key


def test_a_plain_list_of_secrets_is_a_valid_lookup_answer():
    assert verify(sign(), lookup=lambda key: [SECRET]).consumer_key == KEY
    rejected(sign(), "unknown_consumer_key", lookup=lambda key: [])


def test_a_lookup_raising_key_error_means_unknown_and_other_errors_propagate():
    rejected(sign(), "unknown_consumer_key", lookup={"other": [SECRET]}.__getitem__)

    def broken(key):
        raise ConnectionError("DynamoDB is down")

    with pytest.raises(ConnectionError):
        verify(sign(), lookup=broken)


# -- rotation ---------------------------------------------------------------------------------------


def test_both_secrets_verify_during_a_rotation_grace_period():
    new, old = "new-" + SECRET, SECRET
    lookup = Lookup({KEY: ConsumerSecrets.active(new, old)})
    assert verify(sign(secret=new), lookup=lookup).consumer_key == KEY
    assert verify(sign(secret=old), lookup=lookup).consumer_key == KEY
    rejected(sign(secret="neither"), "invalid_signature", lookup=lookup)
    # After the grace period only the new one.
    rejected(sign(secret=old), "invalid_signature", lookup=Lookup({KEY: ConsumerSecrets.active(new)}))


# -- rejections: authentication (401) --------------------------------------------------------------------


def test_a_bad_signature_is_rejected():
    signed = sign()
    forged = base64.b64encode(secrets.token_bytes(20)).decode()
    error = rejected(edit(signed, "oauth_signature", forged), "invalid_signature")
    assert error.status == 401 and error.return_url is None  # no redirect before the signature verified
    assert verify(signed).consumer_key == KEY


def test_a_parameter_tampered_after_signing_is_rejected():
    signed = sign(_with(CANVAS, "roles", "Learner"))
    rejected(edit(signed, "roles", "Instructor"), "invalid_signature")
    assert verify(signed).is_learner


def test_the_wrong_secret_is_rejected():
    rejected(sign(secret="not-" + SECRET), "invalid_signature")


def test_a_revoked_key_is_rejected_with_its_own_code():
    error = rejected(sign(), "consumer_key_revoked", lookup=Lookup({KEY: ConsumerSecrets.revoked()}))
    assert error.status == 401


@pytest.mark.parametrize("answer", [None, ConsumerSecrets.unknown(), ConsumerSecrets.active(), []])
def test_an_unknown_key_is_rejected(answer):
    lookup = Lookup({KEY: answer})
    error = rejected(sign(), "unknown_consumer_key", lookup=lookup)
    assert error.status == 401 and lookup.calls == [KEY]


def test_a_status_from_the_key_repository_is_understood():
    class Credentials:  # the shape of consumer_keys.LaunchCredentials
        def __init__(self, status, found):
            self.status, self.secrets, self.org_id = status, found, "org-9"

    assert verify(sign(), lookup=lambda k: Credentials("active", (SECRET,))).consumer.org_id == "org-9"
    rejected(sign(), "consumer_key_revoked", lookup=lambda k: Credentials("revoked", ()))
    rejected(sign(), "unknown_consumer_key", lookup=lambda k: Credentials("unknown", ()))


def test_a_key_outside_printable_ascii_never_reaches_the_lookup():
    lookup = Lookup({"clé-of-the-lms": ConsumerSecrets.active(SECRET)})
    rejected(sign(key="clé-of-the-lms"), "unknown_consumer_key", lookup=lookup)
    assert lookup.calls == []


def test_stale_and_future_timestamps_are_rejected_with_distinct_codes():
    rejected(sign(timestamp=NOW - 301), "timestamp_expired")
    rejected(sign(timestamp=NOW + 301), "timestamp_in_future")
    assert verify(sign(timestamp=NOW - 299)).consumer_key == KEY
    assert verify(sign(timestamp=NOW + 299)).consumer_key == KEY


def test_a_replayed_nonce_is_rejected_for_the_same_key():
    store = InMemoryNonceStore(clock=lambda: NOW)
    signed = sign(nonce="0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    assert verify(signed, store=store).consumer_key == KEY
    error = rejected(signed, "nonce_replayed", store=store)
    # The signature did verify: an error page may send the user back to the LMS.
    assert error.return_url == dict(CANVAS)["launch_presentation_return_url"]

    other = "other-key-0123456789"
    lookup = Lookup({KEY: ConsumerSecrets.active(SECRET), other: ConsumerSecrets.active(SECRET)})
    assert verify(sign(key=other, nonce="0f1e2d3c4b5a69788796a5b4c3d2e1f0"), store=store, lookup=lookup)


def test_a_nonce_is_remembered_for_the_whole_window_and_then_forgotten():
    clock = [NOW]
    store = InMemoryNonceStore(clock=lambda: clock[0])
    assert store.add_once(KEY, "n-1", 660)
    clock[0] = NOW + 659
    assert not store.add_once(KEY, "n-1", 660)
    clock[0] = NOW + 661
    assert store.add_once(KEY, "n-1", 660)


@pytest.mark.parametrize(
    ("variant", "code"),
    [
        ({"secret": "wrong"}, "invalid_signature"),
        ({"timestamp": NOW - 1000}, "timestamp_expired"),
        ({"key": "unknown-key-0123456"}, "unknown_consumer_key"),
    ],
)
def test_a_rejected_launch_does_not_burn_its_nonce(variant, code):
    store = InMemoryNonceStore(clock=lambda: NOW)
    rejected(sign(nonce="burn-me-please", **variant), code, store=store)
    assert verify(sign(nonce="burn-me-please"), store=store).consumer_key == KEY


def test_unknown_revoked_and_wrong_keys_take_the_same_path(monkeypatch):
    """The same number of HMACs (and one lookup) whatever is wrong: no timing oracle."""
    hmacs = []
    real = oauthlib_signature._sign_hmac

    def counting(*args, **kwargs):
        hmacs.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(oauthlib_signature, "_sign_hmac", counting)
    cases = {
        "valid": (sign(), Lookup()),
        "bad signature": (sign(secret="wrong"), Lookup()),
        "unknown key": (sign(), Lookup({})),
        "revoked key": (sign(), Lookup({KEY: ConsumerSecrets.revoked()})),
    }
    counts = {}
    for name, (signed, lookup) in cases.items():
        hmacs.clear()
        with contextlib.suppress(LaunchRejected):
            verify(signed, lookup=lookup)
        counts[name] = (len(hmacs), len(lookup.calls))
    assert set(counts.values()) == {(2, 1)}, counts


def test_the_base_string_is_built_once_and_only_the_hmac_repeats_per_candidate(monkeypatch):
    built, hmacs = [], []
    real_base, real_hmac = oauthlib_signature.signature_base_string, oauthlib_signature._sign_hmac
    monkeypatch.setattr(oauthlib_signature, "signature_base_string", lambda *a: built.append(a) or real_base(*a))
    monkeypatch.setattr(oauthlib_signature, "_sign_hmac", lambda *a: hmacs.append(a) or real_hmac(*a))

    verify(sign(), lookup=Lookup({KEY: ConsumerSecrets.active("old-secret-0123456789", SECRET)}))

    assert len(built) == 1
    assert [a[2] for a in hmacs] == ["old-secret-0123456789", SECRET]


@pytest.mark.parametrize("signature", ["ünïcode-signature=", "a" * 10_000, "Zm9v"])
def test_a_signature_of_any_shape_is_a_mismatch_not_a_crash(signature):
    rejected(edit(sign(), "oauth_signature", signature), "invalid_signature")


@pytest.mark.parametrize(("name", "value"), [("oauth_signature", "\x00"), ("oauth_nonce", "nul\x00")])
def test_a_nul_in_any_parameter_is_refused_at_the_input_boundary(name, value):
    """NUL is never meaningful in a launch: refused before any lookup, signature or nonce (issue 13.11)."""
    from lti_gateway.core.errors import ValidationFailed

    signed = sign(nonce=value) if name == "oauth_nonce" else edit(sign(), name, value)
    with pytest.raises(ValidationFailed) as caught:
        verify(signed)
    assert (caught.value.status, caught.value.code) == (400, "invalid_text")


# -- rejections: malformed (400) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["oauth_consumer_key", "oauth_signature_method", "oauth_timestamp", "oauth_nonce", "oauth_signature"]
)
def test_each_missing_oauth_parameter_is_named(name):
    signed = sign()
    error = rejected(edit(signed, name, None), "missing_oauth_parameter")
    assert error.status == 400 and error.details == {"parameters": [name]}
    rejected(edit(signed, name, ""), "missing_oauth_parameter")


@pytest.mark.parametrize("method", ["PLAINTEXT", "RSA-SHA1"])
def test_plaintext_and_rsa_signatures_are_rejected(method):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    error = rejected(sign(method=method, rsa_key=pem), "unsupported_signature_method")
    assert error.status == 400 and error.details["allowed"] == ["HMAC-SHA1", "HMAC-SHA256"]


@pytest.mark.parametrize("method", ["HMAC-SHA512", "RSA-SHA256", "hmac-sha1"])
def test_other_signature_methods_are_rejected(method):
    rejected(edit(sign(), "oauth_signature_method", method), "unsupported_signature_method")


def test_a_duplicated_oauth_parameter_is_rejected():
    signed = sign()
    body = signed.body + "&oauth_nonce=second"
    error = rejected(body, "duplicate_oauth_parameter")
    assert error.details == {"parameters": ["oauth_nonce"]}


def test_oauth_parameters_in_both_query_and_body_are_rejected():
    signed = sign()
    rejected(signed, "duplicate_oauth_parameter", raw_query="oauth_consumer_key=" + quote(KEY, safe=""))


def test_an_oauth_token_is_not_supported():
    rejected(sign().body + "&oauth_token=abc", "unsupported_oauth_parameter")


def test_an_oauth_version_other_than_1_0_is_rejected():
    rejected(edit(sign(), "oauth_version", "2.0"), "unsupported_oauth_version")


@pytest.mark.parametrize("timestamp", ["17e8", "-1760000000", "+1760000000", "17600000000", " 1760000000"])
def test_a_malformed_timestamp_is_rejected(timestamp):
    assert rejected(edit(sign(), "oauth_timestamp", timestamp), "invalid_timestamp").status == 400


@pytest.mark.parametrize("nonce", ["n" * 256, "tab\there"])
def test_a_malformed_nonce_is_rejected(nonce):
    assert rejected(sign(nonce=nonce), "invalid_nonce").status == 400


# -- LTI checks (after the signature) -------------------------------------------------------------------------


def _without(params, name):
    return [(k, v) for k, v in params if k != name]


def _with(params, name, value):
    return [(k, value if k == name else v) for k, v in params]


@pytest.mark.parametrize("name", ["lti_message_type", "lti_version", "resource_link_id"])
def test_a_missing_lti_parameter_is_rejected_after_the_signature(name):
    error = rejected(sign(_without(CANVAS, name)), "missing_lti_parameter")
    assert error.status == 400 and error.details == {"parameters": [name]}
    assert error.return_url == dict(CANVAS)["launch_presentation_return_url"]
    rejected(sign(_with(CANVAS, name, "")), "missing_lti_parameter")


def test_a_content_item_selection_request_is_not_supported():
    params = [
        *_without(_without(CANVAS, "resource_link_id"), "lti_message_type"),
        ("lti_message_type", "ContentItemSelectionRequest"),
        ("content_item_return_url", "https://canvas.example.edu/courses/1234/deep_linking_response"),
        ("accept_media_types", "application/vnd.ims.lti.v1.ltilink"),
    ]
    error = rejected(sign(params), "content_item_not_supported")
    assert error.status == 400


def test_an_unknown_message_type_is_rejected():
    rejected(sign(_with(CANVAS, "lti_message_type", "ToolProxyRegistrationRequest")), "unsupported_lti_message_type")


def test_lti_1p2_is_accepted_and_other_versions_are_not():
    assert verify(sign(_with(CANVAS, "lti_version", "LTI-1p2"))).lti_version == "LTI-1p2"
    rejected(sign(_with(CANVAS, "lti_version", "LTI-2p0")), "unsupported_lti_version")
    rejected(sign(_with(CANVAS, "lti_version", "1.3.0")), "unsupported_lti_version")


def test_a_duplicated_core_lti_parameter_is_rejected():
    error = rejected(sign([*CANVAS, ("resource_link_id", "another")]), "duplicate_lti_parameter")
    assert error.details == {"parameters": ["resource_link_id"]}


def test_a_non_http_return_url_is_dropped():
    launch = verify(sign(_with(CANVAS, "launch_presentation_return_url", "javascript:alert(1)")))
    assert launch.launch_presentation_return_url is None
    error = rejected(
        sign(_without(_with(CANVAS, "launch_presentation_return_url", "javascript:alert(1)"), "resource_link_id")),
        "missing_lti_parameter",
    )
    assert error.return_url is None


def test_a_launch_without_roles_or_user_is_accepted():
    launch = verify(sign(_with(_without(CANVAS, "user_id"), "roles", "")))
    assert launch.user_id is None and launch.roles == () and not launch.is_instructor and not launch.is_learner


# -- roles ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "normalized"),
    [
        ("Instructor", f"{LIS_V2}membership#Instructor"),
        ("learner", f"{LIS_V2}membership#Learner"),
        ("urn:lti:role:ims/lis/Instructor", f"{LIS_V2}membership#Instructor"),
        ("urn:lti:role:ims/lis/Learner/NonCreditLearner", f"{LIS_V2}membership/Learner#NonCreditLearner"),
        ("urn:lti:role:ims/lis/TeachingAssistant", f"{LIS_V2}membership/Instructor#TeachingAssistant"),
        ("TeachingAssistant", f"{LIS_V2}membership/Instructor#TeachingAssistant"),
        ("urn:lti:instrole:ims/lis/Administrator", f"{LIS_V2}institution/person#Administrator"),
        ("urn:lti:sysrole:ims/lis/SysAdmin", f"{LIS_V2}system/person#SysAdmin"),
        (f"{LIS_V2}membership#Mentor", f"{LIS_V2}membership#Mentor"),
        ("urn:example:custom-role", "urn:example:custom-role"),
    ],
)
def test_roles_are_normalized_to_lis_v2(role, normalized):
    assert normalize_role(role) == normalized


def test_roles_are_deduplicated_and_flags_follow_context_roles():
    roles = parse_roles("Instructor, urn:lti:role:ims/lis/Instructor,,urn:lti:role:ims/lis/TeachingAssistant")
    assert roles == (f"{LIS_V2}membership#Instructor", f"{LIS_V2}membership/Instructor#TeachingAssistant")
    ta = verify(sign(_with(CANVAS, "roles", "urn:lti:role:ims/lis/TeachingAssistant")))
    assert ta.is_instructor and not ta.is_learner
    admin = verify(sign(_with(CANVAS, "roles", "urn:lti:instrole:ims/lis/Administrator")))
    assert not admin.is_instructor  # an institution role is not a role in this course
    learner = verify(sign(_with(CANVAS, "roles", "Learner")))
    assert learner.is_learner and not learner.is_instructor


# -- the URL the LMS signed -------------------------------------------------------------------------------------------


def _event(**kwargs):
    kwargs.setdefault("host", HOST)
    kwargs.setdefault("raw_path", PATH)
    return launch_event("a=b", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "url"),
    [
        ({}, f"https://{HOST}{PATH}"),
        ({"port": "8443"}, f"https://{HOST}:8443{PATH}"),
        ({"proto": "http", "port": "80"}, f"http://{HOST}{PATH}"),
        ({"proto": "http", "port": "443"}, f"http://{HOST}:443{PATH}"),
        ({"proto": None, "port": None}, f"https://{HOST}{PATH}"),
        ({"proto": "https,http", "port": "443,80"}, f"https://{HOST}{PATH}"),
        ({"host": "LTI.Example.COM:443"}, f"https://{HOST}{PATH}"),
        ({"host": "127.0.0.1:3000", "proto": "http", "port": "3000"}, f"http://127.0.0.1:3000{PATH}"),
        ({"host": "[::1]:3000", "proto": "http", "port": None}, f"http://[::1]:3000{PATH}"),
        ({"raw_query": "unit=u%201&x=%5B%5D"}, f"https://{HOST}{PATH}?unit=u%201&x=%5B%5D"),
    ],
)
def test_public_url_from_an_http_api_event(kwargs, url):
    assert public_url(_event(**kwargs)) == url


def test_public_url_from_a_function_url_event():
    host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
    event = _event(host=host, function_url=True, raw_query="unit=7")
    assert event["requestContext"]["domainPrefix"] == "abcdefghijklmnopqrstuvwxyz012345"
    assert public_url(event) == f"https://{host}{PATH}?unit=7"


def test_public_url_falls_back_to_the_request_context_domain():
    event = _event()
    del event["headers"]["host"]
    event["requestContext"]["domainName"] = "abc123.execute-api.eu-west-1.amazonaws.com"
    assert public_url(event) == f"https://abc123.execute-api.eu-west-1.amazonaws.com{PATH}"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("https://lti.example.edu", f"https://lti.example.edu{PATH}?u=1"),
        ("https://lti.example.edu:443/gateway/", f"https://lti.example.edu/gateway{PATH}?u=1"),
        ("http://127.0.0.1:3000", f"http://127.0.0.1:3000{PATH}?u=1"),
        ("HTTPS://LTI.Example.EDU:8443", f"https://lti.example.edu:8443{PATH}?u=1"),
    ],
)
def test_a_configured_public_base_url_wins_over_headers(base, url):
    event = _event(host="abc123.execute-api.eu-west-1.amazonaws.com", proto="http", port="8080", raw_query="u=1")
    assert public_url(event, public_base_url=base) == url


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"proto": "ftp"}, "invalid_forwarded_header"),
        ({"port": "99999"}, "invalid_forwarded_header"),
        ({"port": "44a"}, "invalid_forwarded_header"),
        ({"host": "evil.example/x"}, "invalid_host_header"),
        ({"host": "user@evil.example"}, "invalid_host_header"),
        ({"host": "a.example:0"}, "invalid_forwarded_header"),
    ],
)
def test_malformed_forwarding_headers_are_400(kwargs, code):
    with pytest.raises(ValidationFailed) as caught:
        public_url(_event(**kwargs))
    assert caught.value.code == code and caught.value.status == 400


def test_a_launch_through_a_custom_domain_verifies_only_against_the_public_url():
    """The LMS signed the custom domain; Lambda sees the execute-api host."""
    signed = sign(MOODLE, url=f"https://lti.example.edu/gateway{PATH}")
    internal = {"host": "abc123.execute-api.eu-west-1.amazonaws.com"}
    assert verify(signed, public_base_url="https://lti.example.edu/gateway", **internal).user_id == "42"
    rejected(signed, "invalid_signature", **internal)


def test_a_launch_through_a_function_url_verifies():
    host = "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws"
    signed = sign(MOODLE, url=f"https://{host}{PATH}?unit=7")
    assert verify(signed, host=host, function_url=True, raw_query="unit=7").user_id == "42"
    rejected(signed, "invalid_signature", host=host, function_url=True, raw_query="unit=7", port="8443")


def test_a_local_launch_on_a_non_default_port_verifies():
    signed = sign(CANVAS, url=f"http://127.0.0.1:3000{PATH}")
    assert verify(signed, host="127.0.0.1:3000", proto="http", port="3000").consumer_key == KEY
    rejected(signed, "invalid_signature", host="127.0.0.1", proto="http", port="80")


# -- the form body ---------------------------------------------------------------------------------------------------


def _form_event(body: str | bytes, *, b64: bool = True, content_type: str = "application/x-www-form-urlencoded"):
    raw = body.encode() if isinstance(body, str) else body
    return {
        "headers": {"Content-Type": content_type},
        "body": base64.b64encode(raw).decode() if b64 else raw.decode(),
        "isBase64Encoded": b64,
    }


def test_a_base64_body_is_decoded_with_blank_values_repeats_and_order_kept():
    body = "b=2&a=&a=1&plus=a+b&enc=a%2Bb&uni=%C3%A9%F0%9F%A7%AA&flag&b=0"
    expected = [
        ("b", "2"),
        ("a", ""),
        ("a", "1"),
        ("plus", "a b"),
        ("enc", "a+b"),
        ("uni", "é🧪"),
        ("flag", ""),
        ("b", "0"),
    ]
    assert form_pairs(_form_event(body)) == expected
    assert form_pairs(_form_event(body, b64=False)) == expected


def test_an_empty_body_is_no_parameters():
    assert form_pairs({"headers": {"content-type": "application/x-www-form-urlencoded"}, "body": None}) == []


@pytest.mark.parametrize("b64", [True, False])
def test_a_body_over_256_kib_is_413(b64):
    limit = 256 * 1024
    assert len(form_pairs(_form_event("a=" + "x" * (limit - 2), b64=b64))) == 1
    with pytest.raises(BodyTooLarge) as caught:
        form_pairs(_form_event("a=" + "x" * (limit - 1), b64=b64))
    assert caught.value.status == 413


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
        "application/x-www-form-urlencoded; charset=ISO-8859-1",
    ],
)
def test_another_content_type_is_415(content_type):
    with pytest.raises(UnsupportedMediaType) as caught:
        form_pairs(_form_event("a=1", content_type=content_type))
    assert caught.value.status == 415


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded; charset=UTF-8", 'Application/X-WWW-Form-Urlencoded;charset="utf-8"'],
)
def test_form_content_type_variants_are_accepted(content_type):
    assert form_pairs(_form_event("a=1", content_type=content_type)) == [("a", "1")]


@pytest.mark.parametrize(
    "event",
    [
        _form_event("name=%FF%FE"),  # percent-encoded invalid UTF-8
        _form_event(b"name=\xc3\x28"),  # raw invalid UTF-8
        {
            "headers": {"content-type": "application/x-www-form-urlencoded"},
            "body": "not base64!",
            "isBase64Encoded": True,
        },
    ],
)
def test_bad_utf8_or_base64_is_400(event):
    with pytest.raises(ValidationFailed) as caught:
        form_pairs(event)
    assert caught.value.status == 400 and caught.value.code == "invalid_form_body"


def test_too_many_fields_is_400():
    with pytest.raises(ValidationFailed):
        form_pairs(_form_event("&".join(f"f{i}=" for i in range(2001))))


def test_malformed_launch_is_a_launch_rejected():
    """A handler catching LaunchRejected sees every launch failure; the status tells 400 from 401."""
    assert issubclass(MalformedLaunch, LaunchRejected)
    assert MalformedLaunch.status == 400 and LaunchRejected.status == 401


# -- percent signs in protocol parameters ------------------------------------------------------------------------


def test_percent_signs_in_the_key_and_nonce_are_decoded_once():
    """A key like ``acme%2024`` is signed by RFC-conforming LMSs as ``acme%2024``, not ``acme 24``.

    oauthlib 4.0.1's endpoint decodes oauth_* values from a form body twice; verify_launch builds the
    base string from the pairs it decoded once. Without that, this launch is refused.
    """
    key = "acme%2024%41-key"
    lookup = Lookup({key: ConsumerSecrets.active(SECRET)})
    launch = verify(sign(key=key, nonce="n%41%2B%25-1"), lookup=lookup)
    assert launch.consumer_key == key
    assert dict(launch.params)["oauth_nonce"] == "n%41%2B%25-1"


def test_the_peer_signer_matches_stock_authlib_except_for_its_double_decoding():
    same = {"consumer_key": "acme-key-0123456789", "secret": SECRET, "nonce": "n-1", "timestamp": NOW}
    ours = sign_launch(f"https://{HOST}{PATH}?u=1", MOODLE, **same)
    stock = sign_launch(f"https://{HOST}{PATH}?u=1", MOODLE, **same, stock_authlib=True)
    assert ours.body == stock.body

    percent = "acme%2024-key-0123"
    stock = sign_launch(f"https://{HOST}{PATH}", CANVAS, consumer_key=percent, secret=SECRET, nonce="n-2",
                        timestamp=NOW, stock_authlib=True)  # fmt: skip
    rejected(stock, "invalid_signature", lookup=Lookup({percent: ConsumerSecrets.active(SECRET)}))


def test_a_query_string_is_compared_by_its_decoded_parameters():
    """The LMS signed ``a%5B%5D=1``; the browser may send ``a[]=1`` (oauthlib alone would refuse it)."""
    signed = sign(CANVAS, url=f"https://{HOST}{PATH}?a%5B%5D=1&q=%22x%22")
    assert verify(signed, raw_query='a[]=1&q="x"').consumer_key == KEY
    assert verify(signed, raw_query="a%5B%5D=1&q=%22x%22").consumer_key == KEY
    rejected(signed, "invalid_signature", raw_query="a%5B%5D=2&q=%22x%22")


# -- robustness -------------------------------------------------------------------------------------------


def test_mangled_launches_only_ever_raise_gateway_errors_below_500():
    """1,000 seeded mutations of signed launches: every outcome is a verified launch or a 4xx."""
    rnd = random.Random(20240611)
    pieces = ["", "%", "%zz", "%FF", "é", "\x00", "&", "=", "+", " ", "[", '"', "\n", "😀", "%25", "oauth_nonce="]
    names = ["oauth_timestamp", "oauth_signature_method", "oauth_version", "oauth_token", "lti_version", "roles"]
    signed = [sign(CANVAS), sign(MOODLE, url=f"https://{HOST}{PATH}?u=1")]
    for _ in range(1000):
        chars = list(rnd.choice(signed).body)
        for _ in range(rnd.randint(1, 4)):
            at = rnd.randrange(len(chars) + 1)
            roll = rnd.random()
            if roll < 0.4:
                chars[at:at] = rnd.choice(pieces)
            elif roll < 0.7:
                del chars[at : at + rnd.randint(1, 10)]
            else:
                chars[at:at] = f"&{rnd.choice(names)}={rnd.choice(pieces)}"
        host = rnd.choice([HOST, f"{HOST}:{rnd.choice(['0', '99999', '443', 'x', ''])}", "[::1]", "[zz]", ""])
        event = launch_event(
            "".join(chars),
            host=host,
            raw_path=rnd.choice([PATH, "", "x", "/%ZZ", "/é"]),
            raw_query=rnd.choice(["", "u=1", "u=%FF", "a[]=&", "oauth_nonce=1"]),
            base64_body=rnd.random() < 0.5,
        )
        try:
            url = public_url(event)
            verify_launch("POST", url, form_pairs(event), lookup_secret=Lookup(), nonce_store=InMemoryNonceStore(),
                          now=NOW)  # fmt: skip
        except GatewayError as error:
            assert 400 <= error.status < 500
            assert SECRET not in str(error) and SECRET not in repr(error.details)


# -- sizes are counted in UTF-8 bytes (issue 16: ASCII values are measured without encoding) ----------------


def test_a_parameter_over_32_kib_in_utf8_bytes_is_413_though_shorter_in_characters():
    from lti_gateway.lti11.oauth1_launch import MAX_PARAMETER_BYTES

    euros = "€" * (MAX_PARAMETER_BYTES // 3 + 1)  # 3 bytes each: just over 32 KiB, a third of it in characters
    error = rejected(sign([*CANVAS, ("custom_note", euros)]), "launch_too_large")

    assert error.status == 413 and error.details["parameter"] == "custom_note"
    assert error.details["bytes"] == len(euros.encode())
    ascii_twin = "x" * (MAX_PARAMETER_BYTES // 3 + 1)
    assert verify(sign([*CANVAS, ("custom_note", ascii_twin)])).custom["note"] == ascii_twin
