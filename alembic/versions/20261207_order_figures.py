"""Order figures: one narrow row per order for the dashboards, kept by PostgreSQL triggers

An order made (or moved to another state or community), its first acceptance in the history, its visit's rating:
each is mirrored into ``order_figure`` in the same transaction, whoever writes it. Inserts are handled a statement
at a time (a bulk import pays once), updates a row at a time and only when a counted column changed. The Suzhou day
is ``Asia/Shanghai`` (``backend.core.i18n.LOCAL_TZ``). SQLite (the embedded mode) gets the table but no triggers:
its dashboards count from the orders.

Revision ID: 7c2e9a4f1b63
Revises: 5d1f3a8b2c47
Create Date: 2026-12-07 08:06:13
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '7c2e9a4f1b63'
down_revision: str | None = '5d1f3a8b2c47'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = """
CREATE FUNCTION order_figure_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO order_figure (request_id, community_id, day, status)
    SELECT id, community_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date, status FROM added;
    RETURN NULL;
END $$;
CREATE TRIGGER order_figure_added AFTER INSERT ON service_request
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION order_figure_added();

CREATE FUNCTION order_figure_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE order_figure SET status = NEW.status, community_id = NEW.community_id WHERE request_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER order_figure_moved AFTER UPDATE OF status, community_id ON service_request
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.community_id IS DISTINCT FROM NEW.community_id)
    EXECUTE FUNCTION order_figure_moved();

CREATE FUNCTION order_figure_accepted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- The first acceptance counts (an order accepted again after a redispatch keeps its first); LEAST skips NULL.
    UPDATE order_figure f SET accept_seconds = LEAST(f.accept_seconds, a.seconds)
    FROM (
        SELECT h.request_id, EXTRACT(EPOCH FROM min(h.at) - r.created_at)::float8 AS seconds
        FROM added h JOIN service_request r ON r.id = h.request_id
        WHERE h.status = 'accepted'
        GROUP BY h.request_id, r.created_at
    ) a
    WHERE f.request_id = a.request_id;
    RETURN NULL;
END $$;
CREATE TRIGGER order_figure_accepted AFTER INSERT ON request_history
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION order_figure_accepted();

CREATE FUNCTION order_figure_visited() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE order_figure f SET rating = v.rating FROM added v WHERE f.request_id = v.request_id AND v.rating IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER order_figure_visited AFTER INSERT ON visit
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION order_figure_visited();

CREATE FUNCTION order_figure_rated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE order_figure SET rating = NEW.rating WHERE request_id = NEW.request_id;
    RETURN NULL;
END $$;
CREATE TRIGGER order_figure_rated AFTER UPDATE OF rating ON visit
    FOR EACH ROW WHEN (OLD.rating IS DISTINCT FROM NEW.rating) EXECUTE FUNCTION order_figure_rated();
"""

# The orders already there, as the triggers would have kept them (in the migration's transaction: the triggers'
# locks hold writers back until both are done, so no order falls between them).
BACKFILL = """
INSERT INTO order_figure (request_id, community_id, day, status, accept_seconds, rating)
SELECT r.id, r.community_id, (r.created_at AT TIME ZONE 'Asia/Shanghai')::date, r.status,
       EXTRACT(EPOCH FROM a.at - r.created_at)::float8, v.rating
FROM service_request r
LEFT JOIN (
    SELECT request_id, min(at) AS at FROM request_history WHERE status = 'accepted' GROUP BY request_id
) a ON a.request_id = r.id
LEFT JOIN visit v ON v.request_id = r.id
"""
KEPT_BY = (
    ('order_figure_added', 'service_request'),
    ('order_figure_moved', 'service_request'),
    ('order_figure_accepted', 'request_history'),
    ('order_figure_visited', 'visit'),
    ('order_figure_rated', 'visit'),
)


def upgrade() -> None:
    op.create_table('order_figure',
    sa.Column('request_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('accept_seconds', sa.Float(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], name=op.f('fk_order_figure_request_id_service_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', name=op.f('pk_order_figure'))
    )
    op.create_index('ix_order_figure_community_day', 'order_figure', ['community_id', 'day'], unique=False, postgresql_include=['status', 'accept_seconds', 'rating'])
    op.create_index('ix_order_figure_day', 'order_figure', ['day'], unique=False, postgresql_include=['community_id', 'status', 'accept_seconds', 'rating'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(TRIGGERS)
        op.execute(BACKFILL)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name, table in KEPT_BY:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS {name}()')
    op.drop_index('ix_order_figure_day', table_name='order_figure', postgresql_include=['community_id', 'status', 'accept_seconds', 'rating'])
    op.drop_index('ix_order_figure_community_day', table_name='order_figure', postgresql_include=['status', 'accept_seconds', 'rating'])
    op.drop_table('order_figure')
