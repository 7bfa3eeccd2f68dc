"""Schema migrations, callable from the bot without an alembic.ini.

The alembic ``Config`` is built in code, with ``script_location`` taken from this package's
own directory, so an installed bot (a wheel in some venv, any working directory) finds its
migrations. The URL is handed over in ``config.attributes`` rather than as an ini option,
because a password containing ``%`` would otherwise trip configparser's interpolation.

Alembic's env.py drives an async engine with ``asyncio.run``, which cannot run inside a
running event loop. The sync functions here therefore run that work on a helper thread when
the calling thread already has a loop (blocking the caller until done); inside the bot use
``upgrade_async``, which does not block the loop.
"""

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import install_sqlite_pragmas, is_sqlite_url, sqlite_file_of
from storage.models.base import ExactDecimal, UTCDateTime

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")


def alembic_config(url: str) -> Config:
    """An alembic Config for ``url`` that needs no ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    config.attributes["skip_logging_config"] = True
    return config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types as plain SQLAlchemy types in migration files, so a migration
    never imports application code that may change after it was written."""
    if type_ == "type":
        if isinstance(obj, ExactDecimal):
            return f"sa.Numeric(precision={obj.precision}, scale={obj.scale})"
        if isinstance(obj, UTCDateTime):
            return "sa.DateTime(timezone=True)"
    return False


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "no migrations found"
    return head


def call_off_loop(fn: Callable[[], T]) -> T:
    """Run ``fn`` here, or on a helper thread if this thread is running an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="thidua-migrate")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _run(coro_fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return call_off_loop(lambda: asyncio.run(coro_fn()))


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision``; a no-op when it is already there."""
    call_off_loop(lambda: command.upgrade(alembic_config(url), revision))


def downgrade(url: str, revision: str) -> None:
    """Take the schema down to ``revision`` (``"base"`` drops every table)."""
    call_off_loop(lambda: command.downgrade(alembic_config(url), revision))


async def upgrade_async(url: str) -> None:
    """``upgrade(url)`` for callers inside a running event loop (the bot's start-up)."""
    await asyncio.to_thread(upgrade, url)


async def _with_sync_connection(url: str, fn: Callable[[Any], T]) -> T:
    engine = create_async_engine(url, poolclass=NullPool)
    if is_sqlite_url(url):
        install_sqlite_pragmas(engine.sync_engine)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None when it was never migrated."""

    path = sqlite_file_of(url) if is_sqlite_url(url) else None
    if path is not None and not path.exists():
        return None  # asking must not create the file

    def read(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    return _run(lambda: _with_sync_connection(url, read))


def check_models_match(url: str) -> list[Any]:
    """Differences between the models and the schema at ``url`` (empty when they agree).

    Run it on a database upgraded to head: a non-empty list means someone changed a model
    without writing the migration (or the reverse). Items are alembic's diff tuples. Alembic
    does not compare CHECK constraints or table options such as ``WITHOUT ROWID``; tests check
    those separately.
    """
    from storage.models import Base

    def compare(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(
            sync_conn,
            opts={
                "compare_type": True,
                "render_item": render_item,
                "target_metadata": Base.metadata,
            },
        )
        return list(compare_metadata(context, Base.metadata))

    return _run(lambda: _with_sync_connection(url, compare))
