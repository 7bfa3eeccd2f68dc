"""The emulation year (*năm thi đua*), its phases, and chair handovers.

``PhaseKind`` is the one ordered list of phases; the rule layer imports it from here. Its
members are strings (they are stored as such), but ``<``/``>`` between two members compare
their place in the year, not the alphabet: ``PhaseKind.CLOSED > PhaseKind.VOTING``.
"""

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum, utcnow


class PhaseKind(enum.StrEnum):
    """Phases of the year, declared in the order they happen."""

    REGISTRATION = "registration"
    SIGNING = "signing"
    SCORING = "scoring"
    VERIFICATION = "verification"
    VOTING = "voting"
    RESULTS = "results"
    CLOSED = "closed"

    @property
    def rank(self) -> int:
        """0-based place in the year."""
        return _PHASE_ORDER.index(self)

    @property
    def next(self) -> "PhaseKind | None":
        """The phase that follows, or None after the last one."""
        rank = self.rank
        return _PHASE_ORDER[rank + 1] if rank + 1 < len(_PHASE_ORDER) else None

    @classmethod
    def ordered(cls) -> tuple["PhaseKind", ...]:
        return _PHASE_ORDER

    # str's own comparisons would order phases alphabetically ("closed" < "registration"),
    # which is never what a caller comparing phases means.
    def __lt__(self, other: object) -> bool:
        if isinstance(other, PhaseKind):
            return self.rank < other.rank
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, PhaseKind):
            return self.rank <= other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, PhaseKind):
            return self.rank > other.rank
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, PhaseKind):
            return self.rank >= other.rank
        return NotImplemented


_PHASE_ORDER: tuple[PhaseKind, ...] = tuple(PhaseKind)


class Office(enum.StrEnum):
    """The two offices a unit can hold for a year."""

    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"


class EmulationYear(Base):
    """One cluster's year. The chair and vice-chair are units, set per year: they rotate,
    and who was chair in 2021 must stay answerable after 2024's handover."""

    __tablename__ = "emulation_years"
    __table_args__ = (
        UniqueConstraint("cluster_id", "year"),
        CheckConstraint(
            "vice_chair_unit_id IS NULL OR vice_chair_unit_id <> chair_unit_id",
            name="chair_is_not_vice_chair",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    year: Mapped[int]
    chair_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    vice_chair_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    phases: Mapped[list["Phase"]] = relationship(
        back_populates="year",
        order_by="Phase.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class ChairHandover(Base):
    """*Bàn giao*: the record that an office moved from one unit to another in a year.
    ``from_unit_id`` is NULL for the first chair the bot knows of."""

    __tablename__ = "chair_handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"), index=True)
    office: Mapped[Office] = mapped_column(str_enum(Office, "office"), default=Office.CHAIR)
    from_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    to_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Phase(Base):
    """A phase of a year: planned (``opens_at``, ``deadline_at``, in UTC) and actual
    (``opened_at``, ``closed_at``). A phase is open when opened and not yet closed."""

    __tablename__ = "phases"
    __table_args__ = (UniqueConstraint("year_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id", ondelete="CASCADE"))
    kind: Mapped[PhaseKind] = mapped_column(str_enum(PhaseKind, "phase_kind"))
    opens_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    year: Mapped[EmulationYear] = relationship(back_populates="phases", lazy="raise_on_sql")
