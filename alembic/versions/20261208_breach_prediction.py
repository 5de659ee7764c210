"""SLA-breach prediction: each open order's latest prediction (breach_watch), the sweep's snapshots that the
nightly job labels and trains on (breach_snapshot), and the trained models (breach_model)

Revision ID: 0a0dec2dd87a
Revises: 5a1c7e3f9d42
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0a0dec2dd87a'
down_revision: str | None = '5a1c7e3f9d42'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('breach_model',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trained_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('breaches', sa.Integer(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_model'))
    )
    op.create_table('breach_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_breach_snapshot_request_id_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_breach_snapshot'))
    )
    with op.batch_alter_table('breach_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_breach_snapshot_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_breach_snapshot_request_id'), ['request_id'], unique=False)

    op.create_table('breach_watch',
    sa.Column('request_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('scored_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('risk', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sla', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('sla_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('predicted_accept_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('predicted_arrival_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('predicted_breach_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged_sla', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('boosted', sa.Boolean(), nullable=False),
    sa.Column('snapshot_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_breach_watch_request_id_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_breach_watch'))
    )


def downgrade() -> None:
    op.drop_table('breach_watch')
    with op.batch_alter_table('breach_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_breach_snapshot_request_id'))
        batch_op.drop_index('ix_breach_snapshot_at')

    op.drop_table('breach_snapshot')
    op.drop_table('breach_model')
