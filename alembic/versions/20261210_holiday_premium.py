"""Settlement lines mark visits on a public holiday (the festival's name) and the premium public money pays for
them (ELDERCARE_HOLIDAY_PREMIUM_PERCENT), included in the line's amount

Revision ID: 8d2f4a6b1c90
Revises: 02e7c07a1565
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '8d2f4a6b1c90'
down_revision: str | None = '02e7c07a1565'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('settlement_line', sa.Column('holiday', sa.String(length=32), nullable=True))
    op.add_column(
        'settlement_line', sa.Column('premium_fen', sa.BigInteger(), nullable=False, server_default=sa.text('0'))
    )


def downgrade() -> None:
    with op.batch_alter_table('settlement_line') as batch:
        batch.drop_column('premium_fen')
        batch.drop_column('holiday')
