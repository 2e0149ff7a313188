"""The reports' names. The KPIs' names of clients and categories are kept a few seconds per
app, never the figures: a client renamed shows its old name until they are read again, and its
orders count at once. A product is named as the catalogue last named it (its `product.updated`
delivered), else by its latest line."""

from datetime import UTC, datetime

from sqlalchemy import delete

from services.kit.testing import deliver
from services.orders import names
from services.orders.models import KnownProduct, db

from .conftest import order_body


def test_a_renamed_client_keeps_its_name_for_a_few_seconds_and_its_figures_count_at_once(
    client, clients, admin, user, make_client, make_product, monkeypatch
):
    buyer = make_client()["id"]
    product = make_product(stock=20, price="3.00")["id"]

    def buy(quantity: int) -> None:
        placed = client.post("/orders", json=order_body(buyer, (product, quantity)), headers=user)
        assert placed.status_code == 201, placed.json
        moved = client.post(
            f"/orders/{placed.json['id']}/status", json={"status": "paid"}, headers=admin
        )
        assert moved.status_code == 200, moved.json

    def top_client() -> tuple[str, str]:
        answer = client.get("/orders/reports/kpis", headers=admin).json
        return answer["by_client"][0]["name"], answer["by_client"][0]["gmv"]

    buy(1)
    before = top_client()[0]
    renamed = clients.app.test_client().patch(
        f"/clients/{buyer}", json={"name": "Cliente Renomeado"}, headers=user
    )
    assert renamed.status_code == 200, renamed.json
    buy(2)
    assert top_client() == (before, "9.00")

    monkeypatch.setattr(names, "NAMES_TTL_S", 0.0)
    assert top_client() == ("Cliente Renomeado", "9.00")


def test_a_renamed_product_is_named_as_the_catalogue_names_it_else_by_its_latest_line(
    app, client, admin, user, make_client, make_product
):
    buyer = make_client()["id"]
    product = make_product(stock=20, price="3.00")

    def buy() -> None:
        placed = client.post("/orders", json=order_body(buyer, (product["id"], 1)), headers=user)
        assert placed.status_code == 201, placed.json
        moved = client.post(
            f"/orders/{placed.json['id']}/status", json={"status": "paid"}, headers=admin
        )
        assert moved.status_code == 200, moved.json

    def shown() -> tuple[str, str]:
        sales = client.get("/orders/reports/sales?group_by=product", headers=admin).json
        kpis = client.get("/orders/reports/kpis", headers=admin).json
        [row] = [row for row in sales["items"] if row["key"] == product["id"]]
        [top] = [row for row in kpis["top_products"] if row["product_id"] == product["id"]]
        return row["label"], top["name"]

    buy()
    # Renamed to a name that sorts before the old one ("Produto …"): never the largest name.
    renamed = {**product, "product_id": product["id"], "name": "Alicate renomeado"}
    renamed["updated_at"] = datetime.now(UTC).isoformat()
    assert deliver(app, "product.updated", renamed).status_code == 200
    assert shown() == ("Alicate renomeado", "Alicate renomeado")

    # Sold under the new name too, and then unknown to the read model: its latest line's name in
    # both reports, not the old name that sorts last.
    buy()
    with app.app_context():
        db.session.execute(delete(KnownProduct).where(KnownProduct.id == product["id"]))
        db.session.commit()
    assert shown() == ("Alicate renomeado", "Alicate renomeado")


def test_the_sales_report_names_the_clients_and_categories_it_groups_by(
    client, products, admin, user, make_client, make_product, make_category, monkeypatch
):
    monkeypatch.setattr(names, "NAMES_TTL_S", 0.0)  # not the names an earlier test's ids had
    buyer = make_client()
    category = products.app.test_client().get(f"/categories/{make_category()}", headers=admin).json
    product = make_product(stock=20, price="3.00", category_id=category["id"])
    placed = client.post("/orders", json=order_body(buyer["id"], (product["id"], 2)), headers=user)
    assert placed.status_code == 201, placed.json
    paid = client.post(
        f"/orders/{placed.json['id']}/status", json={"status": "paid"}, headers=admin
    )
    assert paid.status_code == 200, paid.json

    def labels(group_by: str) -> dict:
        answer = client.get(f"/orders/reports/sales?group_by={group_by}", headers=admin)
        assert answer.status_code == 200, answer.json
        return {row["key"]: row["label"] for row in answer.json["items"]}

    assert labels("client") == {buyer["id"]: buyer["name"]}
    assert labels("category") == {category["id"]: category["name"]}


def test_clients_names_are_read_a_page_at_a_time_and_stop_at_the_first_page_refused(
    app, monkeypatch
):
    """A sales report by client may name hundreds: every page is asked while clients answers,
    and none after one it could not answer (each such ask waits out its timeout)."""
    asked: list[list[int]] = []

    def page(name, path, params):
        batch = [int(id_) for id_ in params["ids"].split(",")]
        asked.append(batch)
        return ({id_: f"Cliente {id_}" for id_ in batch}, False) if answering else None

    monkeypatch.setattr(names, "_page", page)
    monkeypatch.setattr(names, "NAMES_TTL_S", 0.0)
    ids = list(range(1, 251))
    with app.app_context():
        answering = True
        assert names.clients(ids) == {id_: f"Cliente {id_}" for id_ in ids}
        assert [len(batch) for batch in asked] == [100, 100, 50]
        asked.clear()
        answering = False
        assert names.clients(ids) == {}
        assert len(asked) == 1


def test_one_report_reads_at_most_max_client_pages_of_names_and_leaves_the_rest_unnamed(
    app, monkeypatch
):
    asked: list[list[int]] = []

    def page(name, path, params):
        batch = [int(id_) for id_ in params["ids"].split(",")]
        asked.append(batch)
        return {id_: f"Cliente {id_}" for id_ in batch}, False

    monkeypatch.setattr(names, "_page", page)
    monkeypatch.setattr(names, "NAMES_TTL_S", 0.0)
    monkeypatch.setattr(names, "MAX_CLIENT_PAGES", 2)
    with app.app_context():
        named = names.clients(list(range(1, 251)))
    assert [len(batch) for batch in asked] == [100, 100]
    assert sorted(named) == list(range(1, 201))
