"""Secret ballots for real (issue 10): a ballot's rules and board, and the paper's tracker.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

``ballots`` gains its settings (self-vote, candidate mode, deadline, whether the board shows
choices), who opened it, and the board published at close with its SHA-256. ``ballot_papers``
and ``ballot_marks`` existed since 0001 but nothing ever wrote them, so they are created again
(``WITHOUT ROWID`` kept) with the paper's tracker, unique within its ballot.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _papers(with_tracker: bool) -> None:
    columns = [
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("ballot_id", sa.Integer(), nullable=False),
    ]
    extra = []
    if with_tracker:
        columns.append(sa.Column("tracker", sa.String(length=16), nullable=False))
        extra.append(sa.UniqueConstraint("ballot_id", "tracker", name=op.f("uq_ballot_papers_ballot_id_tracker")))
    op.create_table(
        "ballot_papers", *columns,
        sa.ForeignKeyConstraint(["ballot_id"], ["ballots.id"], name=op.f("fk_ballot_papers_ballot_id_ballots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_papers")),
        *extra,
        sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_index(op.f("ix_ballot_papers_ballot_id"), "ballot_papers", ["ballot_id"], unique=False)
    op.create_table(
        "ballot_marks",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("paper_id", sa.String(length=32), nullable=False),
        sa.Column("candidate_unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["candidate_unit_id"], ["units.id"],
                                name=op.f("fk_ballot_marks_candidate_unit_id_units")),
        sa.ForeignKeyConstraint(["paper_id"], ["ballot_papers.id"],
                                name=op.f("fk_ballot_marks_paper_id_ballot_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ballot_marks")),
        sa.UniqueConstraint("paper_id", "candidate_unit_id", name=op.f("uq_ballot_marks_paper_id_candidate_unit_id")),
        sqlite_with_rowid=False,
    )  # fmt: skip
    op.create_index(op.f("ix_ballot_marks_candidate_unit_id"), "ballot_marks", ["candidate_unit_id"], unique=False)


def _drop_papers() -> None:
    op.drop_index(op.f("ix_ballot_marks_candidate_unit_id"), table_name="ballot_marks")
    op.drop_table("ballot_marks")
    op.drop_index(op.f("ix_ballot_papers_ballot_id"), table_name="ballot_papers")
    op.drop_table("ballot_papers")


def upgrade() -> None:
    _drop_papers()
    _papers(with_tracker=True)
    op.add_column("ballots", sa.Column("self_vote", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("ballots", sa.Column("candidate_mode", sa.String(length=10), nullable=False, server_default="all"))
    op.add_column("ballots", sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("ballots", sa.Column("publish_choices", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column("ballots", sa.Column("opened_by_person_id", sa.Integer(), nullable=True))
    op.add_column("ballots", sa.Column("board_text", sa.Text(), nullable=True))
    op.add_column("ballots", sa.Column("board_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ballots") as batch:
        for column in ("board_sha256", "board_text", "opened_by_person_id", "publish_choices", "deadline_at",
                       "candidate_mode", "self_vote"):  # fmt: skip
            batch.drop_column(column)
    _drop_papers()
    _papers(with_tracker=False)
