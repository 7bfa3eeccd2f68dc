"""Secret ballots (*bỏ phiếu kín*): the ballot, its candidates, the register and the papers.

Secrecy is a property of the schema, not a promise of the code. The register and the papers
are kept apart, and nothing stored may link a voting unit to what it marked:

- ``VoterRegister`` says *who* has voted (needed for quorum, for refusing a second vote and
  for the minutes' "ballots issued / received"). It names the unit and has timestamps.
- ``BallotPaper`` is the paper in the box. It has a random UUID4 key, the ballot it belongs
  to, and nothing else: no unit, no person, no timestamp, no autoincrement id. An
  autoincrementing key or a ``created_at`` would number or date each paper, and lining that up
  with the register's ``cast_at`` would open every ballot.
- ``BallotMark`` is one marked candidate on a paper (a paper with no marks is an abstention).
  It too has a random key and no time, so the marks cannot be ordered either.
- On SQLite both tables are ``WITHOUT ROWID``: an ordinary SQLite table is stored in order of
  a hidden, increasing ``rowid`` (the insertion order) even when the declared key is random;
  without a rowid the B-tree is ordered by the random key, so a row's place in the file says
  nothing about when it was written.

What the schema alone cannot hide, for whoever writes the casting and closing code:

1. Write the register row, the paper and its marks in ONE transaction, so a unit is counted
   as having voted exactly when its paper exists, and never log the marks (engine
   ``hide_parameters`` is on in ``storage.db``; keep ``echo`` off in production, and keep
   choices out of ``AuditLog`` and application logs).
2. SQLite still keeps some write history outside the rows' order: the WAL file holds page
   images in commit order until it is checkpointed and overwritten, and inside a B-tree page
   new cell bodies are placed below earlier ones until the page is rebuilt. After a ballot
   closes, call ``Database.scrub_write_history()`` (``VACUUM`` rewrites every page in key
   order, then ``wal_checkpoint(TRUNCATE)`` empties the WAL). Backups taken during a vote
   carry the same history.
3. PostgreSQL has no ``WITHOUT ROWID``: rows sit in the heap in roughly insertion order
   (``ctid``), and each row's ``xmin`` is the id of the transaction that wrote it, which is
   the same transaction as the register row's. ``CLUSTER ... USING`` the primary key fixes the
   heap order but keeps ``xmin``. What works after closing: in one transaction, copy the
   papers and marks to fresh rows with new random ids (``INSERT ... SELECT ... ORDER BY
   random()``), delete the originals, then ``VACUUM`` both tables. The WAL segments
   (``pg_wal``, and any WAL archive or PITR backup) still record the inserts in order; only
   the server's operator can see them, and that limit belongs in the deployment notes.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, str_enum, utcnow


class BallotKind(enum.StrEnum):
    FLAG = "flag"
    MERIT = "merit"
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"


class BallotStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def random_key() -> str:
    """A UUID4 as 32 hex characters: unpredictable and unordered, unlike any counter."""
    return uuid.uuid4().hex


class Ballot(Base):
    """One vote: its kind, its round (1, then 2, 3... for runoffs among tied units, linked by
    ``runoff_of_id``), its quota of marks per paper and its label for the minutes (two flag
    ballots in one year are told apart by label, e.g. the Government's and the ministry's)."""

    __tablename__ = "ballots"
    __table_args__ = (
        CheckConstraint("quota >= 1", name="quota_positive"),
        CheckConstraint("round >= 1", name="round_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("emulation_years.id"), index=True)
    kind: Mapped[BallotKind] = mapped_column(str_enum(BallotKind, "ballot_kind"))
    round: Mapped[int] = mapped_column(default=1)
    runoff_of_id: Mapped[int | None] = mapped_column(ForeignKey("ballots.id"))
    quota: Mapped[int] = mapped_column(default=1)
    status: Mapped[BallotStatus] = mapped_column(
        str_enum(BallotStatus, "ballot_status"), default=BallotStatus.OPEN
    )
    label: Mapped[str | None] = mapped_column(String(300))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    self_vote: Mapped[bool] = mapped_column(default=False)  # may a unit mark its own name?
    candidate_mode: Mapped[str] = mapped_column(String(10), default="all")  # bot.ballots.CandidateMode
    deadline_at: Mapped[datetime | None]  # closes by itself then (bot/services/scheduler.py)
    publish_choices: Mapped[bool] = mapped_column(default=True)  # the board: trackers + choices, or trackers only
    opened_by_person_id: Mapped[int | None]  # who opened it (the audit log has the rest)
    board_text: Mapped[str | None] = mapped_column(Text)  # the published board, after close
    board_sha256: Mapped[str | None] = mapped_column(String(64))
    issued: Mapped[int | None]  # papers issued: the active units at close (what the count reads)

    candidates: Mapped[list["BallotCandidate"]] = relationship(
        order_by="(BallotCandidate.position, BallotCandidate.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class BallotCandidate(Base):
    """A unit on the ballot, in display order (e.g. by final score). A unit never sees itself
    on its own paper when self-votes are barred; that is filtered when the paper is shown."""

    __tablename__ = "ballot_candidates"
    __table_args__ = (UniqueConstraint("ballot_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)


class VoterRegister(Base):
    """Who has voted (public by design); a unit casts at most once per ballot. It must never
    carry anything about the choice.

    ``cast_at`` is nullable so that a row can also record a paper *issued* to a unit present
    (``issued_at``, for the minutes' "issued / received") before it is cast. Count votes with
    ``cast_at IS NOT NULL``, not by counting rows.
    """

    __tablename__ = "voter_register"
    __table_args__ = (UniqueConstraint("ballot_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    issued_at: Mapped[datetime | None]
    cast_at: Mapped[datetime | None]


class BallotPaper(Base):
    """A cast paper: random key, ballot and tracker only (see module docstring before adding a
    column here; a test fails if a column names a unit, person or time). The tracker is the
    code the voting unit's representatives were given at casting (`bot.ballots.new_tracker`:
    random, not derived from the unit or the time); the board lists it after close."""

    __tablename__ = "ballot_papers"
    __table_args__ = (
        UniqueConstraint("ballot_id", "tracker"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    tracker: Mapped[str] = mapped_column(String(16))

    marks: Mapped[list["BallotMark"]] = relationship(
        order_by="BallotMark.candidate_unit_id",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class BallotMark(Base):
    """One candidate marked on one paper. Random key for the same reason as the paper."""

    __tablename__ = "ballot_marks"
    __table_args__ = (
        UniqueConstraint("paper_id", "candidate_unit_id"),
        {"sqlite_with_rowid": False},
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_key)
    paper_id: Mapped[str] = mapped_column(ForeignKey("ballot_papers.id", ondelete="CASCADE"))
    candidate_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
