"""One actor id per person: an order's history names a caregiver by her account (``caregiver:<user id>``), as
claims, corrections, complaints and the audit trail always did, no longer by her caregiver record's id

Revision ID: 3e8b1d6c0f27
Revises: 5e0d514c9a8b
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

from alembic import op


revision: str = '3e8b1d6c0f27'
down_revision: str | None = '5e0d514c9a8b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The row knows the account that acted (by_user_id): the label is rebuilt from it.
    op.execute(
        "UPDATE request_history SET by = 'caregiver:' || CAST(by_user_id AS VARCHAR) "
        "WHERE by LIKE 'caregiver:%' AND by_user_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE request_history SET by = 'caregiver:' || CAST(("
        "SELECT caregiver.id FROM caregiver WHERE caregiver.user_id = request_history.by_user_id) AS VARCHAR) "
        "WHERE by LIKE 'caregiver:%' AND by_user_id IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM caregiver WHERE caregiver.user_id = request_history.by_user_id)"
    )
