"""Hypothesis against the credentials every request carries, and the small parsers under every route.

- The app API's Authorization header (``LTIK-AUTH-V2``, ``SERVICE-AUTH-V1``, ``LTIK-AUTH-V1``,
  ``Bearer``): parsing is pure; authentication (API key, ltik, service key lookups) runs on moto.
- The JSON API's ``Authorization: Bearer <API_KEY>`` (on moto) and the ltik itself.
- JSON and form bodies, page tokens and limits, line item ids and paths, the Learnosity form, the
  OIDC login parameters.

Accepted, or refused with a 4xx GatewayError (401 for every credential problem); never anything
else, and never a refusal that repeats the secret it was given.
"""

from __future__ import annotations

import base64
import json

from hypothesis import given
from hypothesis import strategies as st

from lti_gateway.admin import orgs
from lti_gateway.app_api import auth as app_auth
from lti_gateway.app_api import line_item_ids, ltik, transport
from lti_gateway.core import http, pagination, responses
from lti_gateway.core.errors import GatewayError
from lti_gateway.lti11 import learnosity
from lti_gateway.lti13 import oidc
from tests.fuzz.conftest import AWS_EXAMPLES, fuzz
from tests.fuzz.test_lti11_fuzz import TEXT, refused_cleanly

SCHEMES = st.sampled_from(
    ["LTIK-AUTH-V2", "ltik-auth-v2", "SERVICE-AUTH-V1", "LTIK-AUTH-V1", "Bearer", "bearer", "Basic", ""]
)
TOKENISH = st.text(alphabet="abcdefXYZ0123456789._-:=,+/ ", max_size=80) | TEXT


@st.composite
def authorization_headers(draw, api_key: str = "ak_0123456789abcdef.secretsecretsecret") -> str | None:
    shape = draw(st.sampled_from(["none", "random", "v2", "v1", "bearer"]))
    if shape == "none":
        return draw(st.sampled_from([None, "", " "]))
    if shape == "random":
        return draw(TEXT | st.text(max_size=5000))
    key = draw(st.sampled_from([api_key, api_key[:-1], api_key.split(".")[0]]) | TOKENISH)
    token = draw(TOKENISH)
    scheme = draw(SCHEMES)
    if shape == "v1":
        return f"{scheme} Token={token}, Additional=Bearer {key}"
    if shape == "bearer":
        return f"{scheme} {key}"
    return f"{scheme} {key}:{token}"


@fuzz()
@given(header=authorization_headers())
def test_any_app_api_authorization_header_parses_or_is_a_401(header):
    try:
        kind, api_key, _token = app_auth.parse(header)
    except GatewayError as error:
        assert error.status == 401, error.code
        assert "secretsecretsecret" not in json.dumps(responses.error_body(error))  # the API key's secret half
        return
    assert kind in (app_auth.LTIK, app_auth.SERVICE, app_auth.BEARER) and api_key


@fuzz(AWS_EXAMPLES)
@given(data=st.data())
def test_any_app_api_session_authenticates_or_is_a_401(stack, org, data):
    """With a real API key and a real ltik of the organisation in the mix, on moto."""
    real_ltik = ltik.issue("launch-that-does-not-exist", org.org_id)
    header = data.draw(
        authorization_headers(org.api_key)
        | st.sampled_from(
            [
                f"LTIK-AUTH-V2 {org.api_key}:{real_ltik}",
                f"LTIK-AUTH-V2 {org.api_key}:{real_ltik[:-2]}",
                f"SERVICE-AUTH-V1 {org.api_key}:sk_{'0' * 43}",
                f"LTIK-AUTH-V1 Token={real_ltik}, Additional=Bearer {org.api_key}",
            ]
        )
    )
    allow = data.draw(st.sampled_from([(app_auth.LTIK,), (app_auth.LTIK, app_auth.SERVICE), (app_auth.SERVICE,)]))
    try:
        app_auth.authenticate(header, allow=allow)
    except GatewayError as error:
        assert error.status == 401, error.code
        body = json.dumps(responses.error_body(error))
        assert org.api_key.split(".")[1] not in body and real_ltik not in body
        return
    raise AssertionError("no session should open: the launch does not exist")


@fuzz(AWS_EXAMPLES)
@given(data=st.data())
def test_any_bearer_header_authenticates_or_is_a_401(stack, org, data):
    credential, secret = org.api_key.split(".")
    header = data.draw(
        st.sampled_from([f"Bearer {org.api_key}", f"bearer  {org.api_key} "])
        | st.builds(
            lambda s, k: f"{s} {k}", SCHEMES, st.sampled_from([f"{credential}.", credential, secret]) | TOKENISH
        )
        | st.builds(lambda t: f"Bearer {credential}.{t}", TOKENISH)
        | TEXT
    )
    try:
        principal = orgs.authenticate_bearer(header)
    except GatewayError as error:
        assert error.status == 401, error.code
        assert secret not in json.dumps(responses.error_body(error))
        return
    assert principal.org_id == org.org_id and secret in header


@fuzz(AWS_EXAMPLES)
@given(
    token=TOKENISH | st.text(alphabet="abcXYZ019-_.", max_size=400) | st.just(base64.b64encode(b"[" * 3000).decode())
)
def test_any_ltik_verifies_or_is_a_401(stack, token):
    try:
        ltik.verify(token)
    except GatewayError as error:
        refused_cleanly(error)
        assert error.status == 401
        return
    raise AssertionError("a made-up ltik verified")


# -- the small parsers under every route ----------------------------------------------------------------


def _event(body, b64, content_type):
    return {"body": body, "isBase64Encoded": b64, "headers": {"content-type": content_type}}


@fuzz()
@given(
    body=st.one_of(
        TEXT,
        st.text(max_size=300),
        st.recursive(st.none() | st.integers() | TEXT, lambda c: st.lists(c) | st.dictionaries(TEXT, c)).map(
            json.dumps
        ),
        st.integers(1, 20_000).map(lambda n: "[" * n),
        st.binary(max_size=200).map(lambda b: base64.b64encode(b).decode()),
    ),
    b64=st.booleans(),
    content_type=st.sampled_from(["application/json", "application/ld+json", "text/plain", ""]) | TEXT,
)
def test_any_json_body_parses_or_is_a_4xx(body, b64, content_type):
    try:
        value = http.json_body(_event(body, b64, content_type))
    except GatewayError as error:
        refused_cleanly(error)
        return
    assert isinstance(value, dict)


@fuzz()
@given(
    security=st.one_of(
        TEXT,
        st.integers(1, 5000).map(lambda n: "[" * n),
        st.dictionaries(
            st.sampled_from(["consumer_key", "domain", "timestamp", "signature", "expires", "user_id"]) | TEXT,
            TEXT | st.integers() | st.none(),
        ).map(json.dumps),
    ),
    request=st.one_of(TEXT, st.just("[" * 5000), st.dictionaries(TEXT, TEXT).map(json.dumps)),
    action=st.sampled_from(["get", "set", ""]) | TEXT,
    repeat=st.booleans(),
)
def test_any_learnosity_form_parses_or_is_a_400(security, request, action, repeat):
    fields = {"security": [security] * (2 if repeat else 1), "request": [request], "action": [action]}
    try:
        learnosity.parse_form(fields)
        learnosity.handle(orgs.Principal("org_x", "ak_x", "owner"), request, "unknown-action")
    except GatewayError as error:
        refused_cleanly(error)


@fuzz()
@given(
    token=TEXT
    | st.text(alphabet="abcXYZ019-_=", max_size=200)
    | st.recursive(st.none() | st.integers() | TEXT, lambda c: st.lists(c) | st.dictionaries(TEXT, c)).map(
        lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode()
    )
    | st.just(base64.urlsafe_b64encode(b"[" * 5000).decode()),
    limit=st.sampled_from(["1", "100", "0", "101", "²", "١٢", "-1", "1e3", " 5"]) | TEXT | st.none(),
)
def test_any_page_token_and_limit_parse_or_are_a_400(token, limit):
    for call in (
        lambda: pagination.decode(token, index_pk="gsi1pk", index_pk_value="ORG#org_x#CKEYS"),
        lambda: pagination.parse_limit(limit),
    ):
        try:
            call()
        except GatewayError as error:
            refused_cleanly(error)


@fuzz()
@given(
    raw=TEXT | st.text(alphabet="abcXYZ019-_=%/:.?", max_size=200) | st.builds(lambda t: "li_" + t, TEXT),
    path=st.builds(lambda t: "/api/lineitems/" + t, TEXT) | TEXT,
    query=TEXT | st.text(alphabet="a=&%+url:role#23", max_size=200),
    stage=st.sampled_from(["$default", "prod"]) | TEXT,
)
def test_line_item_ids_paths_and_queries_never_raise(raw, path, query, stage):
    line_item_ids.decode(raw)
    transport.line_item_path(path)
    transport.query(query)
    transport.normalise_event({"rawPath": path, "requestContext": {"http": {"path": path}, "stage": stage}})


@fuzz()
@given(
    pairs=st.lists(
        st.tuples(
            st.sampled_from(
                ["iss", "login_hint", "target_link_uri", "client_id", "lti_message_hint", "lti_deployment_id"]
            )
            | TEXT,
            TEXT,
        ),
        max_size=10,
    ),
)
def test_any_login_parameters_parse_or_are_a_400(pairs):
    try:
        oidc.login_params(pairs)
    except GatewayError as error:
        refused_cleanly(error)
