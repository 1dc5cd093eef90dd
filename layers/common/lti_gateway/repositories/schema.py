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
the key a resource link holds now     ``SERVICESLOT#{slot}`` / ``META`` (``key_hash``, ``launch_id``)
platform access token (TTL)           ``PLATFORMTOKEN#{cache key}`` / ``META`` (sealed token)
idempotency record                    ``IDEMPOTENCY#{scope}`` / Powertools' key (built in
                                      ``repositories/idempotency.py``)
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
