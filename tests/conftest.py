"""Shared fixtures: a real database file, the real Application, the offline Telegram harness.

Set THIDUA_TEST_DATABASE_URL=postgresql+asyncpg://... to run the same tests on PostgreSQL; each
test then starts from an empty schema.
"""

from __future__ import annotations

import os

import pytest

from bot.app import build_application
from bot.offline import OfflineTelegram
from bot.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_async
from storage.models import CLOCK

BOT_USERNAME = "ThiDuaBot"


@pytest.fixture(autouse=True)
def system_time():
    """Every test starts on the system clock, whatever the one before moved it to."""
    CLOCK.reset()
    yield
    CLOCK.reset()


@pytest.fixture
def database_url(tmp_path) -> str:
    return os.environ.get("THIDUA_TEST_DATABASE_URL") or (
        f"sqlite+aiosqlite:///{tmp_path / 'thidua-test.sqlite3'}"
    )


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings.from_env({"DATABASE_URL": database_url}, dotenv=None)


@pytest.fixture
async def db(settings):
    await _reset_schema(settings.database_url)
    await upgrade_async(settings.database_url)
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def _reset_schema(url: str) -> None:
    """PostgreSQL keeps its data between tests; SQLite files are new for each test."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    database = Database(url)
    async with database.engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await database.dispose()


def make_app(settings: Settings, db: Database, tg: OfflineTelegram):
    return build_application(
        settings, db, token=tg.token, request=tg.make_request(), get_updates_request=tg.make_request()
    )


@pytest.fixture
async def tg(settings, db):
    """A running bot behind the offline harness; fails the test on any refused call or error."""
    harness = OfflineTelegram(bot_username=BOT_USERNAME, bot_first_name="ThiĐua Bot")
    app = make_app(settings, db, harness)
    async with harness.running(app):
        yield harness
    assert harness.rejections == [], f"Telegram would have refused: {harness.rejections}"
    assert harness.errors == [], f"handlers raised: {harness.errors!r}"


@pytest.fixture
async def unthrottled(settings, db):
    """The bot without PTB's rate limiter: 30 turnout edits into one group would otherwise wait
    for Telegram's 20/min, which is the limiter's job and not what this test is about."""
    harness = OfflineTelegram(bot_username=BOT_USERNAME, bot_first_name="ThiĐua Bot")
    app = build_application(settings, db, token=harness.token, request=harness.make_request(),
                            get_updates_request=harness.make_request(), rate_limit=False)  # fmt: skip
    async with harness.running(app):
        yield harness
    assert harness.rejections == [] and harness.errors == []
