"""boto3 clients and resources, created lazily once per container (never at import time)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from .config import settings

_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})


@cache
def dynamodb() -> Any:
    return boto3.resource("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_BOTO_CONFIG)


@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", endpoint_url=settings().dynamodb_endpoint_url, config=_BOTO_CONFIG)


@cache
def kms() -> Any:
    return boto3.client("kms", endpoint_url=settings().kms_endpoint_url, config=_BOTO_CONFIG)


@cache
def s3() -> Any:
    """SigV4 (presigned URLs), path-style addressing when an endpoint is set (the local moto server)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    config = _BOTO_CONFIG.merge(
        Config(signature_version="s3v4", s3={"addressing_style": "path" if endpoint else "virtual"})
    )
    return boto3.client("s3", endpoint_url=endpoint, config=config)


def reset() -> None:
    """Forget every cached client and setting (tests switch endpoints between sessions)."""
    from . import config

    config.settings.cache_clear()
    dynamodb.cache_clear()
    dynamodb_client.cache_clear()
    kms.cache_clear()
    s3.cache_clear()
