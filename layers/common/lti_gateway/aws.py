"""boto3 clients and resources, created lazily once per container (never at import time)."""

from __future__ import annotations

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


def reset() -> None:
    """Forget every cached client and setting (tests switch endpoints between sessions)."""
    from . import config

    config.settings.cache_clear()
    dynamodb.cache_clear()
    dynamodb_client.cache_clear()
    kms.cache_clear()
