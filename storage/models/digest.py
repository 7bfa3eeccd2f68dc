"""The secretariat's digests (issue 12): what was last sent to whom, the secretariat chat, and
deputies.

``digest_sent`` keeps, per cluster and recipient chat, the fingerprint of the last digest sent
there (`bot.digest.fingerprint`) and the ISO week of the last weekly summary: a digest that
would say the same again is not sent. A person's chat and a secretariat group chat are both
recipients, by Telegram chat id.

A deputy (``digest_deputies``) receives a secretariat member's digests from ``starts_at`` until
``ends_at`` (or until ended early: ``ended_at``); the rows stay, as a record of who received
what and when.
"""

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class DigestSent(Base):
    __tablename__ = "digest_sent"

    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    week: Mapped[str | None] = mapped_column(String(10))  # "2026-W49": the last weekly summary's
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecretariatChat(Base):
    """The chat where the secretariat works together (`/secretariat` in it): one per cluster."""

    __tablename__ = "secretariat_chats"

    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True,
                                            autoincrement=False)  # fmt: skip
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    registered_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)


class DigestDeputy(Base):
    __tablename__ = "digest_deputies"

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"), index=True)
    member_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    deputy_person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]  # ended early by the member
