"""Proof of the visit: photos and signatures, the elder's confirmation code, what each service requires

Revision ID: 3b8d1e6f9a20
Revises: 2f7a9c3e5d18
Create Date: 2026-12-02 05:53:09
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '3b8d1e6f9a20'
down_revision: str | None = '2f7a9c3e5d18'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('visit_proof',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('caregiver_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Float(), nullable=True),
    sa.Column('distance_m', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_id'], ['caregiver.id'], name=op.f('fk_visit_proof_caregiver_id_caregiver')),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_visit_proof_request_id_service_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_proof')),
    sa.UniqueConstraint('request_id', 'kind', 'sha256', name='uq_visit_proof_content')
    )
    op.create_index(op.f('ix_visit_proof_caregiver_id'), 'visit_proof', ['caregiver_id'], unique=False)
    op.create_table('confirmation_code',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent_to', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('family_member_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['family_member_id'], ['family_member.id'], name=op.f('fk_confirmation_code_family_member_id_family_member')),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_confirmation_code_request_id_service_request')),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_confirmation_code'))
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_by', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    # No service requires proof until an admin says so: existing visits are settled as before.
    with op.batch_alter_table('service_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof_required', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    with op.batch_alter_table('settlement_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('settlement_line', schema=None) as batch_op:
        batch_op.drop_column('proof')
    with op.batch_alter_table('service_type', schema=None) as batch_op:
        batch_op.drop_column('proof_required')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirmed_by')
    op.drop_table('confirmation_code')
    op.drop_index(op.f('ix_visit_proof_caregiver_id'), table_name='visit_proof')
    op.drop_table('visit_proof')
