"""The products service, as the collector uses it: its internal door `/products/collected`, opened
by the collector's own service credential (the kit's client signs every call), never by an
admin's password or token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from services.kit import Unavailable, service

# Well under products' limits (1000 rows an import, MAX_BODY_BYTES, 1 MiB, a body): a page of a
# thousand products with long descriptions goes in several calls.
BATCH_ROWS = 200
BATCH_BYTES = 256 * 1024
# products upserts a batch in one transaction (each row's search text and checks too), and decodes
# and re-encodes a picture: seconds on a loaded host, where the kit's HTTP_READ_TIMEOUT (3 s) is
# meant for a quick call. A batch or a picture waits this long for its answer; products down is
# still known at once (connecting).
SLOW_READ_TIMEOUT_S = 60.0


@dataclass
class Upserted:
    # row index → (product id, created?)
    products: dict[int, tuple[int, bool]] = field(default_factory=dict)
    # row index → the reason products gave
    rejected: dict[int, str] = field(default_factory=dict)


def unknown_category(category_id: int) -> bool:
    """Whether products says it has no such category (`HEAD /categories/{id}` with the admin's
    token: a 404). Any other answer, products down included, is not a no: the check spares the
    admin a source whose every row products would refuse, and products judges each row's
    category anyway (a run then rejects the row with products' reason)."""
    try:
        response = service("products").head(f"/categories/{category_id}")
    except Unavailable:
        return False
    return response.status_code == 404


def batches(rows: list[dict]) -> Iterator[list[int]]:
    """The rows' indexes in runs of at most BATCH_ROWS rows and BATCH_BYTES of JSON."""
    batch, size = [], 0
    for index, row in enumerate(rows):
        row_size = len(json.dumps(row)) + 1
        if batch and (len(batch) == BATCH_ROWS or size + row_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += row_size
    if batch:
        yield batch


def upsert(rows: list[dict]) -> Upserted:
    """Create or update products by barcode, in batches; a row sets only the fields it carries.

    Idempotent by barcode, so rows whose answer a dropped connection lost are sent again rather
    than failing the page: products finds the rows it stored and answers them as updated (the
    run then counts them so). A batch products refuses (a 4xx) has each of its rows rejected with
    the reason; products down or failing (Unavailable, from the kit's client) ends the run."""
    result = Upserted()
    for batch in batches(rows):
        answered = _upsert_batch([rows[index] for index in batch])
        result.products |= {batch[i]: landed for i, landed in answered.products.items()}
        result.rejected |= {batch[i]: reason for i, reason in answered.rejected.items()}
    return result


def slow_call_timeout(products) -> tuple[float, float]:
    """The client's connect timeout, and SLOW_READ_TIMEOUT_S (or its own, if longer) to read."""
    connect, read = products.timeout
    return connect, max(read, SLOW_READ_TIMEOUT_S)


def _upsert_batch(rows: list[dict]) -> Upserted:
    products = service("products")
    response = products.post(
        "/products/collected",
        json=rows,
        forward_auth=False,
        idempotent=True,
        timeout=slow_call_timeout(products),
    )
    if response.status_code != 200:
        reason = f"HTTP {response.status_code} for the batch it was sent in"
        return Upserted(rejected=dict.fromkeys(range(len(rows)), reason))

    def read(body):
        return Upserted(
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


def add_image(product_id: int, filename: str, content: bytes, content_type: str) -> int | None:
    """Send a picture to the product's images: the id of the picture products holds of it, None
    when products refused it (not a picture it accepts, too large, the product gone, full).
    Idempotent by its bytes: products answers the same bytes sent again for the product with
    the picture they made (a 200, not a second copy), so a call whose answer was lost is sent
    again, and a picture a run that ended meanwhile did not hear of is taken as sent next time
    (the run stores it as soon as this answers)."""
    products = service("products")
    response = products.post(
        f"/products/collected/{product_id}/images",
        files={"file": (filename, content, content_type)},
        forward_auth=False,
        idempotent=True,
        timeout=slow_call_timeout(products),
    )
    if response.status_code not in (200, 201):
        return None
    return products.read(response, lambda body: int(body["id"]))


def remove_image(product_id: int, image_id: int) -> bool:
    """Remove a picture the collector sent the product; True once it is not there (a 404: gone
    already, the product too, or a person's picture, which products never lets the collector
    remove), False when products refused otherwise."""
    response = service("products").delete(
        f"/products/collected/{product_id}/images/{image_id}", forward_auth=False, idempotent=True
    )
    return response.status_code in (204, 404)
