"""Orders (list, detail with history and payments, status actions, a new order) and clients
(with addresses, phone and WhatsApp opt-in; deleted by the admin after a confirmation)."""

from __future__ import annotations

import functools
import re
import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import flash, redirect, render_template, request, session, url_for

from services.kit.idempotency import MAX_KEY

from . import api
from .api import ApiError
from .messages import ORDER_STATUSES, PAYMENT_STATUSES
from .messages import number as counted
from .pages import (
    NOTHING_CHANGED,
    SERVICE_LABELS,
    FormShown,
    admin_only,
    bp,
    brl,
    changed_only,
    form_etag,
    form_values,
    page_args,
    pager,
    shop_zone,
    signed_in,
    user_names,
)

ORDER_FILTERS = (
    "id",
    "client_id",
    "product_id",
    "category_id",
    "status",
    "created_from",
    "created_to",
    "sort",
)
PAYMENT_METHODS = {
    "pix": "PIX",
    "credit_card": "Cartão de crédito",
    "debit_card": "Cartão de débito",
    "boleto": "Boleto",
    "cash": "Dinheiro",
}
CANCEL_AND_REFUND = "Cancelar e reembolsar"
# The steps a page offers from each status, and who may take them (the API decides anyway).
# Cancelling a paid order refunds its payment at once (payments hears `order.cancelled`): its
# button says so before it is pressed.
NEXT_STEPS = {
    "pending": [("paid", "Marcar como pago", True), ("cancelled", "Cancelar", False)],
    "paid": [("shipped", "Enviar", True), ("cancelled", CANCEL_AND_REFUND, True)],
    "shipped": [("delivered", "Marcar como entregue", True)],
}
# What the optional note a status change carries (orders' `note`) is for, by the step's status.
STEP_NOTES = {"shipped": "Código de rastreio", "cancelled": "Motivo do cancelamento"}
STEP_NOTE = "Observação"
# Orders' bound on a status change's note (StatusSchema), for the field to stop at.
MAX_STEP_NOTE = 500
# The orders an admin may delete (orders' delete_order): the page offers it for these alone.
DELETABLE = ("pending", "cancelled")
# The new-order form's lines: ORDER_LINES at first, "Adicionar item" adds one at a time, up to
# orders' own bound on an order's items (MAX_LINES in services/orders/schemas.py).
ORDER_LINES = 3
MAX_ORDER_LINES = 100
MANY_LINES = f"Um pedido tem no máximo {MAX_ORDER_LINES} itens."


def refused(exc: ApiError) -> bool:
    """A refusal the form shows next to its fields, rather than a page of its own."""
    return exc.status in (400, 404, 409, 422)


def listing(path: str, names: tuple[str, ...], per_page: int = 20, asked=None):
    """The API's list with the query's filters, or its 422 shown next to the filter it names.
    `asked`: the filters as the API takes them, when the form's differ (the form keeps its
    own)."""
    filters = {name: request.args.get(name, "") for name in names}
    try:
        found = api.get(path, **(asked(filters) if asked else filters), **page_args(per_page))
        return found, filters, {}
    except ApiError as exc:
        if exc.status != 422:
            raise
        return {"items": [], "page": 1, "per_page": per_page, "total": 0}, filters, exc.errors


def listed(errors: dict) -> int:
    """A list page's status: the API's 422 when it refused a filter (the page shows why under
    it, and lists nothing), not a 200 that reads as "nothing found"."""
    return 422 if errors else 200


def shop_days(filters: dict) -> dict:
    """A day typed in `created_from` / `created_to` is the shop's day (CONSOLE_TIME_ZONE), as
    the list shows its times: from that day's start, up to the next day's start (the API's
    `created_to` is "before"). Anything else goes as typed, for the API to name."""
    asked = dict(filters)
    for name, later in (("created_from", 0), ("created_to", 1)):
        try:
            day = date.fromisoformat(filters.get(name, "")) + timedelta(days=later)
        except (ValueError, OverflowError):  # not a day, or the calendar's last
            continue
        asked[name] = datetime.combine(day, time(), tzinfo=shop_zone()).isoformat()
    return asked


# Clients' largest page, and so the most ids one read names (a list page holds fewer orders).
CLIENTS_PER_READ = 100


def names_read(ids) -> tuple[str, dict]:
    """The one `GET /clients?ids=` that names the clients `ids`, as `api.get_many` takes a read."""
    return "/clients", {"ids": ",".join(map(str, ids)), "per_page": CLIENTS_PER_READ}


# A client the read of names answered without (clients' `ids` filter answers every client there
# is): deleted. Said so, without a link: its page would only answer 404.
DELETED_CLIENT = "Cliente {id} (excluído)"


def gone_of(ids, found) -> set[int]:
    """The clients of `ids` that `found` (names_read's answer) does not name: deleted; none when
    `found` is the ApiError the read met: clients did not say, so none is known to be gone."""
    if isinstance(found, ApiError):
        return set()
    return set(ids) - {c["id"] for c in found["items"]}


def labels_of(ids, found) -> dict[int, str]:
    """Each client's name from `found` (names_read's answer); a client it does not name is
    DELETED_CLIENT, and each is "Cliente 714" when `found` is the ApiError the read met (clients
    down or failing), as the dashboard says one: a name is a label, and the page shows its
    orders without it."""
    named = {} if isinstance(found, ApiError) else {c["id"]: c["name"] for c in found["items"]}
    gone = gone_of(ids, found)
    return {
        client_id: DELETED_CLIENT.format(id=client_id)
        if client_id in gone
        else named.get(client_id) or f"Cliente {client_id}"
        for client_id in ids
    }


def client_labels(client_ids) -> tuple[dict[int, str], set[int]]:
    """Each client's name (labels_of), and the clients deleted (gone_of), from one read."""
    ids = sorted(set(client_ids))[:CLIENTS_PER_READ]
    if not ids:
        return {}, set()
    [found] = api.get_many(names_read(ids))
    return labels_of(ids, found), gone_of(ids, found)


@bp.get("/orders")
@signed_in
def orders():
    found, filters, errors = listing("/orders", ORDER_FILTERS, asked=shop_days)
    clients, gone = client_labels([o["client_id"] for o in found["items"]])
    return render_template(
        "orders.html",
        orders=found["items"],
        clients=clients,
        gone=gone,
        pager=pager(found),
        filters=filters,
        errors=errors,
    ), listed(errors)


def line_count(values: dict) -> int:
    """How many lines the form has (its hidden `lines`): ORDER_LINES to MAX_ORDER_LINES."""
    try:
        asked = int(values.get("lines", ""))
    except ValueError:
        asked = ORDER_LINES
    return min(MAX_ORDER_LINES, max(ORDER_LINES, asked))


def past_the_last_line(values: dict) -> bool:
    """Whether the form names a product on a line past MAX_ORDER_LINES: only a forged form can
    (the page adds no line past it), and such a line is refused, not dropped."""
    numbers = (
        key.removeprefix("product_id_")
        for key, value in values.items()
        if key.startswith("product_id_") and value.strip()
    )
    # ASCII digits only, and few of them: "²" is a digit int() refuses, and 4,301 digits too.
    return any(
        n.isascii() and n.isdigit() and (len(n) > 3 or int(n) > MAX_ORDER_LINES) for n in numbers
    )


def item_lines(values: dict) -> list[int]:
    """The form's lines that make the order's items, in the items' order: those with a product."""
    return [
        n for n in range(1, line_count(values) + 1) if values.get(f"product_id_{n}", "").strip()
    ]


NO_PRODUCT = "Informe o produto deste item ou apague a quantidade."


def lines_without_product(values: dict) -> dict[str, list[str]]:
    """A line with a quantity but no product, under its product field: refused on the form,
    rather than dropped from an order placed without it."""
    return {
        f"product_id_{n}": [NO_PRODUCT]
        for n in range(1, line_count(values) + 1)
        if values.get(f"quantity_{n}", "").strip() and not values.get(f"product_id_{n}", "").strip()
    }


def order_items(values: dict) -> list[dict]:
    """The form's lines as the order's items; a quantity left empty is 1."""
    return [
        {
            "product_id": number(values.get(f"product_id_{n}", "")),
            "quantity": number(values.get(f"quantity_{n}") or "1"),
        }
        for n in item_lines(values)
    ]


def order_body(values: dict) -> dict:
    body = {"client_id": number(values.get("client_id", "")), "items": order_items(values)}
    if values.get("shipping_address_id"):
        body["shipping_address_id"] = number(values["shipping_address_id"])
    if values.get("payment_method"):
        body["payment_method"] = values["payment_method"]
    return body


# An item's problem that names its product ("Product 9 does not exist.", "Product 9: 5 requested,
# 2 available"): orders' and inventory's messages under `items`.
PRODUCT_NAMED = re.compile(r"Product (\d+)\b")


def on_lines(exc: ApiError, values: dict) -> ApiError:
    """The refusal with each item's problem named as the form's field on the line that holds
    that item: `items.<i>.product_id` / `.quantity` as `product_id_2` / `quantity_2`; a product
    orders does not know or sell (`items`: "Product 9 does not exist.") under that product's
    line; a line stock cannot cover (inventory's `short`) under its quantity. The message shows
    next to the value it is about; what no line holds stays above the lines (`items`)."""
    lines = item_lines(values)
    line_of: dict = {}
    for n in lines:
        line_of.setdefault(number(values[f"product_id_{n}"].strip()), n)
    named: dict = {}
    items: list = []
    for path, messages in (exc.problem.get("errors") or {}).items():
        parts = str(path).split(".")
        if path == "items" and isinstance(messages, list):
            items = [(text, "product_id") for text in messages]
            continue
        if (
            len(parts) == 3
            and parts[0] == "items"
            and parts[1].isdigit()
            and int(parts[1]) < len(lines)
            and parts[2] in ("product_id", "quantity")
        ):
            path = f"{parts[2]}_{lines[int(parts[1])]}"
        named[path] = messages
    short = exc.problem.get("short") or []
    if short:
        # Inventory's own words for each short line: `errors.items` says the same, or, carried
        # over by orders without them, names every product in one sentence.
        items = [
            (
                f"Product {line.get('product_id')}: {line.get('requested')} requested, "
                f"{line.get('available')} available",
                "quantity",
            )
            for line in short
        ]
    for text, field in items:
        product = PRODUCT_NAMED.match(str(text))
        n = line_of.get(int(product.group(1))) if product else None
        named.setdefault(f"{field}_{n}" if n else "items", []).append(text)
    return ApiError(exc.status, {**exc.problem, "errors": named})


def sendable_key(key: str) -> bool:
    """An Idempotency-Key the API takes (1 to MAX_KEY characters) and a header can carry:
    printable ASCII, no space at either end."""
    return 0 < len(key) <= MAX_KEY and key.isascii() and key.isprintable() and key == key.strip()


INVALID_KEY = "O formulário veio com uma chave de envio inválida. Envie de novo."
# The API's 409 for a key already sent with another body (a first submit went through, then the
# form was changed and sent again with the same key): the form comes back with a new key.
KEY_REUSED = (
    "Este formulário já tinha sido enviado com outros dados; confira abaixo o que foi registrado"
    " e envie de novo se precisar."
)
# The new-order form has nothing below it to check: it names the order the key placed (the
# kit's 409 gives it as `resource_id`: the user's own key, so their own order), with a link.
ORDER_KEY_REUSED = (
    "Este formulário já tinha sido enviado com outros dados e registrou o pedido {id}; confira-o"
    " e envie de novo se precisar."
)


# A form's write whose answer did not come (a 5xx: the gateway's 502 or 504, a service failing, or
# the console giving up waiting) may have been carried out all the same. The form comes back with
# the key it was sent with, so sending it again answers the first one's result if there was one.
ORDER_NOT_KNOWN = (
    "Não foi possível saber se o pedido foi criado: o serviço falhou ou não respondeu a tempo."
    " Enviar o formulário de novo é seguro: ele não cria um segundo pedido."
)
MOVEMENT_NOT_KNOWN = (
    "Não foi possível saber se o movimento foi registrado: o serviço falhou ou não respondeu a"
    " tempo. Enviar o formulário de novo é seguro: ele não registra um segundo movimento."
)
ADDRESS_NOT_KNOWN = (
    "Não foi possível saber se o endereço foi adicionado: o serviço falhou ou não respondeu a"
    " tempo. Enviar o formulário de novo é seguro: ele não adiciona um segundo endereço."
)
# How long a keyed write waits for its answer: longer than the reads' CONSOLE_API_TIMEOUT_S, so a
# slow order still lands on its page, but under the gateway's proxy_read_timeout (30 s), which
# also bounds the browser's request to the console: past it the browser would get the gateway's
# 504 page, and the form its key. Given up on here, the form comes back with its key.
KEYED_WRITE_TIMEOUT_S = 25.0


def send_keyed(path: str, body: dict, key: str):
    """A form's POST that adds something, with the form's Idempotency-Key."""
    return api.send(
        "POST", path, body, headers={"Idempotency-Key": key}, timeout=KEYED_WRITE_TIMEOUT_S
    )


def not_known(exc: ApiError) -> bool:
    """No answer to tell whether the write was carried out: the service failed or never said."""
    return exc.status >= 500


def sent_again(page, message: str, action: str, form_id: str, values: dict):
    """A keyed form whose answer did not come, on its page again with `message`, its values and
    its key (503). When the page cannot be read either (the service that failed serves it), the
    form alone, to send again as it was."""
    flash(message, "error")
    try:
        return page()
    except ApiError as exc:
        if not not_known(exc):
            raise
        return render_template("resend.html", action=action, form_id=form_id, values=values), 503


class FormRefused(ApiError):
    """The API's refusal of what a keyed form sent (send_form), for its view to show next to the
    fields: its own type, so that an ApiError of the page read that shows the form again is not
    taken for one, and reaches the app's error page."""

    def __init__(self, refusal: ApiError):
        super().__init__(refusal.status, refusal.problem)


def send_form(values: dict, path: str, body: dict, page, unknown: str, action: str, form_id: str):
    """A page's keyed form (a stock movement, an address, a refund) POSTed with its key: the
    API's answer. `page(values=, status=)` shows the form again, in place of the answer (raised
    as FormShown): with a new key when its own is unusable or spent (another body's), with its
    own and `unknown` said when the answer did not come (`sent_again`). A refusal of what was sent
    is raised as FormRefused for the view to show next to its fields; any other ApiError (the
    POST's or the page read's) is the app's."""
    key = form_key(values)
    if key is None:
        flash(INVALID_KEY, "error")
        values.pop("idempotency_key")
        raise FormShown(page(values=values, status=422))
    values["idempotency_key"] = key
    try:
        return send_keyed(path, body, key)
    except ApiError as exc:
        if not_known(exc):
            again = sent_again(
                lambda: page(values=values, status=503), unknown, action, form_id, values
            )
            raise FormShown(again) from exc
        if refused(exc) and exc.key_reused:
            # The key is spent: the form comes back with a new one.
            flash(KEY_REUSED, "error")
            values.pop("idempotency_key")
            raise FormShown(page(values=values, status=exc.status)) from exc
        if refused(exc):
            raise FormRefused(exc) from exc
        raise


def form_key(values: dict) -> str | None:
    """The Idempotency-Key a form was shown with (a hidden field): a double submit, or a retry,
    of one form is one request to the API. None when the form came with one no header can carry
    (only a tampered form does): it is shown again with a new key."""
    key = values.get("idempotency_key") or str(uuid.uuid4())
    return key if sendable_key(key) else None


def number(text: str):
    """An integer when it reads as one; else the text as typed, for the API to name the field."""
    try:
        return int(text)
    except ValueError:
        return text


# Money as people in Brazil type it (19,90 · 1.234,56 · 1234), or as the API writes it (19.90:
# one dot, one or two digits after it, no comma). A sign goes through for the API to judge.
MONEY = re.compile(
    r"""-?(?:
        (?:\d+|\d{1,3}(?:\.\d{3})+),\d{1,2}  # a comma before the cents, dots between thousands
        | \d+(?:\.\d{1,2})?                 # no comma: a dot is a decimal point
        | \d{1,3}(?:\.\d{3}){2,}            # no comma, two dots or more: thousands
    )""",
    re.VERBOSE,
)
MONEY_UNREADABLE = (
    "Não dá para ler este valor sem adivinhar: escreva-o como 19,90 ou 1.234,56 (vírgula antes"
    " dos centavos, ponto só entre milhares)."
)


def money(text: str) -> str:
    """An amount typed in a money field (the product's price, a refund), spaces and a leading
    R$ allowed, as the API's decimal string: 1.234,56 is 1234.56. ValueError for what cannot be
    read without a guess (1.234: a thousand, or three decimals? 12.34,5, 1,2,3, 1,234), which
    the form refuses rather than send. It lives here, next to `number`, as the console's other
    reader of a form's field that catalogue takes from sales; the API still judges the amount."""
    typed = "".join(text.split()).removeprefix("R$")
    if not MONEY.fullmatch(typed):
        raise ValueError(f"not an amount: {text!r}")
    if "," in typed:
        return typed.replace(".", "").replace(",", ".")
    return typed if typed.count(".") == 1 else typed.replace(".", "")


# The order forms offer a client's first ADDRESS_CHOICES addresses (clients' largest page) in a
# select; ADDRESSES_UNREAD is the id box's hint when clients cannot give them.
ADDRESS_CHOICES = 100
ADDRESSES_UNREAD = (
    "Não foi possível ler os endereços do cliente: informe o id de um deles. Em branco: sem"
    " endereço."
)


# An en dash between the street and the city, as Brazilian addresses are written on one line.
EN_DASH = "\u2013"


def address_label(address: dict) -> str:
    """An address as a select offers it: "Rua Augusta, 1500, Apto 12 - São Paulo/SP" (the
    complement when it has one), the dash an en dash. Written here, not by the templates'
    `address` macro: an <option> holds text alone, and the select macro says a refused value
    with its options' texts."""
    street = f"{address['street']}, {address['number']}"
    if address.get("complement"):
        # Two addresses of one building differ by it alone.
        street = f"{street}, {address['complement']}"
    return f"{street} {EN_DASH} {address['city']}/{address['state']}"


def address_choices(addresses: dict | None, current: str) -> dict[str, str] | None:
    """A page of the client's addresses as the select's options, by id (None for no page: the
    form takes an id). The form's own address (`current`) is always one of them, "Endereço 120"
    when the page does not hold it (past the first ADDRESS_CHOICES, or removed since): saving the
    form never drops an address the select did not read."""
    if addresses is None:
        return None
    choices = {str(a["id"]): address_label(a) for a in addresses["items"]}
    if current.strip() and current not in choices:
        choices[current] = f"Endereço {current}"
    return choices


# A read of clients answered so means clients cannot give it (the client or address deleted,
# clients down or failing, or not letting this user read it): the page goes on without it.
CLIENTS_CANNOT_ANSWER = (403, 404, 500, 502, 503, 504)


def cannot_answer(answer, statuses: tuple[int, ...]) -> bool:
    """Whether an answer of `api.get_many` is a refusal among `statuses` (the page goes on
    without it); any other refusal is raised, for the app's error page, as `api.get` would."""
    if isinstance(answer, ApiError):
        if answer.status not in statuses:
            raise answer
        return True
    return False


def or_said(answer, unavailable: str, statuses: tuple[int, ...]) -> tuple:
    """An answer of `api.get_many` as `api.get_or_say` gives one: its JSON and None, or None and
    `unavailable` when it is a refusal among `statuses` (any other is raised)."""
    return (None, unavailable) if cannot_answer(answer, statuses) else (answer, None)


# The order forms offer products by name: a <datalist> on each line's product field, whose
# options are ids labelled "Teclado mecânico ABNT2 · R$ 199,90" (the field still takes an id
# typed). The catalogue may hold 100k products, so it offers at most PRODUCT_CHOICES (products'
# largest page): the first active ones in stock, by name, or, once the form's product search is
# sent, the active ones its words find (products' `q`), by name, in stock or not.
PRODUCT_CHOICES = 100
PRODUCTS_CANNOT_ANSWER = (403, 404, 500, 502, 503, 504)
PRODUCTS_UNREAD = "Não foi possível ler os produtos agora: informe o id de cada um."
PRODUCTS_FIRST = (
    "Palavras do nome. Sem busca, a lista do campo Produto de cada item traz os {n} primeiros"
    " produtos ativos em estoque, por nome."
)
PRODUCTS_FOUND = "“{q}”: {shown} na lista do campo Produto de cada item, por nome."
PRODUCTS_NONE = "Nenhum produto ativo encontrado com “{q}”: tente outras palavras ou informe o id."
# The form sent with search words typed but not searched (Enter in the search box sends the
# form's first button): the search is made, nothing else sent.
PRODUCTS_SEARCHED = (
    "Busca de produtos feita; nada foi enviado. Escolha os produtos e envie de novo."
)


def product_label(product: dict) -> str:
    """A product as the lines offer it: its name and price, and "sem estoque" when it has none."""
    label = f"{product['name']} · {brl(product['price'])}"
    return f"{label} · sem estoque" if product.get("available_quantity") == 0 else label


def line_products(values: dict) -> list[int]:
    """The product ids the form's lines hold, as typed ids (for their names under the lines)."""
    typed = (values.get(f"product_id_{n}", "").strip() for n in range(1, line_count(values) + 1))
    ids = {int(t) for t in typed if t.isascii() and t.isdigit() and 0 < len(t) < 10}
    return sorted(ids - {0})[:PRODUCT_CHOICES]


def product_offer(values: dict) -> dict:
    """What the form's lines offer, read at once: `choices` (id → label, the datalist), `named`
    (each line's product, id → label, said under its field), `searched` (the words the choices
    were found by, which the form carries), `hint` (said under the search box) and `errors`
    (products' refusal of the words, under it). Products not answering leaves ids to type."""
    searched = values.get("product_q", "").strip()
    offered = {"active": "true", "sort": "name", "per_page": PRODUCT_CHOICES}
    offered.update({"q": searched} if searched else {"available": "true"})
    ids = line_products(values)
    named_read = ("/products", {"ids": ",".join(map(str, ids)), "per_page": PRODUCT_CHOICES})
    found, *named = api.get_many(("/products", offered), *([named_read] if ids else []))
    offer = {"choices": {}, "named": {}, "searched": searched, "hint": "", "errors": {}}
    if named and not isinstance(named[0], ApiError):
        # A hint, not a check: an id products does not name is orders' to refuse.
        offer["named"] = {str(p["id"]): product_label(p) for p in named[0]["items"]}
    if isinstance(found, ApiError) and found.status == 422:
        offer["errors"] = {"product_q": found.errors.get("q") or [found.message]}
    elif cannot_answer(found, PRODUCTS_CANNOT_ANSWER):
        offer["hint"] = PRODUCTS_UNREAD
    else:
        offer["choices"] = {str(p["id"]): product_label(p) for p in found["items"]}
        shown = len(found["items"])
        if not searched:
            offer["hint"] = PRODUCTS_FIRST.format(n=PRODUCT_CHOICES)
        elif not shown:
            offer["hint"] = PRODUCTS_NONE.format(q=searched)
        else:
            total = found["total"]
            many = f"os {counted(shown)} primeiros de {counted(total)} produtos ativos"
            one = "1 produto ativo" if total == 1 else f"{counted(total)} produtos ativos"
            offer["hint"] = PRODUCTS_FOUND.format(q=searched, shown=many if total > shown else one)
    return offer


def unsearched(values: dict) -> bool:
    """Whether the form was sent with product search words other than those its choices were
    found by: the search is made, nothing else sent (PRODUCTS_SEARCHED)."""
    return values.get("product_q", "").strip() != values.get("product_searched", "").strip()


def asked_client(values: dict) -> str | None:
    """The client a new order is placed for when the form came from their page (`?client_id=`),
    the form's own client_id still that one; None for the plain form."""
    asked = request.args.get("client_id", "")
    return asked if asked.isdigit() and values.get("client_id", "").strip() == asked else None


def client_and_addresses(client_id: str, *, client: bool = True) -> tuple[dict | None, dict | None]:
    """The client (unless not `client`) and their first ADDRESS_CHOICES addresses, read at once,
    for the order forms; (None, None) when clients cannot give them (CLIENTS_CANNOT_ANSWER): the
    form then takes an address id."""
    reads = [(f"/clients/{client_id}/addresses", {"per_page": ADDRESS_CHOICES})]
    if client:
        reads.append((f"/clients/{client_id}", {}))
    answers = api.get_many(*reads)
    # Every answer looked at: a refusal clients' not answering does not explain is raised.
    unread = [cannot_answer(answer, CLIENTS_CANNOT_ANSWER) for answer in answers]
    if any(unread):
        return None, None
    return (answers[1] if client else None), answers[0]


def order_form(
    values: dict,
    errors: dict | None = None,
    message: str | None = None,
    status=200,
    recorded: int | None = None,
):
    """The new-order form; `recorded`: the order its spent key placed, linked under `message`.
    Opened from a client's page, the client is filled in and their addresses offered in a
    select (the form keeps `?client_id=` when sent); otherwise, or when clients cannot give
    them, both are ids to type."""
    asked = asked_client(values)
    client, addresses = client_and_addresses(asked) if asked else (None, None)
    products = product_offer(values)
    return render_template(
        "order_new.html",
        values=values,
        errors={**products["errors"], **(errors or {})},
        products=products,
        message=message,
        recorded=recorded,
        lines=line_count(values),
        max_lines=MAX_ORDER_LINES,
        methods=PAYMENT_METHODS,
        client=client,
        addresses=address_choices(addresses, values.get("shipping_address_id", "")),
        addresses_unread=ADDRESSES_UNREAD if asked and client is None else "",
        action=url_for("console.new_order", client_id=asked),
    ), status


def with_new_key(values: dict) -> dict:
    """The form as sent, with a new key for its next submit (its own is spent or unusable)."""
    return {**values, "idempotency_key": str(uuid.uuid4())}


@bp.route("/orders/new", methods=["GET", "POST"])
@signed_in
def new_order():
    if request.method == "GET":
        return order_form(with_new_key({"client_id": request.args.get("client_id", "")}))
    values = form_values()
    if "add_line" in values:
        # Nothing is sent: the form again, as typed, with one line more.
        more = line_count(values) + 1
        values = {**values, "lines": str(min(more, MAX_ORDER_LINES))}
        return order_form(values, message=MANY_LINES if more > MAX_ORDER_LINES else None)
    if "find_products" in values:
        # Nothing is sent: the form again, as typed, its lines offering what the words find.
        return order_form(values)
    if unsearched(values):
        return order_form(values, message=PRODUCTS_SEARCHED)
    key = form_key(values)
    if key is None:
        return order_form(with_new_key(values), message=INVALID_KEY, status=422)
    if past_the_last_line(values):
        return order_form(values, message=MANY_LINES, status=422)
    unnamed = lines_without_product(values)
    if unnamed:
        return order_form(values, unnamed, "Confira os campos destacados.", 422)
    values["idempotency_key"] = key
    try:
        order = send_keyed("/orders", order_body(values), key)
    except ApiError as exc:
        if not_known(exc):
            return order_form(values, message=ORDER_NOT_KNOWN, status=503)
        if not refused(exc):
            raise
        if exc.key_reused:
            # A key's row is only ever written naming what it made (the kit's `Key.bind` and
            # `Key.answer`): a spent key names its order. Read as the kit documents it, though
            # ("once it made something"): without it, the plain key-reused message.
            recorded = exc.problem.get("resource_id")
            message = ORDER_KEY_REUSED.format(id=recorded) if recorded else KEY_REUSED
            return order_form(with_new_key(values), None, message, exc.status, recorded)
        message = exc.message
        if exc.problem.get("short"):
            message = "Estoque insuficiente: confira as quantidades."
        return order_form(values, on_lines(exc, values).errors, message, exc.status)
    flash(f"Pedido {order['id']} criado.")
    return redirect(url_for("console.order", order_id=order["id"]), 303)


# --- changing a pending order ---

# What a PATCH of an order may change (orders' OrderPatchSchema), as the edit form's fields:
# `items` is its lines, compared as `line_items` writes them.
EDITABLE = ("items", "shipping_address_id", "payment_method")
NO_ITEMS = "Um pedido precisa de ao menos um item; para desfazê-lo, cancele-o na página do pedido."
NOT_EDITABLE = "O pedido {id} não está mais pendente: não pode ser alterado."
NOT_YOURS = "Só quem fez o pedido, ou um administrador, pode alterá-lo."
# A PATCH sets the order's lines, address and method to what the form holds, and carries the
# order's ETag as loaded: sent again after the first went through, orders refuses it (412) and
# the console finds the order already as the form says, so sending it again is safe.
EDIT_NOT_KNOWN = (
    "Não foi possível saber se o pedido foi alterado: o serviço falhou ou não respondeu a tempo."
    " Enviar o formulário de novo é seguro: o pedido fica como está abaixo."
)


# Orders' 412: the order changed since the form was loaded (its If-Match, the order's ETag then).
ORDER_CHANGED = "O pedido mudou desde que o formulário foi aberto: confira e salve de novo."


def may_edit(order: dict) -> bool:
    """Whether the page offers to change the order: pending, and the user placed it or is an
    admin (orders' own rule; the API decides anyway)."""
    mine = order.get("created_by") == session.user["id"]
    return order["status"] == "pending" and (session.is_admin or mine)


def kept_lines(values: dict) -> dict:
    """The edit form as its lines make the order's items: a line whose quantity is 0 is dropped,
    as an emptied one is (its fields left out; the lines keep their numbers, for the API's
    refusals to find them)."""
    dropped = {
        key
        for n in range(1, line_count(values) + 1)
        if number(values.get(f"quantity_{n}", "").strip()) == 0
        for key in (f"product_id_{n}", f"quantity_{n}")
    }
    return {key: value for key, value in values.items() if key not in dropped}


def line_items(values: dict) -> str:
    """The items the lines make, as one text the form carries loaded (`orig_items`), to tell
    whether the lines changed: "7:2,9:1"."""
    return ",".join(f"{item['product_id']}:{item['quantity']}" for item in order_items(values))


def loaded_order(order: dict) -> dict:
    """The edit form's fields as the order holds them, each also as loaded (`orig_`), and the
    order's client, whose addresses the form offers (no PATCH changes it)."""
    values = {
        "client_id": str(order["client_id"]),
        "lines": str(len(order["items"])),
        "shipping_address_id": str(order.get("shipping_address_id") or ""),
        "payment_method": order.get("payment_method") or "",
    }
    for n, item in enumerate(order["items"], 1):
        values[f"product_id_{n}"] = str(item["product_id"])
        values[f"quantity_{n}"] = str(item["quantity"])
    loaded = {**values, "items": line_items(values)}
    return {**values, **{f"orig_{key}": loaded[key] for key in EDITABLE}}


def edit_body(values: dict) -> dict:
    """What the form changed of the order (`changed_only`, `items` as `line_items`): an emptied
    address or method is none."""
    address = values.get("shipping_address_id", "").strip()
    body = {
        "items": order_items(values),
        "shipping_address_id": number(address) if address else None,
        "payment_method": values.get("payment_method") or None,
    }
    return changed_only(body, {**values, "items": line_items(values)})


def edit_form(order_id: int, values: dict, errors=None, message=None, status=200):
    """The form changing a pending order, with its values (the loaded ones carried along), the
    order's client's addresses in a select (an id to type when clients cannot give them)."""
    client_id = values.get("client_id", "")
    _, addresses = (
        client_and_addresses(client_id, client=False) if client_id.isdigit() else (None, None)
    )
    products = product_offer(values)
    return render_template(
        "order_edit.html",
        order_id=order_id,
        values=values,
        errors={**products["errors"], **(errors or {})},
        products=products,
        message=message,
        lines=line_count(values),
        max_lines=MAX_ORDER_LINES,
        methods=PAYMENT_METHODS,
        editable=EDITABLE,
        addresses=address_choices(addresses, values.get("shipping_address_id", "")),
        addresses_unread=ADDRESSES_UNREAD,
    ), status


def order_as_it_is(order_id: int, message=None, status=200, sent: dict | None = None):
    """The edit form filled with the order as it is now, with its ETag (sent back as If-Match:
    a change made since is a 412, not overwritten); the order's page, saying why, when the order
    is no longer pending or not the user's to change. `sent`: a form orders refused as changed
    since it was loaded (412); when the order already holds what it sends (the same form sent
    twice, or again after its answer was lost), it was carried out: the order's page."""
    found, tag = api.get_tagged(f"/orders/{order_id}")
    if found["status"] != "pending":
        flash(NOT_EDITABLE.format(id=order_id), "error")
        return redirect(url_for("console.order", order_id=order_id), 303)
    if not may_edit(found):
        # Not a form to fill in for nothing: orders would refuse it (403) once sent.
        flash(NOT_YOURS, "error")
        return redirect(url_for("console.order", order_id=order_id), 303)
    values = {**loaded_order(found), "etag": tag}
    if sent is not None and not edit_body({**sent, **as_loaded(values)}):
        flash(f"Pedido {order_id} alterado.")
        return redirect(url_for("console.order", order_id=order_id), 303)
    return edit_form(order_id, values, message=message, status=status)


def as_loaded(values: dict) -> dict:
    """The `orig_` fields of a form: what it was loaded with."""
    return {key: value for key, value in values.items() if key.startswith("orig_")}


@bp.route("/orders/<int:order_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_order(order_id: int):
    """Change a pending order's lines, address or payment method: one PATCH of what the form
    changed, with the order's ETag as the form was loaded (If-Match; a 412 shows the form again
    with the order as it is now). Its refusals are said on the form, kept as typed; one the
    console does not take (the API's 403: neither who placed it nor an admin) is the API's
    page."""
    if request.method == "GET":
        return order_as_it_is(order_id)
    values = form_values()
    if "add_line" in values:
        # Nothing is sent: the form again, as typed, with one line more.
        more = line_count(values) + 1
        values = {**values, "lines": str(min(more, MAX_ORDER_LINES))}
        return edit_form(order_id, values, message=MANY_LINES if more > MAX_ORDER_LINES else None)
    if "find_products" in values:
        # Nothing is sent: the form again, as typed, its lines offering what the words find.
        return edit_form(order_id, values)
    if unsearched(values):
        return edit_form(order_id, values, message=PRODUCTS_SEARCHED)
    if past_the_last_line(values):
        return edit_form(order_id, values, message=MANY_LINES, status=422)
    sent = kept_lines(values)
    unread = lines_without_product(sent) or ({} if item_lines(sent) else {"items": [NO_ITEMS]})
    if unread:
        return edit_form(order_id, values, unread, "Confira os campos destacados.", 422)
    body = edit_body(sent)
    if not body:
        flash(NOTHING_CHANGED)
        return redirect(url_for("console.order", order_id=order_id), 303)
    tag = form_etag(values)
    if tag is None:
        return order_as_it_is(order_id, ORDER_CHANGED, 412)
    try:
        api.send(
            "PATCH",
            f"/orders/{order_id}",
            body,
            headers={"If-Match": tag},
            timeout=KEYED_WRITE_TIMEOUT_S,
        )
    except ApiError as exc:
        if exc.status == 412:
            return order_as_it_is(order_id, ORDER_CHANGED, 412, sent=sent)
        if not_known(exc):
            return edit_form(order_id, values, message=EDIT_NOT_KNOWN, status=503)
        if not refused(exc):
            raise
        message = exc.message
        if exc.problem.get("short"):
            message = "Estoque insuficiente: confira as quantidades."
        return edit_form(order_id, values, on_lines(exc, sent).errors, message, exc.status)
    flash(f"Pedido {order_id} alterado.")
    return redirect(url_for("console.order", order_id=order_id), 303)


# A payment the order page offers to refund: payments refunds these, while something is left.
# A `refunded` one may have some left: a refund of it failed at the provider while another
# payment held its order, so it stayed `refunded` with that money no longer counted.
REFUNDABLE = ("succeeded", "partially_refunded", "refunded")
# Said where payments are read and payments cannot answer (the order page, the review queue).
PAYMENTS_MISSING = "Pagamentos indisponíveis no momento."


# Payments down or slow (502-504), not there or not letting this user read payments (403, 404).
PAYMENTS_CANNOT_ANSWER = (403, 404, 502, 503, 504)


def payments_read(**params) -> tuple[dict | None, str | None]:
    """`GET /payments` with `params` (api.get_or_say): PAYMENTS_MISSING when payments cannot
    answer (PAYMENTS_CANNOT_ANSWER)."""
    return api.get_or_say("/payments", PAYMENTS_MISSING, PAYMENTS_CANNOT_ANSWER, **params)


REFUND_NOT_KNOWN = (
    "Não foi possível saber se o reembolso foi feito: o serviço falhou ou não respondeu a tempo."
    " Enviar o formulário de novo é seguro: ele não reembolsa duas vezes."
)


def left_to_refund(payments: list[dict]) -> dict[int, Decimal]:
    """What is left to give back of each payment an admin may refund, by its id: what the
    provider received (a PIX paid short or over received another amount than the order's),
    else the payment's amount, less what was refunded."""
    if not session.is_admin:
        return {}
    left = {
        p["id"]: Decimal(p.get("received_amount") or p["amount"])
        - Decimal(p.get("refunded_amount") or 0)
        for p in payments
        if p.get("status") in REFUNDABLE
    }
    return {payment_id: amount for payment_id, amount in left.items() if amount > 0}


def cancel_label(label: str, found_payments: dict | None, refunds: dict) -> str:
    """A paid order's "Cancelar e reembolsar" is "Cancelar" when payments says nothing is left
    to give back (paid by hand, or refunded in full already); unread, it says what may happen."""
    if label == CANCEL_AND_REFUND and found_payments is not None and not refunds:
        return "Cancelar"
    return label


# Said under an order's shipping address id when clients cannot give the address.
ADDRESS_MISSING = "O endereço foi removido, ou o serviço de clientes não respondeu."


def address_read(order: dict) -> tuple[str, dict] | None:
    """The read of the order's shipping address at clients, as `api.get_many` takes one. None for
    an order with no address, or one shipped with its address kept (`shipped_to`, which the page
    shows instead: the address as it was when the order left, not as the client has it now)."""
    address_id = order.get("shipping_address_id")
    if address_id is None or order.get("shipped_to"):
        return None
    return f"/clients/{order['client_id']}/addresses/{address_id}", {}


def refunded_of(order: dict, payments: list[dict]) -> Decimal:
    """What went back of the payment that paid the order (its `payment_id`): the larger of what
    orders says and what payments says. Orders hears `payment.refunded` a moment after the
    refund answered: the page landed on after it already says what went back."""
    paid_by = [
        Decimal(p.get("refunded_amount") or 0)
        for p in payments
        if order.get("payment_id") is not None and p["id"] == order["payment_id"]
    ]
    return max([Decimal(order.get("refunded_amount") or 0), *paid_by])


def order_page(order_id: int, *, refund=None, values=None, errors=None, status=200):
    """The order page; `refund`: the payment whose refund form comes back with `values` and
    `errors` (a refused or unanswered one), the other forms with a key of their own."""
    found, tag = api.get_tagged(f"/orders/{order_id}")
    client_id = found["client_id"]
    where = address_read(found)
    # What the order names is read at once: the page waits for the slowest read, not the sum.
    paid, names, *at = api.get_many(
        ("/payments", {"order_id": order_id}), names_read([client_id]), *([where] if where else [])
    )
    found_payments, payments_why = or_said(paid, PAYMENTS_MISSING, PAYMENTS_CANNOT_ANSWER)
    # An address clients cannot give (deleted, or clients not answering) is said by its id.
    address, address_why = (
        or_said(at[0], ADDRESS_MISSING, CLIENTS_CANNOT_ANSWER) if at else (None, None)
    )
    payments = found_payments["items"] if found_payments else []
    refunds = left_to_refund(payments)
    refunded = refunded_of(found, payments)
    # Orders refuses to ship one whose payment went back in full (workflow.ensure_not_refunded:
    # refunded_amount >= total, for an order a payment paid; only such an order has refunds):
    # no button for it.
    refunded_in_full = refunded > 0 and refunded >= Decimal(found["total"])
    steps = [
        (status, cancel_label(label, found_payments, refunds), STEP_NOTES.get(status, STEP_NOTE))
        for status, label, admin in NEXT_STEPS.get(found["status"], [])
        if (session.is_admin or not admin) and not (status == "shipped" and refunded_in_full)
    ]
    return render_template(
        "order.html",
        order=found,
        client=labels_of([client_id], names)[client_id],
        client_gone=client_id in gone_of([client_id], names),
        editable=may_edit(found),
        refunded=refunded,
        authors=authors(found.get("history") or []),
        payments=payments,
        payments_why=payments_why,
        shipping_address=found.get("shipped_to") or address,
        address_why=address_why,
        steps=steps,
        max_step_note=MAX_STEP_NOTE,
        deletable=session.is_admin and found["status"] in DELETABLE,
        etag=tag,
        methods=PAYMENT_METHODS,
        refunds=refunds,
        refund_keys={payment_id: str(uuid.uuid4()) for payment_id in refunds},
        refund=refund,
        values=values or {},
        errors=errors or {},
    ), status


@bp.get("/orders/<int:order_id>")
@signed_in
def order(order_id: int):
    return order_page(order_id)


def authors(history: list[dict]) -> dict:
    """Who made each step of an order's history, by its `by`: a user's id as `user_names` says
    them, a service acting on its own events ("payments") by its Portuguese name."""
    steps = [h.get("by") for h in history]
    services = {by: SERVICE_LABELS.get(by, by) for by in steps if isinstance(by, str)}
    return {**user_names(by for by in steps if isinstance(by, int)), **services}


@bp.post("/orders/<int:order_id>/status")
@signed_in
def order_status(order_id: int):
    values = form_values()
    body = {"status": values.get("status", "")}
    # Optional: a field left empty sends no note.
    note = values.get("note", "").strip()
    if note:
        body["note"] = note
    status = values.get("status", "")
    try:
        api.send("POST", f"/orders/{order_id}/status", body)
        flash(f"Pedido {order_id}: {ORDER_STATUSES.get(status, status)}.")
    except ApiError as exc:
        if exc.status not in (403, 409, 422):
            raise
        if exc.status == 409 and already_in(order_id, status):
            # A second click of the button: the first one made the change.
            flash(f"O pedido já está {ORDER_STATUSES.get(status, status)}.")
        else:
            flash("Não foi possível mudar o status: " + (exc.reason or str(exc.status)), "error")
    return redirect(url_for("console.order", order_id=order_id), 303)


# Orders' 412 to a delete: the order changed since its page was shown (the form's If-Match).
ORDER_CHANGED_DELETE = (
    "O pedido mudou desde que a página foi aberta e não foi excluído: confira-o abaixo e exclua"
    " de novo se ainda for o caso."
)


@bp.post("/orders/<int:order_id>/delete")
@admin_only
def delete_order(order_id: int):
    """Delete a pending or cancelled order (the API's 409 for any other, said on its page), then
    the orders list. It carries the order's ETag as its page showed it (If-Match): an order
    changed since (a line, the address, a payment) is not deleted unseen, orders' 412 shows the
    page again as it is now, saying so."""
    tag = form_etag(form_values())
    if tag is None:
        flash(ORDER_CHANGED_DELETE, "error")
        return order_page(order_id, status=412)
    try:
        api.send("DELETE", f"/orders/{order_id}", headers={"If-Match": tag})
    except ApiError as exc:
        if exc.status == 404:
            # The form was on its page: a second click, or another admin, deleted it first.
            flash(f"O pedido {order_id} já foi excluído.")
            return redirect(url_for("console.orders"), 303)
        if exc.status == 412:
            flash(ORDER_CHANGED_DELETE, "error")
            return order_page(order_id, status=412)
        if not refused(exc):
            raise
        flash("Não foi possível excluir o pedido: " + exc.reason, "error")
        return redirect(url_for("console.order", order_id=order_id), 303)
    flash(f"Pedido {order_id} excluído.")
    return redirect(url_for("console.orders"), 303)


def already_in(order_id: int, status: str) -> bool:
    """Whether the order, read again, is in `status`; False when it cannot be read (the page
    then says the API's refusal)."""
    try:
        return api.get(f"/orders/{order_id}").get("status") == status
    except ApiError:
        return False


@bp.post("/orders/<int:order_id>/payments/<int:payment_id>/refund")
@admin_only
def refund_payment(order_id: int, payment_id: int):
    """Give back the amount typed (blank: all that is left) of one of the order's payments. The
    amount is read as money is typed in Brazil (`money`): one it cannot read is refused under
    the field, nothing sent; the API names what it refuses of the rest."""
    values = form_values()
    amount = values.get("amount", "").strip()
    page = functools.partial(order_page, order_id, refund=payment_id)
    if amount:
        try:
            amount = money(amount)
        except ValueError:
            flash("Não foi possível reembolsar: " + MONEY_UNREADABLE, "error")
            return page(values=values, errors={"amount": [MONEY_UNREADABLE]}, status=422)
    try:
        paid = send_form(
            values,
            f"/payments/{payment_id}/refund",
            {"amount": amount} if amount else {},
            page,
            REFUND_NOT_KNOWN,
            url_for("console.refund_payment", order_id=order_id, payment_id=payment_id),
            f"refund-{payment_id}",
        )
    except FormRefused as exc:
        flash("Não foi possível reembolsar: " + exc.reason, "error")
        return page(values=values, errors=exc.errors, status=exc.status)
    word = PAYMENT_STATUSES.get(paid["status"], paid["status"])
    flash(f"Pagamento {payment_id}: {word}, {brl(paid['refunded_amount'])} reembolsados no total.")
    return redirect(url_for("console.order", order_id=order_id), 303)


@bp.post("/orders/<int:order_id>/payments/<int:payment_id>/reviewed")
@admin_only
def review_payment(order_id: int, payment_id: int):
    """Mark one of the order's flagged payments reviewed, with its reason as the page showed it
    (a hidden field): payments refuses it if that is no longer the reason (flagged again since),
    and the page comes back with the API's word and the reason as it now stands."""
    # A browser sends the hidden field's line breaks (one between two causes) as CRLF.
    reason = form_values().get("review_reason", "").replace("\r\n", "\n")
    try:
        api.send("POST", f"/payments/{payment_id}/reviewed", {"review_reason": reason})
    except ApiError as exc:
        if not refused(exc):
            raise
        flash("Não foi possível marcar como revisado: " + exc.reason, "error")
        return order_page(order_id, status=exc.status)
    flash(f"Pagamento {payment_id} marcado como revisado.")
    return redirect(url_for("console.order", order_id=order_id), 303)


# --- clients ---

CLIENT_FIELDS = ("name", "email", "cpf", "phone")
ADDRESS_FIELDS = ("state", "city", "street", "number", "complement", "cep")
PHONE_TWICE = "Informe um celular novo ou marque “Remover o celular”, não os dois."
# A client has no limit on addresses: the client page pages them, under a name of their own.
ADDRESSES_PAGE = "addresses_page"
ADDRESSES_PER_PAGE = 20


def client_body(values: dict, *, creating: bool, phone_masked: bool = False) -> dict:
    """The form as the API takes it. `phone_masked`: the user is no admin, so the API answers
    them the phone masked and the form leaves its field empty; an empty field keeps the phone
    (it is left out), the "Remover o celular" box clears it."""
    body = {key: values.get(key, "").strip() for key in CLIENT_FIELDS if key in values}
    if values.get("remove_phone") == "on":
        body["phone"] = None
    elif not body.get("phone"):
        if phone_masked:
            body.pop("phone", None)
        else:
            body["phone"] = None
    if not creating:
        body.pop("cpf", None)
    elif not body.get("email"):
        body.pop("email", None)
    body["whatsapp_opt_in"] = values.get("whatsapp_opt_in") == "on"
    return body


@bp.get("/clients")
@signed_in
def clients():
    found, filters, errors = listing("/clients", ("name", "email", "cpf", "sort"))
    return render_template(
        "clients.html", clients=found["items"], pager=pager(found), filters=filters, errors=errors
    ), listed(errors)


@bp.route("/clients/new", methods=["GET", "POST"])
@signed_in
def new_client():
    values, errors, message = {}, {}, None
    if request.method == "POST":
        values = form_values()
        try:
            created = api.send("POST", "/clients", client_body(values, creating=True))
        except ApiError as exc:
            if not refused(exc):
                raise
            errors, message = exc.errors, exc.message
            return render_template(
                "client_new.html", values=values, errors=errors, message=message
            ), exc.status
        flash(f"Cliente {created['name']} criado.")
        return redirect(url_for("console.client", client_id=created["id"]), 303)
    return render_template("client_new.html", values=values, errors=errors, message=message)


def addresses_kept() -> dict[str, str]:
    """The page of addresses this request is on: the client page's forms send it back, and a
    change goes back to it."""
    page = request.args.get(ADDRESSES_PAGE)
    return {ADDRESSES_PAGE: page} if page else {}


def client_page(client_id: int, *, form: str = "", values=None, errors=None, status=200):
    found = api.get(f"/clients/{client_id}")
    addresses = api.get(
        f"/clients/{client_id}/addresses", **page_args(ADDRESSES_PER_PAGE, ADDRESSES_PAGE)
    )
    here = url_for("console.client", client_id=client_id)
    return render_template(
        "client.html",
        client=found,
        addresses=addresses["items"],
        addresses_pager=pager(addresses, ADDRESSES_PAGE, path=here),
        kept=addresses_kept(),
        form=form,
        values=values or {},
        errors=errors or {},
        new_key=str(uuid.uuid4()),
    ), status


@bp.get("/clients/<int:client_id>")
@signed_in
def client(client_id: int):
    return client_page(client_id)


# Clients withdraws WhatsApp consent when the number changes (it was given for the old one): the
# box, ticked on the form, is unticked after the save; said, not left to be noticed.
CONSENT_WITHDRAWN = (
    "O celular mudou, e o consentimento para o WhatsApp, dado para o número antigo, foi "
    "retirado: marque-o de novo quando o cliente consentir para o novo."
)


@bp.post("/clients/<int:client_id>")
@signed_in
def edit_client(client_id: int):
    values = form_values()
    if values.get("remove_phone") == "on" and values.get("phone", "").strip():
        errors = {"phone": [PHONE_TWICE]}
        return client_page(client_id, form="client", values=values, errors=errors, status=422)
    # "Remover o celular" is a change of its own.
    body = changed_only(
        client_body(values, creating=False, phone_masked=not session.is_admin),
        values,
        boxes={"whatsapp_opt_in"},
        changed={"phone"} if values.get("remove_phone") == "on" else (),
    )
    if not body:
        flash(NOTHING_CHANGED)
        return redirect(url_for("console.client", client_id=client_id, **addresses_kept()), 303)
    try:
        changed = api.send("PATCH", f"/clients/{client_id}", body)
    except ApiError as exc:
        if not refused(exc):
            raise
        return client_page(
            client_id, form="client", values=values, errors=exc.errors, status=exc.status
        )
    flash("Cliente atualizado.")
    if "phone" in body and values.get("whatsapp_opt_in") == "on" and not changed["whatsapp_opt_in"]:
        flash(CONSENT_WITHDRAWN)
    return redirect(url_for("console.client", client_id=client_id, **addresses_kept()), 303)


@bp.post("/clients/<int:client_id>/addresses")
@signed_in
def add_address(client_id: int):
    values = form_values()
    body = {key: values.get(key, "").strip() for key in ADDRESS_FIELDS}
    if not body["complement"]:
        body.pop("complement")
    page = functools.partial(client_page, client_id, form="address")
    try:
        added = send_form(
            values,
            f"/clients/{client_id}/addresses",
            body,
            page,
            ADDRESS_NOT_KNOWN,
            url_for("console.add_address", client_id=client_id, **addresses_kept()),
            "address-form",
        )
    except FormRefused as exc:
        return page(values=values, errors=exc.errors, status=exc.status)
    # Said with its id: on a client with many addresses it lands on the last page, not this one.
    flash(f"Endereço {added['id']} adicionado.")
    return redirect(url_for("console.client", client_id=client_id, **addresses_kept()), 303)


@bp.post("/clients/<int:client_id>/addresses/<int:address_id>/delete")
@signed_in
def delete_address(client_id: int, address_id: int):
    try:
        api.send("DELETE", f"/clients/{client_id}/addresses/{address_id}")
        flash("Endereço removido.")
    except ApiError as exc:
        if not refused(exc):
            raise
        flash("Não foi possível remover: " + exc.reason, "error")
    return redirect(url_for("console.client", client_id=client_id, **addresses_kept()), 303)


# --- deleting a client ---

# The orders that keep a client from being deleted (clients' deletion_guards.OPEN), and how many
# of them the confirmation page lists (a link to the orders list shows the rest).
OPEN_STATUSES = "pending,paid,shipped"
OPEN_ORDERS_SHOWN = 20
OPEN_ORDERS_MISSING = "Não foi possível ler os pedidos em aberto do cliente."
# Orders not letting this page read them: the page says so and goes on.
ORDERS_CANNOT_ANSWER = (403, 404, 500, 502, 503, 504)


def client_delete_page(client_id: int, *, message: str | None = None, status=200):
    """What deleting the client takes with it, the client's open orders (linked: each must be
    delivered or cancelled first), and the button that deletes it; `message`: the API's refusal,
    said above them."""
    found = api.get(f"/clients/{client_id}")
    open_orders, orders_why = api.get_or_say(
        "/orders",
        OPEN_ORDERS_MISSING,
        ORDERS_CANNOT_ANSWER,
        client_id=client_id,
        status=OPEN_STATUSES,
        per_page=OPEN_ORDERS_SHOWN,
    )
    return render_template(
        "client_delete.html",
        client=found,
        open_orders=open_orders["items"] if open_orders else [],
        open_total=open_orders["total"] if open_orders else 0,
        orders_why=orders_why,
        all_open=url_for("console.orders", client_id=client_id, status=OPEN_STATUSES),
        message=message,
    ), status


@bp.get("/clients/<int:client_id>/delete")
@admin_only
def confirm_delete_client(client_id: int):
    """Deleting a client asks first, on a page of its own: one click on the client's page only
    asks."""
    return client_delete_page(client_id)


@bp.post("/clients/<int:client_id>/delete")
@admin_only
def delete_client(client_id: int):
    """Delete the client with its addresses and favorites (its orders stay), then the clients
    list; clients' 409 while it has open orders, said on the confirmation page with them."""
    try:
        api.send("DELETE", f"/clients/{client_id}")
    except ApiError as exc:
        if exc.status == 404:
            # Another admin, or a second click, deleted it first.
            flash(f"O cliente {client_id} já foi excluído.")
            return redirect(url_for("console.clients"), 303)
        if not refused(exc):
            raise
        return client_delete_page(
            client_id,
            message="Não foi possível excluir o cliente: " + exc.detail,
            status=exc.status,
        )
    flash(f"Cliente {client_id} excluído.")
    return redirect(url_for("console.clients"), 303)
