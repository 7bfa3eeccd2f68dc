"""People (Telegram users) and what they may do in a cluster.

A person acts *for* something: as the cluster's admin, as its secretariat, or as a
representative of one unit. The chair and vice-chair are not roles of people but properties
of units in a given year (``EmulationYear``); a representative of the chair unit gets the
chair's powers through that, so a handover moves the powers without touching any role row.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum, utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    SECRETARIAT = "secretariat"
    REPRESENTATIVE = "representative"


_REPRESENTATIVE_HAS_UNIT = "role <> 'representative' OR unit_id IS NOT NULL"


class Person(Base):
    """A Telegram user we have seen. ``language_code`` is what Telegram reports and is
    refreshed on every update; ``locale`` is the user's explicit choice (``/lang``) and wins."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    full_name: Mapped[str] = mapped_column(String(300))
    username: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(16))
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleAssignment(Base):
    """A person's role in a cluster; a representative's row names the unit.

    Revoking sets ``active = False`` and ``revoked_at`` rather than deleting, so the audit
    trail can still say who acted for a unit when. Granting the same role again reactivates
    the row (the unique constraint allows one row per person, role and unit). For admin and
    secretariat ``unit_id`` is NULL and NULLs never collide in a unique constraint, hence the
    extra partial unique index.
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("cluster_id", "person_id", "role", "unit_id"),
        CheckConstraint(_REPRESENTATIVE_HAS_UNIT, name="representative_has_unit"),
        Index(
            "uq_role_assignments_unitless",
            "cluster_id",
            "person_id",
            "role",
            unique=True,
            sqlite_where=text("unit_id IS NULL"),
            postgresql_where=text("unit_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class Invite(Base):
    """A one-time link that grants a role. Only the SHA-256 of the token is kept, so a leaked
    database (or backup) cannot be replayed into roles; the raw token lives only in the link."""

    __tablename__ = "invites"
    __table_args__ = (CheckConstraint(_REPRESENTATIVE_HAS_UNIT, name="representative_has_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    revoked_at: Mapped[datetime | None]
