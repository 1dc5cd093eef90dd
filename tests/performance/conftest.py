"""Counters for the performance gates: every AWS call made, and every client, session or key created.

Both count exactly (never time anything), so the gates are stable on any machine.

* ``aws_calls()``: wraps ``botocore.client.BaseClient._make_api_call`` — every client, whoever made
  it (ours, Powertools' idempotency store, a stray one) — and records ``(service, operation)``.
* ``creations()``: records every botocore client creation (``boto3.client``/``boto3.resource`` both go
  through ``botocore.session.Session.create_client``), every boto3/botocore ``Session``, and every
  key object made: PEM/DER loads, certificates, JWK parsing (``PyJWK``, ``RSAAlgorithm.from_jwk``),
  pyjwt parsing a PEM handed to it as text, and RSA key generation.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import boto3.session
import botocore.client
import botocore.session
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

# The fixtures the gates drive flows with: the app API's (LTI 1.1 world, launches, token function, an
# LTI 1.3 platform on loopback) and the LTI 1.3 launch tests' (a registered platform with its JWKS).
from tests.functional.launch.test_lti13_launch import jwks, world  # noqa: F401
from tests.support.app_fixtures import *  # noqa: F403

_KEY_LOADERS = (
    "load_pem_private_key",
    "load_der_private_key",
    "load_pem_public_key",
    "load_der_public_key",
    "load_ssh_public_key",
)


@contextlib.contextmanager
def _aws_calls() -> Iterator[list[tuple[str, str]]]:
    calls: list[tuple[str, str]] = []
    original = botocore.client.BaseClient._make_api_call

    def recorded(self: Any, operation: str, params: Any) -> Any:
        calls.append((self.meta.service_model.service_name, operation))
        return original(self, operation, params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.client.BaseClient, "_make_api_call", recorded)
        yield calls


@contextlib.contextmanager
def _creations() -> Iterator[list[str]]:
    made: list[str] = []

    def counting(label: str, original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            made.append(label)
            return original(*args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        original_create = botocore.session.Session.create_client

        def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
            made.append(f"client:{service_name}")
            return original_create(self, service_name, *args, **kwargs)

        patch.setattr(botocore.session.Session, "create_client", create_client)
        patch.setattr(boto3.session.Session, "__init__", counting("boto3.Session", boto3.session.Session.__init__))
        patch.setattr(
            botocore.session.Session, "__init__", counting("botocore.Session", botocore.session.Session.__init__)
        )
        for name in _KEY_LOADERS:
            original = getattr(serialization, name)
            wrapped = counting(f"key:{name}", original)
            patch.setattr(serialization, name, wrapped)
            # Modules that imported the function itself (``from ... import load_pem_public_key``).
            for module_name, module in list(sys.modules.items()):
                if module_name.startswith("lti_gateway") and getattr(module, name, None) is original:
                    patch.setattr(module, name, wrapped)
        patch.setattr(x509, "load_pem_x509_certificate", counting("key:x509", x509.load_pem_x509_certificate))
        patch.setattr(rsa, "generate_private_key", counting("key:generate", rsa.generate_private_key))
        patch.setattr(jwt.PyJWK, "__init__", counting("key:PyJWK", jwt.PyJWK.__init__))
        patch.setattr(RSAAlgorithm, "from_jwk", staticmethod(counting("key:from_jwk", RSAAlgorithm.from_jwk)))
        original_prepare = RSAAlgorithm.prepare_key

        def prepare_key(self: Any, key: Any) -> Any:
            if isinstance(key, str | bytes):  # pyjwt parses text keys on every call; objects pass through
                made.append("key:pyjwt-parsed-text")
            return original_prepare(self, key)

        patch.setattr(RSAAlgorithm, "prepare_key", prepare_key)
        yield made


@pytest.fixture
def aws_calls():
    """``with aws_calls() as calls:`` — ``calls`` lists ``(service, operation)`` made inside the block."""
    return _aws_calls


@pytest.fixture
def creations():
    """``with creations() as made:`` — ``made`` lists clients, sessions and key objects created inside."""
    return _creations


@pytest.fixture
def export_fn(stack, monkeypatch):
    """The export function on the test's moto stack, with an allowed app origin and no public base URL."""
    from lti_gateway.core import config
    from lti_gateway.repositories import deps
    from tests.conftest import invoke
    from tests.support.stack import load_function

    monkeypatch.setenv("ALLOWED_APP_ORIGINS", "https://app.example.com")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    config.settings.cache_clear()
    deps.export_files.cache_clear()
    module = load_function("export")
    yield lambda event: invoke(module, event)
    config.settings.cache_clear()
    deps.export_files.cache_clear()
