"""The composition root: repositories and the secret box, created once per warm container."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from . import aws
from .config import settings

if TYPE_CHECKING:  # each factory imports its class: a cold start loads only what its handler uses
    from .repositories.app_tokens import AppTokensRepository
    from .repositories.classes import ClassesRepository
    from .repositories.exports import ExportFiles, ExportsRepository
    from .repositories.keys import KeysRepository
    from .repositories.launch import LaunchRepository
    from .repositories.platforms import PlatformsRepository
    from .repositories.tool_keys import ToolKeysRepository
    from .secrets_box import SecretBox


@cache
def keys_repo() -> KeysRepository:
    from .repositories.keys import KeysRepository

    return KeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def launch_repo() -> LaunchRepository:
    from .repositories.launch import LaunchRepository

    return LaunchRepository(aws.dynamodb().Table(settings().launch_table))


@cache
def app_tokens_repo() -> AppTokensRepository:
    """Service keys and cached platform access tokens (launch table)."""
    from .repositories.app_tokens import AppTokensRepository

    return AppTokensRepository(aws.dynamodb().Table(settings().launch_table), aws.dynamodb_client())


@cache
def classes_repo() -> ClassesRepository:
    from .repositories.classes import ClassesRepository

    return ClassesRepository(aws.dynamodb().Table(settings().classes_table), aws.dynamodb_client())


@cache
def secret_box() -> SecretBox:
    from .secrets_box import SecretBox

    return SecretBox(aws.kms(), settings().kms_key_id)


@cache
def platforms_repo() -> PlatformsRepository:
    from .repositories.platforms import PlatformsRepository

    return PlatformsRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def tool_keys_repo() -> ToolKeysRepository:
    from .repositories.tool_keys import ToolKeysRepository

    return ToolKeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def exports_repo() -> ExportsRepository:
    from .repositories.exports import ExportsRepository

    tables = aws.dynamodb()
    return ExportsRepository(tables.Table(settings().classes_table), tables.Table(settings().keys_table))


@cache
def export_files() -> ExportFiles | None:
    """The exports bucket, or None where none is configured (large exports are then refused)."""
    from .repositories.exports import ExportFiles

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
    from . import consumer_keys, idempotency, launches, ltik

    idempotency.reset()
    consumer_keys.clear_cache()
    launches.clear_caches()
    ltik.reset()
    from . import platforms, tool_keys

    platforms.clear_cache()
    tool_keys.reset()
    from . import app_auth, platform_services, platform_tokens, service_keys

    app_auth.clear_cache()
    service_keys.clear_cache()
    platform_services.clear_cache()
    platform_services.outbound_http.cache_clear()
    platform_tokens.clear_cache()
