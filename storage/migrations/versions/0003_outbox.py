"""The outbox, for real: status, lease, live messages, recipients Telegram refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

``outbox_messages`` existed since 0001 but nothing ever wrote it (issue 9), so it is dropped
and created again in its new shape rather than altered column by column (on SQLite that would
be a batch rebuild anyway). ``unreachable_chats`` is new. The downgrade restores 0001's
empty table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_outbox_messages_pending', table_name='outbox_messages')
    op.drop_index(op.f('ix_outbox_messages_chat_id'), table_name='outbox_messages')
    op.drop_table('outbox_messages')
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('recipient', sa.String(length=16), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('live_key', sa.String(length=200), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('telegram_message_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("recipient IN ('person', 'group')", name=op.f('ck_outbox_messages_recipient_kind')),
    sa.CheckConstraint("kind IN ('message', 'document')", name=op.f('ck_outbox_messages_outbox_kind')),
    sa.CheckConstraint("status IN ('pending', 'sent', 'parked', 'unreachable')", name=op.f('ck_outbox_messages_outbox_status')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_outbox_messages_cluster_id_clusters'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key')),
    sa.UniqueConstraint('live_key', name=op.f('uq_outbox_messages_live_key'))
    )
    op.create_index(op.f('ix_outbox_messages_chat_id'), 'outbox_messages', ['chat_id'], unique=False)
    op.create_index('ix_outbox_messages_due', 'outbox_messages', ['status', 'not_before'], unique=False)
    op.create_index('ix_outbox_messages_cluster_id_status', 'outbox_messages', ['cluster_id', 'status'], unique=False)
    op.create_table('unreachable_chats',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('recipient', sa.String(length=16), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("recipient IN ('person', 'group')", name=op.f('ck_unreachable_chats_recipient_kind')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_unreachable_chats_cluster_id_clusters'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_unreachable_chats'))
    )


def downgrade() -> None:
    op.drop_table('unreachable_chats')
    op.drop_index('ix_outbox_messages_cluster_id_status', table_name='outbox_messages')
    op.drop_index('ix_outbox_messages_due', table_name='outbox_messages')
    op.drop_index(op.f('ix_outbox_messages_chat_id'), table_name='outbox_messages')
    op.drop_table('outbox_messages')
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('message', 'document')", name=op.f('ck_outbox_messages_outbox_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key'))
    )
    op.create_index(op.f('ix_outbox_messages_chat_id'), 'outbox_messages', ['chat_id'], unique=False)
    op.create_index('ix_outbox_messages_pending', 'outbox_messages', ['sent_at', 'not_before'], unique=False)
