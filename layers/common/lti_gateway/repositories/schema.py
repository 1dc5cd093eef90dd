"""The data model: every item key of the three tables, built here and nowhere else.

All three tables have string keys ``pk``/``sk`` and one index ``gsi1`` (``gsi1pk``/``gsi1sk``) for the
ordered listings. The repositories own the items' attributes, conditions and transactions; this module
owns only the key formats, so a format is written once and the whole layout reads in one place.

Keys & registrations table (``repositories/keys.py``, ``platforms.py``, ``tool_keys.py``):

====================  ======================================  ===========================================
item                  pk / sk                                 gsi1pk / gsi1sk, notes
====================  ======================================  ===========================================
organisation          ``ORG#{org}`` / ``META``                —
API credential        ``APIKEY#{id}`` / ``META``              ``ORG#{org}#APIKEYS`` / ``{created}#{id}``
consumer key          ``CK#{key}`` / ``META``                 ``ORG#{org}#CKEYS`` / ``{created}#{key}``
consumer key label    ``ORG#{org}#CKLABEL#{l}`` / ``META``    —  (reserves a label inside one organisation;
                                                              ``l`` casefolded)
tool key (ltik)       ``TOOLKEY#{name}`` / ``CURRENT``        —
tool RSA key pointer  ``TOOLKEY#rsa#{org}`` / ``CURRENT``     ``kid`` (current), ``previous_kid``,
                                                              ``version``; gsi1 ``TOOLKEYSETS`` / ``{org}``
                                                              (``TOOLKEY#rsa``, gsi1sk ``-``: the
                                                              stack-wide set of legacy registrations)
tool RSA key          ``TOOLKEY#rsa#{org}`` / ``KID#{kid}``   ``status`` current|previous|retired,
                                                              ``created_at``, ``public_key_pem``,
                                                              ``private_key_sealed`` (KMS envelope;
                                                              removed once retired)
platform              ``PLATFORM#{platform_id}`` / ``META``   ``ORG#{org}#PLATFORMS`` /
                                                              ``{created_at}#{platform_id}``
issuer/client index   ``ORGISS#{org}#{issuer}`` /             ``platform_id``, ``org_id``; written in
                      ``CLIENT#{client}``                     the same transaction as the platform
legacy issuer index   ``ISS#{issuer}`` / ``CLIENT#{client}``  registrations made before tenant scoping
                                                              (read only: never written anew)
registration URL      ``REGURL#{sha256(token)}`` / ``META``   ``org_id``, ``expires_at``, ``reusable``
LTI 1.1 binding       ``LTI1P1BIND#{platform_id}`` /          a platform deployment's claimed LTI 1.1
                      ``{binding_id}``                        consumer key: ``pending``, ``approved``
                                                              or ``rejected`` by an owner
====================  ======================================  ===========================================

The tool's RSA keys and its named keys share the ``TOOLKEY#{name}`` partition format: the name
``rsa`` is the RSA key set's.

Launch table (TTL on ``expires_at``; ``repositories/launch.py``, ``app_tokens.py``, ``idempotency.py``):

====================================  ==========================================================
item                                  pk / sk
====================================  ==========================================================
rate-limit counter                    ``RATE#{bucket}`` / ``{window start}``
one-time value (LTI 1.1 nonce)        ``ONCE#{scope}`` / ``{value}``
LTI 1.3 login state                   ``STATE#{state}`` / ``META``
launch context (behind an ltik)       ``LAUNCH#{launch_id}`` / ``META``
service key (no TTL: long-lived)      ``SERVICEKEY#{sha256 of the key}`` / ``META``
the key an LMS context holds now      ``SERVICESLOT#{slot}`` / ``META`` (``key_hash``, ``generation``,
                                      ``status`` active|revoked, ``revoked_at``; slots of keys issued
                                      before context keys name a resource link too)
LTI 1.1 outcome link (TTL ~1 year)    ``OUTCOMES#{org}#{context digest}`` / ``LINK#{link digest}``
LTI 1.1 learner outcome (TTL ~1 y)    ``OUTCOMES#{org}#{context digest}`` /
                                      ``LEARNER#{link digest}#{user digest}`` (outcome URL, sourcedid)
platform access token (TTL)           ``PLATFORMTOKEN#{cache key}`` / ``META`` (sealed token)
idempotency record                    ``IDEMPOTENCY#{scope}`` / Powertools' key (built in
                                      ``repositories/idempotency.py``)
launch error record (TTL 31 days)     ``LAUNCHERR#{reference}`` / ``META`` (``org_id``: the one
                                      organisation that may read it; ``repositories/launch_errors.py``)
console session (TTL <= 12 h)         ``CONSOLESESSION#{sha256 of the token}`` / ``META`` (``org_id``,
                                      ``credential_id``, ``role``, ``class_id``;
                                      ``repositories/console_sessions.py``)
one-time console link (TTL 5 min)     ``CONSOLELINK#{sha256 of the token}`` / ``META`` (the same)
====================================  ==========================================================

Classes & units table (``repositories/classes.py``, read by ``exports.py``):

=========  ==================================  ==================================================
item       pk / sk                             gsi1pk / gsi1sk
=========  ==================================  ==================================================
class      ``CLASS#{class_id}`` / ``META``     ``ORG#{org}#CLASSES`` / ``{created_at}#{class_id}``
unit       ``CLASS#{class_id}`` / ``UNIT#{u}``  ``CLASS#{class_id}#UNITS`` /
                                                ``{position:010d}#{seq:010d}#{unit_id}``
origin     ``ORG#{org}#LMSORIGINS`` /          —  (``repositories/lms_origins.py``: an LMS origin
           ``{origin}``                         the organisation's launches came from)
=========  ==================================  ==================================================
"""

from __future__ import annotations

import base64
import hashlib
import json

META = "META"
CURRENT = "CURRENT"
KID_PREFIX = "KID#"
UNIT_PREFIX = "UNIT#"
POSITION_DIGITS = 10


def creation_order_key(created_at: str, item_id: str) -> str:
    """The ``gsi1sk`` of the per-organisation listings: oldest first, ties broken by id."""
    return f"{created_at}#{item_id}"


# -- keys & registrations table ----------------------------------------------------------------------
def org_pk(org_id: str) -> str:
    return f"ORG#{org_id}"


def credential_pk(credential_id: str) -> str:
    return f"APIKEY#{credential_id}"


def credentials_partition(org_id: str) -> str:
    return f"ORG#{org_id}#APIKEYS"


def consumer_key_pk(key: str) -> str:
    return f"CK#{key}"


def consumer_keys_partition(org_id: str) -> str:
    return f"ORG#{org_id}#CKEYS"


def label_pk(org_id: str, label: str) -> str:
    return f"ORG#{org_id}#CKLABEL#{label.casefold()}"


def tool_key_pk(name: str) -> str:
    return f"TOOLKEY#{name}"


RSA_KEYS_PK = tool_key_pk("rsa")  # the stack-wide key set of registrations made before tenant scoping
# Every RSA key set's pointer is also listed on gsi1 (``TOOLKEYSETS`` / owner), for the scheduled rotation.
KEY_SETS_PARTITION = "TOOLKEYSETS"
LEGACY_KEY_SET = "-"  # the gsi1sk of the stack-wide set (an organisation id is never "-")


def rsa_keys_pk(owner: str | None) -> str:
    """The partition of an RSA key set: an organisation's (``TOOLKEY#rsa#{org}``), or with ``None`` the
    stack-wide set that registrations made before tenant scoping still sign with."""
    return RSA_KEYS_PK if owner is None else f"{RSA_KEYS_PK}#{owner}"


def kid_sk(kid: str) -> str:
    return f"{KID_PREFIX}{kid}"


def platform_pk(platform_id: str) -> str:
    return f"PLATFORM#{platform_id}"


def platforms_partition(org_id: str) -> str:
    return f"ORG#{org_id}#PLATFORMS"


def issuer_pk(issuer: str) -> str:
    """The stack-wide issuer index of registrations made before tenant scoping (read, never written anew)."""
    return f"ISS#{issuer}"


def org_issuer_pk(org_id: str, issuer: str) -> str:
    """An organisation's own issuer index: (issuer, client id) is unique inside one organisation only."""
    return f"ORGISS#{org_id}#{issuer}"


def client_sk(client_id: str) -> str:
    return f"CLIENT#{client_id}"


def registration_url_pk(token_hash: str) -> str:
    return f"REGURL#{token_hash}"


def binding_pk(platform_id: str) -> str:
    return f"LTI1P1BIND#{platform_id}"


# -- launch table ------------------------------------------------------------------------------------
def rate_pk(bucket: str) -> str:
    return f"RATE#{bucket}"


def once_pk(scope: str) -> str:
    return f"ONCE#{scope}"


def state_pk(state: str) -> str:
    return f"STATE#{state}"


def launch_pk(launch_id: str) -> str:
    return f"LAUNCH#{launch_id}"


def service_key_pk(key_hash: str) -> str:
    return f"SERVICEKEY#{key_hash}"


def slot_pk(slot: str) -> str:
    return f"SERVICESLOT#{slot}"


def token_pk(cache_key: str) -> str:
    return f"PLATFORMTOKEN#{cache_key}"


def launch_error_pk(reference: str) -> str:
    """A refused launch or login, by the reference (correlation id) its error page showed."""
    return f"LAUNCHERR#{reference}"


def console_session_pk(token_hash: str) -> str:
    """An owner console session, by the SHA-256 of its token (the token itself is never stored)."""
    return f"CONSOLESESSION#{token_hash}"


def console_link_pk(token_hash: str) -> str:
    """A one-time console sign-in link, by the SHA-256 of its token."""
    return f"CONSOLELINK#{token_hash}"


# LTI 1.1 outcome records: one partition per (organisation, consumer key, LMS context), so a Query on
# ``pk`` lists a context's resource links (``LINK#``) or one link's learners (``LEARNER#{link}#``). The
# organisation is in the partition key itself: no digest of another organisation's context can name it.
LINK_PREFIX = "LINK#"
LEARNER_PREFIX = "LEARNER#"


def _identity(*parts: str | None) -> bytes:
    return json.dumps(list(parts)).encode()


def outcome_context_digest(org_id: str, consumer_key: str, lms: str | None, context_id: str | None) -> str:
    """One LMS course's outcome records: organisation, consumer key, the LMS instance (the origin of its
    outcome service: one consumer key may serve two Moodle sites whose course and user ids overlap)
    and the course."""
    identity = _identity(org_id, f"1.1|{consumer_key}", lms, context_id)
    return hashlib.sha256(b"lti11-outcomes:" + identity).hexdigest()[:40]


def outcome_link_digest(org_id: str, consumer_key: str, context_id: str | None, resource_link_id: str | None) -> str:
    """22 URL-safe characters naming one resource link: exactly the body of its ``li11_`` line item id
    (``app_api/line_item_ids.lti11_id``), so a line item id names its link record without a lookup table."""
    identity = json.dumps([org_id, f"1.1|{consumer_key}", context_id, resource_link_id])
    digest = hashlib.sha256(("lti11-line-item:" + identity).encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def outcome_user_digest(user_id: str) -> str:
    return hashlib.sha256(b"lti11-user:" + user_id.encode()).hexdigest()[:32]


def outcomes_pk(org_id: str, context_digest: str) -> str:
    return f"OUTCOMES#{org_id}#{context_digest}"


def outcome_link_sk(link_digest: str) -> str:
    return f"{LINK_PREFIX}{link_digest}"


def outcome_learner_sk(link_digest: str, user_digest: str | None = None) -> str:
    """One learner's sort key; without ``user_digest`` the prefix of all learners of the link."""
    return f"{LEARNER_PREFIX}{link_digest}#{user_digest or ''}"


# -- classes & units table ---------------------------------------------------------------------------
def class_pk(class_id: str) -> str:
    return f"CLASS#{class_id}"


def unit_sk(unit_id: str) -> str:
    return f"{UNIT_PREFIX}{unit_id}"


def classes_partition(org_id: str) -> str:
    return f"ORG#{org_id}#CLASSES"


def units_partition(class_id: str) -> str:
    return f"CLASS#{class_id}#UNITS"


def unit_order_key(position: int, seq: int, unit_id: str) -> str:
    return f"{int(position):0{POSITION_DIGITS}d}#{int(seq):0{POSITION_DIGITS}d}#{unit_id}"


def lms_origins_pk(org_id: str) -> str:
    """The LMS origins an organisation's launches came from (sk: the origin, ``scheme://host[:port]``)."""
    return f"ORG#{org_id}#LMSORIGINS"
