"""The scoring table (*bảng chấm điểm*) and the score sheets checked against it.

The arithmetic lives in the rule layer; storage only guarantees it gets exact decimals back.
Conventions the rule layer relies on:

- ``Criterion.max_points`` is a non-negative magnitude for every kind. A deduction's points
  are *subtracted* (total = Σ normal + min(Σ bonus, cap) − Σ deductions), so a "−2 per late
  report" criterion is stored as kind ``deduction`` with ``max_points = 2``, never as −2.
- A criterion's final value is ``decided_value`` (after an explanation was ruled on), else
  ``verified_value``, else ``self_value``. The three are kept side by side on the entry so the
  minutes can show all of them; ``Adjustment`` rows keep the history and the reasons.
"""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum, utcnow


class CriterionKind(enum.StrEnum):
    NORMAL = "normal"
    BONUS = "bonus"
    DEDUCTION = "deduction"


class ScoreRound(enum.StrEnum):
    """The mid-year review is an optional, unvoted scoring round; the year-end one is voted."""

    MIDYEAR = "midyear"
    YEAREND = "yearend"


class SheetStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    VERIFIED = "verified"


class EvidenceKind(enum.StrEnum):
    DOCUMENT = "document"
    PHOTO = "photo"


class ScoringTable(Base):
    """One table per year. ``locked_at`` is set when the table was adopted at signing; after
    that the criteria must not change, since sheets already point at them."""

    __tablename__ = "scoring_tables"

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"), unique=True)
    normal_total: Mapped[Decimal]
    bonus_cap: Mapped[Decimal] = mapped_column(default=Decimal(0))
    locked_at: Mapped[datetime | None]

    criteria: Mapped[list["Criterion"]] = relationship(
        order_by="(Criterion.position, Criterion.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class Criterion(Base):
    """A line of the table (*tiêu chí*), grouped under ``group_name`` (*nhóm tiêu chí*)."""

    __tablename__ = "criteria"
    __table_args__ = (
        UniqueConstraint("table_id", "code"),
        CheckConstraint("max_points >= 0", name="max_points_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    table_id: Mapped[int] = mapped_column(ForeignKey("scoring_tables.id", ondelete="CASCADE"))
    group_name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(1000))
    max_points: Mapped[Decimal]
    kind: Mapped[CriterionKind] = mapped_column(
        str_enum(CriterionKind, "criterion_kind"), default=CriterionKind.NORMAL
    )
    position: Mapped[int] = mapped_column(default=0)


class ScoreSheet(Base):
    """A unit's sheet for one round (*tự chấm điểm*).

    ``version`` is SQLAlchemy's ``version_id_col``: every ORM UPDATE of the row checks and
    bumps it, so two people editing one sheet cannot silently overwrite each other (the loser
    gets ``StaleDataError``). Editing only entries does not touch the sheet row; set
    ``updated_at`` on the sheet when entries change so the version moves too. A button that
    carries the version it was rendered with can compare it before acting.
    """

    __tablename__ = "score_sheets"
    __table_args__ = (UniqueConstraint("year_id", "unit_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    round: Mapped[ScoreRound] = mapped_column(
        str_enum(ScoreRound, "score_round"), default=ScoreRound.YEAREND
    )
    status: Mapped[SheetStatus] = mapped_column(
        str_enum(SheetStatus, "sheet_status"), default=SheetStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)
    verifier_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    submitted_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reopened_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    entries: Mapped[list["ScoreEntry"]] = relationship(
        back_populates="sheet",
        order_by="ScoreEntry.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )

    __mapper_args__ = {"version_id_col": version}


class ScoreEntry(Base):
    """The values for one criterion on one sheet (see module docstring for which counts)."""

    __tablename__ = "score_entries"
    __table_args__ = (UniqueConstraint("sheet_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("score_sheets.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criteria.id"), index=True)
    self_value: Mapped[Decimal | None]
    verified_value: Mapped[Decimal | None]
    decided_value: Mapped[Decimal | None]
    note: Mapped[str | None] = mapped_column(String(1000))

    sheet: Mapped[ScoreSheet] = relationship(back_populates="entries", lazy="raise_on_sql")
    # Joined into the query that loads the entries (a sheet is then two statements, not four):
    # an entry has a handful of files and adjustments at most.
    evidence: Mapped[list["Evidence"]] = relationship(
        order_by="Evidence.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="joined",
    )
    adjustments: Mapped[list["Adjustment"]] = relationship(
        order_by="Adjustment.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="joined",
    )


class Evidence(Base):
    """A file sent in Telegram as proof for an entry. Only Telegram's ids are kept: the bot
    can resend the file by ``telegram_file_id`` without storing it. ``file_unique_id`` is
    stable across bots and is what detects the same file sent twice."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("score_entries.id", ondelete="CASCADE"), index=True
    )
    telegram_file_id: Mapped[str] = mapped_column(String(256))
    file_unique_id: Mapped[str] = mapped_column(String(128), index=True)
    file_name: Mapped[str | None] = mapped_column(String(300))
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    mime_type: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[EvidenceKind] = mapped_column(
        str_enum(EvidenceKind, "evidence_kind"), default=EvidenceKind.DOCUMENT
    )
    added_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class Adjustment(Base):
    """A verifier's change to an entry, with its mandatory reason, and the dispute that may
    follow: the unit's explanation (*giải trình*) and the decision on it.

    The reason is required by the database (not just the form) because a change of score
    without a reason is what a verification must never produce.
    """

    __tablename__ = "adjustments"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_required"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(
        ForeignKey("score_entries.id", ondelete="CASCADE"), index=True
    )
    verifier_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    from_value: Mapped[Decimal | None]
    to_value: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[datetime | None]
    explained_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_value: Mapped[Decimal | None]
    decided_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None]
