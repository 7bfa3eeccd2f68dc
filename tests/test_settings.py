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


SECRET = "s3cret_-" * 4  # 32 characters of Telegram's alphabet
HOOK = {"TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook", "TELEGRAM_WEBHOOK_SECRET": SECRET}


def test_no_webhook_url_means_long_polling():
    settings = Settings.from_env({}, dotenv=None)
    assert not settings.uses_webhook and settings.webhook_secret is None


def test_webhook_settings_and_their_defaults():
    settings = Settings.from_env(HOOK, dotenv=None)
    assert settings.uses_webhook
    assert settings.telegram_webhook_url == "https://bot.example.org/telegram/hook"
    assert (settings.webhook_listen, settings.webhook_port) == ("127.0.0.1", 8443)
    assert settings.webhook_path == "/telegram/hook"  # the public URL's path, unless told
    assert settings.webhook_secret == SECRET
    told = Settings.from_env({**HOOK, "WEBHOOK_LISTEN": "0.0.0.0", "WEBHOOK_PORT": "8080",
                              "WEBHOOK_PATH": "/tg"}, dotenv=None)  # fmt: skip
    assert (told.webhook_listen, told.webhook_port, told.webhook_path) == ("0.0.0.0", 8080, "/tg")
    bare = Settings.from_env({**HOOK, "TELEGRAM_WEBHOOK_URL": "https://bot.example.org"}, dotenv=None)
    assert bare.webhook_path == "/"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_WEBHOOK_URL", "bot.example.org/telegram"),
        ("TELEGRAM_WEBHOOK_URL", "ftp://bot.example.org/"),
        ("TELEGRAM_WEBHOOK_URL", "https://bot.example.org:99999/"),
        ("TELEGRAM_WEBHOOK_URL", "https://bot.example.org/?a=1"),
        ("TELEGRAM_WEBHOOK_SECRET", "short"),
        ("TELEGRAM_WEBHOOK_SECRET", "has spaces in it, and is long enough"),
        ("TELEGRAM_WEBHOOK_SECRET", "x" * 257),
        ("WEBHOOK_PORT", "0"),
        ("WEBHOOK_PORT", "65536"),
        ("WEBHOOK_PORT", "eighty"),
        ("WEBHOOK_LISTEN", "http://0.0.0.0"),
        ("WEBHOOK_LISTEN", "a b"),
        ("WEBHOOK_PATH", "telegram"),
        ("WEBHOOK_PATH", "/tg?x=1"),
    ],
)
def test_bad_webhook_value_names_the_variable(name, value):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**HOOK, name: value}, dotenv=None)
    assert name in str(caught.value) and "\n" not in str(caught.value)


def test_the_webhook_secret_is_required_in_webhook_mode_never_generated():
    """Several instances behind one URL must expect the same secret: one generated per process
    would be replaced by the next instance's setWebhook, and the others would refuse it all."""
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings.from_env({"TELEGRAM_WEBHOOK_URL": HOOK["TELEGRAM_WEBHOOK_URL"]}, dotenv=None)


def test_webhook_settings_come_from_dotenv_too(tmp_path: Path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("".join(f"{k}={v}\n" for k, v in HOOK.items()) + "WEBHOOK_PORT=8088\n",
                      encoding="utf-8")  # fmt: skip
    settings = Settings.from_env({}, dotenv=dotenv)
    assert settings.uses_webhook and settings.webhook_port == 8088 and settings.webhook_secret == SECRET
