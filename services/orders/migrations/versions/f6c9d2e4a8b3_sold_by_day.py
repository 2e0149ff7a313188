"""the sold lines summed per UTC day too (sold_by_day, kept by the triggers), the months summed
from the days: a period's days around its whole months are read from their sums, not the lines

Revision ID: f6c9d2e4a8b3
Revises: e5b8c1d3f7a2
Create Date: 2026-12-04 07:30:00.000000

"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f6c9d2e4a8b3"
down_revision = "e5b8c1d3f7a2"
branch_labels = None
depends_on = None

# The triggers of e5b8c1d3f7a2, now keeping the days: each function adds the lines that came
# (`sign` 1) and takes away those that went (-1) in one INSERT whose rows are in key order, so two
# transactions lock the same rows in the same order (no deadlock). Sold is
# services/orders/reports.py's SOLD; a day is the UTC day of the order's creation.
_FUNCTIONS = """
-- An order that becomes sold (or stops being, or is dated to another day) moves its lines.
CREATE FUNCTION orders.sold_by_day_follow_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders.sold_by_day AS kept
        (day, product_id, category_id, product_name, lines, units, revenue)
    SELECT day, product_id, category_id, product_name,
           sum(sign), sum(sign * quantity), sum(sign * line_total)
    FROM (
        SELECT (OLD.created_at AT TIME ZONE 'UTC')::date AS day,
               product_id, category_id, product_name, -1 AS sign, quantity, line_total
        FROM orders.order_items
        WHERE order_id = OLD.id AND OLD.status IN ('paid', 'shipped', 'delivered')
        UNION ALL
        SELECT (NEW.created_at AT TIME ZONE 'UTC')::date,
               product_id, category_id, product_name, 1, quantity, line_total
        FROM orders.order_items
        WHERE order_id = NEW.id AND NEW.status IN ('paid', 'shipped', 'delivered')
    ) AS moved
    GROUP BY day, product_id, category_id, product_name
    ORDER BY day, product_id, category_id, product_name
    ON CONFLICT (day, product_id, category_id, product_name) DO UPDATE
    SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
        revenue = kept.revenue + excluded.revenue;
    RETURN NULL;
END $$;

-- A sold order deleted takes its lines away before the cascade deletes them (the lines' trigger
-- then finds no order).
CREATE FUNCTION orders.sold_by_day_leave_with_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders.sold_by_day AS kept
        (day, product_id, category_id, product_name, lines, units, revenue)
    SELECT (OLD.created_at AT TIME ZONE 'UTC')::date,
           product_id, category_id, product_name,
           -count(*), -sum(quantity), -sum(line_total)
    FROM orders.order_items
    WHERE order_id = OLD.id
    GROUP BY product_id, category_id, product_name
    ORDER BY product_id, category_id, product_name
    ON CONFLICT (day, product_id, category_id, product_name) DO UPDATE
    SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
        revenue = kept.revenue + excluded.revenue;
    RETURN OLD;
END $$;

-- Lines added to, changed in or taken from a sold order, a statement's lines at once. A trigger
-- with transition tables has one event: an insert has only `came`, a delete only `gone`.
CREATE FUNCTION orders.sold_by_day_follow_lines() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders.sold_by_day AS kept
            (day, product_id, category_id, product_name, lines, units, revenue)
        SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day,
               i.product_id, i.category_id, i.product_name,
               sum(i.sign), sum(i.sign * i.quantity), sum(i.sign * i.line_total)
        FROM (SELECT order_id, product_id, category_id, product_name, 1 AS sign, quantity,
                     line_total
              FROM came) AS i
        JOIN orders.orders o ON o.id = i.order_id
        WHERE o.status IN ('paid', 'shipped', 'delivered')
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, product_id, category_id, product_name) DO UPDATE
        SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
            revenue = kept.revenue + excluded.revenue;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO orders.sold_by_day AS kept
            (day, product_id, category_id, product_name, lines, units, revenue)
        SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day,
               i.product_id, i.category_id, i.product_name,
               sum(i.sign), sum(i.sign * i.quantity), sum(i.sign * i.line_total)
        FROM (SELECT order_id, product_id, category_id, product_name, -1 AS sign, quantity,
                     line_total
              FROM gone) AS i
        JOIN orders.orders o ON o.id = i.order_id
        WHERE o.status IN ('paid', 'shipped', 'delivered')
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, product_id, category_id, product_name) DO UPDATE
        SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
            revenue = kept.revenue + excluded.revenue;
    ELSE
        INSERT INTO orders.sold_by_day AS kept
            (day, product_id, category_id, product_name, lines, units, revenue)
        SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day,
               i.product_id, i.category_id, i.product_name,
               sum(i.sign), sum(i.sign * i.quantity), sum(i.sign * i.line_total)
        FROM (SELECT order_id, product_id, category_id, product_name, -1 AS sign, quantity,
                     line_total
              FROM gone
              UNION ALL
              SELECT order_id, product_id, category_id, product_name, 1, quantity, line_total
              FROM came) AS i
        JOIN orders.orders o ON o.id = i.order_id
        WHERE o.status IN ('paid', 'shipped', 'delivered')
        GROUP BY 1, 2, 3, 4
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (day, product_id, category_id, product_name) DO UPDATE
        SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
            revenue = kept.revenue + excluded.revenue;
    END IF;
    RETURN NULL;
END $$;
-- A day's change, added to its month's row (the day's row in it, whichever changed first).
CREATE FUNCTION orders.sold_by_month_follow_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders.sold_by_month AS kept
        (month, product_id, category_id, product_name, lines, units, revenue)
    VALUES (date_trunc('month', NEW.day)::date, NEW.product_id, NEW.category_id,
            NEW.product_name, NEW.lines - coalesce(OLD.lines, 0),
            NEW.units - coalesce(OLD.units, 0), NEW.revenue - coalesce(OLD.revenue, 0))
    ON CONFLICT (month, product_id, category_id, product_name) DO UPDATE
    SET lines = kept.lines + excluded.lines, units = kept.units + excluded.units,
        revenue = kept.revenue + excluded.revenue;
    RETURN NULL;
END $$;
"""

_TRIGGERS = """
CREATE TRIGGER sold_by_day_follow_order AFTER UPDATE OF status, created_at ON orders.orders
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION orders.sold_by_day_follow_order();
CREATE TRIGGER sold_by_day_leave_with_order BEFORE DELETE ON orders.orders
    FOR EACH ROW WHEN (OLD.status IN ('paid', 'shipped', 'delivered'))
    EXECUTE FUNCTION orders.sold_by_day_leave_with_order();
CREATE TRIGGER sold_by_day_follow_lines_insert AFTER INSERT ON orders.order_items
    REFERENCING NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION orders.sold_by_day_follow_lines();
CREATE TRIGGER sold_by_day_follow_lines_delete AFTER DELETE ON orders.order_items
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION orders.sold_by_day_follow_lines();
CREATE TRIGGER sold_by_day_follow_lines_update AFTER UPDATE ON orders.order_items
    REFERENCING OLD TABLE AS gone NEW TABLE AS came
    FOR EACH STATEMENT EXECUTE FUNCTION orders.sold_by_day_follow_lines();
CREATE TRIGGER sold_by_month_follow_day AFTER INSERT OR UPDATE ON orders.sold_by_day
    FOR EACH ROW EXECUTE FUNCTION orders.sold_by_month_follow_day();
"""

_OLD_TRIGGERS = (
    ("sold_by_month_follow_lines_update", "order_items"),
    ("sold_by_month_follow_lines_delete", "order_items"),
    ("sold_by_month_follow_lines_insert", "order_items"),
    ("sold_by_month_leave_with_order", "orders"),
    ("sold_by_month_follow_order", "orders"),
)
_OLD_FUNCTIONS = (
    "sold_by_month_follow_lines",
    "sold_by_month_leave_with_order",
    "sold_by_month_follow_order",
)

# The days from the lines; the months from the days (their trigger), so they start empty.
_BACKFILL = """
DELETE FROM orders.sold_by_month;
INSERT INTO orders.sold_by_day (day, product_id, category_id, product_name, lines, units, revenue)
SELECT (o.created_at AT TIME ZONE 'UTC')::date, i.product_id, i.category_id, i.product_name,
       count(*), sum(i.quantity), sum(i.line_total)
FROM orders.orders o JOIN orders.order_items i ON i.order_id = o.id
WHERE o.status IN ('paid', 'shipped', 'delivered')
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;
"""


def upgrade():
    for trigger, table in _OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON orders.{table}")
    for function in _OLD_FUNCTIONS:
        op.execute(f"DROP FUNCTION orders.{function}()")
    op.create_table(
        "sold_by_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("product_name", sa.String(length=200), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.Numeric(16, 2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sold_by_day")),
        sa.UniqueConstraint(
            "day",
            "product_id",
            "category_id",
            "product_name",
            name=op.f("uq_sold_by_day_day_product_id_category_id_product_name"),
            postgresql_nulls_not_distinct=True,
        ),
        schema="orders",
    )
    op.execute(_FUNCTIONS)
    op.execute(_TRIGGERS)
    op.execute(_BACKFILL)


def downgrade():
    op.execute("DROP TRIGGER sold_by_month_follow_day ON orders.sold_by_day")
    for trigger, table in _OLD_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger.replace('_month_', '_day_')} ON orders.{table}")
    op.execute("DROP FUNCTION orders.sold_by_month_follow_day()")
    for function in _OLD_FUNCTIONS:
        op.execute(f"DROP FUNCTION orders.{function.replace('_month_', '_day_')}()")
    op.drop_table("sold_by_day", schema="orders")
    # e5b8c1d3f7a2's triggers again, as that migration wrote them.
    path = Path(__file__).with_name("e5b8c1d3f7a2_sold_by_month.py")
    spec = importlib.util.spec_from_file_location("sold_by_month", path)
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(previous._FUNCTIONS)
    op.execute(previous._TRIGGERS)
