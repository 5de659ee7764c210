"""A queued SMS keeps its template's parameters

SMS providers in China send only approved templates: the sender passes the template code and its parameters, not
the text. A queued message keeps the parameters it was rendered from (messages queued before have none: the
logged fake still sends them; a provider refuses them, and they fail after their attempts).

Revision ID: 2f8d4b6a9e13
Revises: 7c3e9a1d5b24
Create Date: 2026-12-07 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '2f8d4b6a9e13'
down_revision: str | None = '7c3e9a1d5b24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification') as batch:
        batch.drop_column('params')
