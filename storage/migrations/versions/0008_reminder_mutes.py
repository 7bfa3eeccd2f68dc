"""Reminders muted by a person for a phase (issue 12).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

See ``storage/models/reminder.py``. A new table only; ``WITHOUT ROWID`` on SQLite (the row is
its key). The quiet window is a cluster setting (``clusters.settings``): no column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_mutes",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("muted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_reminder_mutes_person_id_people")),
        sa.ForeignKeyConstraint(["phase_id"], ["phases.id"], name=op.f("fk_reminder_mutes_phase_id_phases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id", "phase_id", name=op.f("pk_reminder_mutes")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_reminder_mutes_phase_id"), "reminder_mutes", ["phase_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_reminder_mutes_phase_id"), table_name="reminder_mutes")
    op.drop_table("reminder_mutes")
