"""Queries of muted reminders (``storage/models/reminder.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ReminderMute


async def mute(session: AsyncSession, person_id: int, phase_id: int, now: datetime) -> bool:
    """Record the mute; False when it was recorded already (a second tap, two at once)."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(ReminderMute).values(person_id=person_id, phase_id=phase_id, muted_at=now)
        .on_conflict_do_nothing(index_elements=["person_id", "phase_id"])
    )  # fmt: skip
    return bool(result.rowcount)


async def unmute(session: AsyncSession, person_id: int, phase_id: int) -> bool:
    result = await session.execute(
        delete(ReminderMute).where(ReminderMute.person_id == person_id, ReminderMute.phase_id == phase_id)
    )
    return bool(result.rowcount)


async def muted(session: AsyncSession, phase_id: int) -> set[int]:
    """The people who muted the reminders of this phase."""
    return set(await session.scalars(select(ReminderMute.person_id).where(ReminderMute.phase_id == phase_id)))
