"""LTI 1.3 launch validation: the id_token a platform form-posts to ``/lti/launch``, with its ``state``.

A named chain of small steps (pylti1p3's shape, with a distinct error code per failure)::

    launch = LaunchValidation(id_token, state, states=..., registrations=..., keys=..., now=...).validate()

    validate_size           ≤ 64 KiB (pyjwt decodes a 2 MB token happily)
    validate_format         ASCII, three segments, the header segment a JSON object (the payload is
                            decoded by the verified pass)
    validate_header         alg RS256 only (never none, never HS256 keyed with a public key); kid required
    validate_state          read (not consumed): issued by our login, not expired
    validate_registration   the registration for the issuer + client id the state names (never the
                            token's), active, of the platform the state names
    validate_signature      the platform's key for kid (its registered JWKS, never jku/x5u); RS256;
                            the required claims (iss, aud, exp, iat, nonce, sub unless anonymous)
    validate_audience       iss is the platform the login was for; aud contains our client id; azp
    validate_text           every string of the claims (names and values, at any depth) is well-formed
                            Unicode: a lone surrogate (``"\\ud800"`` is valid JSON) is a 400 here, not a
                            500 where the claims are stored (skipped when the payload's bytes cannot
                            hold one: :func:`surrogate_free`)
    validate_times          exp (≤ 60 s leeway), iat ≤ 10 min old and ≤ 60 s ahead, nbf
    validate_nonce          the nonce stored with the state
    validate_deployment     deployment_id is one of the registration's
    validate_version        "1.3.0"
    validate_message_type   LtiResourceLinkRequest, LtiDeepLinkingRequest, LtiSubmissionReviewRequest
    validate_message        per type: target_link_uri and resource_link.id; deep_linking_settings
    validate_roles          present, a list of strings (may be [] or [""])
    validate_subject        sub a string of 1-255 characters, unless the platform allows anonymous launches
    validate_browser        the state came back from the browser that logged in (``browser``, see
                            :func:`oidc.browser_check`: the login's cookie, else the platform's storage)
    consume_state           consumed exactly once (one conditional delete): of parallel launches with one
                            state, one gets past here

The state is consumed only after the launch has been validated whole (issue 13, item 11): a launch
refused for any reason — a bad token, a malformed claim, another browser — leaves the state for the
browser that started the login, until it expires. Single use is the conditional delete at the end.
Nothing else is written here; the caller stores the launch only after :meth:`LaunchValidation.validate`
returned.

The token is parsed once. Only the header segment is decoded by hand (for ``alg`` and ``kid``, as the
style guide asks; each distinct header once per container); pyjwt's ``decode_complete`` does the
verified pass — every segment's base64url, the signature, the payload's JSON, the required claims —
and the later steps read the claims it returned. The registration and key are found from what the
*state* names (the issuer and client id the login was for), so nothing is read from the unverified
payload on the way to a valid launch.
When the verified pass fails, :meth:`LaunchValidation._refused` decodes the payload unverified only
to name the failure as the chain always has: a payload that is not a JSON object is
``malformed_id_token``, an ``iss``/``aud``/``azp`` that is not the login's is ``invalid_issuer``,
``invalid_audience``, ``missing_azp`` or ``invalid_azp``, before pyjwt's own reason
(``id_token_signature_invalid`` …). The unverified payload only ever picks the code of a refusal;
no launch is accepted on anything but what pyjwt verified.

Authentication failures are 401 (:class:`IdTokenRejected`), malformed tokens and missing or
ill-typed LTI claims 400 (:class:`MalformedIdToken`), an unreachable JWKS with nothing cached 502.
Unknown claims are tolerated: real platforms send many.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn, Protocol

import jwt

from lti_gateway.core import cache, validation
from lti_gateway.core.errors import GatewayError, IdTokenRejected, MalformedIdToken
from lti_gateway.core.vocabulary import (
    CONTEXT,
    CUSTOM,
    DEEP_LINKING_REQUEST,
    DEEP_LINKING_SETTINGS,
    DEPLOYMENT_ID,
    LAUNCH_PRESENTATION,
    LTI1P1,
    LTI_VERSION,
    MESSAGE_TYPE,
    RESOURCE_LINK,
    RESOURCE_LINK_REQUEST,
    ROLES,
    SUBMISSION_REVIEW_REQUEST,
    TARGET_LINK_URI,
    VERSION,
)
from lti_gateway.repositories.launch import ConsumedState

MAX_ID_TOKEN_BYTES = 64 * 1024
ALGORITHM = "RS256"
EXP_LEEWAY_SECONDS = 60
IAT_MAX_AGE_SECONDS = 600
IAT_MAX_AHEAD_SECONDS = 60
MAX_SUB_LENGTH = 255
MESSAGE_TYPES = (RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST, SUBMISSION_REVIEW_REQUEST)
# Messages that launch a resource link: they name their target and their link.
LINK_MESSAGES = (RESOURCE_LINK_REQUEST, SUBMISSION_REVIEW_REQUEST)

# Our states are secrets.token_urlsafe(32); anything far from that shape is not one (no table read).
_STATE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")

# pyjwt's options, set once on the two decoders below (anonymous launches need no sub). What pyjwt
# would check and we check ourselves is off: times (validate_times, against the injected clock, with
# our windows), iss and aud (validate_audience, against the login's state and the registration, right
# after the signature). pyjwt still requires the claims below and checks sub and jti are strings.
_ALGORITHMS = (ALGORITHM,)
_REQUIRED = ("iss", "aud", "exp", "iat", "nonce")
_OURS = {"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False, "verify_iss": False}
_DECODE_OPTIONS: Any = MappingProxyType({"require": (*_REQUIRED, "sub"), **_OURS})
_DECODE_OPTIONS_ANONYMOUS: Any = MappingProxyType({"require": _REQUIRED, **_OURS})


def surrogate_free(raw: bytes) -> bool:
    """Whether the JSON text ``raw`` cannot decode to a string holding a lone surrogate (True), or might.

    ``json.loads`` of bytes yields one only from a ``\\uD800``-``\\uDFFF`` escape, or from bytes it
    decodes with ``surrogatepass``: UTF-8-encoded surrogates (not valid UTF-8), or UTF-16/32, which it
    picks when the text starts with NUL bytes or a BOM (neither is valid NUL-free UTF-8). So: no NUL,
    valid UTF-8, and no ``\\ud``/``\\uD``. Three memchr-speed scans of the bytes in the usual case
    (ASCII, no backslash): ~0.6 µs for a 2 KB payload, where walking its ~80 strings costs ~12 µs.
    """
    if b"\x00" in raw:
        return False
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"\\" not in raw or (b"\\ud" not in raw and b"\\uD" not in raw)


class _LaunchJWT(jwt.PyJWT):
    """pyjwt's JWT layer unchanged (base64url, header, RS256 signature, payload JSON, iss, aud, the
    required claims, sub, jti), which also says whether the verified payload can hold a lone surrogate.

    ``_decode_payload`` is pyjwt's documented hook for subclasses ("decode the payload in a different
    way"); this one only looks at the payload's bytes (:func:`surrogate_free`) before pyjwt parses
    them, and records the answer in the dict ``decode_complete`` returns. The options (required claims,
    times off) are the instance's, set once: pyjwt merges per-call options into a new dict each time.
    """

    def _decode_payload(self, decoded: dict[str, Any]) -> Any:
        decoded["surrogate_free"] = surrogate_free(decoded["payload"])
        return super()._decode_payload(decoded)


_JWT = _LaunchJWT(options=_DECODE_OPTIONS)
_JWT_ANONYMOUS = _LaunchJWT(options=_DECODE_OPTIONS_ANONYMOUS)


# -- errors -----------------------------------------------------------------------------------------


def _missing(claim: str) -> MalformedIdToken:
    return MalformedIdToken({"claim": claim, "reason": "missing"}, code=f"missing_{claim}")


# -- ports ------------------------------------------------------------------------------------------


class StateStore(Protocol):
    def read_state(self, state: str, now: int) -> ConsumedState:
        """The login state, read and left in place (``repositories.launch.LaunchRepository``)."""
        ...

    def consume_state(self, state: str, now: int) -> ConsumedState:
        """Delete the login state and return what it was (``repositories.launch.LaunchRepository``)."""
        ...


class Keys(Protocol):
    def key_for(self, registration: Any, kid: str) -> Any | None:
        """The platform's public key for ``kid`` (``platform_jwks.PlatformKeys``); None if unknown."""
        ...


# ``platforms.find_for_launch(issuer, client_id)``: the Registration, or a GatewayError.
# (issuer, client id, platform id): all three from the login's state; the platform id is what the login
# matched (inside the organisation its URL named), so a launch finds exactly that registration.
RegistrationLookup = Callable[[str, str, str], Any]

# ``oidc.browser_check(...)``: returns if the state item's browser binding holds, raises otherwise.
BrowserCheck = Callable[[Mapping[str, Any]], None]


# -- the result ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidatedLaunch:
    """A launch whose id_token passed every step. ``state`` is the login state item it consumed."""

    claims: dict[str, Any]
    registration: Any
    state: dict[str, Any]
    client_id: str
    deployment_id: str
    message_type: str
    kid: str

    @property
    def subject(self) -> str | None:
        return self.claims.get("sub")


# -- helpers ------------------------------------------------------------------------------------------


def _b64_json(segment: str) -> Any:
    if not _B64URL.fullmatch(segment):
        raise ValueError("not base64url")
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


# Parsed header segments (``alg``, ``kid``, ``typ``): a platform signs every launch with the same few
# headers, so a warm container decodes each once (JSON objects of short segments only).
_HEADERS: cache.Memo[Any] = cache.Memo(
    _b64_json, max_entries=256, max_key_length=512, keep=lambda header: isinstance(header, dict)
)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _printable_name(name: Any) -> str:
    return str(name).encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:64]


def ill_formed_claim(claims: Mapping[str, Any]) -> str | None:
    """The name of the first top-level claim holding (at any depth, in a name or a value) a string that
    is not well-formed Unicode; None if every string is. Iterative: nesting depth costs no recursion."""
    for name, value in claims.items():
        pending: list[Any] = [name, value]
        while pending:
            item = pending.pop()
            if isinstance(item, str):
                if validation.text_problem(item, nul=True):  # a lone surrogate (NUL is a claim's business)
                    return _printable_name(name)
            elif isinstance(item, dict):
                pending.extend(item.keys())
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
    return None


# -- the chain --------------------------------------------------------------------------------------


class LaunchValidation:
    """One launch's validation. Each ``validate_*`` step returns ``self``; :meth:`validate` runs them all."""

    def __init__(
        self,
        id_token: str | None,
        state: str | None,
        *,
        states: StateStore,
        registrations: RegistrationLookup,
        keys: Keys,
        now: float,
        browser: BrowserCheck | None = None,
    ):
        """``browser`` is the browser-binding check (:func:`oidc.browser_check`); the launch always passes
        one (``lti13.launch.validate``). None skips it: for tests of the token checks alone."""
        self._token = id_token
        self._browser = browser
        self._state_value = state
        self._states = states
        self._registrations = registrations
        self._keys = keys
        self._now = int(now)
        self._header: dict[str, Any] = {}
        self._state: dict[str, Any] = {}
        self._client_id = ""
        self._registration: Any = None
        self._claims: dict[str, Any] = {}
        self._plain_text = False  # set by validate_signature: the payload cannot hold a lone surrogate

    def validate(self) -> ValidatedLaunch:
        return (
            self.validate_size()
            .validate_format()
            .validate_header()
            .validate_state()
            .validate_registration()
            .validate_signature()
            .validate_audience()
            .validate_text()
            .validate_times()
            .validate_nonce()
            .validate_deployment()
            .validate_version()
            .validate_message_type()
            .validate_message()
            .validate_roles()
            .validate_subject()
            .validate_browser()
            .consume_state()
            .result()
        )

    # -- the token's shape ----------------------------------------------------------------------------
    def validate_size(self) -> LaunchValidation:
        if not isinstance(self._token, str) or not self._token:
            raise MalformedIdToken({"id_token": "missing"}, code="missing_id_token")
        if len(self._token) > MAX_ID_TOKEN_BYTES:
            raise MalformedIdToken({"max_bytes": MAX_ID_TOKEN_BYTES}, code="id_token_too_large")
        if not isinstance(self._state_value, str) or not self._state_value:
            raise MalformedIdToken({"state": "missing"}, code="missing_state")
        return self

    def validate_format(self) -> LaunchValidation:
        """Three segments, the header a JSON object. The payload is decoded by the verified pass alone."""
        token = self._token
        assert token is not None
        try:
            if not token.isascii():  # a JWS in compact form is ASCII (pyjwt would not encode a lone surrogate)
                raise ValueError("not ASCII")
            first = token.find(".")
            second = token.find(".", first + 1)
            if first < 0 or second < 0 or token.find(".", second + 1) >= 0:  # find is memchr; count is not
                raise ValueError("not three segments")
            header = _HEADERS.get(token[:first])
        except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
            raise MalformedIdToken({"id_token": "not a JWS in compact form"}, code="malformed_id_token") from None
        if not isinstance(header, dict):
            raise MalformedIdToken({"id_token": "header and payload must be JSON objects"}, code="malformed_id_token")
        self._header = header
        return self

    def validate_header(self) -> LaunchValidation:
        """Read from the header segment alone; ``jku``, ``x5u`` and ``jwk`` in it are never used."""
        if self._header.get("alg") != ALGORITHM:
            raise IdTokenRejected(
                {"alg": str(self._header.get("alg"))[:16], "allowed": [ALGORITHM]}, code="alg_not_allowed"
            )
        kid = self._header.get("kid")
        if not _text(kid) or len(kid) > 256:
            raise MalformedIdToken({"header": "kid is required"}, code="missing_kid")
        return self

    # -- who sent it ----------------------------------------------------------------------------------
    def validate_state(self) -> LaunchValidation:
        """The state our login issued, read and left in place (:meth:`consume_state` spends it, last)."""
        state = self._state_value or ""
        if not _STATE.fullmatch(state):
            raise IdTokenRejected({"state": "unknown or already used"}, code="invalid_state")
        self._state = self._live(self._states.read_state(state, self._now))
        return self

    @staticmethod
    def _live(found: ConsumedState) -> dict[str, Any]:
        if found.status == "expired":
            raise IdTokenRejected({"state": "expired; launch again from the course"}, code="state_expired")
        if found.status != "ok" or found.item is None:
            raise IdTokenRejected({"state": "unknown or already used"}, code="invalid_state")
        return found.item

    def validate_browser(self) -> LaunchValidation:
        """The state came back from the browser that logged in (see :func:`oidc.browser_check`)."""
        if self._browser is not None:
            self._browser(self._state)
        return self

    def consume_state(self) -> LaunchValidation:
        """Spend the state: one conditional delete, after everything else passed. A parallel launch that
        consumed it first makes this one ``invalid_state`` (a replay)."""
        self._live(self._states.consume_state(self._state_value or "", self._now))
        return self

    def validate_audience(self) -> LaunchValidation:
        """iss is the issuer the login was for (and the registration's); aud names our client id (a string
        or a list of strings); several audiences need azp. Right after the signature: pyjwt's own iss
        and aud checks are off (these are stricter), so their refusals come first, as pyjwt's did."""
        self._check_audience(self._claims)
        return self

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        iss = claims.get("iss")
        if iss != self._state.get("issuer") or iss != self._registration.issuer:
            raise IdTokenRejected({"iss": "not the platform this login was started for"}, code="invalid_issuer")
        client_id = self._client_id  # set by validate_registration: a non-empty string
        aud = claims.get("aud")
        if isinstance(aud, str):
            audiences = [aud]
        elif isinstance(aud, list) and all(isinstance(one, str) for one in aud):
            audiences = aud
        else:
            audiences = []
        if client_id not in audiences:
            raise IdTokenRejected({"aud": "does not contain this tool's client id"}, code="invalid_audience")
        azp = claims.get("azp")
        if len(audiences) > 1 and azp is None:
            raise IdTokenRejected({"azp": "required when aud has several audiences"}, code="missing_azp")
        if azp is not None and azp != client_id:
            raise IdTokenRejected({"azp": "is not this tool's client id"}, code="invalid_azp")

    def validate_registration(self) -> LaunchValidation:
        """The registration the state names (the login's issuer and client id), not the token's claims."""
        issuer, client_id = self._state.get("issuer"), self._state.get("client_id")
        if not _text(issuer):
            raise IdTokenRejected({"iss": "not the platform this login was started for"}, code="invalid_issuer")
        if not _text(client_id):
            raise IdTokenRejected({"aud": "does not contain this tool's client id"}, code="invalid_audience")
        self._client_id = client_id
        try:
            registration = self._registrations(issuer, client_id, str(self._state.get("platform_id") or ""))
        except GatewayError as error:  # unknown_platform, platform_inactive … as 401s of a launch
            raise IdTokenRejected(error.details, code=error.code) from None
        if not getattr(registration, "active", True):
            raise IdTokenRejected({"platform": "deactivated"}, code="platform_inactive")
        if registration.platform_id != self._state.get("platform_id"):
            raise IdTokenRejected({"state": "was issued for another platform"}, code="state_platform_mismatch")
        self._registration = registration
        return self

    def validate_signature(self) -> LaunchValidation:
        assert self._token is not None
        key = self._keys.key_for(self._registration, str(self._header["kid"]))
        if key is None:
            raise IdTokenRejected({"kid": "the platform publishes no such key"}, code="unknown_kid")
        anonymous = getattr(self._registration, "allow_anonymous", False)
        try:
            decoded = (_JWT_ANONYMOUS if anonymous else _JWT).decode_complete(self._token, key, algorithms=_ALGORITHMS)
        except jwt.PyJWTError as error:
            self._refused(error)
        self._claims = decoded["payload"]
        self._plain_text = decoded.get("surrogate_free") is True
        return self

    def _refused(self, error: jwt.PyJWTError) -> NoReturn:
        """Name a failed verified pass: a malformed payload, then the login's iss/aud/azp, then pyjwt's reason.

        The payload is decoded here, unverified, only to choose the error code (the codes the chain gave
        when it checked these before the signature); nothing read here can let a launch through.
        """
        assert self._token is not None
        try:
            payload = _b64_json(self._token.split(".")[1])
        except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
            raise MalformedIdToken({"id_token": "not a JWS in compact form"}, code="malformed_id_token") from None
        if not isinstance(payload, dict):
            raise MalformedIdToken({"id_token": "header and payload must be JSON objects"}, code="malformed_id_token")
        self._check_audience(payload)
        if isinstance(error, jwt.MissingRequiredClaimError):
            raise _missing(error.claim) from None
        if isinstance(error, jwt.InvalidSignatureError):
            raise IdTokenRejected({"signature": "does not verify"}, code="id_token_signature_invalid") from None
        if isinstance(error, jwt.InvalidAudienceError):
            raise IdTokenRejected({"aud": "does not contain this tool's client id"}, code="invalid_audience") from None
        if isinstance(error, jwt.InvalidIssuerError):
            raise IdTokenRejected({"iss": "not the registered issuer"}, code="invalid_issuer") from None
        if isinstance(error, jwt.exceptions.InvalidSubjectError):  # not exported as jwt.InvalidSubjectError (fuzzing)
            raise MalformedIdToken({"sub": "must be a string"}, code="invalid_sub") from None
        if isinstance(error, jwt.InvalidAlgorithmError):
            raise IdTokenRejected({"alg": "not allowed"}, code="alg_not_allowed") from None
        raise IdTokenRejected({"id_token": "does not verify"}, code="invalid_id_token") from None

    def validate_text(self) -> LaunchValidation:
        """Every string of the verified claims is well-formed Unicode (no lone surrogate), before any
        step compares, stores or renders one. A payload that cannot hold one (ASCII, no ``\\ud`` escape:
        see :class:`_LaunchJWT`) is not walked."""
        if self._plain_text:
            return self
        name = ill_formed_claim(self._claims)
        if name is not None:
            raise MalformedIdToken(
                {"claim": name, "reason": "holds text that is not well-formed Unicode (a lone surrogate)"},
                code="invalid_claim_text",
            )
        return self

    # -- when, and for which login ---------------------------------------------------------------------
    def validate_times(self) -> LaunchValidation:
        exp, iat, nbf = self._claims.get("exp"), self._claims.get("iat"), self._claims.get("nbf")
        if not _number(exp) or not _number(iat) or (nbf is not None and not _number(nbf)):
            raise MalformedIdToken({"exp/iat/nbf": "must be numbers"}, code="invalid_time_claim")
        if exp + EXP_LEEWAY_SECONDS <= self._now:
            raise IdTokenRejected({"exp": "the id_token has expired"}, code="id_token_expired")
        if iat > self._now + IAT_MAX_AHEAD_SECONDS:
            raise IdTokenRejected({"iat": "issued in the future; check the platform's clock"}, code="iat_in_future")
        if iat < self._now - IAT_MAX_AGE_SECONDS:
            raise IdTokenRejected({"iat": "issued too long ago"}, code="iat_too_old")
        if nbf is not None and nbf > self._now + EXP_LEEWAY_SECONDS:
            raise IdTokenRejected({"nbf": "not valid yet"}, code="id_token_not_yet_valid")
        return self

    def validate_nonce(self) -> LaunchValidation:
        nonce, expected = self._claims.get("nonce"), self._state.get("nonce")
        if (
            not isinstance(nonce, str)
            or not isinstance(expected, str)
            or not hmac.compare_digest(nonce.encode(), expected.encode())
        ):
            raise IdTokenRejected({"nonce": "not the one this login issued"}, code="invalid_nonce")
        return self

    # -- the LTI message --------------------------------------------------------------------------------
    def validate_deployment(self) -> LaunchValidation:
        deployment_id = self._claims.get(DEPLOYMENT_ID)
        if not _text(deployment_id):
            raise _missing("deployment_id")
        if deployment_id not in tuple(self._registration.deployment_ids or ()):
            raise IdTokenRejected({"deployment_id": "not registered for this platform"}, code="unknown_deployment")
        return self

    def validate_version(self) -> LaunchValidation:
        version = self._claims.get(VERSION)
        if version is None:
            raise _missing("version")
        if version != LTI_VERSION:
            raise MalformedIdToken(
                {"version": str(version)[:16], "supported": [LTI_VERSION]}, code="unsupported_lti_version"
            )
        return self

    def validate_message_type(self) -> LaunchValidation:
        message_type = self._claims.get(MESSAGE_TYPE)
        if message_type is None or message_type == "":
            raise _missing("message_type")
        if message_type not in MESSAGE_TYPES:
            raise MalformedIdToken(
                {"message_type": str(message_type)[:64], "supported": list(MESSAGE_TYPES)},
                code="unsupported_message_type",
            )
        return self

    def validate_message(self) -> LaunchValidation:
        claims = self._claims
        message_type = claims[MESSAGE_TYPE]
        if message_type in LINK_MESSAGES:
            if not _text(claims.get(TARGET_LINK_URI)):
                raise _missing("target_link_uri")
            link = claims.get(RESOURCE_LINK)
            if not isinstance(link, dict) or not _text(link.get("id")):
                raise _missing("resource_link_id")
        elif message_type == DEEP_LINKING_REQUEST:
            # The certification's deep-linking request carries no target_link_uri: not required here.
            settings_ = claims.get(DEEP_LINKING_SETTINGS)
            if not isinstance(settings_, dict) or not _text(settings_.get("deep_link_return_url")):
                raise _missing("deep_linking_settings")
        if TARGET_LINK_URI in claims and not isinstance(claims[TARGET_LINK_URI], str):
            raise MalformedIdToken({"target_link_uri": "must be a string"}, code="invalid_target_link_uri")
        for name, claim in (("context", CONTEXT), ("custom", CUSTOM), ("launch_presentation", LAUNCH_PRESENTATION)):
            if claim in claims and not isinstance(claims[claim], dict):
                raise MalformedIdToken({name: "must be a JSON object"}, code=f"invalid_{name}")
        return self

    def validate_roles(self) -> LaunchValidation:
        if ROLES not in self._claims:
            raise _missing("roles")
        roles = self._claims[ROLES]
        if not isinstance(roles, list):
            raise MalformedIdToken({"roles": "must be a list of strings"}, code="invalid_roles")
        for role in roles:
            if not isinstance(role, str):
                raise MalformedIdToken({"roles": "must be a list of strings"}, code="invalid_roles")
        return self

    def validate_subject(self) -> LaunchValidation:
        sub = self._claims.get("sub")
        if sub is None:
            if not getattr(self._registration, "allow_anonymous", False):
                raise _missing("sub")
            return self
        if not isinstance(sub, str) or not 1 <= len(sub) <= MAX_SUB_LENGTH:
            raise MalformedIdToken({"sub": f"must be 1-{MAX_SUB_LENGTH} characters"}, code="invalid_sub")
        return self

    def result(self) -> ValidatedLaunch:
        return ValidatedLaunch(
            claims=self._claims,
            registration=self._registration,
            state=self._state,
            client_id=self._client_id,
            deployment_id=self._claims[DEPLOYMENT_ID],
            message_type=self._claims[MESSAGE_TYPE],
            kid=str(self._header["kid"]),
        )


# -- LTI 1.1 → 1.3 migration ---------------------------------------------------------------------------


def lti1p1_base_string(claims: Mapping[str, Any], client_id: str) -> str | None:
    """``oauth_consumer_key & deployment_id & iss & client_id & exp & nonce`` (LTI 1.3 migration guide)."""
    claim = claims.get(LTI1P1)
    if not isinstance(claim, Mapping) or not _text(claim.get("oauth_consumer_key")):
        return None
    exp = claims.get("exp")
    if not _number(exp):
        return None
    parts = (claim["oauth_consumer_key"], claims.get(DEPLOYMENT_ID), claims.get("iss"), client_id, exp, claims["nonce"])
    return "&".join(str(int(p) if _number(p) else p) for p in parts)


def lti1p1_sign(base_string: str, secret: str) -> str:
    """base64 of the raw HMAC-SHA256 of the base string, keyed by the LTI 1.1 consumer secret."""
    digest = hmac.new(secret.encode("utf-8"), base_string.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_lti1p1_sign(claims: Mapping[str, Any], client_id: str, secrets_: tuple[str, ...]) -> bool:
    """Whether ``oauth_consumer_key_sign`` verifies with one of ``secrets_`` (current and previous).

    The spec's form is base64 of the raw digest; some platforms send the hex digest: both verify.
    """
    claim = claims.get(LTI1P1)
    base = lti1p1_base_string(claims, client_id)
    sent = claim.get("oauth_consumer_key_sign") if isinstance(claim, Mapping) else None
    if base is None or not _text(sent) or len(sent) > 256:
        return False
    matched = False
    for secret in secrets_:
        digest = hmac.new(secret.encode("utf-8"), base.encode("utf-8"), hashlib.sha256).digest()
        for form in (base64.b64encode(digest).decode("ascii"), digest.hex()):
            matched |= hmac.compare_digest(form.encode(), sent.strip().encode())
    return matched
