"""The year's counted results (issue 11): one row per `/tally`, never changed afterwards.

A count is a pure function of stored data (`bot.tally.year_result`); the row keeps what it
gave, as canonical JSON (`bot.tally.result_record`), with the SHA-256 of its inputs (each
ballot board's hash among them), who counted and when. A later count is a new row with the
next number: `/result` shows the newest, and a new count says what changed from the one before.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class TallyResult(Base):
    __tablename__ = "tally_results"
    __table_args__ = (UniqueConstraint("year_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"), index=True)
    number: Mapped[int]  # 1 for the year's first count, then 2, 3...
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)
    counted_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    counted_by: Mapped[str] = mapped_column(String(300))  # the name as Telegram gave it
    inputs_sha256: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)  # bot.tally.result_record
