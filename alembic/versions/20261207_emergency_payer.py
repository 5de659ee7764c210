"""Emergencies are the one-key emergency service's: a statement's total for them

An emergency (the red button, an SOS, an emergency order) is paid by the city's one-key emergency service
(一键通紧急救助), not from the elder's monthly quota: orders carry ``paid_by = 'emergency'`` and a monthly
statement totals them apart from government-quota and self-paid visits. Orders taken before keep how they were
charged.

Revision ID: 4b7d2e9c1f58
Revises: 9e5c2f8a3d16
Create Date: 2026-12-07 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '4b7d2e9c1f58'
down_revision: str | None = '9e5c2f8a3d16'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('settlement') as batch:
        batch.add_column(sa.Column('emergency_yuan', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('settlement') as batch:
        batch.drop_column('emergency_yuan')
