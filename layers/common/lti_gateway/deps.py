"""The composition root: repositories and the secret box, created once per warm container."""

from __future__ import annotations

from functools import cache

from . import aws
from .config import settings
from .repositories.classes import ClassesRepository
from .repositories.keys import KeysRepository
from .repositories.launch import LaunchRepository
from .secrets_box import SecretBox


@cache
def keys_repo() -> KeysRepository:
    return KeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@cache
def launch_repo() -> LaunchRepository:
    return LaunchRepository(aws.dynamodb().Table(settings().launch_table))


@cache
def classes_repo() -> ClassesRepository:
    return ClassesRepository(aws.dynamodb().Table(settings().classes_table), aws.dynamodb_client())


@cache
def secret_box() -> SecretBox:
    return SecretBox(aws.kms(), settings().kms_key_id)


def reset() -> None:
    """Drop every per-container object (tests point the code at a fresh moto between sessions)."""
    aws.reset()
    keys_repo.cache_clear()
    launch_repo.cache_clear()
    classes_repo.cache_clear()
    secret_box.cache_clear()
    # Caches kept by domain modules (imported here, lazily, to avoid import cycles).
    from . import consumer_keys, idempotency, launches, ltik

    idempotency.reset()
    consumer_keys.clear_cache()
    launches.clear_caches()
    ltik.reset()
