"""LTI 1.1 (Basic LTI) launch verification: the URL the LMS signed, the form body, OAuth 1.0a, LTI.

Three steps, each a plain function the launch calls in order (the first two are HTTP, in
:mod:`lti_gateway.core.http`; :mod:`lti_gateway.lti11.launch` wires them)::

    url = http.public_url(event, public_base_url=settings.launch_base_url)
    params = http.form_pairs(event)
    launch = verify_launch("POST", url, params, lookup_secret=..., nonce_store=..., now=clock.now())

The OAuth 1.0a signature is computed by **oauthlib**'s RFC 5849 helpers (parameter normalisation,
base string URI, signature base string, HMAC-SHA1/HMAC-SHA256) and compared in constant time; the
base string is built once per launch and only the HMAC is repeated per candidate secret. This
module decides what oauthlib's ``SignatureOnlyEndpoint`` would leave to its caller or get wrong for
real LMS traffic:

* a distinct, stable ``code`` per failure (oauthlib's endpoint only answers ``False``);
* protocol parameters checked for LMS traffic: HMAC-SHA1/SHA-256 only (no PLAINTEXT, no RSA), nonces
  of 1-255 printable characters (oauthlib's defaults refuse Canvas's), two-legged only;
* every parameter decoded exactly once (oauthlib's endpoint decodes ``oauth_*`` form values twice);
* the timestamp window against an injected ``now`` (stale and future told apart);
* candidate secrets: up to two are valid during a rotation grace period, and unknown or revoked
  keys are checked against dummy secrets so every key takes the same path (no timing oracle);
* the nonce is consumed only *after* the signature verified, so nobody can burn an LMS's nonces.

Status codes follow RFC 5849 section 3.2: a malformed request (missing, duplicated or unsupported
protocol parameter, unsupported signature method) is 400 (:class:`MalformedLaunch`); an
authentication failure (key, signature, timestamp, nonce) is 401 (:class:`LaunchRejected`).
``MalformedLaunch`` subclasses ``LaunchRejected`` so a handler can catch every launch failure at once.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from lti_gateway.core.errors import LaunchRejected, MalformedLaunch
from lti_gateway.core.urls import web_url
from lti_gateway.core.vocabulary import BASIC_LAUNCH, CONTENT_ITEM_SELECTION_REQUEST, has_context_role, normalize_role

# oauthlib logs the full signature base string (names, e-mails) at DEBUG when a verification fails;
# we do not call its verify helpers, but keep its logger quiet should anything in it log.
logging.getLogger("oauthlib").setLevel(logging.WARNING)

# -- limits and vocabularies --------------------------------------------------------------------------

DEFAULT_WINDOW_SECONDS = 300
# How long past the window a nonce is remembered: clocks of LMS and Lambda disagree a little.
NONCE_SKEW_SECONDS = 60

_SIGNERS = {
    SIGNATURE_HMAC_SHA1: oauth_signature.sign_hmac_sha1_with_client,
    SIGNATURE_HMAC_SHA256: oauth_signature.sign_hmac_sha256_with_client,
}
ALLOWED_SIGNATURE_METHODS = tuple(_SIGNERS)
REQUIRED_OAUTH_PARAMS = (
    "oauth_consumer_key",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)

# LTI 1.1 and 1.2 launches both say "LTI-1p0" in practice; the LTI 1.2 spec names "LTI-1p2" for its
# messages, whose basic launch is a superset of 1.1, so both are accepted (see docs/architecture.md).
ACCEPTED_LTI_VERSIONS = ("LTI-1p0", "LTI-1p2")

# Our consumer key policy is 16-255 chars of [a-z0-9!#%&,-_/^$*+.|] (consumer_keys.py), but keys
# created before the policy or imported from elsewhere may be any printable ASCII: the lookup
# decides whether a key exists, the format check only keeps garbage away from it.
_CONSUMER_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_TIMESTAMP = re.compile(r"[0-9]{1,10}")
_MAX_NONCE_LENGTH = 255
# Bounds of a launch's parameters, checked before anything else (verification included): a verified
# launch's parameters are stored twice in its launch context (named fields and custom/ext, and the
# raw ``params`` the app API's id token maps), and a DynamoDB item holds at most 400 KB. A value over
# 32 KB, or parameters over 96 KB in all (UTF-8, names included), are a 413 naming the parameter.
MAX_PARAMETER_BYTES = 32 * 1024
MAX_PARAMETERS_BYTES = 96 * 1024
# A dummy secret for unknown or revoked keys: the same HMAC work happens, and it never verifies.
_DUMMY_SECRET = secrets.token_urlsafe(32)
# At least this many candidate secrets are tried on every launch (the rotation maximum), padded with
# dummies, so a key with one secret, two secrets or none costs the same.
_MIN_CANDIDATES = 2

# LTI parameters a launch must carry at most once: a second copy would let two readers (us and the
# app reading the raw parameters) see different values.
_SINGLE_VALUED = (
    "lti_message_type",
    "lti_version",
    "resource_link_id",
    "user_id",
    "roles",
    "context_id",
    "lis_outcome_service_url",
    "lis_result_sourcedid",
    "launch_presentation_return_url",
    "tool_consumer_instance_guid",
)


# -- the URL the LMS signed -----------------------------------------------------------------------


# -- ports: secrets and nonces -------------------------------------------------------------------------


@runtime_checkable
class ConsumerCredentials(Protocol):
    """What a secret lookup answers. ``consumer_keys.LaunchCredentials`` has this shape."""

    @property
    def status(self) -> str: ...  # "active", "unknown"; anything else (e.g. "revoked") is revoked

    @property
    def secrets(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class ConsumerSecrets:
    """A ready-made :class:`ConsumerCredentials`; ``details`` is handed back on the launch."""

    status: str
    secrets: tuple[str, ...] = ()
    details: Any = None

    @classmethod
    def active(cls, *secrets_: str, details: Any = None) -> ConsumerSecrets:
        return cls("active", tuple(secrets_), details)

    @classmethod
    def revoked(cls, details: Any = None) -> ConsumerSecrets:
        return cls("revoked", (), details)

    @classmethod
    def unknown(cls) -> ConsumerSecrets:
        return cls("unknown")


SecretLookup = Callable[[str], "ConsumerCredentials | Sequence[str] | None"]


class NonceStore(Protocol):
    def add_once(self, consumer_key: str, nonce: str, ttl_seconds: int) -> bool:
        """Record (consumer_key, nonce) for ``ttl_seconds``; False if it is already recorded."""
        ...


class InMemoryNonceStore:
    """A :class:`NonceStore` for tests and the local gateway (one process, thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def add_once(self, consumer_key: str, nonce: str, ttl_seconds: int) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._seen.get((consumer_key, nonce))
            if expires is not None and expires > now:
                return False
            self._seen[(consumer_key, nonce)] = now + ttl_seconds
            return True


def _credentials(answer: ConsumerCredentials | Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """Normalise a lookup answer to (status, secrets) with status in active/unknown/revoked."""
    if answer is None:
        return "unknown", ()
    # isinstance(answer, ConsumerCredentials), without the runtime-checkable Protocol's slow check
    # (~3 µs per call): the same two attributes, looked up directly.
    if not isinstance(answer, str) and hasattr(answer, "status") and hasattr(answer, "secrets"):
        status = answer.status
        found = tuple(s for s in answer.secrets if s)
        if status == "unknown":
            return "unknown", ()
        if status != "active":
            return "revoked", ()
        return ("active", found) if found else ("unknown", ())
    found = (answer,) if isinstance(answer, str) else tuple(s for s in answer if s)
    return ("active", found) if found and all(found) else ("unknown", ())


# -- OAuth 1.0a (oauthlib's RFC 5849 helpers) -------------------------------------------------------


def _split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    """``url`` without its query, and the query's parameters (form-decoded once, strict UTF-8)."""
    try:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True, encoding="utf-8", errors="strict")
        port = parts.port  # raises ValueError for a port out of range
    except (ValueError, UnicodeDecodeError):
        raise MalformedLaunch({"url": "unparseable launch URL"}, code="invalid_launch_url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise MalformedLaunch({"url": "not an absolute http(s) URL"}, code="invalid_launch_url")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), query


def _base_string(method: str, base_url: str, all_params: Sequence[tuple[str, str]]) -> str:
    """The RFC 5849 signature base string, built once by oauthlib's own helpers.

    ``all_params`` are the query and body parameters, each decoded exactly once (``parse_qsl``), which
    is what RFC 5849 section 3.4.1.3 signs: oauthlib's ``normalize_parameters`` encodes and sorts them,
    ``base_string_uri`` normalises scheme, host, port and path, ``signature_base_string`` joins them.
    (oauthlib's endpoint would collect the parameters from the raw body itself and percent-decode
    ``oauth_*`` values from a form body a second time; handing it the decoded pairs avoids that.)
    """
    signed = [(k, v) for k, v in all_params if k != "oauth_signature"]
    try:
        normalized = oauth_signature.normalize_parameters(signed)
        uri = oauth_signature.base_string_uri(base_url)
    except ValueError:  # oauthlib found the URI or parameters unusable (e.g. a port it refuses)
        raise MalformedLaunch(
            {"oauth": "request refused by the OAuth verifier"}, code="invalid_oauth_request"
        ) from None
    return oauth_signature.signature_base_string(method, uri, normalized)


def _check_protocol_params(all_params: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The oauth_* parameters, each present once; 400 for missing/duplicated/unsupported ones."""
    oauth: dict[str, str] = {}
    repeated: set[str] = set()
    for k, v in all_params:  # one pass: the oauth_* parameters, and any that comes twice
        if k.startswith("oauth_"):
            if k in oauth:
                repeated.add(k)
            oauth[k] = v
    if repeated:
        raise MalformedLaunch({"parameters": sorted(repeated)}, code="duplicate_oauth_parameter")
    missing = [k for k in REQUIRED_OAUTH_PARAMS if not oauth.get(k)]
    if missing:
        raise MalformedLaunch({"parameters": missing}, code="missing_oauth_parameter")
    if oauth["oauth_signature_method"] not in ALLOWED_SIGNATURE_METHODS:
        raise MalformedLaunch(
            {
                "oauth_signature_method": oauth["oauth_signature_method"][:32],
                "allowed": list(ALLOWED_SIGNATURE_METHODS),
            },
            code="unsupported_signature_method",
        )
    if "oauth_version" in oauth and oauth["oauth_version"] != "1.0":
        raise MalformedLaunch({"oauth_version": "must be 1.0"}, code="unsupported_oauth_version")
    if oauth.get("oauth_token"):
        # LTI 1.1 is two-legged: a token would need a token secret we never issued.
        raise MalformedLaunch({"parameters": ["oauth_token"]}, code="unsupported_oauth_parameter")
    if not _TIMESTAMP.fullmatch(oauth["oauth_timestamp"]):
        raise MalformedLaunch({"oauth_timestamp": "must be seconds since the epoch"}, code="invalid_timestamp")
    nonce = oauth["oauth_nonce"]
    if not (len(nonce) <= _MAX_NONCE_LENGTH and nonce.isprintable()):
        raise MalformedLaunch({"oauth_nonce": f"1-{_MAX_NONCE_LENGTH} printable characters"}, code="invalid_nonce")
    return oauth


def _too_large(details: dict[str, Any]) -> MalformedLaunch:
    refused = MalformedLaunch(details, code="launch_too_large")
    refused.status = 413
    return refused


def _check_sizes(all_params: Sequence[tuple[str, str]]) -> None:
    """413 ``launch_too_large`` naming the parameter over :data:`MAX_PARAMETER_BYTES`, or the whole
    launch over :data:`MAX_PARAMETERS_BYTES`; before verification, so nothing is looked up or stored."""
    total = 0
    for name, value in all_params:
        size = len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
        if size > MAX_PARAMETER_BYTES:
            raise _too_large({"parameter": name[:64], "bytes": size, "limit": MAX_PARAMETER_BYTES})
        total += size + (len(name) if name.isascii() else len(name.encode("utf-8", "surrogatepass")))
    if total > MAX_PARAMETERS_BYTES:
        raise _too_large({"parameters": "too large in all", "bytes": total, "limit": MAX_PARAMETERS_BYTES})


def _check_window(timestamp: int, now: float, window_seconds: int) -> None:
    if timestamp < now - window_seconds:
        raise LaunchRejected({"window_seconds": window_seconds}, code="timestamp_expired")
    if timestamp > now + window_seconds:
        raise LaunchRejected({"window_seconds": window_seconds}, code="timestamp_in_future")


class _Client(NamedTuple):
    """What oauthlib's ``sign_hmac_*_with_client`` reads: LTI 1.1 is two-legged, no token secret."""

    client_secret: str
    resource_owner_secret: str = ""


def _signature_matches(base_string: str, method: str, signature: str, candidates: Iterable[str]) -> bool:
    """Sign ``base_string`` with every candidate (oauthlib's HMAC) and compare in constant time.

    No early exit: every candidate costs one HMAC whether or not an earlier one matched.
    """
    sign = _SIGNERS[method]
    received = signature.encode("utf-8", "surrogatepass")
    matched = False
    for candidate in candidates:
        expected = sign(base_string, _Client(candidate)).encode("ascii")
        matched |= hmac.compare_digest(expected, received)
    return matched


# -- LTI ---------------------------------------------------------------------------------------------------


def parse_roles(raw: str | None) -> tuple[str, ...]:
    """The comma-separated ``roles`` parameter, normalized, de-duplicated, in order; "" gives ()."""
    seen: dict[str, None] = {}
    for part in (raw or "").split(","):
        if part.strip():
            seen.setdefault(normalize_role(part), None)
    return tuple(seen)


@dataclass(frozen=True)
class VerifiedLaunch:
    """An LTI 1.1 launch whose signature, timestamp and nonce verified."""

    consumer_key: str
    signature_method: str
    lti_message_type: str
    lti_version: str
    resource_link_id: str
    user_id: str | None
    roles: tuple[str, ...]
    is_instructor: bool
    is_learner: bool
    given_name: str | None = None
    family_name: str | None = None
    full_name: str | None = None
    email: str | None = None
    person_sourcedid: str | None = None
    context_id: str | None = None
    context_label: str | None = None
    context_title: str | None = None
    context_type: str | None = None
    resource_link_title: str | None = None
    resource_link_description: str | None = None
    lis_outcome_service_url: str | None = None
    lis_result_sourcedid: str | None = None
    launch_presentation_return_url: str | None = None
    launch_presentation_locale: str | None = None
    launch_presentation_document_target: str | None = None
    tool_consumer_instance_guid: str | None = None
    tool_consumer_instance_name: str | None = None
    tool_consumer_info_product_family_code: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    ext: dict[str, str] = field(default_factory=dict)
    # Every form parameter except oauth_signature, in order, repeats kept (the app's raw launch).
    params: tuple[tuple[str, str], ...] = ()
    # What lookup_secret answered (e.g. consumer_keys.LaunchCredentials with its org_id).
    consumer: Any = None


def _first_values(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for k, v in params:
        values.setdefault(k, v)
    return values


# LTI 1.3 message types, recognised only to name the mistake of sending one in an LTI 1.1 form.
_LTI13_MESSAGE_TYPES = ("LtiResourceLinkRequest", "LtiDeepLinkingRequest", "LtiSubmissionReviewRequest")


def _shown(value: str) -> str:
    """A received value as a refusal may repeat it: at most 32 characters, unprintables as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in value[:32])


def _version_problem(version: str) -> str:
    """What is wrong with an ``lti_version`` that is not LTI 1.1's, in plain words."""
    if version.startswith("1.3") or version.upper().startswith("LTI-1P3"):
        return (
            "an LTI 1.3 version in an LTI 1.1 (OAuth 1.0a) launch form: LTI 1.3 launches are an id_token "
            "posted to the tool's LTI 1.3 redirect URL; LTI 1.1 launches say LTI-1p0"
        )
    if version.upper().startswith("LTI-2"):
        return "LTI 2.0 is not supported: configure the tool as LTI 1.1 (LTI-1p0) or LTI 1.3"
    return "not an LTI version this tool knows: LTI 1.1 launches say LTI-1p0"


def _message_type_problem(message_type: str) -> str:
    """What is wrong with an ``lti_message_type`` other than a basic launch, in plain words."""
    if message_type in _LTI13_MESSAGE_TYPES:
        return "an LTI 1.3 message type in an LTI 1.1 launch form: LTI 1.1 launches are basic-lti-launch-request"
    return "only basic-lti-launch-request is supported over LTI 1.1"


def _lti_launch(
    oauth: Mapping[str, str],
    params: Sequence[tuple[str, str]],
    consumer: Any,
    values: dict[str, str] | None = None,
    return_url: str | None = None,
) -> VerifiedLaunch:
    """``values`` (:func:`_first_values` of ``params``) and ``return_url`` when the caller has them."""
    if values is None:
        values = _first_values(params)
        return_url = web_url(values.get("launch_presentation_return_url"))

    def reject(details: Any, code: str) -> MalformedLaunch:
        return MalformedLaunch(details, code=code, return_url=return_url)

    if len(values) != len(params):  # some name is repeated (usual launches repeat none)
        counts = Counter(k for k, _ in params)
        duplicated = [k for k in _SINGLE_VALUED if counts[k] > 1]
        if duplicated:
            raise reject({"parameters": duplicated}, "duplicate_lti_parameter")
    message_type = values.get("lti_message_type", "")
    version = values.get("lti_version", "")
    # A wrong version or message type says more than a parameter missing beside it (an LTI 1.3 or 2.0
    # message lacks LTI 1.1's parameters because it is another protocol): those are named first.
    if version and version not in ACCEPTED_LTI_VERSIONS:
        raise reject(
            {
                "lti_version": _shown(version),
                "accepted": list(ACCEPTED_LTI_VERSIONS),
                "problem": _version_problem(version),
            },
            "unsupported_lti_version",
        )
    if message_type == CONTENT_ITEM_SELECTION_REQUEST:
        raise reject({"lti_message_type": message_type}, "content_item_not_supported")
    if message_type and message_type != BASIC_LAUNCH:
        raise reject(
            {
                "lti_message_type": _shown(message_type),
                "expected": BASIC_LAUNCH,
                "problem": _message_type_problem(message_type),
            },
            "unsupported_lti_message_type",
        )
    missing = [k for k in ("lti_message_type", "lti_version", "resource_link_id") if not values.get(k)]
    if missing:
        raise reject({"parameters": missing}, "missing_lti_parameter")

    def opt(name: str) -> str | None:
        return values.get(name) or None

    roles = parse_roles(values.get("roles"))
    return VerifiedLaunch(
        consumer_key=oauth["oauth_consumer_key"],
        signature_method=oauth["oauth_signature_method"],
        lti_message_type=message_type,
        lti_version=values["lti_version"],
        resource_link_id=values["resource_link_id"],
        user_id=opt("user_id"),
        roles=roles,
        is_instructor=has_context_role(roles, "Instructor"),
        is_learner=has_context_role(roles, "Learner"),
        given_name=opt("lis_person_name_given"),
        family_name=opt("lis_person_name_family"),
        full_name=opt("lis_person_name_full"),
        email=opt("lis_person_contact_email_primary"),
        person_sourcedid=opt("lis_person_sourcedid"),
        context_id=opt("context_id"),
        context_label=opt("context_label"),
        context_title=opt("context_title"),
        context_type=opt("context_type"),
        resource_link_title=opt("resource_link_title"),
        resource_link_description=opt("resource_link_description"),
        lis_outcome_service_url=web_url(values.get("lis_outcome_service_url")),
        lis_result_sourcedid=opt("lis_result_sourcedid"),
        launch_presentation_return_url=return_url,
        launch_presentation_locale=opt("launch_presentation_locale"),
        launch_presentation_document_target=opt("launch_presentation_document_target"),
        tool_consumer_instance_guid=opt("tool_consumer_instance_guid"),
        tool_consumer_instance_name=opt("tool_consumer_instance_name"),
        tool_consumer_info_product_family_code=opt("tool_consumer_info_product_family_code"),
        custom={k[len("custom_") :]: v for k, v in values.items() if k.startswith("custom_") and len(k) > 7},
        ext={k: v for k, v in values.items() if k.startswith("ext_")},
        params=tuple((k, v) for k, v in params if k != "oauth_signature"),
        consumer=consumer,
    )


def verify_launch(
    method: str,
    url: str,
    form_params: Sequence[tuple[str, str]],
    *,
    lookup_secret: SecretLookup,
    nonce_store: NonceStore,
    now: float,
    window_seconds: int = DEFAULT_WINDOW_SECONDS,
) -> VerifiedLaunch:
    """Verify an LTI 1.1 launch: OAuth 1.0a (RFC 5849, oauthlib's signature helpers), then the LTI parameters.

    ``url`` is the URL the LMS signed (:func:`public_url`), query string included; ``form_params``
    the parsed body (:func:`parse_form_body`). ``lookup_secret(consumer_key)`` answers a
    :class:`ConsumerCredentials` (status and the currently valid secrets, two during a rotation), a
    plain sequence of secrets (empty: unknown) or None, or raises ``LookupError`` (unknown).
    ``nonce_store.add_once`` is called only after the signature verified.

    Order: protocol parameters (400) → timestamp window (401) → key lookup and signature, the same
    work for every key (401) → nonce (401) → LTI parameters (400, with ``return_url`` set).
    """
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    method = method.upper()
    base_url, query = _split_url(url)
    params = [(str(k), str(v)) for k, v in form_params]
    all_params = query + params
    _check_sizes(all_params)
    oauth = _check_protocol_params(all_params)
    _check_window(int(oauth["oauth_timestamp"]), now, window_seconds)

    consumer_key = oauth["oauth_consumer_key"]
    answer = None
    if _CONSUMER_KEY.fullmatch(consumer_key):
        try:
            answer = lookup_secret(consumer_key)
        except LookupError:  # KeyError & co: "no such key"; other failures (AWS) propagate
            answer = None
    status, found = _credentials(answer)
    candidates = list(found)
    candidates += [_DUMMY_SECRET] * max(0, _MIN_CANDIDATES - len(candidates))
    base_string = _base_string(method, base_url, all_params)
    matched = _signature_matches(base_string, oauth["oauth_signature_method"], oauth["oauth_signature"], candidates)
    # Decide only now, after the same work for unknown, revoked and known keys.
    if status == "unknown":
        raise LaunchRejected({"oauth_consumer_key": "unknown"}, code="unknown_consumer_key")
    if status == "revoked":
        raise LaunchRejected({"oauth_consumer_key": "revoked"}, code="consumer_key_revoked")
    if not matched:
        raise LaunchRejected({"oauth_signature": "does not match"}, code="invalid_signature")

    values = _first_values(params)
    return_url = web_url(values.get("launch_presentation_return_url"))
    ttl = 2 * window_seconds + NONCE_SKEW_SECONDS  # a nonce may be replayed until its timestamp + window
    if not nonce_store.add_once(consumer_key, oauth["oauth_nonce"], ttl):
        raise LaunchRejected({"oauth_nonce": "already used"}, code="nonce_replayed", return_url=return_url)
    return _lti_launch(oauth, params, answer, values, return_url)
