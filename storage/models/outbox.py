"""Messages the bot must send even if it crashes or Telegram is down at the moment.

A digest or an announcement is written here in the same transaction as the change that
causes it, and a sender job delivers it later. So a committed change always gets its message,
and a rolled-back one never does. ``dedupe_key`` makes enqueueing idempotent (a job that runs
twice for "the 3-day reminder of the scoring deadline" inserts one row, the second insert
fails the unique constraint).
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum, utcnow


class OutboxKind(enum.StrEnum):
    MESSAGE = "message"
    DOCUMENT = "document"


class OutboxMessage(Base):
    """One message to send. ``payload`` holds what the sender needs (text, parse mode,
    file bytes reference, keyboard...); the sender owns its format."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_pending", "sent_at", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    kind: Mapped[OutboxKind] = mapped_column(
        str_enum(OutboxKind, "outbox_kind"), default=OutboxKind.MESSAGE
    )
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
