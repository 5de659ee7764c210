"""Money in fen: every amount an integer of fen (BIGINT ``<name>_fen``), existing yuan multiplied by 100

Prices, fees, insurance limits and premiums, claims, statements and their lines, and budgets were integers of
yuan; they become integers of fen, so that 12.35 yuan is stored exactly (1235). The CHECK constraints that name
an amount are kept, on the new columns. Downgrading divides by 100, rounded half up (away from zero at .5) as
``backend.core.money.round_fen`` does: cents are lost.

On PostgreSQL each column is converted in place (``ALTER … TYPE bigint USING … * 100``, one rewrite of the
table); SQLite (the embedded mode) copies each table once (batch mode) and multiplies afterwards.

Revision ID: 5e0d514c9a8b
Revises: 0a0dec2dd87a
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5e0d514c9a8b'
down_revision: str | None = '0a0dec2dd87a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# table: [(yuan column, fen column, nullable, server default)]
AMOUNTS: dict[str, list[tuple[str, str, bool, str | None]]] = {
    'service_type': [('government_price_yuan', 'government_price_fen', False, '0')],
    'provider_rate': [('price_yuan', 'price_fen', False, None)],
    'institution': [('monthly_fee_yuan', 'monthly_fee_fen', True, None)],
    'insurance_policy': [
        ('limit_per_event', 'limit_per_event_fen', False, None),
        ('limit_per_year', 'limit_per_year_fen', False, None),
        ('premium_yuan', 'premium_fen', True, None),
    ],
    'claim': [('approved_yuan', 'approved_fen', True, None), ('paid_yuan', 'paid_fen', True, None)],
    'settlement': [
        ('government_yuan', 'government_fen', False, None),
        ('self_yuan', 'self_fen', False, None),
        ('emergency_yuan', 'emergency_fen', False, '0'),
    ],
    'settlement_line': [('amount_yuan', 'amount_fen', False, None)],
    'subsidy_budget': [('budget_yuan', 'budget_fen', False, None)],
}
# table: [(CHECK constraint, its condition on the yuan columns, on the fen columns)]
CHECKS: dict[str, list[tuple[str, str, str]]] = {
    'provider_rate': [('ck_provider_rate_price_not_negative', 'price_yuan >= 0', 'price_fen >= 0')],
    'insurance_policy': [
        (
            'ck_insurance_policy_limits_ordered',
            'limit_per_event > 0 AND limit_per_year >= limit_per_event',
            'limit_per_event_fen > 0 AND limit_per_year_fen >= limit_per_event_fen',
        )
    ],
}


def _to_fen(column: str) -> str:
    return f'{column} * 100'


def _to_yuan(column: str) -> str:
    """Fen to yuan, rounded half up (away from zero): integer division truncates toward zero on both databases."""
    return f'CASE WHEN {column} >= 0 THEN ({column} + 50) / 100 ELSE -((50 - {column}) / 100) END'


def _convert(*, to_fen: bool) -> None:
    """Rename and retype every amount column, converting its values; its CHECK constraints follow it (a CHECK holds
    as well on yuan as on the same amounts in fen, so it may be in place while the values are converted)."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    convert = _to_fen if to_fen else _to_yuan
    for table, columns in AMOUNTS.items():
        with op.batch_alter_table(table) as batch:
            for name, _yuan, _fen in CHECKS.get(table, []):
                batch.drop_constraint(op.f(name), type_='check')
            for yuan, fen, nullable, default in columns:
                old, new = (yuan, fen) if to_fen else (fen, yuan)
                batch.alter_column(
                    old,
                    new_column_name=new,
                    type_=sa.BigInteger() if to_fen else sa.Integer(),
                    existing_type=sa.Integer() if to_fen else sa.BigInteger(),
                    existing_nullable=nullable,
                    existing_server_default=default,
                    postgresql_using=convert(old),  # PostgreSQL: converted as the column is retyped
                )
            for name, yuan_condition, fen_condition in CHECKS.get(table, []):
                batch.create_check_constraint(op.f(name), fen_condition if to_fen else yuan_condition)
        if not postgresql:  # SQLite copied the table as it was: its values are converted now
            names = [fen if to_fen else yuan for yuan, fen, _nullable, _default in columns]
            op.execute(f'UPDATE {table} SET ' + ', '.join(f'{name} = {convert(name)}' for name in names))


def upgrade() -> None:
    _convert(to_fen=True)


def downgrade() -> None:
    _convert(to_fen=False)
