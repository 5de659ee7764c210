"""Public holidays and adjusted working days (法定节假日与调休): the bureau's calendar entries, and what plans and
rosters do on such days

``calendar_day`` holds the bureau's word on a day, over the chinese-calendar package's data (or for a year the
package does not know yet). A service plan skips public holidays and follows adjusted working days unless told
otherwise; a caregiver's roster is off on public holidays and worked on adjusted working days unless told otherwise.
Existing plans and caregivers take those defaults.

Revision ID: 02e7c07a1565
Revises: 3e8b1d6c0f27
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '02e7c07a1565'
down_revision: str | None = '3e8b1d6c0f27'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name_zh', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('works_as', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('updated_by_user_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by_user_id'], ['user_account.id'], name=op.f('fk_calendar_day_updated_by_user_id_user_account')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day'))
    )
    with op.batch_alter_table('service_plan') as batch:
        batch.add_column(sa.Column('skip_holidays', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('follow_adjusted_workdays', sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table('caregiver') as batch:
        batch.add_column(sa.Column('works_holidays', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('works_adjusted_workdays', sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table('caregiver') as batch:
        batch.drop_column('works_adjusted_workdays')
        batch.drop_column('works_holidays')
    with op.batch_alter_table('service_plan') as batch:
        batch.drop_column('follow_adjusted_workdays')
        batch.drop_column('skip_holidays')
    op.drop_table('calendar_day')
