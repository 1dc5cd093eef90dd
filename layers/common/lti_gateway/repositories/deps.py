"""The composition root: repositories and the secret box, created once per warm container."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from lti_gateway.core.config import settings
from lti_gateway.repositories import aws

if TYPE_CHECKING:  # each factory imports its class: a cold start loads only what its handler uses
    from lti_gateway.repositories.app_tokens import AppTokensRepository
    from lti_gateway.repositories.classes import ClassesRepository
    from lti_gateway.repositories.exports import ExportFiles, ExportsRepository
    from lti_gateway.repositories.keys import KeysRepository
    from lti_gateway.repositories.launch import LaunchRepository
    from lti_gateway.repositories.platforms import PlatformsRepository
    from lti_gateway.repositories.secrets_box import SecretBox
    from lti_gateway.repositories.tool_keys import ToolKeysRepository


@cache
def keys_repo() -> KeysRepository:
    from lti_gateway.repositories.keys import KeysRepository

    return KeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def launch_repo() -> LaunchRepository:
    from lti_gateway.repositories.launch import LaunchRepository

    return LaunchRepository(aws.dynamodb().Table(settings().launch_table))


@cache
def app_tokens_repo() -> AppTokensRepository:
    """Service keys and cached platform access tokens (launch table)."""
    from lti_gateway.repositories.app_tokens import AppTokensRepository

    return AppTokensRepository(aws.dynamodb().Table(settings().launch_table), aws.dynamodb_client())


@cache
def classes_repo() -> ClassesRepository:
    from lti_gateway.repositories.classes import ClassesRepository

    return ClassesRepository(aws.dynamodb().Table(settings().classes_table), aws.dynamodb_client())


@cache
def secret_box() -> SecretBox:
    from lti_gateway.repositories.secrets_box import SecretBox

    return SecretBox(aws.kms(), settings().kms_key_id)


@cache
def platforms_repo() -> PlatformsRepository:
    from lti_gateway.repositories.platforms import PlatformsRepository

    return PlatformsRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def tool_keys_repo() -> ToolKeysRepository:
    from lti_gateway.repositories.tool_keys import ToolKeysRepository

    return ToolKeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def exports_repo() -> ExportsRepository:
    from lti_gateway.repositories.exports import ExportsRepository

    tables = aws.dynamodb()
    return ExportsRepository(tables.Table(settings().classes_table), tables.Table(settings().keys_table))


@cache
def export_files() -> ExportFiles | None:
    """The exports bucket, or None where none is configured (large exports are then refused)."""
    from lti_gateway.repositories.exports import ExportFiles

    bucket = settings().exports_bucket
    return ExportFiles(aws.s3(), bucket) if bucket else None


def reset() -> None:
    """Drop every per-container object (tests point the code at a fresh moto between sessions)."""
    aws.reset()
    keys_repo.cache_clear()
    launch_repo.cache_clear()
    classes_repo.cache_clear()
    app_tokens_repo.cache_clear()
    secret_box.cache_clear()
    exports_repo.cache_clear()
    export_files.cache_clear()
    platforms_repo.cache_clear()
    tool_keys_repo.cache_clear()
    # Caches kept by domain modules (imported here, lazily, to avoid import cycles).
    from lti_gateway.app_api import ltik
    from lti_gateway.launch import dispatch
    from lti_gateway.lti11 import consumer_keys
    from lti_gateway.repositories import idempotency

    idempotency.reset()
    consumer_keys.clear_cache()
    dispatch.clear_caches()
    ltik.reset()
    from lti_gateway.lti13 import platforms, tool_keys

    platforms.clear_cache()
    tool_keys.reset()
    from lti_gateway.app_api import auth, platform_services, platform_tokens, service_keys

    auth.clear_cache()
    service_keys.clear_cache()
    platform_services.clear_cache()
    platform_services.outbound_http.cache_clear()
    platform_tokens.clear_cache()
