"""The year's counted results (one row per /tally); a closed ballot's papers issued.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

See ``storage/models/tally.py``. A new table, and ``ballots.issued`` (the active units at
close; NULL for a ballot closed before this revision: the count then takes today's active units).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tally_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_by_person_id", sa.Integer(), nullable=True),
        sa.Column("counted_by", sa.String(length=300), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["counted_by_person_id"], ["people.id"],
                                name=op.f("fk_tally_results_counted_by_person_id_people")),
        sa.ForeignKeyConstraint(["year_id"], ["emulation_years.id"], name=op.f("fk_tally_results_year_id_emulation_years")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tally_results")),
        sa.UniqueConstraint("year_id", "number", name=op.f("uq_tally_results_year_id_number")),
    )
    op.create_index(op.f("ix_tally_results_year_id"), "tally_results", ["year_id"], unique=False)
    op.add_column("ballots", sa.Column("issued", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ballots") as batch:
        batch.drop_column("issued")
    op.drop_index(op.f("ix_tally_results_year_id"), table_name="tally_results")
    op.drop_table("tally_results")
