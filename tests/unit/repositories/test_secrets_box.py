"""Envelope encryption: one KMS call per container, tamper-evident, bound to its record."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from lti_gateway.core import responses
from lti_gateway.core.errors import UpstreamFailed
from lti_gateway.repositories.secrets_box import SecretBox


class CountingKms:
    """A stand-in KMS that records calls; data keys are 'encrypted' by reversing them."""

    def __init__(self):
        self.calls: list[str] = []

    def generate_data_key(self, **kwargs):
        self.calls.append("generate")
        assert kwargs["KeySpec"] == "AES_256" and kwargs["EncryptionContext"]
        key = os.urandom(32)
        return {"Plaintext": key, "CiphertextBlob": b"edk:" + key[::-1]}

    def decrypt(self, **kwargs):
        self.calls.append("decrypt")
        return {"Plaintext": kwargs["CiphertextBlob"][4:][::-1]}


class BrokenKms:
    def generate_data_key(self, **kwargs):
        raise RuntimeError("AccessDenied")

    def decrypt(self, **kwargs):
        raise RuntimeError("AccessDenied")


def test_seal_and_open_round_trip_with_one_kms_call_per_container():
    kms = CountingKms()
    box = SecretBox(kms, "key-id")

    sealed = [box.seal(f"secret-{i}", bound_to=f"consumer-key:{i}") for i in range(50)]

    assert [box.open(s, bound_to=f"consumer-key:{i}") for i, s in enumerate(sealed)] == [
        f"secret-{i}" for i in range(50)
    ]
    assert kms.calls == ["generate"]
    assert all("secret-" not in s for s in sealed)


def test_a_new_container_opens_with_one_decrypt_per_data_key():
    kms = CountingKms()
    sealed = SecretBox(kms, "key-id").seal("hello", bound_to="a")

    cold = SecretBox(kms, "key-id")
    assert cold.open(sealed, bound_to="a") == "hello"
    assert cold.open(sealed, bound_to="a") == "hello"
    assert kms.calls == ["generate", "decrypt"]


def test_a_sealed_value_moved_to_another_record_does_not_open():
    box = SecretBox(CountingKms(), "key-id")
    sealed = box.seal("hello", bound_to="consumer-key:one")

    with pytest.raises(InvalidTag):
        box.open(sealed, bound_to="consumer-key:two")


def test_tampered_ciphertext_does_not_open():
    box = SecretBox(CountingKms(), "key-id")
    version, edk, nonce, ct = box.seal("hello", bound_to="a").split(".")
    flipped = ct[:-2] + ("A" if ct[-2] != "A" else "B") + ct[-1]

    with pytest.raises(InvalidTag):
        box.open(".".join((version, edk, nonce, flipped)), bound_to="a")


def test_kms_failures_are_upstream_errors_without_detail():
    with pytest.raises(UpstreamFailed) as raised:
        SecretBox(BrokenKms(), "key-id").seal("hello", bound_to="a")
    assert raised.value.code == "kms_unavailable" and "hello" not in str(responses.error_body(raised.value))
