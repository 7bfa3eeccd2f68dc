"""What every measurement shares: a database to run on, the real Application behind the
offline harness, and a harness that times and counts each update it feeds in.

`MeasuredTelegram` is the offline harness (`bot.offline.OfflineTelegram`) with its one feeding
point wrapped: every update a simulated person sends goes through `_feed`, which here records
the update's kind, how long the app took with it (until its background tasks finished too) and
how many SQL statements ran meanwhile. The harness feeds one update at a time (each `send` or
`press` waits for its update), so a statement belongs to the update being handled; what runs
between updates (the outbox's sender, the scheduler) is counted apart, as `between`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from sqlalchemy import event, text
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.offline import OfflineTelegram
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_async

BOT = "ThiDuaBot"


def kind_of(update: dict) -> str:
    """The update's type as the tables name it: a command (`/start` and `/start <link>` apart),
    a button's namespace, typed text, a document or photo, a membership change."""
    if "callback_query" in update:
        data = update["callback_query"].get("data") or ""
        return "button " + data.split(":", 1)[0]
    if "my_chat_member" in update:
        return "my_chat_member"
    message = update.get("message") or update.get("edited_message") or {}
    if "document" in message:
        return "document"
    if "photo" in message:
        return "photo"
    words = (message.get("text") or "").split()
    if not words:
        return "service message"
    if words[0].startswith("/"):
        name = words[0].split("@", 1)[0]
        return f"{name} <arg>" if len(words) > 1 else name
    return "typed text"


@dataclass
class Feed:
    """What the harness fed in: per update kind, the latencies (s) and SQL statement counts."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    handled: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # the handler alone
    statements: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    between: int = 0  # statements run while no update was being handled
    payloads: list[dict] = field(default_factory=list)  # the updates, to replay into the echo bot

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.latency.values())


class MeasuredTelegram(OfflineTelegram):
    """The offline harness, timing and counting every update it feeds to the app."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.feed = Feed()
        self._current: list[int] | None = None  # the running update's statement counter

    def count_statements(self, db: Database) -> None:
        def counted(conn, cursor, statement, parameters, context, executemany) -> None:
            if self._current is not None:
                self._current[0] += 1
            else:
                self.feed.between += 1

        event.listen(db.engine.sync_engine, "before_cursor_execute", counted)

    async def _feed(self, update: dict, copies: int) -> None:
        kind = kind_of(update)
        self.feed.payloads.append({k: v for k, v in update.items() if k != "update_id"})
        self._current = counter = [0]
        started = time.perf_counter()
        try:
            await self._feed_timed(update, copies, kind)
        finally:
            self.feed.latency[kind].append(time.perf_counter() - started)
            self.feed.statements[kind].append(counter[0])
            self._current = None

    async def _feed_timed(self, update: dict, copies: int, kind: str) -> None:
        """`OfflineTelegram._feed` (one copy), with the moment the handler returned noted
        apart from the moment its background tasks (a count's papers) finished."""
        if copies != 1:
            await super()._feed(update, copies)
            return
        app = self.app
        started = time.perf_counter()
        before = set(self._app_tasks())
        first = Update.de_json(json.loads(json.dumps(update)), app.bot)
        await app.update_processor.process_update(first, app.process_update(first))
        self.feed.handled[kind].append(time.perf_counter() - started)
        deadline = asyncio.get_running_loop().time() + 600
        while pending := {t for t in set(self._app_tasks()) - before if not t.done()}:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining)


@contextlib.contextmanager
def database_url(postgres: str | None) -> Iterator[str]:
    """A fresh database for one measurement: a new SQLite file, or PostgreSQL's `public`
    schema dropped and made again (so `postgres` must name a scratch database)."""
    if postgres:
        yield postgres
        return
    with tempfile.TemporaryDirectory(prefix="thidua-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{os.path.join(tmp, 'bench.sqlite3')}"


async def fresh_database(url: str) -> Database:
    if url.startswith("postgresql"):
        scratch = Database(url)
        async with scratch.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await scratch.dispose()
    await upgrade_async(url)
    return Database(url)


def build_bot(url: str, db: Database, tg: OfflineTelegram, rate_limit: bool) -> Application:
    settings = Settings.from_env({"DATABASE_URL": url}, dotenv=None)
    return build_application(settings, db, token=tg.token, request=tg.make_request(),
                             get_updates_request=tg.make_request(), rate_limit=rate_limit)  # fmt: skip


@contextlib.asynccontextmanager
async def running_bot(url: str, rate_limit: bool = False,
                      schedules: bool = True) -> AsyncIterator[tuple[MeasuredTelegram, Database]]:  # fmt: skip
    """The real bot on a fresh database, behind a measuring harness; fails on any error a
    handler raised or any call Telegram would have refused (a benchmark of a broken run
    measures nothing). `schedules=False` stops the clock the scheduler reads at a time before
    anything, so a section that runs a scheduled round itself (the digests) is not raced by
    the app's own run of it."""
    db = await fresh_database(url)
    tg = MeasuredTelegram(bot_username=BOT, bot_first_name="ThiĐua Bot")
    app = build_bot(url, db, tg, rate_limit)
    if not schedules:
        app.bot_data["scheduler"].clock = lambda: dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    tg.count_statements(db)
    async with tg.running(app):
        yield tg, db
    problems = [repr(e) for e in tg.errors] + [f"{m}: {d}" for m, d in tg.rejections]
    if problems:
        raise RuntimeError("the bot failed during the benchmark: " + "; ".join(problems[:5]))
