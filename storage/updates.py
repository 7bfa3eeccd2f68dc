"""Which Telegram updates were handled already (`ProcessedUpdate`): the check, the record, the
pruning. Nothing here commits; the caller's transaction decides (see `handlers/base.py`)."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta

from sqlalchemy import Insert, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import run_core
from storage.models import ProcessedUpdate, utcnow

# Telegram keeps an unconfirmed update for 24 hours; a day more covers a bot that was down
# when the window closed and a clock that is off.
RETENTION = timedelta(hours=48)
# Old rows are deleted by one update in this many (by its id, so no counter is kept anywhere):
# an indexed range delete now and then instead of a statement on every update.
PRUNE_EVERY = 100
_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}  # the two we support


async def was_processed(session: AsyncSession, update_id: int, now: datetime | None = None) -> bool:
    """Whether `update_id` was handled within `RETENTION`. An older row does not count: after
    a week without updates Telegram picks the next id at random, and a row pruning has not
    reached yet must not swallow it."""
    since = (now or utcnow()) - RETENTION
    found = await session.scalar(
        select(ProcessedUpdate.update_id).where(
            ProcessedUpdate.update_id == update_id, ProcessedUpdate.processed_at >= since
        )
    )
    return found is not None


async def record_processed(session: AsyncSession, update_id: int, now: datetime | None = None) -> bool:
    """Record `update_id` in the session's transaction; False when it is there already
    (within `RETENTION`: an older row is taken over, see `was_processed`).

    ``INSERT ... ON CONFLICT`` rather than a failing insert: on PostgreSQL a concurrent
    transaction that inserted the same id makes this one wait for its outcome (and then
    insert, if it rolled back, or do nothing, if it committed) without aborting the
    transaction, so the caller can roll back cleanly. Every `PRUNE_EVERY`-th id also deletes
    the rows older than `RETENTION`.
    """
    now = now or utcnow()
    statement = _record_statement(session.get_bind().dialect.name)
    result = await run_core(session, statement, {"id": update_id, "now": now, "stale_before": now - RETENTION})
    if result.rowcount != 1:
        return False
    if update_id % PRUNE_EVERY == 0:
        await prune_processed(session, now - RETENTION)
    return True


@functools.cache
def _record_statement(dialect: str) -> Insert:
    """Built once per backend: it runs on every update, and building costs more than running."""
    # On the table, not the mapped class: with parameters, an ORM insert would be a bulk insert.
    statement = _INSERT[dialect](ProcessedUpdate.__table__).values(update_id=bindparam("id"), processed_at=bindparam("now"))
    return statement.on_conflict_do_update(
        index_elements=[ProcessedUpdate.update_id],
        set_={"processed_at": statement.excluded.processed_at},
        where=ProcessedUpdate.__table__.c.processed_at < bindparam("stale_before"),
    )


async def prune_processed(session: AsyncSession, before: datetime) -> int:
    """Forget the updates handled before `before`; returns how many rows went."""
    result = await session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before))
    return result.rowcount or 0
