"""Logger and Metrics, created once. Secrets are never passed to them (see ``redact``)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lti-gateway")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LtiGateway"), service=SERVICE)


def fingerprint(value: str) -> str:
    """A short, non-reversible tag for correlating a secret-bearing value in logs (never the value)."""
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:10]
