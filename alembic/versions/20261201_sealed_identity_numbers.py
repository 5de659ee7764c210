"""resident ID and phone numbers sealed at rest (AES-GCM), with keyed blind indexes and the elder's birth date

Existing rows are sealed here, in batches, with the keys of the configured settings (ELDERCARE_DATA_KEYS and
ELDERCARE_BLIND_INDEX_KEY; outside production, the development key file under var/secrets/).

Revision ID: 8c4e2b7d1f05
Revises: 5a0d1e7c93b2
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

from backend.core.config import get_settings
from backend.core.crypto import keyring_for
from backend.core.identity import birth_date_from_id_number

revision: str = '8c4e2b7d1f05'
down_revision: str | None = '5a0d1e7c93b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): each sealed with its own context, "table.column"
SEALED = [
    ('elder', 'id_number'),
    ('elder', 'phone'),
    ('caregiver', 'phone'),
    ('family_member', 'phone'),
    ('notification', 'phone'),
    ('device', 'sim'),
]
BATCH = 500


def _widen() -> None:
    for table, column in SEALED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, type_=sa.String(length=255), existing_nullable=True)


def upgrade() -> None:
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_index('ix_elder_phone')
        batch_op.drop_constraint('uq_elder_id_number', type_='unique')
        batch_op.add_column(sa.Column('id_number_index', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('phone_index', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
    _widen()

    keys = keyring_for(get_settings())
    bind = op.get_bind()
    elders = sa.table(
        'elder',
        sa.column('id', sa.Integer),
        sa.column('id_number', sa.String),
        sa.column('phone', sa.String),
        sa.column('id_number_index', sa.String),
        sa.column('phone_index', sa.String),
        sa.column('birth_date', sa.Date),
    )
    last = 0
    while rows := bind.execute(
        sa.select(elders.c.id, elders.c.id_number, elders.c.phone)
        .where(elders.c.id > last)
        .order_by(elders.c.id)
        .limit(BATCH)
    ).all():
        for ident, id_number, phone in rows:
            try:
                born = birth_date_from_id_number(id_number)
            except Exception:  # a synthetic elder of a simulation: no birth date in the number
                born = date(1945, 1, 1)
            bind.execute(
                elders.update()
                .where(elders.c.id == ident)
                .values(
                    id_number=keys.seal(id_number, context='elder.id_number'),
                    id_number_index=keys.blind(id_number, context='elder.id_number'),
                    phone=keys.seal(phone, context='elder.phone'),
                    phone_index=keys.blind(phone, context='elder.phone'),
                    birth_date=born,
                )
            )
        last = rows[-1][0]
    for table, column in SEALED[2:]:
        target = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.String))
        last = 0
        while rows := bind.execute(
            sa.select(target.c.id, target.c[column])
            .where(target.c.id > last, target.c[column].is_not(None))
            .order_by(target.c.id)
            .limit(BATCH)
        ).all():
            for ident, value in rows:
                sealed = keys.seal(value, context=f'{table}.{column}')
                bind.execute(target.update().where(target.c.id == ident).values({column: sealed}))
            last = rows[-1][0]

    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.alter_column('id_number_index', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('phone_index', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('birth_date', existing_type=sa.Date(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_elder_id_number_index'), ['id_number_index'])
        batch_op.create_index(batch_op.f('ix_elder_phone_index'), ['phone_index'], unique=False)


def downgrade() -> None:
    keys = keyring_for(get_settings())
    bind = op.get_bind()
    for table, column in SEALED:
        target = sa.table(table, sa.column('id', sa.Integer), sa.column(column, sa.String))
        for ident, value in bind.execute(sa.select(target.c.id, target.c[column]).where(target.c[column].is_not(None))):
            opened = keys.open(value, context=f'{table}.{column}')
            bind.execute(target.update().where(target.c.id == ident).values({column: opened}))
    with op.batch_alter_table('elder', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_elder_phone_index'))
        batch_op.drop_constraint(batch_op.f('uq_elder_id_number_index'), type_='unique')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('phone_index')
        batch_op.drop_column('id_number_index')
        batch_op.create_unique_constraint('uq_elder_id_number', ['id_number'])
        batch_op.create_index('ix_elder_phone', ['phone'], unique=False)
