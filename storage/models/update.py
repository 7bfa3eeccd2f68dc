"""Telegram updates already handled, so a redelivered one is dropped instead of applied twice.

Telegram delivers an update again when the bot did not confirm it in time (a slow handler, a
restart, a crash between handling and the next ``getUpdates``). The id is written in the same
transaction as the update's effect (see ``handlers/base.py:handler``): a crash before that
commit leaves no row, so the redelivery is handled; after it, the redelivery finds the row.

``update_id`` is the primary key, so two deliveries of one update handled at the same instant
cannot both commit. Rows only need to outlive Telegram's own redelivery window (it keeps an
unconfirmed update for 24 hours), so old ones are deleted now and then; ``processed_at`` is
indexed for that. On SQLite the table is ``WITHOUT ROWID``: the rows are little more than their
key, which then is the table's B-tree itself.
"""

from datetime import datetime

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ProcessedUpdate(Base):
    __tablename__ = "processed_updates"
    __table_args__ = {"sqlite_with_rowid": False}

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
