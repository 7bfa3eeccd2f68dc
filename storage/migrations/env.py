"""Alembic environment, shared by the bot (``storage.migrate``) and developers (``alembic``).

The URL comes from ``config.attributes["url"]`` (set by ``storage.migrate``), else
``-x url=...`` on the command line, else ``sqlalchemy.url`` in alembic.ini.

Runs through an async engine (the only drivers the project installs are async) with
``connection.run_sync``. On SQLite: batch mode, because SQLite can barely ALTER a table; the
whole upgrade in one transaction (SQLite has transactional DDL once the driver stops managing
transactions, see ``storage.db``), so a failed migration leaves the file as it was; foreign
keys off while tables are rebuilt and checked with ``PRAGMA foreign_key_check`` before commit.
Several instances starting at once migrate one at a time (an advisory lock on PostgreSQL).
"""

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import install_sqlite_pragmas, is_sqlite_url, json_dumps, sqlite_file_of
from storage.migrate import render_item
from storage.models import Base

config = context.config
target_metadata = Base.metadata

# Only configure logging from a real alembic.ini; when the bot migrates at start-up the
# bot's own logging must stay as it is.
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set sqlalchemy.url")
    return url


def _configure_options(is_sqlite: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "target_metadata": target_metadata,
        "compare_type": True,
        "render_item": render_item,
        "render_as_batch": is_sqlite,
    }
    if is_sqlite:
        options["transactional_ddl"] = True
    return options


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **_configure_options(is_sqlite_url(url)),
    )
    with context.begin_transaction():
        context.run_migrations()


# Any constant both instances agree on: the key of PostgreSQL's advisory lock that makes
# instances starting together migrate one after the other (SQLite: BEGIN IMMEDIATE does it).
MIGRATION_LOCK = 0x7468_6475  # "thdu"


def _do_run_migrations(connection: Any, is_sqlite: bool) -> None:
    context.configure(connection=connection, **_configure_options(is_sqlite))
    with context.begin_transaction():
        if not is_sqlite:  # held to the commit; the next instance then finds the schema at head
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()
        if is_sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left broken foreign keys: {broken[:10]}")


async def run_migrations_online() -> None:
    url = _url()
    is_sqlite = is_sqlite_url(url)
    if is_sqlite:
        path = sqlite_file_of(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, poolclass=NullPool, json_serializer=json_dumps)
    if is_sqlite:
        install_sqlite_pragmas(engine.sync_engine, foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_do_run_migrations, is_sqlite)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
