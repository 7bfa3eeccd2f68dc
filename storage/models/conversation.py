"""Where a guided conversation stands, kept in the database so a restart or a redeploy in the
middle of a multi-step form (a pledge, a score sheet) does not lose the user's answers."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, json_dict, utcnow


class ConversationState(Base):
    """One row per person, chat and flow. ``data`` is a mutable JSON dict: in-place edits are
    saved on commit."""

    __tablename__ = "conversation_states"
    __table_args__ = (UniqueConstraint("person_id", "chat_id", "flow"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    flow: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(json_dict(), default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
