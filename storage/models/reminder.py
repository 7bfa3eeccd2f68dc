"""Who muted the reminders of which phase (issue 12): one row per person and phase.

A representative presses "🔕" on a reminder and hears no more reminders of that phase of that
year — neither the scheduled ones nor the chair's "remind now" — until they press "🔔" again
(the row deleted). A new phase (or next year's) is a new phase row, so a mute never outlives
its phase. The phase's row going (a year deleted) takes its mutes with it.
"""

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ReminderMute(Base):
    __tablename__ = "reminder_mutes"
    __table_args__ = {"sqlite_with_rowid": False}

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True, index=True)
    muted_at: Mapped[datetime] = mapped_column(default=utcnow)
