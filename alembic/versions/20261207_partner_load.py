"""Today's load of a caregiver as the second of a crew: indexed like the first's

A dispatch decision counts each candidate's orders today, as the assigned caregiver or as the partner; without
an index on the partner, the OR read every order of the day once per candidate (a scan per candidate, growing
with the day).

Revision ID: 9e5c2f8a3d16
Revises: 8d4b1e7c2a95
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '9e5c2f8a3d16'
down_revision: str | None = '8d4b1e7c2a95'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_service_request_partner_updated',
        'service_request',
        ['partner_caregiver_id', 'updated_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_service_request_partner_updated', table_name='service_request')
