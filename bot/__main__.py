"""`python -m bot` / `thidua-bot`: run the bot, the offline demo, the migrations, or a health check.

With no sub-command it runs the bot when TELEGRAM_BOT_TOKEN is set and the offline demo when
it is not, so the README's first command shows something useful on a fresh machine. The bot
long-polls, or serves webhooks when TELEGRAM_WEBHOOK_URL is set (`run_bot`). Every
failure an operator can cause (a bad setting, an unreachable API or database) ends in one clear
line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import logging
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.i18n import _, compile_all, set_locale
from bot.settings import Settings, SettingsError, configure_logging

EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def fail(message: str, code: int) -> int:
    print(f"thidua-bot: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="thidua-bot",
        description="ThiĐua Bot — Telegram bot for emulation clusters (Cụm thi đua).",
    )
    parser.add_argument(
        "command",
        nargs="?",
        choices=("run", "demo", "migrate", "health"),
        help="run: the bot (long polling, or webhooks when TELEGRAM_WEBHOOK_URL is set); demo: "
        "the offline demo; migrate: update the database; health: exit 0 when the database is "
        "migrated and (webhook mode) the webhook port answers. "
        "Default: run when TELEGRAM_BOT_TOKEN is set, else demo.",
    )
    parser.add_argument(
        "--papers", default="demo-papers", metavar="FOLDER",
        help="demo: where to write the files the chair receives (default: demo-papers)",
    )
    args = parser.parse_args(argv)
    compile_all()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        return fail(str(exc), EXIT_CONFIG)
    set_locale(settings.locale)
    configure_logging(settings)

    command = args.command or ("run" if settings.telegram_bot_token else "demo")
    try:
        if command == "migrate":
            from storage.migrate import upgrade

            upgrade(settings.database_url)
            print(_("Database is up to date: {url}").format(url=safe_url(settings.database_url)))
            return 0
        if command == "health":
            return health(settings)
        if command == "demo":
            from bot.demo import run_demo

            if settings.log_level == "INFO":  # the transcript is the output; keep stderr quiet
                for name in ("telegram", "apscheduler"):
                    logging.getLogger(name).setLevel(logging.WARNING)

            ok = asyncio.run(run_demo(settings, papers=Path(args.papers).resolve()))
            if not settings.telegram_bot_token:
                print(
                    _(
                        "To run the bot for real: set TELEGRAM_BOT_TOKEN (from @BotFather) "
                        "and run `python -m bot` again."
                    )
                )
            return 0 if ok else EXIT_RUNTIME
        if not settings.telegram_bot_token:
            return fail(_("TELEGRAM_BOT_TOKEN is not set; get one from @BotFather."), EXIT_CONFIG)
        return run_bot(settings)
    except SQLAlchemyError as exc:
        return fail(
            _("cannot use the database {url}: {error}").format(
                url=safe_url(settings.database_url), error=first_line(exc)
            ),
            EXIT_RUNTIME,
        )


def run_bot(settings: Settings) -> int:
    from bot.app import build_application
    from storage.db import Database
    from storage.migrate import upgrade

    upgrade(settings.database_url)
    db = Database(settings.database_url)
    app = build_application(settings, db)
    log = logging.getLogger("thidua")
    try:
        # PTB's own start-up logs a traceback when it cannot connect; ask getMe first, quietly.
        asyncio.run(preflight(app))
        if settings.uses_webhook:
            # setWebhook (the URL, the secret, every update kind) at start; PTB's server answers
            # 403 to a request without the secret and never hands it to a handler. Stopping does
            # not delete the webhook: the other instances behind the URL keep receiving.
            log.info("serving webhooks on %s:%d%s for %s", settings.webhook_listen,
                     settings.webhook_port, settings.webhook_path, settings.telegram_webhook_url)  # fmt: skip
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.telegram_webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            # PTB deletes a webhook left over from webhook mode before it polls (getUpdates is
            # refused while one is set); the pending updates are kept.
            log.info("starting long polling against %s", settings.telegram_api_url)
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        return fail(_("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather."), EXIT_CONFIG)
    except NetworkError as exc:
        return fail(
            _("cannot reach the Telegram Bot API at {url}: {error}").format(
                url=settings.telegram_api_url, error=first_line(exc)
            ),
            EXIT_RUNTIME,
        )
    except OSError as exc:  # the webhook port is taken, or the address is not this machine's
        return fail(
            _("cannot listen for webhooks on {address}:{port}: {error}").format(
                address=settings.webhook_listen, port=settings.webhook_port, error=first_line(exc)
            ),
            EXIT_RUNTIME,
        )
    return 0


def health(settings: Settings) -> int:
    """For a container's HEALTHCHECK: the database answers and is at this code's schema, and in
    webhook mode this machine's webhook server answers HTTP (PTB's refuses a GET with 405,
    which is an answer: it serves). Polling mode has no port to ask; the database is checked."""
    from storage.migrate import current_revision, head_revision

    revision = current_revision(settings.database_url)  # never creates a missing SQLite file
    if revision != head_revision():
        return fail(
            _("unhealthy: the database {url} is at revision {revision}, not {head}").format(
                url=safe_url(settings.database_url), revision=revision, head=head_revision()
            ),
            EXIT_RUNTIME,
        )
    if settings.uses_webhook:
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.webhook_listen,
                                                          settings.webhook_listen)  # fmt: skip
        try:
            connection = http.client.HTTPConnection(host, settings.webhook_port, timeout=5)
            try:
                connection.request("GET", settings.webhook_path)
                connection.getresponse().read()
            finally:
                connection.close()
        except OSError as exc:
            return fail(
                _("unhealthy: the webhook server on {address}:{port} does not answer: {error}")
                .format(address=host, port=settings.webhook_port, error=first_line(exc)),
                EXIT_RUNTIME,
            )
    print(_("healthy"))
    return 0


async def preflight(app) -> None:
    """One getMe: proves the server answers and accepts the token before polling starts."""
    try:
        await app.bot.initialize()
    finally:
        await app.bot.shutdown()


def safe_url(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


if __name__ == "__main__":
    sys.exit(main())
