"""The audit log: who did what, when, in which cluster.

It must NEVER hold a ballot choice, not even indirectly (no candidate ids next to a cast, no
"unit X voted" entry written in the same transaction as a paper with a timestamp finer than
the register's). Log "cast a ballot" facts only through ``VoterRegister``; see
``storage.models.ballot``.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class AuditLog(Base):
    """An append-only fact. ``subject`` names the thing acted on (``"pledge:12"``) so the log
    needs no foreign key per kind of thing; ``details`` holds the before/after values."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_cluster_id_at", "cluster_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
