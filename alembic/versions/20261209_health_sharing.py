"""An elder may withhold her file from the health system's FHIR export

The platform shares elders' files, orders and visits with the city's health system as FHIR resources. An elder
(or whoever acts for her) may say no: she is then left out of every export and her Patient resource is refused.
Everyone shares until she says otherwise, as the city's service agreement has it.

Revision ID: 5a1c7e3f9d42
Revises: 2f8d4b6a9e13
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5a1c7e3f9d42'
down_revision: str | None = '2f8d4b6a9e13'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('elder') as batch:
        batch.add_column(sa.Column('share_with_health', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('elder') as batch:
        batch.drop_column('share_with_health')
