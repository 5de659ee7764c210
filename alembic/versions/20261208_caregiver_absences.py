"""Caregivers' absences kept: each sick call or leave from when it was reported until it ended, for the calendar

``caregiver.absent_until`` stays what the dispatcher asks; an absence still running when this migration runs is
kept from now (when it began was never recorded).

Revision ID: cd732b950a6a
Revises: 4b7d2e9c1f58
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = 'cd732b950a6a'
down_revision: str | None = '4b7d2e9c1f58'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('caregiver_absence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('reported_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregiver.id'], name=op.f('fk_caregiver_absence_caregiver_id_caregiver')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caregiver_absence'))
    )
    with op.batch_alter_table('caregiver_absence', schema=None) as batch_op:
        batch_op.create_index('ix_caregiver_absence_caregiver_span', ['caregiver_id', 'starts_at', 'ends_at'], unique=False)
    op.execute(
        "INSERT INTO caregiver_absence (caregiver_id, starts_at, ends_at, reported_by, created_at) "
        "SELECT id, CURRENT_TIMESTAMP, absent_until, 'unknown', CURRENT_TIMESTAMP FROM caregiver "
        "WHERE absent_until IS NOT NULL AND absent_until > CURRENT_TIMESTAMP"
    )


def downgrade() -> None:
    with op.batch_alter_table('caregiver_absence', schema=None) as batch_op:
        batch_op.drop_index('ix_caregiver_absence_caregiver_span')

    op.drop_table('caregiver_absence')
