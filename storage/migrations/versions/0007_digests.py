"""The secretariat's digests: what was last sent to whom, the secretariat chat, deputies.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

See ``storage/models/digest.py``. Three new tables; the digest's settings (time, days, off)
are keys of ``clusters.settings`` and need no column.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_sent",
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_digest_sent_cluster_id_clusters"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("cluster_id", "chat_id", name=op.f("pk_digest_sent")),
    )
    op.create_table(
        "secretariat_chats",
        sa.Column("cluster_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("registered_by_person_id", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_secretariat_chats_cluster_id_clusters"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["registered_by_person_id"], ["people.id"],
                                name=op.f("fk_secretariat_chats_registered_by_person_id_people")),
        sa.PrimaryKeyConstraint("cluster_id", name=op.f("pk_secretariat_chats")),
    )
    op.create_index(op.f("ix_secretariat_chats_chat_id"), "secretariat_chats", ["chat_id"], unique=False)
    op.create_table(
        "digest_deputies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cluster_id", sa.Integer(), nullable=False),
        sa.Column("member_person_id", sa.Integer(), nullable=False),
        sa.Column("deputy_person_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["cluster_id"], ["clusters.id"], name=op.f("fk_digest_deputies_cluster_id_clusters"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_person_id"], ["people.id"],
                                name=op.f("fk_digest_deputies_member_person_id_people")),
        sa.ForeignKeyConstraint(["deputy_person_id"], ["people.id"],
                                name=op.f("fk_digest_deputies_deputy_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_deputies")),
    )
    op.create_index(op.f("ix_digest_deputies_cluster_id"), "digest_deputies", ["cluster_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_digest_deputies_cluster_id"), table_name="digest_deputies")
    op.drop_table("digest_deputies")
    op.drop_index(op.f("ix_secretariat_chats_chat_id"), table_name="secretariat_chats")
    op.drop_table("secretariat_chats")
    op.drop_table("digest_sent")
