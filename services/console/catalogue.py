"""The catalogue: products (search, create and edit, pictures with a preview, the import),
categories, and stock with its ledger and movements."""

from __future__ import annotations

import functools
import math
import uuid

from flask import flash, redirect, render_template, request, session, url_for

from services.kit.pagination import MAX_PER_PAGE

from . import api
from .api import ApiError
from .messages import in_portuguese
from .pages import (
    NOTHING_CHANGED,
    admin_only,
    bp,
    changed_only,
    error_page,
    form_values,
    page_args,
    pager,
    read_json,
    signed_in,
    user_names,
)
from .sales import (
    MONEY_UNREADABLE,
    MOVEMENT_NOT_KNOWN,
    FormRefused,
    listed,
    listing,
    money,
    not_known,
    number,
    refused,
    send_form,
)
from .sessions import SignedOut

PRODUCT_FILTERS = ("q", "category_id", "available", "active", "sort")
PICTURE_NOT_KNOWN = (
    "Produto {name} criado, mas não foi possível saber se a imagem foi salva: o serviço falhou"
    " ou não respondeu a tempo. Confira as imagens do produto e, se ela não estiver aqui, envie-a"
    " de novo."
)
PICTURE_NOT_SAVED = (
    "Produto {name} criado, mas a imagem não foi salva: {reason} Envie-a de novo nesta página."
)
# What the movement form offers (inventory's MANUAL_REASONS). A sale only the ledger writes (an
# order shipped): the ledger names it, the form does not offer it.
MOVEMENT_REASONS = {
    "receipt": "Recebimento",
    "adjustment": "Ajuste",
    "return": "Devolução",
    "damage": "Avaria",
}
LEDGER_REASONS = {**MOVEMENT_REASONS, "sale": "Venda"}


CATEGORIES = ("/categories", {"per_page": MAX_PER_PAGE})
# A select holds every category up to this many pages of them (a catalogue with more is past
# what a select can offer: its product pages still filter by a category's id).
CATEGORY_PAGES = 20
# Pages are read by offset: a category made or deleted between two of them shifts the later
# pages by one, skipping or repeating one. A read whose pages disagree on the total is read
# again, this many times in all.
CATEGORY_READS = 3


def categories(found=None) -> list[dict]:
    """Every category for a form's select (an empty one when they cannot be read): the first
    page, as a caller may already hold it, then the others at once. Read again while the
    catalogue changed under the read (its pages' totals differ)."""
    for _ in range(CATEGORY_READS):
        items, steady = _read_categories(found)
        if steady:
            break
        found = None
    unique = {category["id"]: category for category in items}
    return list(unique.values())


def _read_categories(found) -> tuple[list[dict], bool]:
    """The categories as one read of their pages finds them, and whether every page gave the
    same total (no category made or deleted during the read)."""
    if found is None:
        [found] = api.get_many(CATEGORIES)
    if isinstance(found, ApiError):
        if found.status >= 500:
            return [], True
        raise found
    pages = min(CATEGORY_PAGES, math.ceil(found["total"] / MAX_PER_PAGE))
    rest = api.get_many(
        *(("/categories", {**CATEGORIES[1], "page": n}) for n in range(2, pages + 1))
    )
    items, steady = list(found["items"]), True
    for more in rest:
        if isinstance(more, ApiError):
            return ([] if more.status >= 500 else items), True
        steady = steady and more["total"] == found["total"]
        items.extend(more["items"])
    return items, steady


def with_current(options: list[dict], current) -> list[dict]:
    """The select's categories with the current one among them: a product's own, or the
    products list's filter. One the select did not read (past CATEGORY_PAGES, or none read while
    /categories fails) would be no option: the browser would send "", so saving a price would
    clear the product's category and filtering again would drop the filter. It is named as its
    own read names it, else "Categoria <id>"."""
    try:
        category_id = int(current)
    except (TypeError, ValueError):
        return options
    if any(category["id"] == category_id for category in options):
        return options
    try:
        name = api.get(f"/categories/{category_id}")["name"]
    except ApiError:  # only its label is missing: its id still keeps it
        name = f"Categoria {category_id}"
    return [*options, {"id": category_id, "name": name}]


def names_of(product_ids: list[int]) -> dict[int, str]:
    if not product_ids:
        return {}
    ids = ",".join(str(pid) for pid in sorted(set(product_ids))[:100])
    return {p["id"]: p["name"] for p in api.get("/products", ids=ids, per_page=100)["items"]}


PRODUCT_FIELDS = ("name", "description", "price", "barcode", "category_id", "expires_on")
# The product the new-product form last created and the initial stock it sent: inventory makes
# the stock row when it hears `product.created`, a moment after the redirect lands on the page.
RECORDING = "recording_stock"


def product_body(values: dict) -> dict:
    body = {key: values.get(key, "").strip() for key in PRODUCT_FIELDS}
    for optional in ("description", "expires_on", "category_id"):
        if not body[optional]:
            body[optional] = None
    if body["category_id"]:
        body["category_id"] = number(body["category_id"])
    body["active"] = values.get("active") == "on"
    return body


def priced(body: dict) -> dict[str, list[str]]:
    """The body's price read as money is typed in Brazil (sales.money), in place; else the
    form's error under it, for the form to refuse before any call. A blank one goes as it is:
    the API says it is required."""
    if body.get("price"):
        try:
            body["price"] = money(body["price"])
        except ValueError:
            return {"price": [MONEY_UNREADABLE]}
    return {}


def loaded_values(product: dict) -> dict[str, str]:
    """A product as its edit form shows it: each field's text, the checkbox's "on" or ""."""
    values = {key: "" if product.get(key) is None else str(product[key]) for key in PRODUCT_FIELDS}
    values["active"] = "on" if product.get("active") else ""
    return values


def upload_picture(product_id: int) -> dict | None:
    picture = request.files.get("file")
    if picture is None or not picture.filename:
        return None
    return api.send(
        "POST",
        f"/products/{product_id}/images",
        files={"file": (picture.filename, picture.stream, picture.mimetype)},
    )


@bp.get("/products")
@signed_in
def products():
    filters = {name: request.args.get(name, "") for name in PRODUCT_FILTERS}
    found, known = api.get_many(("/products", {**filters, **page_args()}), CATEGORIES)
    errors = {}
    if isinstance(found, ApiError):
        if found.status != 422:
            raise found
        errors, found = found.errors, {"items": [], "page": 1, "per_page": 20, "total": 0}
    return render_template(
        "products.html",
        products=found["items"],
        pager=pager(found),
        filters=filters,
        errors=errors,
        categories=with_current(categories(known), filters["category_id"]),
    ), listed(errors)


def new_product_form(values: dict, errors=None, message=None, status=200):
    return render_template(
        "product_form.html",
        values=values,
        errors=errors or {},
        message=message,
        categories=with_current(categories(), values.get("category_id")),
        product=None,
    ), status


@bp.route("/products/new", methods=["GET", "POST"])
@admin_only
def new_product():
    if request.method == "POST":
        values = form_values()
        body = product_body(values)
        unread = priced(body)
        if unread:
            return new_product_form(values, unread, "Confira os campos destacados.", 422)
        if values.get("initial_stock"):
            body["initial_stock"] = number(values["initial_stock"])
        try:
            created = api.send("POST", "/products", body)
        except ApiError as exc:
            if not refused(exc):
                raise
            return new_product_form(values, exc.errors, exc.message, exc.status)
        page = url_for("console.product", product_id=created["id"])
        session[RECORDING] = {"product_id": created["id"], "quantity": body.get("initial_stock")}
        try:
            upload_picture(created["id"])
        except ApiError as exc:
            # The product exists whatever became of its picture: the staffer is taken to its
            # page, never back to a form whose sending again would make a second product.
            if not_known(exc):
                flash(PICTURE_NOT_KNOWN.format(name=created["name"]), "error")
            elif refused(exc) or exc.status == 413:
                flash("Produto criado, mas a imagem foi recusada: " + exc.reason, "error")
            else:
                # Refused for now or to this user (429, 403...): not saved, and the product's
                # page can send it again.
                reason = exc.reason or "o envio foi recusado."
                flash(PICTURE_NOT_SAVED.format(name=created["name"], reason=reason), "error")
        except SignedOut:
            # The session ended on the upload (auth refused its refresh): signing in again leads
            # to the product's page, not back to the form, which the console's handler would do
            # saying the form was not carried out.
            return redirect(url_for("console.login", next=page, ended="1"), 303)
        else:
            flash(f"Produto {created['name']} criado.")
        return redirect(page, 303)
    return new_product_form({"active": "on"})


def availability(product: dict, stock) -> dict:
    """What the page says is available: inventory's own figure (products' copy follows it a
    moment later); while inventory has no stock row for the product yet (its 404: it has not
    heard `product.created`), that the stock is being recorded, with the initial stock the form
    sent when this session created the product, rather than a 0 staff would type again. When
    inventory does not answer otherwise (down, slow), products' copy."""
    if isinstance(stock, ApiError):
        if stock.status != 404:
            return {"recording": False, "quantity": product["available_quantity"]}
        sent = session.get(RECORDING) or {}
        quantity = sent.get("quantity") if sent.get("product_id") == product["id"] else None
        return {"recording": True, "quantity": quantity}
    if (session.get(RECORDING) or {}).get("product_id") == product["id"]:
        session.pop(RECORDING)
    return {"recording": False, "quantity": stock["available"]}


def product_page(product_id: int, *, values=None, errors=None, message=None, status=200):
    """The product and its edit form: as loaded, or as sent (`values`) with the values it was
    first loaded with, so that sending it again still PATCHes only what the staffer changed."""
    found, stock = api.get_many(
        (f"/products/{product_id}", {}), (f"/inventory/stock/{product_id}", {})
    )
    if isinstance(found, ApiError):
        raise found
    loaded = loaded_values(found)
    if values is None:
        values, original = loaded, loaded
    else:
        original = {key: values[f"orig_{key}"] for key in loaded if f"orig_{key}" in values}
    return render_template(
        "product.html",
        product=found,
        stock=availability(found, stock),
        values=values,
        original=original,
        errors=errors or {},
        message=message,
        categories=with_current(categories(), values.get("category_id")),
    ), status


@bp.get("/products/<int:product_id>")
@signed_in
def product(product_id: int):
    return product_page(product_id)


@bp.post("/products/<int:product_id>")
@admin_only
def edit_product(product_id: int):
    values = form_values()
    body = changed_only(product_body(values), values, boxes={"active"})
    if not body:
        flash(NOTHING_CHANGED)
        return redirect(url_for("console.product", product_id=product_id), 303)
    # Read only when changed: the price as loaded is the API's own.
    unread = priced(body)
    if unread:
        message = "Confira os campos destacados."
        return product_page(product_id, values=values, errors=unread, message=message, status=422)
    try:
        api.send("PATCH", f"/products/{product_id}", body)
    except ApiError as exc:
        if not refused(exc):
            raise
        return product_page(
            product_id, values=values, errors=exc.errors, message=exc.message, status=exc.status
        )
    flash("Produto atualizado.")
    return redirect(url_for("console.product", product_id=product_id), 303)


@bp.post("/products/<int:product_id>/images")
@admin_only
def add_picture(product_id: int):
    try:
        if upload_picture(product_id) is None:
            flash("Escolha uma imagem.", "error")
        else:
            flash("Imagem adicionada.")
    except ApiError as exc:
        if not refused(exc) and exc.status != 413:
            raise
        flash("Imagem recusada: " + (exc.reason or "arquivo inválido."), "error")
    return redirect(url_for("console.product", product_id=product_id), 303)


@bp.post("/products/<int:product_id>/images/<int:image_id>/delete")
@admin_only
def delete_picture(product_id: int, image_id: int):
    try:
        api.send("DELETE", f"/products/{product_id}/images/{image_id}")
        flash("Imagem removida.")
    except ApiError as exc:
        if not refused(exc):
            raise
        flash("Não foi possível remover: " + exc.reason, "error")
    return redirect(url_for("console.product", product_id=product_id), 303)


def row_number(index):
    """A row as a person counts the list's products: the API's `index` is the row's 0-based
    position in the JSON array, the report's "Linha 1" is its first product."""
    return index + 1 if isinstance(index, int) and not isinstance(index, bool) else index


def rejected_rows(result: dict) -> list[dict]:
    """An import's refused rows as its report says them: the row counted from 1, the reason and
    each field's messages, in Portuguese where messages.py knows the API's words."""
    return [
        {
            "row": row_number(row.get("index")),
            "reason": in_portuguese(row.get("reason") or ""),
            "errors": {
                field: [
                    in_portuguese(str(text))
                    for text in (texts if isinstance(texts, list) else [texts])
                ]
                for field, texts in (row.get("errors") or {}).items()
            },
        }
        for row in result.get("rejected") or []
    ]


NOT_UTF8 = "O arquivo não está em UTF-8: salve-o como UTF-8 e envie de novo."
TOO_LARGE = "A importação é grande demais para a API: divida a lista e envie cada parte."


@bp.route("/products/import", methods=["GET", "POST"])
@admin_only
def import_products():
    result, errors, text = None, {}, ""
    if request.method == "POST":
        upload = request.files.get("file")
        text = request.form.get("rows", "")
        if upload and upload.filename:
            # Strictly: a file in another encoding (Windows-1252) read with replacement
            # characters would overwrite its products' names with them. A BOM is no harm.
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                errors = {"file": [NOT_UTF8]}
                return render_template("import.html", result=None, errors=errors, text=text), 422
        try:
            rows = read_json(text)
        except ValueError:
            errors = {"rows": ["Não é um JSON válido: envie uma lista de produtos."]}
            return render_template("import.html", result=None, errors=errors, text=text), 422
        try:
            result = api.send("POST", "/products/import", rows)
        except ApiError as exc:
            if not refused(exc) and exc.status != 413:
                raise
            errors = {"rows": [TOO_LARGE if exc.status == 413 else exc.reason or "Recusado."]}
            return render_template("import.html", result=None, errors=errors, text=text), (
                exc.status
            )
    rejected = rejected_rows(result) if result else []
    return render_template(
        "import.html", result=result, rejected=rejected, errors=errors, text=text
    )


@bp.route("/categories", methods=["GET", "POST"])
@signed_in
def categories_page():
    values, errors, status = {}, {}, 200
    if request.method == "POST":
        if not session.is_admin:
            return error_page(403, "Só administradores criam categorias.")
        values = form_values()
        try:
            api.send("POST", "/categories", {"name": values.get("name", "").strip()})
            flash("Categoria criada.")
            return redirect(url_for("console.categories_page"), 303)
        except ApiError as exc:
            if not refused(exc):
                raise
            errors, status = exc.errors, exc.status
    found = api.get("/categories", **page_args(MAX_PER_PAGE))
    return render_template(
        "categories.html",
        categories=found["items"],
        pager=pager(found),
        values=values,
        errors=errors,
    ), status


# --- stock ---


@bp.get("/stock")
@signed_in
def stock():
    found, filters, errors = listing("/inventory/stock", ("product_id", "low"))
    names = names_of([row["product_id"] for row in found["items"]])
    return render_template(
        "stock.html",
        rows=found["items"],
        names=names,
        pager=pager(found),
        filters=filters,
        errors=errors,
    ), listed(errors)


def movers(ledger: list[dict]) -> dict[int | None, str]:
    """Who made each movement, by `created_by`: one no user made (a product's initial stock) is
    the system's; a user as `user_names` says them."""
    made_by = (m["created_by"] for m in ledger if m.get("created_by") is not None)
    return {None: "Sistema", **user_names(made_by)}


def stock_page(product_id: int, *, form="", values=None, errors=None, status=200):
    row = api.get(f"/inventory/stock/{product_id}")
    ledger = api.get(f"/inventory/stock/{product_id}/movements", **page_args(20))
    name = names_of([product_id]).get(product_id, f"Produto {product_id}")
    return render_template(
        "stock_item.html",
        row=row,
        name=name,
        ledger=ledger["items"],
        movers=movers(ledger["items"]),
        # Shown again from the movement form's POST: the pager still leads to this page.
        pager=pager(ledger, path=url_for("console.stock_item", product_id=product_id)),
        reasons=MOVEMENT_REASONS,
        ledger_reasons=LEDGER_REASONS,
        form=form,
        values=values or {},
        errors=errors or {},
        new_key=str(uuid.uuid4()),
    ), status


@bp.get("/stock/<int:product_id>")
@signed_in
def stock_item(product_id: int):
    return stock_page(product_id)


@bp.post("/stock/<int:product_id>/movements")
@admin_only
def add_movement(product_id: int):
    values = form_values()
    body = {"quantity": values.get("quantity", ""), "reason": values.get("reason", "")}
    body["quantity"] = number(body["quantity"])
    if values.get("note"):
        body["note"] = values["note"]
    page = functools.partial(stock_page, product_id, form="movement")
    try:
        send_form(
            values,
            f"/inventory/stock/{product_id}/movements",
            body,
            page,
            MOVEMENT_NOT_KNOWN,
            url_for("console.add_movement", product_id=product_id),
            "movement-form",
        )
    except FormRefused as exc:
        errors = exc.errors or {"quantity": [exc.detail]}
        return page(values=values, errors=errors, status=exc.status)
    flash("Movimento registrado.")
    return redirect(url_for("console.stock_item", product_id=product_id), 303)


@bp.post("/stock/<int:product_id>")
@admin_only
def set_reorder_level(product_id: int):
    values = form_values()
    level = number(values.get("reorder_level", ""))
    try:
        api.send("PATCH", f"/inventory/stock/{product_id}", {"reorder_level": level})
    except ApiError as exc:
        if not refused(exc):
            raise
        return stock_page(
            product_id, form="level", values=values, errors=exc.errors, status=exc.status
        )
    flash("Nível de reposição salvo.")
    return redirect(url_for("console.stock_item", product_id=product_id), 303)
