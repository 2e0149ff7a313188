"""The KPIs' names (clients', categories') are kept a few seconds per app, never the figures: a
client renamed shows its old name until they are read again, and its orders count at once."""

from services.orders import names

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
