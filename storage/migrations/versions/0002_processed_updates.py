"""Processed Telegram updates, so a redelivered update is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

One row per handled ``update_id`` (see ``storage/models/update.py``). ``WITHOUT ROWID`` on
SQLite, like the ballot tables: the row is its key. A new table and its index only: nothing
existing is rebuilt, so no batch operation is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_processed_updates")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        op.f("ix_processed_updates_processed_at"), "processed_updates", ["processed_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_processed_updates_processed_at"), table_name="processed_updates")
    op.drop_table("processed_updates")
