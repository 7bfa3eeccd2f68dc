"""Throwaway databases for tests, shared by every test module that needs storage.

Tests use a SQLite *file* (not ``:memory:``), because WAL, foreign keys, WITHOUT ROWID and
a second connection seeing committed data are what production relies on. Set
``THIDUA_TEST_DATABASE_URL=postgresql+asyncpg://...`` to run the same tests on PostgreSQL;
that database is wiped (schema ``public`` dropped and recreated) before every test, so never
point it at data you want to keep. Tests on one PostgreSQL database cannot run in parallel.
"""

import asyncio
import os
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database, is_sqlite_url
from storage.migrate import call_off_loop, upgrade_async

TEST_DATABASE_URL_ENV = "THIDUA_TEST_DATABASE_URL"


def external_test_url() -> str | None:
    """The server database to test against, if one is configured."""
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


async def wipe_database_async(url: str) -> None:
    """Empty a PostgreSQL test database (SQLite test files are simply new files)."""
    if is_sqlite_url(url):
        raise ValueError("wipe_database is for server databases; use a fresh SQLite file")
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def throwaway_database_url(tmp_path: Path, name: str = "test.sqlite3") -> str:
    """An empty database: the configured server database, wiped, else a new SQLite file."""
    url = external_test_url()
    if url is not None:
        call_off_loop(lambda: asyncio.run(wipe_database_async(url)))
        return url
    return f"sqlite+aiosqlite:///{(tmp_path / name).resolve().as_posix()}"


async def open_migrated_database(tmp_path: Path) -> Database:
    """A ``Database`` on an empty database upgraded to head. The caller disposes it."""
    url = external_test_url()
    if url is not None:
        await wipe_database_async(url)
    else:
        url = throwaway_database_url(tmp_path)
    await upgrade_async(url)
    return Database(url)
