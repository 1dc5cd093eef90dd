"""Logger and Metrics, created once. Secrets are never passed to them (see ``redact``)."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "lti-gateway")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "LtiGateway"), service=SERVICE)

# Libraries that print request and response bodies at DEBUG stay at INFO even when the stack's
# LogLevel (or Lambda's ApplicationLogLevel) is DEBUG: botocore prints KMS GenerateDataKey's
# plaintext data key (which opens every sealed secret) and every item written (OIDC states); boto3
# the items it puts; Powertools' resolver the route arguments (dynamic-registration URL tokens).
# Our own logger still logs at DEBUG. (oauthlib is held at WARNING in oauth1_launch.)
QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer", "aws_lambda_powertools")
for _name in QUIET_LIBRARIES:
    logging.getLogger(_name).setLevel(logging.INFO)


def fingerprint(value: str) -> str:
    """A short, non-reversible tag for correlating a secret-bearing value in logs (never the value)."""
    import hashlib

    return hashlib.sha256(value.encode()).hexdigest()[:10]
