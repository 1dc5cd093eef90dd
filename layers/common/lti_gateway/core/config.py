"""Typed settings read from environment variables once per container (cold start).

Template ``Parameters`` and ``Globals.Function.Environment`` set these in AWS; the local gateway sets
them for its moto server. A missing or malformed value fails the cold start loudly, not a request.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lti_gateway.core import runtime


class ConfigError(RuntimeError):
    pass


def _int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _url(name: str) -> str | None:
    value = os.environ.get(name, "").strip().rstrip("/") or None
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise ConfigError(f"{name} must be an absolute http(s) URL")
    return value


# A DNS name as the DomainName template parameter takes it (lower case; no scheme, port, path or dot at
# the end): what the public base URL ``https://{name}`` is built from.
_DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def _public_base_url() -> str | None:
    """``PUBLIC_BASE_URL`` when set (the local gateway, a proxy in front), else ``https://`` and the
    custom domain (``PUBLIC_DOMAIN_NAME``, the template's DomainName parameter), else None: the
    request's own host."""
    explicit = _url("PUBLIC_BASE_URL")
    if explicit:
        return explicit
    domain = os.environ.get("PUBLIC_DOMAIN_NAME", "").strip().lower()
    if not domain:
        return None
    if not _DOMAIN_NAME.match(domain):
        raise ConfigError(f"PUBLIC_DOMAIN_NAME must be a DNS name like lti.example.edu, got {domain!r}")
    return f"https://{domain}"


# What LMSs display of the tool unless an organisation sets its own (tool_name, tool_description,
# tool_icon_url on the organisation): the template's ToolName, ToolDescription and ToolIconUrl.
DEFAULT_TOOL_NAME = "LTI Gateway"
DEFAULT_TOOL_DESCRIPTION = "Launches from this LMS into your organisation's classes and units."
MAX_TOOL_NAME = 100
MAX_TOOL_DESCRIPTION = 1000


@dataclass(frozen=True)
class ToolDefaults:
    name: str = DEFAULT_TOOL_NAME
    description: str = DEFAULT_TOOL_DESCRIPTION
    icon_url: str | None = None


def _tool_text(name: str, default: str, *, max_len: int, multiline: bool) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    allowed = "\n\r\t" if multiline else ""
    if len(value) > max_len:
        raise ConfigError(f"{name} must be at most {max_len} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise ConfigError(f"{name} must not contain control characters")
    return value


def _tool_defaults() -> ToolDefaults:
    icon = os.environ.get("TOOL_ICON_URL", "").strip() or None
    if icon is not None:
        split = urlsplit(icon)
        if (
            len(icon) > 2048
            or split.scheme != "https"
            or not split.hostname
            or "@" in split.netloc
            or not icon.isascii()
            or any(c.isspace() or not c.isprintable() for c in icon)
        ):
            raise ConfigError("TOOL_ICON_URL must be an https URL (at most 2048 characters, no spaces)")
    return ToolDefaults(
        name=_tool_text("TOOL_NAME", DEFAULT_TOOL_NAME, max_len=MAX_TOOL_NAME, multiline=False),
        description=_tool_text(
            "TOOL_DESCRIPTION", DEFAULT_TOOL_DESCRIPTION, max_len=MAX_TOOL_DESCRIPTION, multiline=True
        ),
        icon_url=icon,
    )


@runtime.cached
def tool_defaults() -> ToolDefaults:
    """The stack-wide tool name, description and icon (read alone: code that shows them needs no tables)."""
    return _tool_defaults()


def _origins(raw: str) -> tuple[str, ...]:
    origins = []
    for part in raw.split(","):
        part = part.strip().rstrip("/")
        if not part:
            continue
        if part == "*":
            origins.append(part)
            continue
        split = urlsplit(part)
        if split.scheme not in ("http", "https") or not split.netloc or split.path:
            raise ConfigError(f"ALLOWED_APP_ORIGINS entry {part!r} is not an origin like https://app.example")
        origins.append(f"{split.scheme}://{split.netloc.lower()}")
    return tuple(origins)


@dataclass(frozen=True)
class Settings:
    keys_table: str
    launch_table: str
    classes_table: str
    kms_key_id: str
    stage: str = "dev"
    dynamodb_endpoint_url: str | None = None
    kms_endpoint_url: str | None = None
    # The base of every URL the gateway hands out (launch URLs, tool configuration, exports):
    # PUBLIC_BASE_URL, else https://{PUBLIC_DOMAIN_NAME} (a custom domain), else the request's host.
    public_base_url: str | None = None
    allowed_app_origins: tuple[str, ...] = field(default_factory=tuple)
    # Learnosity-compatible Data API: signature timestamp window and per-consumer rate limit.
    learnosity_window_seconds: int = 300
    data_api_requests_per_minute: int = 300
    # How long a consumer key record stays cached in a warm container (launches read it often).
    consumer_key_cache_seconds: int = 30
    # LTI 1.1: the oauth_timestamp window (seconds either side of now).
    launch_window_seconds: int = 300
    # The scheme://host[/prefix] LMSs sign launches against, when it differs from what the request's
    # Host and X-Forwarded-* headers say (a custom domain with a base path mapping). Unset: headers.
    launch_base_url: str | None = None
    # LTI 1.3 platform URLs (issuer, endpoints, JWKS, dynamic registration) and the calls to them: https
    # and globally routable addresses only, unless this is set. The local gateway sets it for its test
    # platforms on loopback, unless its own environment says ALLOW_INSECURE_PLATFORM_URLS=false.
    allow_insecure_platform_urls: bool = False
    # Exports: the S3 bucket (template ExportsBucket) larger exports are handed over through, and the
    # largest body answered inline, counted base64-encoded (Lambda's synchronous response cap is 6 MB).
    exports_bucket: str | None = None
    export_inline_max_bytes: int = 5_000_000
    # What LMSs display of the tool by default (organisations may set their own).
    tool: ToolDefaults = field(default_factory=ToolDefaults)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        missing = [n for n in ("KEYS_TABLE", "LAUNCH_TABLE", "CLASSES_TABLE", "KMS_KEY_ID") if not env.get(n)]
        if missing:
            raise ConfigError(f"missing environment variables: {', '.join(missing)}")
        base = _public_base_url()
        return cls(
            keys_table=env["KEYS_TABLE"],
            launch_table=env["LAUNCH_TABLE"],
            classes_table=env["CLASSES_TABLE"],
            kms_key_id=env["KMS_KEY_ID"],
            stage=env.get("STAGE", "dev"),
            dynamodb_endpoint_url=env.get("DYNAMODB_ENDPOINT_URL") or None,
            kms_endpoint_url=env.get("KMS_ENDPOINT_URL") or None,
            public_base_url=base,
            allowed_app_origins=_origins(env.get("ALLOWED_APP_ORIGINS", "")),
            learnosity_window_seconds=_int("LEARNOSITY_WINDOW_SECONDS", 300, low=30, high=3600),
            data_api_requests_per_minute=_int("DATA_API_REQUESTS_PER_MINUTE", 300, low=1, high=100_000),
            consumer_key_cache_seconds=_int("CONSUMER_KEY_CACHE_SECONDS", 30, low=0, high=600),
            launch_window_seconds=_int("LTI11_TIMESTAMP_WINDOW_SECONDS", 300, low=30, high=3600),
            launch_base_url=_url("LAUNCH_BASE_URL"),
            allow_insecure_platform_urls=_bool("ALLOW_INSECURE_PLATFORM_URLS"),
            exports_bucket=env.get("EXPORTS_BUCKET") or None,
            export_inline_max_bytes=_int("EXPORT_INLINE_MAX_BYTES", 5_000_000, low=1, high=5_500_000),
            tool=_tool_defaults(),
        )


@runtime.cached
def settings() -> Settings:
    return Settings.from_env()
