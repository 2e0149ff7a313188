"""The products service, as the collector uses it: its internal door `/products/collected`, opened
by the collector's own service credential (the kit's client signs every call), never by an
admin's password or token."""

from __future__ import annotations

from dataclasses import dataclass

from services.kit import Unavailable, service


@dataclass
class Upserted:
    created: int
    updated: int
    # row index → (product id, created?)
    products: dict[int, tuple[int, bool]]
    # row index → the reason products gave
    rejected: dict[int, str]


def upsert(rows: list[dict]) -> Upserted:
    """Create or update products by barcode, as `POST /products/import` does.

    Idempotent by barcode, so rows whose answer a dropped connection lost are sent again rather
    than failing the page: products finds the rows it stored and answers them as updated (the
    run then counts them so)."""
    products = service("products")
    response = products.post("/products/collected", json=rows, forward_auth=False, idempotent=True)
    if response.status_code != 200:
        raise Unavailable(f"products refused the collected rows ({response.status_code})")

    def read(body):
        return Upserted(
            created=int(body["created"]),
            updated=int(body["updated"]),
            products={
                int(row["index"]): (int(row["id"]), bool(row["created"]))
                for row in body["products"]
            },
            rejected={
                int(row["index"]): "; ".join(
                    f"{field}: {', '.join(messages)}"
                    for field, messages in (row.get("errors") or {}).items()
                )
                or str(row.get("reason"))
                for row in body["rejected"]
            },
        )

    return products.read(response, read)


def add_image(product_id: int, filename: str, content: bytes, content_type: str) -> bool:
    """Send a picture to the product's images; False when products refused it (not a picture it
    accepts, too large, the product gone). Never sent twice: a second copy would be a second
    picture."""
    response = service("products").post(
        f"/products/collected/{product_id}/images",
        files={"file": (filename, content, content_type)},
        forward_auth=False,
    )
    return response.status_code == 201
