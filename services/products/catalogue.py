"""What the products service does with categories, products, their images, imports and the stock
figures inventory reports."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import bindparam, delete, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from services.kit import Conflict, NotFound, Unprocessable, paginate, precondition
from services.kit.db import (
    constraint_field,
    kept_after_commit,
    read_in_one_snapshot,
    run_again_if_aborted,
    violated,
)
from services.kit.errors import flatten_messages
from services.kit.fields import unstorable_text
from services.kit.idempotency import NO_KEY, Key, NoKey

from . import deletion_guards, images, sales
from .models import Category, Product, ProductImage, db, outbox
from .schemas import CategorySchema, CollectedRowSchema, ProductSchema

UNKNOWN_CATEGORY = "fk_products_category_id_categories"

log = logging.getLogger("feira.products.catalogue")


@contextmanager
def _category_must_exist() -> Iterator[None]:
    """The foreign key decides whether the category exists (no check-then-write race); its
    violation is the client's mistake in a field, a 422. A taken name or barcode stays a 409."""
    try:
        yield
    except IntegrityError as exc:
        if violated(exc) != UNKNOWN_CATEGORY:
            raise
        db.session.rollback()
        raise Unprocessable({"category_id": ["No such category."]}) from exc


# --- categories ---


def get_category(category_id: int, *, lock: bool = False) -> Category:
    """`lock`: FOR UPDATE, read afresh, until the write's commit (its If-Match is checked on it)."""
    category = db.session.get(
        Category, category_id, with_for_update=lock or None, populate_existing=lock
    )
    if category is None:
        raise NotFound(f"Category {category_id} does not exist")
    return category


def create_category(data: dict, key: Key | NoKey = NO_KEY) -> Category:
    """An Idempotency-Key is answered in the category's own transaction."""
    category = Category(**data)
    db.session.add(category)
    db.session.flush()
    key.answer(category)
    db.session.commit()
    return category


def update_category(category: Category, data: dict) -> Category:
    precondition(category, CategorySchema)
    category.update(data)
    db.session.commit()
    return category


def delete_category(category: Category) -> None:
    """Refused while products are in it: the foreign key is ON DELETE RESTRICT."""
    precondition(category, CategorySchema)
    db.session.delete(category)
    try:
        db.session.commit()
    except IntegrityError as exc:
        if violated(exc) != UNKNOWN_CATEGORY:
            raise
        db.session.rollback()
        raise Conflict(
            f"Category {category.id} still has products; move or delete them first"
        ) from exc


# --- products ---


def search(args: dict):
    stmt = select(Product)
    if "q" in args:
        # websearch_to_tsquery accepts any text ("quoted phrases", -exclusions), never an error.
        query = func.websearch_to_tsquery("portuguese", args["q"])
        stmt = stmt.where(Product.search.op("@@")(query))
    if "ids" in args:
        stmt = stmt.where(Product.id.in_(args["ids"]))
    if "category_id" in args:
        stmt = stmt.where(Product.category_id == args["category_id"])
    if "min_price" in args:
        stmt = stmt.where(Product.price >= args["min_price"])
    if "max_price" in args:
        stmt = stmt.where(Product.price <= args["max_price"])
    if "available" in args:
        in_stock = Product.available_quantity > 0
        stmt = stmt.where(in_stock if args["available"] else ~in_stock)
    if "active" in args:
        stmt = stmt.where(Product.active.is_(args["active"]))
    if args.get("sort", "").lstrip("-") == "popularity":
        stmt = sales.with_popularity(stmt)
    return stmt


def sort_columns(args: dict) -> dict:
    """What `sort` may name, for paginate."""
    columns = {
        "name": Product.name,
        "price": Product.price,
        "created_at": Product.created_at,
        "popularity": sales.popularity,
    }
    if "q" in args:
        # Names holding the searched word cluster in the name index (they often start with it),
        # so walking that index to fill a page can read most of the table. Sorting by an
        # expression no index serves makes PostgreSQL take the matches from the text index and
        # sort only those: the cost follows the number of matches.
        columns["name"] = Product.name.concat("")
    return columns


def get_product(product_id: int, *, lock: bool = False) -> Product:
    """`lock`: FOR UPDATE, read afresh (its pictures too), until the write's commit (its If-Match
    is checked on it)."""
    product = db.session.get(
        Product, product_id, with_for_update=lock or None, populate_existing=lock
    )
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    return product


def read_product(product_id: int) -> Product:
    """One product as the API shows it. Its row and its pictures are two SELECTs
    (`lazy="selectin"`), read from one snapshot: else a deletion committed between them would
    answer the product without the pictures it had, or an edit and a picture's upload its old
    fields beside the new picture. An edit answers with it too, once it has committed."""
    read_in_one_snapshot(db)
    return get_product(product_id)


def find_products(args: dict) -> dict:
    """A page of the products `args` asks for, each as `read_product` reads one."""
    read_in_one_snapshot(db)
    # Ties go by id, in the sort's direction; but the best sellers' ties (most often products
    # none bought) are read oldest first, as "ties by id" reads: negated, id descends upwards.
    tiebreaker = -Product.id if args["sort"] == "-popularity" else Product.id
    return paginate(db, search(args), args, sort_columns(args), tiebreaker)


def create_product(data: dict) -> Product:
    """Inventory hears of it (with the stock to start from) through the outbox, so it sets the
    stock even if it was down at this moment."""
    initial_stock = data.pop("initial_stock", 0)
    product = Product(**data)
    db.session.add(product)
    with _category_must_exist():
        db.session.flush()
        outbox.emit("product.created", {**announced(product.id), "initial_stock": initial_stock})
        db.session.commit()
    return product


def update_product(product: Product, data: dict) -> Product:
    product_id = product.id  # read before the commit expires it
    precondition(product, ProductSchema)
    product.update(data)
    with _category_must_exist():
        db.session.flush()
        outbox.emit("product.updated", announced(product_id))
        db.session.commit()
    return read_product(product_id)


def announced(product_id: int) -> dict:
    """What `product.created` and `product.updated` say of the product: what others copy of it
    (orders: name, price, category, active). Its `updated_at`, the event's version, moves on
    here, after the change took the row's lock: a later change of the product always carries a
    later version (the database's clock, or a microsecond more), so a subscriber keeps the
    newest whatever order the events arrive in. A change that left every field as it was sent
    no UPDATE and holds no lock: a deletion committed meanwhile leaves nothing to announce, and
    the change is a 404, as one that met the deletion itself (StaleDataError)."""
    row = db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(updated_at=_NEXT_VERSION)
        .returning(
            Product.name, Product.price, Product.category_id, Product.active, Product.updated_at
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        raise NotFound(f"Product {product_id} does not exist")
    return _announcement(product_id, row)


def _announcement(product_id: int, row) -> dict:
    return {
        "product_id": product_id,
        "name": row.name,
        "price": str(row.price),
        "category_id": row.category_id,
        "active": row.active,
        "updated_at": row.updated_at.isoformat(),
    }


# A product's version as `announced` moves it on: the database's clock, or a microsecond past
# the version it had.
_NEXT_VERSION = func.greatest(
    func.clock_timestamp(), Product.updated_at + timedelta(microseconds=1)
)


def delete_product(product: Product) -> None:
    """Only when no owner of a fact about it objects (stock on hand, orders); `active: false`
    retires a product that must stay. The row is locked before its pictures are read: a picture
    being added (`add_image` holds the same lock) is committed first and its files go with the
    rest, or it waits and finds no product. The files go once the rows are gone for good."""
    product_id = product.id
    precondition(product, ProductSchema)  # a stale tag is a 412 before the others are asked
    reasons = deletion_guards.deletion_blockers(product_id)
    if reasons:
        raise Conflict(f"Product {product_id} cannot be deleted: {'; '.join(reasons)}")
    _lock_product(product_id)
    precondition(db.session.get(Product, product_id, populate_existing=True), ProductSchema)
    pictures = db.session.execute(
        delete(ProductImage)
        .where(ProductImage.product_id == product_id)
        .returning(ProductImage.path, ProductImage.thumbnail_path)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.execute(
        delete(Product).where(Product.id == product_id).execution_options(synchronize_session=False)
    )
    outbox.emit("product.deleted", {"product_id": product_id})
    db.session.commit()
    images.remove(*[path for picture in pictures for path in picture])


def _lock_product(product_id: int) -> None:
    """Its row, locked until the commit: adding a picture and deleting the product take turns."""
    locked = db.session.scalar(select(Product.id).where(Product.id == product_id).with_for_update())
    if locked is None:
        raise NotFound(f"Product {product_id} does not exist")


def import_products(rows: list, *, only_given: bool = False) -> dict:
    """Upsert by barcode, row by row: each row is validated alone and written in its own
    savepoint, so a bad row (invalid, a name another barcode holds, an unknown category) is
    reported and the others still land. A row is a whole product, as in PUT; with `only_given`
    (the collector's rows, which carry what a shop's page said) it changes only the fields it
    carries, and a new product gets the defaults of the others; such a row may name the product
    (`id`) its page became before it gave another barcode, and the barcode it gave it (`was`):
    that product, while it still has that barcode, is updated, barcode included. `products` says
    which product each landed row became (the collector's door answers it; the import's schema
    leaves it out).

    The rows are written in barcode order (each row that passed validation has one; a barcode
    given twice keeps its rows' order), so imports at once (the admin's and the collector's)
    lock the products they share in one order rather than deadlock; each row is still reported
    by its index, in index order. Locks crossing otherwise (a name another import is writing,
    the product a collected row `became`) can still deadlock: PostgreSQL then aborts one, which
    is written again once, from the start, rather than lost whole."""
    schema = CollectedRowSchema() if only_given else ProductSchema()
    rejected: list[dict] = []
    valid: list[tuple[int, dict, set[str], int | None, str | None]] = []
    for index, row in enumerate(rows):
        try:
            unstorable = unstorable_text(row)
            if unstorable:
                raise ValidationError(unstorable)
            data = schema.load(row)
        except ValidationError as exc:
            errors = flatten_messages(exc.messages)
            rejected.append(_rejected(index, errors))
            continue
        became, was = data.pop("id", None), data.pop("was", None)
        changed = data.keys() & row.keys() if only_given else set(data)
        valid.append((index, data, changed, became, was))
    valid.sort(key=lambda item: item[1]["barcode"])
    result = run_again_if_aborted(db, lambda: _write_rows(valid), attempts=2, what="an import")
    result["rejected"] = sorted(rejected + result["rejected"], key=lambda r: r["index"])
    result["products"].sort(key=lambda made: made["index"])
    return result


def _write_rows(valid: list[tuple[int, dict, set[str], int | None, str | None]]) -> dict:
    """The validated rows upserted in the order given, each in its own savepoint, and committed."""
    result: dict = {"created": 0, "updated": 0, "rejected": [], "products": []}
    for index, data, changed, became, was in valid:
        try:
            with db.session.begin_nested():
                product_id, created, event = _upsert(data, changed, became, was)
                if created:
                    outbox.emit("product.created", {**event, "initial_stock": 0})
                else:
                    outbox.emit("product.updated", event)
        except IntegrityError as exc:
            result["rejected"].append(_rejected(index, _integrity_errors(exc)))
            continue
        result["created" if created else "updated"] += 1
        result["products"].append({"index": index, "id": product_id, "created": created})
    db.session.commit()
    return result


def _upsert(
    data: dict, changed: Iterable[str], became: int | None, was: str | None
) -> tuple[int, bool, dict]:
    """Insert the product, or set the `changed` fields of the one with its barcode, or of the one
    it `became` before, barcode included, while that one still has the barcode the page gave it
    (`was`); with what its event says (`announced`'s, the version moved on in the same
    statement). Otherwise the row is upserted by its barcode, as any other: the product it became
    is gone, or no longer the page's alone (a person or another page gave it another barcode
    since), or the new barcode or name is another product's (the row lands on the product with
    its barcode, or is refused for the name, rather than refused run after run)."""
    returning = (
        Product.id,
        Product.name,
        Product.price,
        Product.category_id,
        Product.active,
        Product.updated_at,
    )
    if became is not None:
        try:
            with db.session.begin_nested():
                row = db.session.execute(
                    update(Product)
                    .where(Product.id == became, Product.barcode == was)
                    .values(**{key: data[key] for key in changed}, updated_at=_NEXT_VERSION)
                    .returning(*returning)
                    .execution_options(synchronize_session=False)
                ).one_or_none()
        except IntegrityError as exc:
            if violated(exc) not in ("uq_products_barcode", "uq_products_name"):
                raise
            row = None
        if row is not None:
            return row.id, False, _announcement(row.id, row)
    stmt = insert(Product).values(**data, updated_at=func.clock_timestamp())
    changes = {key: stmt.excluded[key] for key in changed if key != "barcode"}
    stmt = stmt.on_conflict_do_update(
        constraint="uq_products_barcode", set_={**changes, "updated_at": _NEXT_VERSION}
    ).returning(
        *returning,
        literal_column("xmax = 0").label("inserted"),  # xmax is 0 on a freshly inserted row
    )
    row = db.session.execute(stmt).one()
    return row.id, row.inserted, _announcement(row.id, row)


def _integrity_errors(exc: IntegrityError) -> dict[str, list[str]]:
    constraint = violated(exc)
    if constraint == UNKNOWN_CATEGORY:
        return {"category_id": ["No such category."]}
    return {constraint_field(constraint): ["already taken"]}


def _rejected(index: int, errors: dict[str, list[str]]) -> dict:
    return {
        "index": index,
        "reason": "Invalid fields: " + ", ".join(sorted(errors)),
        "errors": errors,
    }


def apply_stock_change(data: dict) -> None:
    """`stock.changed` {product_id, available, version} from inventory. Events may arrive out of
    order (retries, several relays): only a version newer than the stored one is applied."""
    product_id, available, version = (
        int(data["product_id"]),
        int(data["available"]),
        int(data["version"]),
    )
    db.session.connection().execute(
        _APPLY_STOCK, {"product": product_id, "available": max(0, available), "version": version}
    )


# Every order's reservation sends one `stock.changed`: built once, run on the session's
# connection. updated_at says when the catalogue's own fields were last edited, so a stock
# figure from inventory leaves it as it was (the column's onupdate would otherwise set it).
_APPLY_STOCK = (
    update(Product)
    .where(Product.id == bindparam("product"), Product.stock_version < bindparam("version"))
    .values(
        available_quantity=bindparam("available"),
        stock_version=bindparam("version"),
        updated_at=Product.updated_at,
    )
)


# --- images ---


def get_image(product_id: int, image_id: int) -> ProductImage:
    image = db.session.scalar(
        select(ProductImage).where(
            ProductImage.id == image_id, ProductImage.product_id == product_id
        )
    )
    if image is None:
        raise NotFound(f"Product {product_id} has no image {image_id}")
    return image


def add_image(product: Product, upload, *, collected: bool = False) -> tuple[ProductImage, bool]:
    """The picture, and whether it is new (`collected`: the collector sent it). At most
    IMAGE_MAX_PER_PRODUCT pictures: counted before the picture is decoded (a full product costs
    no work), and again with the product's row locked once the new one is in, so uploads at
    once cannot pass the limit together. A product deleted meanwhile is a 404 and its files go.
    The picture is answered as it was stored (its product may go at once).

    The same bytes sent again for the product (a retry whose answer was lost) are the picture
    they made the first time, answered as it is, even when the product is full: found before
    decoding or, when the first sending was still under way, by UNIQUE(product_id, sha256)
    under the lock; the files this request wrote then go. A person sending bytes the collector
    sent makes that picture theirs, without decoding them again (`_claimed`), so the collector
    no longer removes it."""
    product_id = product.id
    sha256 = images.digest(upload.stream)
    sent_before = _image_of(product_id, sha256)
    if sent_before is not None and (collected or not sent_before.collected):
        return _with_its_files(sent_before, upload), False
    if sent_before is not None:
        claimed = _claimed(sent_before.id)
        if claimed is not None:
            return _with_its_files(claimed, upload), False
        # The collector removed it meanwhile: stored anew.
    _ensure_room_for_a_picture(product_id)
    db.session.commit()
    encoded = images.encode(upload.stream)
    path, thumbnail_path = images.store(product_id, encoded)
    try:
        _lock_product(product_id)
        image = db.session.scalar(
            _store_picture(product_id, sha256, path, thumbnail_path, encoded, collected)
        )
        added = image.path == path
        if added:
            _ensure_room_for_a_picture(product_id, counting_the_new_one=True)
    except Exception:
        db.session.rollback()
        images.remove(path, thumbnail_path)
        raise
    # Outside the cleanup: a COMMIT that errs may have landed all the same (the connection lost
    # with its answer), and the row must not be left naming files that are gone. If it did not
    # land, the files are left over: only disk.
    with kept_after_commit(db):
        db.session.commit()
    if not added:
        images.remove(path, thumbnail_path)
    return image, added


def _with_its_files(image: ProductImage, upload) -> ProductImage:
    """The picture these bytes made, its files written again from them if they are gone (lost
    with a disk, or deleted by a version that removed them when a landed COMMIT erred)."""
    if not images.present(image.path, image.thumbnail_path):
        log.warning("picture %s had lost its files: written again", image.id)
        images.write_files(image.path, image.thumbnail_path, images.encode(upload.stream))
    return image


def _store_picture(
    product_id: int,
    sha256: str,
    path: str,
    thumbnail_path: str,
    encoded: images.Encoded,
    collected: bool,
):
    """The new picture's row; the one these bytes already made, if any (its own files; a person's
    picture the collector sends again stays theirs, and one the collector sent that a person
    sends becomes theirs)."""
    stmt = insert(ProductImage).values(
        product_id=product_id,
        collected=collected,
        sha256=sha256,
        path=path,
        thumbnail_path=thumbnail_path,
        width=encoded.width,
        height=encoded.height,
    )
    # An update rather than DO NOTHING, so the row is always returned.
    return stmt.on_conflict_do_update(
        constraint="uq_product_images_product_id_sha256",
        set_={"collected": ProductImage.collected & stmt.excluded.collected},
    ).returning(ProductImage)


def _claimed(image_id: int) -> ProductImage | None:
    """The collector's picture a person sent too, made theirs (the collector no longer removes
    it): nothing to decode. None when the collector removed it first (its DELETE, one statement
    `WHERE collected`, and this update take the row's lock in turn)."""
    claimed = db.session.scalars(
        update(ProductImage)
        .where(ProductImage.id == image_id)
        .values(collected=False)
        .returning(ProductImage),
        execution_options={"populate_existing": True},
    ).one_or_none()
    with kept_after_commit(db):
        db.session.commit()
    return claimed


def _image_of(product_id: int, sha256: str) -> ProductImage | None:
    """The product's picture made of these uploaded bytes, if it has one."""
    return db.session.scalar(
        select(ProductImage).where(
            ProductImage.product_id == product_id, ProductImage.sha256 == sha256
        )
    )


def _ensure_room_for_a_picture(product_id: int, *, counting_the_new_one: bool = False) -> None:
    limit = current_app.config["IMAGE_MAX_PER_PRODUCT"]
    held = db.session.scalar(
        select(func.count()).select_from(ProductImage).where(ProductImage.product_id == product_id)
    )
    if counting_the_new_one:
        held -= 1
    if held >= limit:
        raise Conflict(
            f"Product {product_id} holds {held} pictures, the most it may: remove one first"
        )


def delete_image(image: ProductImage) -> None:
    files = (image.path, image.thumbnail_path)
    db.session.delete(image)
    db.session.commit()
    images.remove(*files)


def delete_collected_image(product_id: int, image_id: int) -> None:
    """Remove the product's picture if the collector sent it, in one statement: one a person
    sent the same bytes of meanwhile is theirs now, and stays (a 404, as one already gone)."""
    files = db.session.execute(
        delete(ProductImage)
        .where(
            ProductImage.id == image_id,
            ProductImage.product_id == product_id,
            ProductImage.collected,
        )
        .returning(ProductImage.path, ProductImage.thumbnail_path)
    ).one_or_none()
    if files is None:
        raise NotFound(f"Product {product_id} has no image {image_id}")
    db.session.commit()
    images.remove(*files)
