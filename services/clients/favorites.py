"""What a client likes: products checked with the products service when added, fetched from it in
one batch when listed, and forgotten (the product remembered as deleted) when it announces its
deletion."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from services.kit import NotFound, Unavailable, paginate, service
from services.kit.leader import wait_xact_lock
from services.kit.pagination import MAX_PER_PAGE

from .clients import lock_client
from .models import Client, DeletedProduct, Favorite, db

# A transaction-scoped advisory lock per product (class, product_id), taken alone by
# `product.deleted` and shared by a favorite's insert: the favorite commits either wholly before
# the deletion (which then removes it) or after it (and then sees the tombstone and is refused).
# A PUT takes it after the client's row lock; the event takes no client lock, so the two never
# wait for each other in opposite orders. Inventory's are 17030-17031, the collector's 17017-17019.
PRODUCT_LOCK_CLASS = 17040


def list_favorites(client: Client, args: dict) -> dict:
    """A page of favorites, each with the product's name and price from one
    `GET /products?ids=…` call. A product deleted a moment ago (its event still on the way) is
    left out of the page."""
    stmt = select(Favorite).where(Favorite.client_id == client.id)
    page = paginate(db, stmt, args, {"created_at": Favorite.created_at}, Favorite.id)
    products = fetch_products([favorite.product_id for favorite in page["items"]])
    page["items"] = [
        {
            "product_id": favorite.product_id,
            "name": products[favorite.product_id]["name"],
            "price": products[favorite.product_id]["price"],
            "active": products[favorite.product_id]["active"],
            "added_at": favorite.created_at,
        }
        for favorite in page["items"]
        if favorite.product_id in products
    ]
    return page


def fetch_products(ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    response = service("products").get(
        "/products", params={"ids": ",".join(map(str, ids)), "per_page": MAX_PER_PAGE}
    )
    if response.status_code != 200:
        raise Unavailable("The products service could not list the favorite products")
    return service("products").read(
        response, lambda body: {int(product["id"]): product for product in body["items"]}
    )


def get_favorite(client_id: int, product_id: int) -> Favorite:
    favorite = db.session.scalar(
        select(Favorite).where(Favorite.client_id == client_id, Favorite.product_id == product_id)
    )
    if favorite is None:
        raise NotFound(f"Product {product_id} is not a favorite of client {client_id}")
    return favorite


def add_favorite(client_id: int, product_id: int) -> tuple[Favorite, bool]:
    """Idempotent: answers the favorite and whether this call added it. The unique
    (client_id, product_id) decides, so two calls at once add it once. Written under the
    client's lock (a deletion racing it is a 404, or takes the favorite along) and then the
    product's (a `product.deleted` applied since the HEAD answered is a 404; one applied after
    takes the favorite along), and answered with the row as stored: nothing is read back after
    the commit, when the client may be gone."""
    response = service("products").head(f"/products/{product_id}")
    if response.status_code == 404:
        raise NotFound(f"Product {product_id} does not exist")
    if response.status_code != 200:
        raise Unavailable("The products service could not say whether the product exists")
    lock_client(client_id)
    wait_xact_lock(db.session, PRODUCT_LOCK_CLASS, product_id, shared=True)
    if db.session.get(DeletedProduct, product_id) is not None:
        raise NotFound(f"Product {product_id} does not exist")
    columns = Favorite.__table__.c
    while True:
        added = db.session.execute(
            insert(Favorite)
            .values(client_id=client_id, product_id=product_id)
            .on_conflict_do_nothing(constraint="uq_favorites_client_id_product_id")
            .returning(*columns)
        ).first()
        if added is not None:
            row = added
            break
        # It was there: read it (unless a DELETE of it committed in between: add it again).
        row = db.session.execute(
            select(*columns).where(
                Favorite.client_id == client_id, Favorite.product_id == product_id
            )
        ).first()
        if row is not None:
            break
    db.session.commit()
    # Never added to the session: it answers the request as stored.
    return Favorite(**row._mapping), added is not None


def remove_favorite(favorite: Favorite) -> None:
    db.session.delete(favorite)
    db.session.commit()


def on_product_deleted(data: dict) -> None:
    """`product.deleted`: the product leaves every favorites list and is remembered as deleted,
    so no favorite of it is added afterwards (the receiver commits both at once)."""
    product_id = int(data["product_id"])
    wait_xact_lock(db.session, PRODUCT_LOCK_CLASS, product_id, shared=False)
    db.session.execute(
        insert(DeletedProduct)
        .values(product_id=product_id)
        .on_conflict_do_nothing(index_elements=[DeletedProduct.product_id])
    )
    db.session.execute(delete(Favorite).where(Favorite.product_id == product_id))
