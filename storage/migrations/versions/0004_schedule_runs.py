"""Slots of scheduled work already handled (a phase's planned opening, its deadline).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

See ``storage/models/schedule.py``. A new table only; ``WITHOUT ROWID`` on SQLite (the row is
its key).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedule_runs",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedule_runs")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("schedule_runs")
