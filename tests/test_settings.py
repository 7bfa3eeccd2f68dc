"""Settings: defaults, every bad value refused with a clear line, `.env` below the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_run_without_any_setting(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({}, dotenv=None)
    assert settings.telegram_bot_token is None
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'thidua.sqlite3'}"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.base_url == "https://api.telegram.org/bot"
    assert settings.base_file_url == "https://api.telegram.org/file/bot"
    assert settings.timezone.key == "Asia/Ho_Chi_Minh"
    assert settings.locale == "vi"
    assert settings.log_level == "INFO"


def test_self_hosted_api_url_sets_method_and_file_urls():
    settings = Settings.from_env({"TELEGRAM_API_URL": "http://127.0.0.1:8081/"}, dotenv=None)
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"


def test_pasted_method_prefix_is_not_doubled():
    settings = Settings.from_env({"TELEGRAM_API_URL": "http://localhost:8081/bot"}, dotenv=None)
    assert settings.base_url == "http://localhost:8081/bot"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:////var/lib/thidua.sqlite3", "sqlite+aiosqlite:////var/lib/thidua.sqlite3"),
        ("postgresql://u:p@db/thidua", "postgresql+asyncpg://u:p@db/thidua"),
        ("postgres://u@db/thidua", "postgresql+asyncpg://u@db/thidua"),
        ("postgresql+asyncpg://u@db/thidua", "postgresql+asyncpg://u@db/thidua"),
    ],
)
def test_database_url_spellings_are_made_async(given, expected):
    assert Settings.from_env({"DATABASE_URL": given}, dotenv=None).database_url == expected


@pytest.mark.parametrize(
    ("name", "value", "mentions"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
        ("TELEGRAM_BOT_TOKEN", "123:abc def", "TELEGRAM_BOT_TOKEN"),
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL"),
        ("DATABASE_URL", "just-a-file.db", "DATABASE_URL"),
        ("DATABASE_URL", "sqlite://relative.db", "DATABASE_URL"),
        ("TELEGRAM_API_URL", "ftp://example.org", "TELEGRAM_API_URL"),
        ("TELEGRAM_API_URL", "http://", "TELEGRAM_API_URL"),
        ("TELEGRAM_API_URL", "http://127.0.0.1:99999", "TELEGRAM_API_URL"),
        ("BOT_TIMEZONE", "Mars/Olympus", "BOT_TIMEZONE"),
        ("BOT_TIMEZONE", "../../etc/passwd", "BOT_TIMEZONE"),
        ("BOT_LOCALE", "fr", "BOT_LOCALE"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ],
)
def test_bad_value_names_the_variable(name, value, mentions):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value}, dotenv=None)
    message = str(caught.value)
    assert mentions in message
    assert "\n" not in message


def test_bad_value_is_explained_in_the_chosen_language():
    with pytest.raises(SettingsError) as vi:
        Settings.from_env({"LOG_LEVEL": "LOUD"}, dotenv=None)
    with pytest.raises(SettingsError) as en:
        Settings.from_env({"LOG_LEVEL": "LOUD", "BOT_LOCALE": "en"}, dotenv=None)
    assert "is not one of" in str(en.value)
    assert str(vi.value) != str(en.value)


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# comment\nexport BOT_LOCALE='en'\nLOG_LEVEL=debug\nTELEGRAM_BOT_TOKEN=\"42:abc\"\n",
        encoding="utf-8",
    )
    settings = Settings.from_env({"LOG_LEVEL": "WARNING"}, dotenv=dotenv)
    assert settings.locale == "en"
    assert settings.log_level == "WARNING"
    assert settings.telegram_bot_token == "42:abc"


def test_malformed_dotenv_line_is_reported_with_its_number(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("LOG_LEVEL=INFO\nthis is not a setting\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"\.env:2"):
        Settings.from_env({}, dotenv=dotenv)


def test_empty_value_means_unset():
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": "  "}, dotenv=None).telegram_bot_token is None
