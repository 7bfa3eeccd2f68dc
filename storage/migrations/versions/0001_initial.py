"""Initial schema.

Clusters, people and roles, years and phases, scoring, pledges, secret ballots, audit log,
outbox, conversation state.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Hand-reviewed after autogenerate. Enumerations are written as VARCHAR plus an explicit CHECK
(the models use ``sa.Enum(native_enum=False, create_constraint=True)``, which produces the
same DDL) so the allowed values are visible here and named like the models name them.
``ballot_papers`` and ``ballot_marks`` are ``WITHOUT ROWID`` on SQLite (see
``storage/models/ballot.py``); PostgreSQL ignores the option. Indexes are plain
``op.create_index`` calls: creating an index never needs a batch table rebuild.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('cluster', 'bloc')", name=op.f('ck_clusters_cluster_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters')),
    sa.UniqueConstraint('telegram_chat_id', name=op.f('uq_clusters_telegram_chat_id'))
    )
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

    op.create_table('people',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('full_name', sa.String(length=300), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('language_code', sa.String(length=16), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_people_telegram_user_id'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_person_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_person_id'], ['people.id'], name=op.f('fk_audit_log_actor_person_id_people')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_audit_log_cluster_id_clusters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_actor_person_id'), 'audit_log', ['actor_person_id'], unique=False)
    op.create_index('ix_audit_log_cluster_id_at', 'audit_log', ['cluster_id', 'at'], unique=False)

    op.create_table('conversation_states',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('flow', sa.String(length=64), nullable=False),
    sa.Column('step', sa.String(length=64), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_conversation_states_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_states')),
    sa.UniqueConstraint('person_id', 'chat_id', 'flow', name=op.f('uq_conversation_states_person_id_chat_id_flow'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_units_cluster_id_clusters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('cluster_id', 'name_key', name=op.f('uq_units_cluster_id_name_key'))
    )
    op.create_table('emulation_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('chair_unit_id', sa.Integer(), nullable=True),
    sa.Column('vice_chair_unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('vice_chair_unit_id IS NULL OR vice_chair_unit_id <> chair_unit_id', name=op.f('ck_emulation_years_chair_is_not_vice_chair')),
    sa.ForeignKeyConstraint(['chair_unit_id'], ['units.id'], name=op.f('fk_emulation_years_chair_unit_id_units')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_emulation_years_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['vice_chair_unit_id'], ['units.id'], name=op.f('fk_emulation_years_vice_chair_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emulation_years')),
    sa.UniqueConstraint('cluster_id', 'year', name=op.f('uq_emulation_years_cluster_id_year'))
    )
    op.create_index(op.f('ix_emulation_years_chair_unit_id'), 'emulation_years', ['chair_unit_id'], unique=False)
    op.create_index(op.f('ix_emulation_years_vice_chair_unit_id'), 'emulation_years', ['vice_chair_unit_id'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by_person_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'secretariat', 'representative')", name=op.f('ck_invites_role')),
    sa.CheckConstraint("role <> 'representative' OR unit_id IS NOT NULL", name=op.f('ck_invites_representative_has_unit')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_invites_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['created_by_person_id'], ['people.id'], name=op.f('fk_invites_created_by_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_invites_unit_id_units')),
    sa.ForeignKeyConstraint(['used_by_person_id'], ['people.id'], name=op.f('fk_invites_used_by_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invites_token_hash'))
    )
    op.create_index(op.f('ix_invites_cluster_id'), 'invites', ['cluster_id'], unique=False)
    op.create_index(op.f('ix_invites_unit_id'), 'invites', ['unit_id'], unique=False)

    op.create_table('role_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'secretariat', 'representative')", name=op.f('ck_role_assignments_role')),
    sa.CheckConstraint("role <> 'representative' OR unit_id IS NOT NULL", name=op.f('ck_role_assignments_representative_has_unit')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_role_assignments_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_role_assignments_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_role_assignments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_assignments')),
    sa.UniqueConstraint('cluster_id', 'person_id', 'role', 'unit_id', name=op.f('uq_role_assignments_cluster_id_person_id_role_unit_id'))
    )
    op.create_index(op.f('ix_role_assignments_person_id'), 'role_assignments', ['person_id'], unique=False)
    op.create_index(op.f('ix_role_assignments_unit_id'), 'role_assignments', ['unit_id'], unique=False)
    op.create_index('uq_role_assignments_unitless', 'role_assignments', ['cluster_id', 'person_id', 'role'], unique=True, sqlite_where=sa.text('unit_id IS NULL'), postgresql_where=sa.text('unit_id IS NULL'))

    op.create_table('ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('runoff_of_id', sa.Integer(), nullable=True),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('flag', 'merit', 'chair', 'vice_chair')", name=op.f('ck_ballots_ballot_kind')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_ballots_ballot_status')),
    sa.CheckConstraint('quota >= 1', name=op.f('ck_ballots_quota_positive')),
    sa.CheckConstraint('round >= 1', name=op.f('ck_ballots_round_positive')),
    sa.ForeignKeyConstraint(['runoff_of_id'], ['ballots.id'], name=op.f('fk_ballots_runoff_of_id_ballots')),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_ballots_year_id_emulation_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots'))
    )
    op.create_index(op.f('ix_ballots_year_id'), 'ballots', ['year_id'], unique=False)

    op.create_table('chair_handovers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('office', sa.String(length=16), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=True),
    sa.Column('to_unit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("office IN ('chair', 'vice_chair')", name=op.f('ck_chair_handovers_office')),
    sa.ForeignKeyConstraint(['by_person_id'], ['people.id'], name=op.f('fk_chair_handovers_by_person_id_people')),
    sa.ForeignKeyConstraint(['from_unit_id'], ['units.id'], name=op.f('fk_chair_handovers_from_unit_id_units')),
    sa.ForeignKeyConstraint(['to_unit_id'], ['units.id'], name=op.f('fk_chair_handovers_to_unit_id_units')),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_chair_handovers_year_id_emulation_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chair_handovers'))
    )
    op.create_index(op.f('ix_chair_handovers_year_id'), 'chair_handovers', ['year_id'], unique=False)

    op.create_table('phases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('registration', 'signing', 'scoring', 'verification', 'voting', 'results', 'closed')", name=op.f('ck_phases_phase_kind')),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_phases_year_id_emulation_years'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phases')),
    sa.UniqueConstraint('year_id', 'kind', name=op.f('uq_phases_year_id_kind'))
    )
    op.create_table('pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signed_by_person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_person_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'returned', 'accepted', 'signed')", name=op.f('ck_pledges_pledge_status')),
    sa.ForeignKeyConstraint(['signed_by_person_id'], ['people.id'], name=op.f('fk_pledges_signed_by_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_pledges_unit_id_units')),
    sa.ForeignKeyConstraint(['updated_by_person_id'], ['people.id'], name=op.f('fk_pledges_updated_by_person_id_people')),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_pledges_year_id_emulation_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('year_id', 'unit_id', name=op.f('uq_pledges_year_id_unit_id'))
    )
    op.create_index(op.f('ix_pledges_unit_id'), 'pledges', ['unit_id'], unique=False)

    op.create_table('score_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('round', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('verifier_unit_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_person_id', sa.Integer(), nullable=True),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by_person_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("round IN ('midyear', 'yearend')", name=op.f('ck_score_sheets_score_round')),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'verified')", name=op.f('ck_score_sheets_sheet_status')),
    sa.ForeignKeyConstraint(['submitted_by_person_id'], ['people.id'], name=op.f('fk_score_sheets_submitted_by_person_id_people')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_score_sheets_unit_id_units')),
    sa.ForeignKeyConstraint(['verified_by_person_id'], ['people.id'], name=op.f('fk_score_sheets_verified_by_person_id_people')),
    sa.ForeignKeyConstraint(['verifier_unit_id'], ['units.id'], name=op.f('fk_score_sheets_verifier_unit_id_units')),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_score_sheets_year_id_emulation_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_sheets')),
    sa.UniqueConstraint('year_id', 'unit_id', 'round', name=op.f('uq_score_sheets_year_id_unit_id_round'))
    )
    op.create_index(op.f('ix_score_sheets_unit_id'), 'score_sheets', ['unit_id'], unique=False)
    op.create_index(op.f('ix_score_sheets_verifier_unit_id'), 'score_sheets', ['verifier_unit_id'], unique=False)

    op.create_table('scoring_tables',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year_id', sa.Integer(), nullable=False),
    sa.Column('normal_total', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('bonus_cap', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['year_id'], ['emulation_years.id'], name=op.f('fk_scoring_tables_year_id_emulation_years')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_tables')),
    sa.UniqueConstraint('year_id', name=op.f('uq_scoring_tables_year_id'))
    )
    op.create_table('ballot_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_candidates_ballot_id_ballots'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_ballot_candidates_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_candidates')),
    sa.UniqueConstraint('ballot_id', 'unit_id', name=op.f('uq_ballot_candidates_ballot_id_unit_id'))
    )
    op.create_index(op.f('ix_ballot_candidates_unit_id'), 'ballot_candidates', ['unit_id'], unique=False)

    op.create_table('ballot_papers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_ballot_papers_ballot_id_ballots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_papers')),
    sqlite_with_rowid=False
    )
    op.create_index(op.f('ix_ballot_papers_ballot_id'), 'ballot_papers', ['ballot_id'], unique=False)

    op.create_table('criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('table_id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=300), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('max_points', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('normal', 'bonus', 'deduction')", name=op.f('ck_criteria_criterion_kind')),
    sa.CheckConstraint('max_points >= 0', name=op.f('ck_criteria_max_points_not_negative')),
    sa.ForeignKeyConstraint(['table_id'], ['scoring_tables.id'], name=op.f('fk_criteria_table_id_scoring_tables'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criteria')),
    sa.UniqueConstraint('table_id', 'code', name=op.f('uq_criteria_table_id_code'))
    )
    op.create_table('pledge_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('target_value', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('target_unit', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_items_pledge_id_pledges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_items'))
    )
    op.create_index(op.f('ix_pledge_items_pledge_id'), 'pledge_items', ['pledge_id'], unique=False)

    op.create_table('pledge_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_person_id'], ['people.id'], name=op.f('fk_pledge_revisions_by_person_id_people')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_revisions_pledge_id_pledges'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_revisions')),
    sa.UniqueConstraint('pledge_id', 'number', name=op.f('uq_pledge_revisions_pledge_id_number'))
    )
    op.create_table('voter_register',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cast_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], name=op.f('fk_voter_register_ballot_id_ballots')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_voter_register_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voter_register')),
    sa.UniqueConstraint('ballot_id', 'unit_id', name=op.f('uq_voter_register_ballot_id_unit_id'))
    )
    op.create_index(op.f('ix_voter_register_unit_id'), 'voter_register', ['unit_id'], unique=False)

    op.create_table('ballot_marks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('paper_id', sa.String(length=32), nullable=False),
    sa.Column('candidate_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_unit_id'], ['units.id'], name=op.f('fk_ballot_marks_candidate_unit_id_units')),
    sa.ForeignKeyConstraint(['paper_id'], ['ballot_papers.id'], name=op.f('fk_ballot_marks_paper_id_ballot_papers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_marks')),
    sa.UniqueConstraint('paper_id', 'candidate_unit_id', name=op.f('uq_ballot_marks_paper_id_candidate_unit_id')),
    sqlite_with_rowid=False
    )
    op.create_index(op.f('ix_ballot_marks_candidate_unit_id'), 'ballot_marks', ['candidate_unit_id'], unique=False)

    op.create_table('score_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('self_value', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('verified_value', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('decided_value', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_score_entries_criterion_id_criteria')),
    sa.ForeignKeyConstraint(['sheet_id'], ['score_sheets.id'], name=op.f('fk_score_entries_sheet_id_score_sheets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_entries')),
    sa.UniqueConstraint('sheet_id', 'criterion_id', name=op.f('uq_score_entries_sheet_id_criterion_id'))
    )
    op.create_index(op.f('ix_score_entries_criterion_id'), 'score_entries', ['criterion_id'], unique=False)

    op.create_table('adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('verifier_unit_id', sa.Integer(), nullable=True),
    sa.Column('by_person_id', sa.Integer(), nullable=True),
    sa.Column('from_value', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('to_value', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('explained_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('explained_by_person_id', sa.Integer(), nullable=True),
    sa.Column('decided_value', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('decided_by_person_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_adjustments_reason_required')),
    sa.ForeignKeyConstraint(['by_person_id'], ['people.id'], name=op.f('fk_adjustments_by_person_id_people')),
    sa.ForeignKeyConstraint(['decided_by_person_id'], ['people.id'], name=op.f('fk_adjustments_decided_by_person_id_people')),
    sa.ForeignKeyConstraint(['entry_id'], ['score_entries.id'], name=op.f('fk_adjustments_entry_id_score_entries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['explained_by_person_id'], ['people.id'], name=op.f('fk_adjustments_explained_by_person_id_people')),
    sa.ForeignKeyConstraint(['verifier_unit_id'], ['units.id'], name=op.f('fk_adjustments_verifier_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adjustments'))
    )
    op.create_index(op.f('ix_adjustments_entry_id'), 'adjustments', ['entry_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('telegram_file_id', sa.String(length=256), nullable=False),
    sa.Column('file_unique_id', sa.String(length=128), nullable=False),
    sa.Column('file_name', sa.String(length=300), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('mime_type', sa.String(length=128), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('added_by_person_id', sa.Integer(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('document', 'photo')", name=op.f('ck_evidence_evidence_kind')),
    sa.ForeignKeyConstraint(['added_by_person_id'], ['people.id'], name=op.f('fk_evidence_added_by_person_id_people')),
    sa.ForeignKeyConstraint(['entry_id'], ['score_entries.id'], name=op.f('fk_evidence_entry_id_score_entries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence'))
    )
    op.create_index(op.f('ix_evidence_entry_id'), 'evidence', ['entry_id'], unique=False)
    op.create_index(op.f('ix_evidence_file_unique_id'), 'evidence', ['file_unique_id'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    op.drop_table('evidence')
    op.drop_table('adjustments')
    op.drop_table('score_entries')
    op.drop_table('ballot_marks')
    op.drop_table('voter_register')
    op.drop_table('pledge_revisions')
    op.drop_table('pledge_items')
    op.drop_table('criteria')
    op.drop_table('ballot_papers')
    op.drop_table('ballot_candidates')
    op.drop_table('scoring_tables')
    op.drop_table('score_sheets')
    op.drop_table('pledges')
    op.drop_table('phases')
    op.drop_table('chair_handovers')
    op.drop_table('ballots')
    op.drop_table('role_assignments')
    op.drop_table('invites')
    op.drop_table('emulation_years')
    op.drop_table('units')
    op.drop_table('conversation_states')
    op.drop_table('audit_log')
    op.drop_table('people')
    op.drop_table('outbox_messages')
    op.drop_table('clusters')
