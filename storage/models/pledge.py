"""The pledge (*đăng ký / giao ước thi đua*) a unit registers and signs for the year.

Life cycle: draft → submitted → (returned → submitted)* → accepted → signed. After signing the
pledge may still be amended at a meeting; each amendment stores the whole previous content as
a ``PledgeRevision`` snapshot, so what was signed stays provable.
"""

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, ExactDecimal, str_enum, utcnow


class PledgeStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"
    SIGNED = "signed"


class Pledge(Base):
    """One unit's pledge for one year.

    ``version`` is SQLAlchemy's ``version_id_col``: each ORM UPDATE of this row checks it and
    adds one, so a secretariat returning the pledge while the representative edits it cannot
    both win (the second flush raises ``StaleDataError``). Item edits do not touch this row by
    themselves: set ``updated_at``/``updated_by_person_id`` whenever items change so the
    version moves as well. Callback buttons can carry the version they were drawn with.
    """

    __tablename__ = "pledges"
    __table_args__ = (UniqueConstraint("year_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[PledgeStatus] = mapped_column(
        str_enum(PledgeStatus, "pledge_status"), default=PledgeStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    signed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))

    items: Mapped[list["PledgeItem"]] = relationship(
        order_by="(PledgeItem.position, PledgeItem.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )
    revisions: Mapped[list["PledgeRevision"]] = relationship(
        order_by="PledgeRevision.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )

    __mapper_args__ = {"version_id_col": version}


class PledgeItem(Base):
    """One commitment: a text and, when it is measurable, a target (``120`` ``"hội viên"``)."""

    __tablename__ = "pledge_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(String(1000))
    # A target is a quantity, not points: wider, and with room for a fraction like 0.125.
    target_value: Mapped[Decimal | None] = mapped_column(ExactDecimal(14, 4))
    target_unit: Mapped[str | None] = mapped_column(String(64))


class PledgeRevision(Base):
    """The content of a signed pledge before an amendment: items as JSON, plus why and who.

    The snapshot is JSON so later schema changes to items cannot rewrite history; Decimal
    values are written as strings by the engine's JSON serializer (see ``storage.db``).
    """

    __tablename__ = "pledge_revisions"
    __table_args__ = (UniqueConstraint("pledge_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledges.id", ondelete="CASCADE"))
    number: Mapped[int]
    snapshot: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
