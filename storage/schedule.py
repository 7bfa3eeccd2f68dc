"""Queries of the schedule's record of handled slots (``storage/models/schedule.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ScheduleRun

SCHEDULED = "schedule_changed"  # session.info flag: plan the scheduler's next run after this commit


async def claim_slot(session: AsyncSession, key: str, outcome: str, now: datetime) -> bool:
    """Record `key` as handled, in the caller's transaction; False when it already was (by
    another run, or another instance at the same instant: the primary key decides)."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ScheduleRun).values(key=key, outcome=outcome, ran_at=now).on_conflict_do_nothing(index_elements=["key"])
    )
    return bool(result.rowcount)


async def handled(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    return set(await session.scalars(select(ScheduleRun.key).where(ScheduleRun.key.in_(keys))))


def schedule_changed(session: AsyncSession) -> None:
    """Mark the transaction as one that moved a planned time (the scheduler replans after it)."""
    session.info[SCHEDULED] = True
