"""When a caregiver's phone last reported its position (who is coming says how fresh its distance is)

Revision ID: 4c9e2f7a1b31
Revises: 3b8d1e6f9a20
Create Date: 2026-12-02 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '4c9e2f7a1b31'
down_revision: str | None = '3b8d1e6f9a20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('caregiver', schema=None) as batch_op:
        batch_op.add_column(sa.Column('located_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('caregiver', schema=None) as batch_op:
        batch_op.drop_column('located_at')
