"""A failed KMS call is counted (``KmsFailed``, the KmsFailuresAlarm of template.yaml): one EMF line with
only the service dimension, written at once, whatever the failure; a working KMS counts nothing."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from lti_gateway.core.errors import GatewayError
from lti_gateway.core.observability import SERVICE, metrics
from lti_gateway.repositories.secrets_box import KMS_FAILED_METRIC, SecretBox


class FailingKms:
    def __init__(self, code: str):
        self.code = code

    def _fail(self, op: str):
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, op)

    def generate_data_key(self, **kwargs):
        self._fail("GenerateDataKey")

    def decrypt(self, **kwargs):
        self._fail("Decrypt")


class WorkingKms:
    def generate_data_key(self, **kwargs):
        return {"CiphertextBlob": b"edk", "Plaintext": b"k" * 32}

    def decrypt(self, **kwargs):
        return {"Plaintext": b"k" * 32}


def _emf(out: str) -> list[dict]:
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [line for line in lines if "_aws" in line and KMS_FAILED_METRIC in line]


@pytest.mark.parametrize("code", ["ThrottlingException", "DisabledException", "AccessDeniedException"])
def test_a_failed_kms_call_writes_one_kms_failed_datapoint(code, capsys):
    with pytest.raises(GatewayError) as refused:
        SecretBox(FailingKms(code), "key").seal("secret", bound_to="consumer-key:k")
    assert refused.value.code == "kms_unavailable"
    (emf,) = _emf(capsys.readouterr().out)
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.namespace
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": KMS_FAILED_METRIC, "Unit": "Count"}]
    assert emf["service"] == SERVICE and emf[KMS_FAILED_METRIC] == [1.0]
    assert "secret" not in json.dumps(emf)


def test_a_working_kms_counts_nothing(capsys):
    box = SecretBox(WorkingKms(), "key")
    assert box.open(box.seal("secret", bound_to="x"), bound_to="x") == "secret"
    assert _emf(capsys.readouterr().out) == []
