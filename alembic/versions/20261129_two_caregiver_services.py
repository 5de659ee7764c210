"""two-caregiver services: how many caregivers a service needs, the order's second caregiver, one seat and booking each

Revision ID: 5b8e21c4d7a9
Revises: 03a42391b5ec
Create Date: 2026-11-29 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5b8e21c4d7a9'
down_revision: str | None = '03a42391b5ec'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('accepted', 'en_route', 'in_service')"
ACCEPTED = "status = 'accepted'"


def upgrade() -> None:
    with op.batch_alter_table('service_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caregivers_needed', sa.Integer(), nullable=False, server_default='1'))
    service_type = sa.table(
        "service_type",
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("default_minutes", sa.Integer),
        sa.column("personal_care", sa.Boolean),
        sa.column("caregivers_needed", sa.Integer),
    )
    op.bulk_insert(
        service_type,
        [
            {
                "code": "bed_bathing",
                "name_zh": "卧床助浴",
                "name_en": "Bed bathing (two caregivers)",
                "default_minutes": 90,
                "personal_care": True,
                "caregivers_needed": 2,
            }
        ],
    )
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_caregiver_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_service_request_partner_caregiver_id_caregiver'), 'caregiver', ['partner_caregiver_id'], ['id']
        )
        batch_op.create_index(
            'ix_service_request_partner_active',
            ['partner_caregiver_id'],
            unique=False,
            postgresql_where=sa.text(ACTIVE),
            sqlite_where=sa.text(ACTIVE),
        )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seat', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_index('uq_offer_request_accepted', postgresql_where=sa.text(ACCEPTED), sqlite_where=sa.text(ACCEPTED))
        batch_op.create_index(
            'uq_offer_request_accepted',
            ['request_id', 'seat'],
            unique=True,
            postgresql_where=sa.text(ACCEPTED),
            sqlite_where=sa.text(ACCEPTED),
        )
    with op.batch_alter_table('caregiver_booking', schema=None) as batch_op:
        batch_op.drop_index('uq_caregiver_booking_request_active', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
        batch_op.create_index(
            'uq_caregiver_booking_request_active',
            ['request_id', 'caregiver_id'],
            unique=True,
            postgresql_where=sa.text('active'),
            sqlite_where=sa.text('active'),
        )


def downgrade() -> None:
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.drop_index('uq_offer_request_accepted', postgresql_where=sa.text(ACCEPTED), sqlite_where=sa.text(ACCEPTED))
        batch_op.create_index(
            'uq_offer_request_accepted',
            ['request_id'],
            unique=True,
            postgresql_where=sa.text(ACCEPTED),
            sqlite_where=sa.text(ACCEPTED),
        )
        batch_op.drop_column('seat')
    with op.batch_alter_table('caregiver_booking', schema=None) as batch_op:
        batch_op.drop_index('uq_caregiver_booking_request_active', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
        batch_op.create_index(
            'uq_caregiver_booking_request_active',
            ['request_id'],
            unique=True,
            postgresql_where=sa.text('active'),
            sqlite_where=sa.text('active'),
        )
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_index('ix_service_request_partner_active', postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))
        batch_op.drop_constraint(batch_op.f('fk_service_request_partner_caregiver_id_caregiver'), type_='foreignkey')
        batch_op.drop_column('partner_caregiver_id')
    op.execute("DELETE FROM service_type WHERE code = 'bed_bathing'")
    with op.batch_alter_table('service_type', schema=None) as batch_op:
        batch_op.drop_column('caregivers_needed')
