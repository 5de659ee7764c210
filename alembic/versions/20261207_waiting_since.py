"""Orders waiting for a caregiver to be free: since when (woken by her, not swept again and again)

Revision ID: 8d4b1e7c2a95
Revises: 7c2e9a4f1b63
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '8d4b1e7c2a95'
down_revision: str | None = '7c2e9a4f1b63'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        'ix_service_request_waiting',
        'service_request',
        ['created_at'],
        unique=False,
        postgresql_where=sa.text("waiting_since IS NOT NULL AND status = 'dispatching'"),
        sqlite_where=sa.text("waiting_since IS NOT NULL AND status = 'dispatching'"),
    )


def downgrade() -> None:
    op.drop_index(
        'ix_service_request_waiting',
        table_name='service_request',
        postgresql_where=sa.text("waiting_since IS NOT NULL AND status = 'dispatching'"),
        sqlite_where=sa.text("waiting_since IS NOT NULL AND status = 'dispatching'"),
    )
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_column('waiting_since')
