"""Envelope encryption for secrets we must recover later (LTI 1.1 consumer secrets, API key secrets).

One KMS ``GenerateDataKey`` per warm container: the plaintext data key is cached in memory and each
secret is sealed with AES-256-GCM (``cryptography``), bound by associated data to the record it
belongs to. The KMS-encrypted data key is stored beside the ciphertext, and decrypted data keys are
cached by their ciphertext, so a warm request makes no KMS call. A read grant on the table alone
reveals no secret: opening a sealed value needs ``kms:Decrypt`` on the stack's key.
"""

from __future__ import annotations

import base64
import os
import threading
from typing import Any, Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from lti_gateway.core.errors import GatewayError, ServiceUnavailable, UpstreamFailed

_VERSION = "v1"


KMS_FAILED_METRIC = "KmsFailed"  # the KmsFailures alarm of template.yaml watches it (AWS/KMS has no such metric)


def count_kms_failure() -> None:
    """One ``KmsFailed`` EMF datapoint (dimension: service), written at once: most handlers never flush
    the shared Metrics object, and a refused launch adds ``reason`` to that object's dimensions."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    from lti_gateway.core.observability import SERVICE, metrics

    with single_metric(
        name=KMS_FAILED_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE},
    ):
        pass


def _kms_failed(exc: Exception) -> GatewayError:
    """Throttled or unreachable KMS: 503 with Retry-After; anything else (key disabled, deleted, not
    granted): 502 — both ``kms_unavailable``, neither with the AWS message."""
    from lti_gateway.repositories.aws import RETRY_AFTER_SECONDS, error_code, is_retryable

    count_kms_failure()
    if is_retryable(exc):
        error = ServiceUnavailable(
            "the secrets key (KMS) is busy or did not answer; retry shortly",
            code="kms_unavailable",
            retry_after=RETRY_AFTER_SECONDS,
        )
        error.aws_error = error_code(exc) or type(exc).__name__
        return error
    return UpstreamFailed("the secrets key (KMS) is unavailable", code="kms_unavailable")


class KmsPort(Protocol):
    def generate_data_key(self, **kwargs: Any) -> dict[str, Any]: ...
    def decrypt(self, **kwargs: Any) -> dict[str, Any]: ...


class SecretBox:
    def __init__(self, kms_client: KmsPort, key_id: str, *, context: str = "lti-gateway"):
        self._kms = kms_client
        self._key_id = key_id
        self._context = {"purpose": context}
        self._lock = threading.Lock()
        self._current: tuple[bytes, bytes] | None = None  # (encrypted data key, plaintext data key)
        self._opened: dict[bytes, bytes] = {}

    def _data_key(self) -> tuple[bytes, bytes]:
        with self._lock:
            if self._current is None:
                try:
                    out = self._kms.generate_data_key(
                        KeyId=self._key_id, KeySpec="AES_256", EncryptionContext=self._context
                    )
                except Exception as exc:  # botocore errors: throttled, unreachable, missing or not granted
                    raise _kms_failed(exc) from exc
                self._current = (out["CiphertextBlob"], out["Plaintext"])
                self._opened[out["CiphertextBlob"]] = out["Plaintext"]
            return self._current

    def _open_key(self, edk: bytes) -> bytes:
        key = self._opened.get(edk)
        if key is None:
            try:
                key = self._kms.decrypt(CiphertextBlob=edk, EncryptionContext=self._context)["Plaintext"]
            except Exception as exc:
                raise _kms_failed(exc) from exc
            with self._lock:
                self._opened[edk] = key
        return key

    def seal(self, plaintext: str, *, bound_to: str) -> str:
        """Encrypt ``plaintext``; ``bound_to`` (e.g. ``"consumer-key:abc"``) must match on open."""
        edk, key = self._data_key()
        nonce = os.urandom(12)
        ct = AESGCM(key).encrypt(nonce, plaintext.encode(), bound_to.encode())
        parts = (_VERSION, *(base64.urlsafe_b64encode(p).decode() for p in (edk, nonce, ct)))
        return ".".join(parts)

    def open(self, sealed: str, *, bound_to: str) -> str:
        version, edk, nonce, ct = sealed.split(".")
        if version != _VERSION:
            raise ValueError(f"unknown sealed secret version {version!r}")
        decode = base64.urlsafe_b64decode
        key = self._open_key(decode(edk))
        return AESGCM(key).decrypt(decode(nonce), decode(ct), bound_to.encode()).decode()
