"""Organisations identified as the state identifies them

A provider carries its unified social credit code (统一社会信用代码, GB 32100-2015, 18 characters with a check
character), an elder-care institution its filing number (备案号: since 2019 an institution is filed with the
civil-affairs bureau rather than licensed) beside its licence number. Both optional for the rows already there,
unique when given.

Revision ID: 7c3e9a1d5b24
Revises: cd732b950a6a
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7c3e9a1d5b24'
down_revision: str | None = 'cd732b950a6a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('provider') as batch:
        batch.add_column(sa.Column('uscc', sa.String(length=18), nullable=True))
        batch.create_unique_constraint('uq_provider_uscc', ['uscc'])
    with op.batch_alter_table('institution') as batch:
        batch.add_column(sa.Column('filing_no', sa.String(length=64), nullable=True))
        batch.create_unique_constraint('uq_institution_filing_no', ['filing_no'])


def downgrade() -> None:
    with op.batch_alter_table('institution') as batch:
        batch.drop_constraint('uq_institution_filing_no', type_='unique')
        batch.drop_column('filing_no')
    with op.batch_alter_table('provider') as batch:
        batch.drop_constraint('uq_provider_uscc', type_='unique')
        batch.drop_column('uscc')
