"""The one settings object, read from the environment and an optional `.env` file.

Every knob of the process lives here so that a bad value is caught once, at start, with one
clear line for the operator instead of a traceback deep inside a handler later.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.i18n import SUPPORTED_LOCALES, _, use_locale

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_DB_FILE = "thidua.sqlite3"
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1"  # behind a reverse proxy on the same host; a container sets 0.0.0.0
DEFAULT_WEBHOOK_PORT = 8443
MIN_WEBHOOK_SECRET = 16  # Telegram takes 1..256 of [A-Za-z0-9_-]; fewer than 16 is guessable

_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{1,100}$")
_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?$")


class SettingsError(ValueError):
    """A setting has a value the bot cannot start with; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None
    database_url: str
    telegram_api_url: str
    timezone: ZoneInfo
    locale: str
    log_level: str
    # Webhook mode (`telegram_webhook_url` set): Telegram posts updates to that public URL;
    # this process serves them on webhook_listen:webhook_port at webhook_path, and refuses a
    # request without webhook_secret in X-Telegram-Bot-Api-Secret-Token. Unset: long polling.
    telegram_webhook_url: str | None = None
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    webhook_path: str = "/"
    webhook_secret: str | None = None

    @property
    def uses_webhook(self) -> bool:
        return self.telegram_webhook_url is not None

    @property
    def base_url(self) -> str:
        """Method URL prefix; PTB appends the token and the method name."""
        return f"{self.telegram_api_url}/bot"

    @property
    def base_file_url(self) -> str:
        """File URL prefix; a self-hosted Bot API server serves files under /file/bot<token>/."""
        return f"{self.telegram_api_url}/file/bot"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        dotenv: Path | None = Path(".env"),
    ) -> Settings:
        """Build settings; the process environment wins over `.env`, which wins over defaults."""
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update(read_dotenv(dotenv))
        values.update(os.environ if env is None else env)

        def get(name: str) -> str | None:
            raw = values.get(name)
            if raw is None:
                return None
            raw = raw.strip()
            return raw or None

        locale = _locale(get("BOT_LOCALE"))
        with use_locale(locale):  # errors below are told in the operator's chosen language
            webhook_url = _webhook_url(get("TELEGRAM_WEBHOOK_URL"))
            return cls(
                telegram_bot_token=_token(get("TELEGRAM_BOT_TOKEN")),
                database_url=_database_url(get("DATABASE_URL")),
                telegram_api_url=_api_url(get("TELEGRAM_API_URL")),
                timezone=_timezone(get("BOT_TIMEZONE")),
                locale=locale,
                log_level=_log_level(get("LOG_LEVEL")),
                telegram_webhook_url=webhook_url,
                webhook_listen=_webhook_listen(get("WEBHOOK_LISTEN")),
                webhook_port=_webhook_port(get("WEBHOOK_PORT")),
                webhook_path=_webhook_path(get("WEBHOOK_PATH"), webhook_url),
                webhook_secret=_webhook_secret(get("TELEGRAM_WEBHOOK_SECRET"), webhook_url),
            )


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse `KEY=VALUE` lines; `#` comments, `export ` prefixes and surrounding quotes allowed."""
    result: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise SettingsError(
                _("{file}:{line}: expected KEY=VALUE, got {text}").format(
                    file=path, line=number, text=repr(line)
                )
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        result[key] = value
    return result


def _token(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _TOKEN_RE.match(raw):
        raise SettingsError(
            _(
                "TELEGRAM_BOT_TOKEN does not look like a bot token "
                "(expected digits, a colon and letters, as BotFather gives it)"
            )
        )
    return raw


def _database_url(raw: str | None) -> str:
    if raw is None:
        return f"sqlite+aiosqlite:///{Path.cwd() / DEFAULT_DB_FILE}"
    scheme, sep, rest = raw.partition("://")
    if not sep:
        raise SettingsError(_("DATABASE_URL is not a URL: {value}").format(value=repr(raw)))
    # Accept the plain spellings operators copy from elsewhere; the bot always talks async.
    drivers = {
        "sqlite": "sqlite+aiosqlite",
        "sqlite+aiosqlite": "sqlite+aiosqlite",
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+asyncpg": "postgresql+asyncpg",
    }
    if scheme not in drivers:
        raise SettingsError(
            _(
                "DATABASE_URL scheme {scheme} is not supported (use "
                "sqlite+aiosqlite:///path/file.sqlite3 or postgresql+asyncpg://user@host/db)"
            ).format(scheme=repr(scheme))
        )
    if scheme.startswith("sqlite") and not rest.startswith("/"):
        raise SettingsError(
            _("DATABASE_URL for SQLite needs a file path: sqlite+aiosqlite:///file")
        )
    return f"{drivers[scheme]}://{rest}"


def _api_url(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_API_URL
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            _(
                "TELEGRAM_API_URL must be an http(s) URL such as http://127.0.0.1:8081, got {value}"
            ).format(value=repr(raw))
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise SettingsError(
            _("TELEGRAM_API_URL has a bad port: {value}").format(value=repr(raw))
        ) from exc
    url = raw.rstrip("/")
    # People paste the method prefix too; accept it instead of building .../bot/bot<token>.
    if url.endswith("/bot"):
        url = url[: -len("/bot")]
    return url


def _webhook_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
        well_formed = bool(parts.hostname) and not parts.query and not parts.fragment
    except ValueError:
        well_formed = False
    if parts.scheme not in ("http", "https") or not well_formed:
        raise SettingsError(
            _(
                "TELEGRAM_WEBHOOK_URL must be the public https URL Telegram posts updates to, "
                "such as https://bot.example.org/telegram, got {value}"
            ).format(value=repr(raw))
        )
    return raw


def _webhook_listen(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_WEBHOOK_LISTEN
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        if _HOST_RE.match(raw):
            return raw
    raise SettingsError(
        _(
            "WEBHOOK_LISTEN must be an address to listen on, such as 127.0.0.1 or 0.0.0.0, "
            "got {value}"
        ).format(value=repr(raw))
    )


def _webhook_port(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_WEBHOOK_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(
            _("WEBHOOK_PORT must be a port number from 1 to 65535, got {value}").format(
                value=repr(raw)
            )
        )
    return int(raw)


def _webhook_path(raw: str | None, webhook_url: str | None) -> str:
    """The path this process serves; by default the public URL's own path, so a reverse proxy
    that forwards the request as it came needs no rewriting."""
    if raw is None:
        path = urlsplit(webhook_url).path if webhook_url else ""
    elif not raw.startswith("/") or any(c.isspace() or c in "?#" for c in raw):
        raise SettingsError(
            _("WEBHOOK_PATH must be a URL path starting with /, such as /telegram, got {value}")
            .format(value=repr(raw))
        )
    else:
        path = raw
    return path or "/"


def _webhook_secret(raw: str | None, webhook_url: str | None) -> str | None:
    """Required in webhook mode, never generated: every instance behind the one URL must
    expect the same secret, and each one's setWebhook would otherwise replace the others'."""
    if raw is None:
        if webhook_url is not None:
            raise SettingsError(
                _(
                    "TELEGRAM_WEBHOOK_SECRET is required with TELEGRAM_WEBHOOK_URL: the same "
                    "value on every instance, e.g. from: python3 -c \"import secrets; "
                    "print(secrets.token_urlsafe(32))\""
                )
            )
        return None
    if not _SECRET_RE.match(raw) or len(raw) < MIN_WEBHOOK_SECRET:
        raise SettingsError(
            _(
                "TELEGRAM_WEBHOOK_SECRET must be {low} to 256 characters of A-Z, a-z, 0-9, _ "
                "and - (Telegram's rule)"
            ).format(low=MIN_WEBHOOK_SECRET)
        )
    return raw


def _timezone(raw: str | None) -> ZoneInfo:
    name = raw or DEFAULT_TIMEZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            _("BOT_TIMEZONE {value} is not a known time zone (e.g. Asia/Ho_Chi_Minh)").format(
                value=repr(name)
            )
        ) from exc


def _locale(raw: str | None) -> str:
    value = (raw or SUPPORTED_LOCALES[0]).lower()
    if value not in SUPPORTED_LOCALES:
        raise SettingsError(
            _("BOT_LOCALE {value} is not supported (choose one of: {choices})").format(
                value=repr(raw), choices=", ".join(SUPPORTED_LOCALES)
            )
        )
    return value


def _log_level(raw: str | None) -> str:
    value = (raw or "INFO").upper()
    if value not in _LOG_LEVELS:
        raise SettingsError(
            _("LOG_LEVEL {value} is not one of {choices}").format(
                value=repr(raw), choices=", ".join(_LOG_LEVELS)
            )
        )
    return value


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
