"""What every test starts from (`truncate_all`, the kit's): each table of the service's schema
empty, its ids starting again, whatever triggers and foreign keys its rows had. Orders' schema has
both (lines on orders, and triggers that keep the sold sums), so it is the one to check."""

from sqlalchemy import text

from services.kit.testing import truncate_all
from services.orders.models import db

_TABLES = text("""
    SELECT quote_ident(table_schema) || '.' || quote_ident(table_name)
    FROM information_schema.tables
    WHERE table_schema = 'orders' AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'
""")


def _paid_order_with_a_line(session) -> int:
    order_id = session.execute(
        text(
            "INSERT INTO orders.orders (client_id, status, total, created_by, created_at,"
            " updated_at) VALUES (1, 'paid', 5, 1, now(), now()) RETURNING id"
        )
    ).scalar_one()
    session.execute(
        text(
            "INSERT INTO orders.order_items (order_id, product_id, category_id, product_name,"
            " quantity, unit_price, line_total) VALUES (:order, 1, 1, 'Bola', 2, 2.5, 5)"
        ),
        {"order": order_id},
    )
    return order_id


def test_between_tests_every_table_is_empty_and_ids_start_again_triggers_and_keys_aside(app):
    with app.app_context():
        for _ in range(3):
            _paid_order_with_a_line(db.session)
        db.session.commit()
        sold = db.session.execute(text("SELECT count(*) FROM orders.sold_by_day")).scalar_one()
        assert sold > 0  # the triggers kept the sums: there was something to leave behind

    truncate_all(app)

    with app.app_context():
        tables = db.session.execute(_TABLES).scalars().all()
        left = {
            table: db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
            for table in tables
        }
        assert set(left.values()) == {0}, left
        assert _paid_order_with_a_line(db.session) == 1
        db.session.rollback()
