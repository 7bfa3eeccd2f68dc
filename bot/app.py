"""Wiring: build the PTB `Application` from settings. Reads like a table of contents."""

from __future__ import annotations

import functools
import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from bot.commands import GROUP, PRIVATE, menu
from bot.i18n import SUPPORTED_LOCALES, _, set_fallback_locale, use_locale
from bot.services.notify import set_bot_username
from bot.services.outbox import OutboxRateLimiter, OutboxSender
from bot.services.scheduler import Scheduler
from bot.settings import Settings
from bot.update_processor import KeyedUpdateProcessor
from handlers import register_all
from handlers.base import BotContext
from storage.db import Database

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    db: Database,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limit: bool = True,
) -> Application:
    """The bot as it runs in production; tests and the demo pass the offline harness's requests.

    `rate_limit=False` drops Telegram's flood limits (30 messages/s, 20/min into a group); only
    `bench/` uses it, to measure the bot's own work rather than the limiter's waiting.
    """
    builder = (
        ApplicationBuilder()
        .token(token or settings.telegram_bot_token or "")
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=settings.timezone,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=BotContext))
        # Chats and people concurrently, each one's updates in order (bot/update_processor.py).
        .concurrent_updates(KeyedUpdateProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        builder = builder.rate_limiter(OutboxRateLimiter(max_retries=2))
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    set_fallback_locale(settings.locale)
    app.bot_data["settings"] = settings
    app.bot_data["db"] = db
    app.bot_data["outbox"] = OutboxSender(app)
    app.bot_data["scheduler"] = Scheduler(app)
    app.bot_data["clock_moved"] = functools.partial(due_work, app)
    register_all(app)
    return app


async def post_init(app: Application) -> None:
    set_bot_username(app.bot.username)
    await publish_commands(app)
    app.bot_data["outbox"].start()  # the outbox's sender (bot/services/outbox.py)
    app.bot_data["scheduler"].start()  # planned openings and deadlines (bot/services/scheduler.py)


async def due_work(app: Application) -> None:
    """Do now what is due now: the schedule's slots, then the outbox. The offline harness and
    the demo call it after moving the clock, instead of waiting for the timers."""
    await app.bot_data["scheduler"].run()
    await app.bot_data["outbox"].drain()


async def post_shutdown(app: Application) -> None:
    db: Database = app.bot_data["db"]
    await db.dispose()


async def publish_commands(app: Application) -> None:
    """Telegram's command menus, per chat kind, in each language (the default is BOT_LOCALE)."""
    settings: Settings = app.bot_data["settings"]
    scopes = ((PRIVATE, BotCommandScopeAllPrivateChats()), (GROUP, BotCommandScopeAllGroupChats()))
    for where, scope in scopes:
        for language in (None, *SUPPORTED_LOCALES):
            with use_locale(language or settings.locale):
                commands = [BotCommand(c.name, _(c.description)) for c in menu(where)]
            await app.bot.set_my_commands(commands, scope=scope, language_code=language)
