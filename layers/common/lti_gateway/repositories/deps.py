"""The composition root: repositories and the secret box, created once per warm container.

Each factory is ``runtime.cached``: ``core.runtime.reset()`` forgets them (and every other piece of
per-container state), so nothing here imports the domain to reset it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lti_gateway.core import runtime
from lti_gateway.core.config import settings
from lti_gateway.repositories import aws

if TYPE_CHECKING:  # each factory imports its class: a cold start loads only what its handler uses
    from lti_gateway.repositories.app_tokens import AppTokensRepository
    from lti_gateway.repositories.classes import ClassesRepository
    from lti_gateway.repositories.console_sessions import ConsoleSessionsRepository
    from lti_gateway.repositories.exports import ExportFiles, ExportsRepository
    from lti_gateway.repositories.keys import KeysRepository
    from lti_gateway.repositories.launch import LaunchRepository
    from lti_gateway.repositories.launch_errors import LaunchErrorsRepository
    from lti_gateway.repositories.lms_origins import LmsOriginsRepository
    from lti_gateway.repositories.platforms import PlatformsRepository
    from lti_gateway.repositories.secrets_box import SecretBox
    from lti_gateway.repositories.tool_keys import ToolKeysRepository


@runtime.cached
def keys_repo() -> KeysRepository:
    from lti_gateway.repositories.keys import KeysRepository

    return KeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@runtime.cached
def launch_repo() -> LaunchRepository:
    from lti_gateway.repositories.launch import LaunchRepository

    return LaunchRepository(aws.dynamodb().Table(settings().launch_table))


@runtime.cached
def launch_errors_repo() -> LaunchErrorsRepository:
    """Refused launches and logins by their reference (launch table, TTL)."""
    from lti_gateway.repositories.launch_errors import LaunchErrorsRepository

    return LaunchErrorsRepository(aws.dynamodb().Table(settings().launch_table))


@runtime.cached
def app_tokens_repo() -> AppTokensRepository:
    """Service keys and cached platform access tokens (launch table)."""
    from lti_gateway.repositories.app_tokens import AppTokensRepository

    return AppTokensRepository(aws.dynamodb().Table(settings().launch_table), aws.dynamodb_client())


@runtime.cached
def classes_repo() -> ClassesRepository:
    from lti_gateway.repositories.classes import ClassesRepository

    return ClassesRepository(aws.dynamodb().Table(settings().classes_table), aws.dynamodb_client())


@runtime.cached
def lms_origins_repo() -> LmsOriginsRepository:
    """The LMS origins launches came from (classes table) and the platforms' issuers (keys table)."""
    from lti_gateway.repositories.lms_origins import LmsOriginsRepository

    tables = aws.dynamodb()
    return LmsOriginsRepository(tables.Table(settings().classes_table), tables.Table(settings().keys_table))


@runtime.cached
def secret_box() -> SecretBox:
    from lti_gateway.repositories.secrets_box import SecretBox

    return SecretBox(aws.kms(), settings().kms_key_id)


@runtime.cached
def platforms_repo() -> PlatformsRepository:
    from lti_gateway.repositories.platforms import PlatformsRepository

    return PlatformsRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@runtime.cached
def tool_keys_repo() -> ToolKeysRepository:
    from lti_gateway.repositories.tool_keys import ToolKeysRepository

    return ToolKeysRepository(aws.dynamodb().Table(settings().keys_table), aws.dynamodb_client())


@runtime.cached
def exports_repo() -> ExportsRepository:
    from lti_gateway.repositories.exports import ExportsRepository

    tables = aws.dynamodb()
    return ExportsRepository(tables.Table(settings().classes_table), tables.Table(settings().keys_table))


@runtime.cached
def export_files() -> ExportFiles | None:
    """The exports bucket, or None where none is configured (large exports are then refused)."""
    from lti_gateway.repositories.exports import ExportFiles

    bucket = settings().exports_bucket
    return ExportFiles(aws.s3(), bucket) if bucket else None


@runtime.cached
def console_sessions_repo() -> ConsoleSessionsRepository:
    """Owner console sessions and one-time sign-in links (launch table, TTL)."""
    from lti_gateway.repositories.console_sessions import ConsoleSessionsRepository

    return ConsoleSessionsRepository(aws.dynamodb().Table(settings().launch_table))
