"""Messages the bot must send even if it crashes or Telegram is down at the moment.

A digest or an announcement is written here in the same transaction as the change that
causes it, and a sender job (``bot/services/outbox.py``) delivers it later. So a committed
change always gets its message, and a rolled-back one never does.

``dedupe_key`` is the row's idempotency key: enqueueing is ``INSERT … ON CONFLICT DO
NOTHING`` on it, so a job that runs twice for "the 3-day reminder of the scoring deadline"
inserts one row.

A *live* message (the signing board, later the ballot turnout) is one row per ``live_key``:
enqueueing new content replaces the row's payload and bumps ``revision``, so only the latest
content is ever sent; ``telegram_message_id`` remembers the message to edit next time.

Several instances share the table through a lease: a sender claims due rows by writing
``claim_token`` and ``claimed_until``; a row whose lease ran out (its sender crashed) is due
again. ``cluster_id`` is for the administrator's view of parked and unreachable rows.

``UnreachableChat`` records a recipient Telegram refused with 403: a person who blocked the
bot, a group that removed it.
"""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, str_enum, utcnow


class OutboxKind(enum.StrEnum):
    MESSAGE = "message"
    DOCUMENT = "document"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # due at not_before (and not leased by a sender)
    SENT = "sent"
    PARKED = "parked"  # never retried on its own: a 400, or too many attempts
    UNREACHABLE = "unreachable"  # the recipient refused us with 403


class RecipientKind(enum.StrEnum):
    PERSON = "person"
    GROUP = "group"


class OutboxMessage(Base):
    """One message to send. ``payload`` holds what the sender needs (text, keyboard, the
    document's bytes in base64...); the sender owns its format."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "not_before"),
        Index("ix_outbox_messages_cluster_id_status", "cluster_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    recipient: Mapped[RecipientKind] = mapped_column(
        str_enum(RecipientKind, "recipient_kind"), default=RecipientKind.GROUP
    )
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"))
    kind: Mapped[OutboxKind] = mapped_column(
        str_enum(OutboxKind, "outbox_kind"), default=OutboxKind.MESSAGE
    )
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    live_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    revision: Mapped[int] = mapped_column(default=0)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnreachableChat(Base):
    """A chat Telegram refused with 403 (blocked by the person, bot removed from the group)."""

    __tablename__ = "unreachable_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    recipient: Mapped[RecipientKind] = mapped_column(str_enum(RecipientKind, "recipient_kind"))
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("clusters.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime] = mapped_column(default=utcnow)
