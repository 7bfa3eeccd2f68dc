"""Scheduled work that has been done: one row per *slot* ("the deadline of phase 12 set for
15/12 17:00", later "the 3-day reminder of that deadline to unit 7"), so a slot runs once.

What is due lives with the data it is about (a phase's ``opens_at`` and ``deadline_at``, a
ballot's deadline); the scheduler (``bot/services/scheduler.py``) reads it from there at every
start and after every change, so nothing is lost when the process stops (PTB's JobQueue keeps
nothing). This table only answers "was that slot handled?": its key is inserted in the same
transaction as the slot's effect, and the primary key lets one instance (and one run) win
when two reach the slot at the same instant. A moved deadline is a new slot (its time is in
the key), so it acts again.
"""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ScheduleRun(Base):
    __tablename__ = "schedule_runs"
    __table_args__ = {"sqlite_with_rowid": False}

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(40))  # "done" | "skipped" | "refused"
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
