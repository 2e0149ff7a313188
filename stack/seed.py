"""`make seed`: realistic demo data (Faker pt_BR, valid CPFs and EAN-13s) loaded through the
gateway's API, so a newcomer sees a living system and every rule is applied to it (clients,
the catalogue, orders of the last 60 days in every status for the console's charts); then the
catalogue topped up with COPY to benchmark size. Only reading back what it made (the demo
products, the buyers) and dating the orders back go straight to the services' schemas."""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from faker import Faker

from services.kit.makers import cpf, ean13

from .config import StackConfig


def ok(response: requests.Response) -> requests.Response:
    """The response, unless it is an error: then the seed stops naming the request and the
    problem's detail (raise_for_status says only the status)."""
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        said, errors = problem.get("detail") or response.reason, problem.get("errors")
        raise SystemExit(
            f"{response.request.method} {urlsplit(response.url).path} answered"
            f" {response.status_code}: {said}{f' {errors}' if errors else ''}"
        )
    return response


class Api:
    def __init__(self, cfg: StackConfig):
        self.base = cfg.gateway_url
        self.session = requests.Session()
        response = self.session.post(
            f"{self.base}/auth/login",
            json={
                "email": cfg.get("FEIRA_ADMIN_EMAIL"),
                "password": cfg.get("FEIRA_ADMIN_PASSWORD"),
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise SystemExit(f"cannot log in as the admin ({response.status_code}): is it up?")
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def post(self, path: str, body: dict | list) -> requests.Response:
        return self.session.post(f"{self.base}{path}", json=body, timeout=30)

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(f"{self.base}{path}", params=params, timeout=10)


def seed_clients(api: Api, fake: Faker, count: int) -> int:
    created = 0
    for _ in range(count):
        response = api.post(
            "/clients",
            {
                "name": fake.name(),
                "email": fake.unique.email(),
                "cpf": fake.unique.cpf(),
                "balance": f"{random.uniform(0, 5000):.2f}",  # noqa: S311 (demo data)
            },
        )
        if response.status_code == 409:
            continue
        ok(response)
        client_id = response.json()["id"]
        for _ in range(random.randint(1, 2)):  # noqa: S311
            ok(
                api.post(
                    f"/clients/{client_id}/addresses",
                    {
                        "state": fake.estado_sigla(),
                        "city": fake.city(),
                        "street": fake.street_name(),
                        "number": random.choice([fake.building_number(), "s/n"]),  # noqa: S311
                        "complement": random.choice([None, f"Apto {random.randint(1, 300)}"]),  # noqa: S311
                        "cep": fake.postcode(formatted=False),
                    },
                )
            )
        created += 1
    return created


def bulk_clients(cfg: StackConfig, total: int) -> int:
    """Top the clients table up to `total` rows with COPY (for benchmarks: 100k through the API
    would take minutes). The rows are valid: formatted CPFs with real check digits."""
    import psycopg

    with psycopg.connect(dsn(cfg, "clients")) as conn:
        present = conn.execute("SELECT count(*) FROM clients.clients").fetchone()[0]
        missing = total - present
        if missing <= 0:
            return 0
        fake = Faker("pt_BR")
        start = conn.execute("SELECT coalesce(max(id), 0) FROM clients.clients").fetchone()[0]
        with conn.cursor().copy(
            "COPY clients.clients (name, email, cpf, balance) FROM STDIN"
        ) as copy:
            for n in range(start + 1, start + missing + 1):
                first_nine = f"{(700_000_000 + n * 7) % 1_000_000_000:09d}"
                copy.write_row((fake.name(), f"bench{n}@example.com", cpf(first_nine), "0.00"))
        conn.execute("ANALYZE clients.clients")
    return missing


# The demo catalogue: category -> (noun, Portuguese description) pairs. Benchmark rows combine the
# same nouns with adjectives and brands, so `q` searches hit realistic fractions of the catalogue.
CATALOGUE = {
    "Periféricos": [("Teclado", "teclado ABNT2"), ("Mouse", "mouse óptico"), ("Headset", "fone")],
    "Monitores": [("Monitor", "tela de LED"), ("Suporte de monitor", "braço articulado")],
    "Escritório": [("Cadeira", "cadeira giratória"), ("Mesa", "mesa de trabalho")],
    "Papelaria": [("Caderno", "caderno espiral"), ("Caneta", "caneta esferográfica")],
    "Mercearia": [
        ("Café", "café torrado e moído"),
        ("Arroz", "arroz tipo 1"),
        ("Feijão", "feijão"),
    ],
    "Bebidas": [("Suco", "suco integral"), ("Água mineral", "água sem gás")],
    "Limpeza": [("Detergente", "detergente neutro"), ("Sabão em pó", "lava roupas")],
    "Casa": [("Luminária", "luminária de mesa"), ("Panela", "panela antiaderente")],
}
ADJECTIVES = [
    "Premium", "Compacto", "Sem Fio", "Profissional", "Básico", "Ergonômico", "Econômico",
    "Silencioso", "Portátil", "Reforçado", "Clássico", "Slim", "Gamer", "Orgânico", "Integral",
]  # fmt: skip
BRANDS = [
    "Aurora", "Boreal", "Cajá", "Dendê", "Estrela", "Farol", "Guará", "Ipê", "Jatobá", "Lince",
]  # fmt: skip
PERISHABLE = {"Mercearia", "Bebidas"}


def demo_catalogue() -> list[tuple[str, str, str, str]]:
    """(category, name, description, barcode) of each demo product: three brands of each noun,
    with retail EAN-13s (prefix 789) the seed can find them by again."""
    return [
        (
            category,
            f"{noun} {brand}",
            f"{description.capitalize()} da marca {brand}",
            ean13(f"789{c:03d}{i:03d}{b:03d}"),
        )
        for c, (category, items) in enumerate(CATALOGUE.items())
        for i, (noun, description) in enumerate(items)
        for b, brand in enumerate(BRANDS[:3])
    ]


def seed_catalogue(api: Api) -> tuple[int, int]:
    """The categories, then a few products per category through POST /products/import (an
    upsert by barcode: running it again changes nothing)."""
    category_ids = ensure_categories(api)
    rows = [
        {
            "name": name,
            "description": description,
            # The same price each run, so running the seed again changes nothing.
            "price": f"{random.Random(barcode).uniform(3, 900):.2f}",  # noqa: S311 (demo data)
            "barcode": barcode,
            "category_id": category_ids[category],
            "expires_on": "2027-06-30" if category in PERISHABLE else None,
        }
        for category, name, description, barcode in demo_catalogue()
    ]
    response = api.post("/products/import", rows)
    ok(response)
    report = response.json()
    if report["rejected"]:
        raise SystemExit(f"the demo catalogue was refused: {report['rejected'][:3]}")
    return len(category_ids), report["created"] + report["updated"]


def ensure_categories(api: Api) -> dict[str, int]:
    for name in CATALOGUE:
        response = api.post("/categories", {"name": name})
        if response.status_code != 409:
            ok(response)
    listed = api.get("/categories", per_page=100)
    ok(listed)
    return {c["name"]: c["id"] for c in listed.json()["items"] if c["name"] in CATALOGUE}


def bulk_products(cfg: StackConfig, total: int) -> int:
    """Top the catalogue up to `total` products with COPY (for benchmarks: 100k through the API
    would take minutes). The rows are valid: EAN-13s with real check digits in the in-store range
    (prefix 2, never a retail barcode), unique names, prices > 0. They bypass the API, so no
    `product.created` is emitted for them."""
    import psycopg

    rng = random.Random(total)  # noqa: S311 (benchmark data, reproducible)
    with psycopg.connect(dsn(cfg, "products")) as conn:
        present = conn.execute("SELECT count(*) FROM products.products").fetchone()[0]
        missing = total - present
        if missing <= 0:
            return 0
        category_ids = dict(conn.execute("SELECT name, id FROM products.categories").fetchall())
        if not category_ids:
            # A stack nobody seeded: the rows still get the demo categories the cases filter by.
            category_ids = ensure_categories(Api(cfg))
        kinds = [
            (noun, description, category_ids.get(category), category in PERISHABLE)
            for category, items in CATALOGUE.items()
            for noun, description in items
        ]
        start = conn.execute(
            "SELECT coalesce(max(substr(barcode, 2, 11)::bigint), 0) FROM products.products"
            " WHERE barcode LIKE '2%'"
        ).fetchone()[0]
        columns = "name, description, price, barcode, category_id, expires_on, active, created_at"
        with conn.cursor().copy(f"COPY products.products ({columns}) FROM STDIN") as copy:
            for n in range(start + 1, start + missing + 1):
                noun, description, category_id, perishable = rng.choice(kinds)
                adjective, brand = rng.choice(ADJECTIVES), rng.choice(BRANDS)
                copy.write_row(
                    (
                        f"{noun} {adjective} {brand} {n}",
                        f"{description.capitalize()} {adjective.lower()} da marca {brand}",
                        f"{rng.uniform(1, 2000):.2f}",
                        ean13(f"2{n:011d}"),
                        category_id,
                        f"2027-{rng.randint(1, 12):02d}-28" if perishable else None,
                        rng.random() > 0.03,
                        f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 12:00:00+00",
                    )
                )
        conn.commit()
        # VACUUM sets the visibility map, so counting a filtered page is an index-only scan.
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE products.products")
    return missing


# How seeded orders end, roughly as a shop's last two months look: most delivered, some on
# their way, some waiting, some given up.
ENDINGS = {
    ("paid", "shipped", "delivered"): 45,
    ("paid", "shipped"): 12,
    ("paid",): 13,
    ("cancelled",): 12,
    (): 18,
}
SEED_DAYS = 60


def seed_orders(api: Api, cfg: StackConfig, count: int) -> int:
    """Orders placed through the API (stock received first, so every rule and event applies:
    orders' read model, inventory's reservations, products' units sold), moved along their
    statuses, then spread over the last SEED_DAYS days in orders' own schema (creation time is
    the server's). Runs again only up to `count` orders of the demo products: the bench's and
    the suites' orders, of products of their own, do not count."""
    products = demo_products(cfg)
    buyers = clients_with_addresses(cfg)
    if not products or not buyers:
        return 0
    missing = count - orders_of(cfg, products)
    if missing <= 0:
        return 0
    receive_stock(api, products, missing * 3)
    rng = random.Random(count)  # noqa: S311 (demo data, reproducible)
    endings, weights = list(ENDINGS), list(ENDINGS.values())
    made: list[tuple[int, float]] = []
    paid: set[int] = set()
    for _ in range(missing):
        client_id, address_ids = rng.choice(buyers)
        lines = rng.sample(products, rng.randint(1, 3))
        response = api.post(
            "/orders",
            {
                "client_id": client_id,
                "items": [{"product_id": p, "quantity": rng.randint(1, 3)} for p in lines],
                "shipping_address_id": rng.choice(address_ids),
                "payment_method": "cash",
            },
        )
        ok(response)
        order_id = response.json()["id"]
        ending = rng.choices(endings, weights)[0]
        for status in ending:
            ok(api.post(f"/orders/{order_id}/status", {"status": status}))
        if "paid" in ending:
            paid.add(order_id)
        # Skewed towards the recent days, as a growing shop's are.
        made.append((order_id, SEED_DAYS * (1 - rng.random() ** 0.7) + rng.random()))
    backdate_orders(cfg, made)
    backdate_sales(cfg, [(order_id, days) for order_id, days in made if order_id in paid])
    return len(made)


def orders_of(cfg: StackConfig, products: list[int]) -> int:
    """How many orders hold any of these products, in orders' schema."""
    import psycopg

    with psycopg.connect(dsn(cfg, "orders")) as conn:
        return conn.execute(
            "SELECT count(DISTINCT order_id) FROM orders.order_items WHERE product_id = ANY(%s)",
            (products,),
        ).fetchone()[0]


def demo_products(cfg: StackConfig) -> list[int]:
    """The demo catalogue's active products, found by their barcodes in products' schema:
    whatever ids they got (a stack the suites or the bench used first has others before them)."""
    import psycopg

    barcodes = [barcode for _, _, _, barcode in demo_catalogue()]
    with psycopg.connect(dsn(cfg, "products")) as conn:
        rows = conn.execute(
            "SELECT id FROM products.products WHERE barcode = ANY(%s) AND active ORDER BY id",
            (barcodes,),
        ).fetchall()
    return [product_id for (product_id,) in rows]


# The monitoring journey's probe client, by its address (monitoring/journey.py's PROBE_EMAIL: the
# stack imports no service's code, and stack/tests/test_seed.py keeps the two equal).
JOURNEY_PROBE_EMAIL = "monitoring-journey@example.com"


def clients_with_addresses(cfg: StackConfig) -> list[tuple[int, list[int]]]:
    """Up to 100 clients who have addresses, with them, read in clients' schema: the seed's own
    and any other (a stack the bench used first holds thousands of clients with none), but the
    monitoring journey's probe client, whose address lives a moment every run: one read here
    was often gone when its order was placed (422, "Client 1 has no address 57")."""
    import psycopg

    with psycopg.connect(dsn(cfg, "clients")) as conn:
        rows = conn.execute(
            "SELECT a.client_id, array_agg(a.id ORDER BY a.id) FROM clients.addresses a"
            " JOIN clients.clients c ON c.id = a.client_id WHERE c.email IS DISTINCT FROM %s"
            " GROUP BY a.client_id ORDER BY a.client_id LIMIT 100",
            (JOURNEY_PROBE_EMAIL,),
        ).fetchall()
    return [(client_id, list(address_ids)) for client_id, address_ids in rows]


def receive_stock(api: Api, products: list[int], quantity: int) -> None:
    """A receipt for each product; its stock row appears once inventory hears the product's
    creation (the relay's delay after a first seed), so it is waited for a few seconds."""
    for product_id in products:
        for _ in range(40):
            response = api.post(
                f"/inventory/stock/{product_id}/movements",
                {"quantity": quantity, "reason": "receipt", "note": "seed"},
            )
            if response.status_code != 404:
                break
            time.sleep(0.25)
        ok(response)


def dsn(cfg: StackConfig, service: str) -> str:
    """libpq's address of the stack's database as `service`'s own role."""
    url = cfg.database_url(service, cfg.db_passwords()[service])
    return url.replace("postgresql+psycopg://", "postgresql://")


def backdate_orders(cfg: StackConfig, made: list[tuple[int, float]]) -> None:
    """Each order, and its history with it, moved `days` into the past."""
    import psycopg

    with psycopg.connect(dsn(cfg, "orders")) as conn:
        with conn.cursor() as cursor:
            for order_id, days in made:
                shift = timedelta(days=days)
                cursor.execute(
                    "UPDATE orders.orders SET created_at = created_at - %s,"
                    " updated_at = updated_at - %s WHERE id = %s",
                    (shift, shift, order_id),
                )
                cursor.execute(
                    "UPDATE orders.order_history SET at = at - %s WHERE order_id = %s",
                    (shift, order_id),
                )
        conn.commit()


def backdate_sales(cfg: StackConfig, paid: list[tuple[int, float]], wait_s: float = 30) -> None:
    """The paid orders' units in products' sales (its `popularity` sort, over the last 30 days),
    on the day each order was moved to: products counted them sold today, when it heard
    `order.paid`. Its relay delivers within a second or so, so the rows are waited for."""
    import psycopg

    if not paid:
        return
    orders = [order_id for order_id, _ in paid]
    with psycopg.connect(dsn(cfg, "products")) as conn:
        deadline = time.monotonic() + wait_s
        heard = 0
        while time.monotonic() < deadline:
            heard = conn.execute(
                "SELECT count(DISTINCT order_id) FROM products.product_sales"
                " WHERE order_id = ANY(%s)",
                (orders,),
            ).fetchone()[0]
            conn.rollback()
            if heard == len(orders):
                break
            time.sleep(0.25)
        else:
            print(f"==> products heard {heard} of {len(orders)} paid orders; the rest stay today's")
        today = datetime.now(UTC)
        with conn.cursor() as cursor:
            for order_id, days in paid:
                cursor.execute(
                    "UPDATE products.product_sales SET sold_on = %s WHERE order_id = %s",
                    ((today - timedelta(days=days)).date(), order_id),
                )
        conn.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.seed")
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument(
        "--orders",
        type=int,
        default=200,
        help="place orders up to this many in all, spread over the last 60 days (0: none)",
    )
    parser.add_argument(
        "--bulk-products",
        type=int,
        default=100_000,
        help="top the catalogue up to this many products with COPY, for `make bench` (0: none)",
    )
    args = parser.parse_args(argv)
    cfg = StackConfig.load()
    fake = Faker("pt_BR")
    api = Api(cfg)
    if "clients" in cfg.services:
        print(f"==> {seed_clients(api, fake, args.clients)} clients with addresses")
    if "products" in cfg.services:
        categories, products = seed_catalogue(api)
        print(f"==> {categories} categories and {products} products through the API")
        if args.bulk_products:
            added = bulk_products(cfg, args.bulk_products)
            print(f"==> {added} more products with COPY ({args.bulk_products} in all)")
    if args.orders and {"clients", "products", "inventory", "orders"} <= set(cfg.services):
        print(f"==> {seed_orders(api, cfg, args.orders)} orders over the last {SEED_DAYS} days")


if __name__ == "__main__":
    main()
