"""What a shop staffer reads on an order's page and a product's stock ledger, against a stand-in
for the API: the notes the services write themselves said in Portuguese (a typed one as typed),
the shipping address itself, a status button clicked twice, and a new order sent again changed
under its spent key linking to the order it placed. And what a stock-and-shipping walk found: a
sale named in the ledger, a refused reason said with the form's names, a status change's note, a
paid order's cancel saying it refunds, an admin deleting an order, the dashboard's low stock
(how many, the fewest available first, a link), and a list filter the API refuses. And what went
back of an order's payment, once refunded (payments' word before orders hears it), and whose
order it is: the client's name, on the list and the order's page."""

import ast
import json
import re
import threading

import jwt
import pytest
from flask import Flask, request
from marshmallow import ValidationError, validate
from werkzeug.http import generate_etag

from services.console.catalogue import LEDGER_REASONS, MOVEMENT_REASONS
from services.console.messages import note_in_portuguese
from services.inventory.models import MANUAL_REASONS, REASONS
from services.inventory.schemas import NewMovementSchema
from services.kit.fields import FlagFilter
from services.orders.models import STATUSES

from .conftest import (
    console_with_api,
    csrf_of,
    form_fields,
    register,
    signed_in_admin,
)
from .test_messages import SAMPLE, _api_sources, _constants, _name_of, _scopes, _texts
from .test_pages import sign_out

CLIENT, ORDER, ADDRESS, PRODUCT = 3, 12, 120, 7
PROBLEM = {"Content-Type": "application/problem+json"}
RUA_A = {
    "id": ADDRESS,
    "client_id": CLIENT,
    "street": "Rua Augusta",
    "number": "1500",
    "complement": "Apto 12",
    "city": "São Paulo",
    "state": "SP",
    "cep": "01304-001",
}


def refusal(field: str, error) -> tuple[dict, int, dict]:
    """The kit's 422 naming `field`, with marshmallow's message for `error` (a ValidationError
    raised by the API's own field or validator)."""
    messages = error.messages if isinstance(error.messages, list) else error.messages[field]
    problem = {"status": 422, "title": "Unprocessable Content", "errors": {field: messages}}
    return {**problem, "detail": f"Invalid fields: {field}"}, 422, PROBLEM


class Api:
    """An order (`order`: its status and history change as a test says; None once deleted; read
    with its ETag, a hash of it; a PATCH, by who placed it (`created_by`) or an admin, changes
    it while pending and If-Match, when sent, names it as it is (else orders' 412), or answers
    `patch_answer` (status, problem) instead), its client's address (`address`, alone in their
    addresses: None answers 404, `clients_down` 503, `addresses_refused` is what the list
    answers instead; each read of it by id kept in `addresses_asked`), the clients by ids
    (`clients`: id → name; `clients_down` 503, each read kept in `clients_asked`), the order's
    payments (`payments`; with `together`, a barrier, the payments, the address and the
    clients' names answer only once the three were asked, else 503), a product's stock ledger
    (`ledger`) and movements (checked by inventory's own schema), the stock list (`stock`, its
    `low` filter and its sort as inventory reads them), the orders list (`listed_orders`, its
    `status` filter checked as orders checks it), the products (`products`, by name, with
    products' `ids`, `q` (here a part of the name), `active` and `available` filters; each read
    kept in `products_asked`, `products_down` 503), and POST /orders as the kit's idempotency
    answers it: a key sent again with another body is its 409, naming the order the key placed.
    A DELETE, as a PATCH, is orders' 412 when its If-Match no longer names the order.
    The status changes, edits and deletes it was sent are kept (`sent`)."""

    def __init__(self):
        self.reset()
        app = self.app = Flask("api")
        page = {"items": [], "total": 0, "page": 1, "per_page": 20}

        @app.get(f"/orders/{ORDER}")
        def order():
            if self.order is None:
                return {"status": 404, "title": "Not Found"}, 404, PROBLEM
            return self.order, 200, {"ETag": self.tag()}

        @app.patch(f"/orders/{ORDER}")
        def change_order():
            body = request.get_json()
            self.sent.append(("PATCH", request.path, body))
            if self.patch_answer:
                status, problem = self.patch_answer
                return problem, status, PROBLEM
            claims = jwt.decode(
                request.headers["Authorization"].removeprefix("Bearer "),
                options={"verify_signature": False},
            )
            if claims["role"] != "admin" and self.order["created_by"] != int(claims["sub"]):
                detail = "Only the user who placed the order, or an admin, may change it"
                return {"status": 403, "title": "Forbidden", "detail": detail}, 403, PROBLEM
            if request.headers.get("If-Match", self.tag()) != self.tag():
                detail = "The resource changed since If-Match's ETag: read it again"
                problem = {"status": 412, "title": "Precondition Failed", "detail": detail}
                return problem, 412, PROBLEM
            if self.order["status"] != "pending":
                detail = f"Order {ORDER} is {self.order['status']}: only a pending order can change"
                return {"status": 409, "title": "Conflict", "detail": detail}, 409, PROBLEM
            if "items" in body:
                self.order["items"] = [line(**item) for item in body["items"]]
            self.order.update({k: v for k, v in body.items() if k != "items"})
            return self.order

        @app.get("/clients")
        def clients():
            self.clients_asked.append(request.args.to_dict())
            if not self.all_asked():
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            if self.clients_down:
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            asked = [int(n) for n in request.args["ids"].split(",")]
            items = [{"id": n, "name": self.clients[n]} for n in asked if n in self.clients]
            return {**page, "items": items, "total": len(items)}

        @app.delete(f"/orders/{ORDER}")
        def delete_order():
            self.sent.append(("DELETE", request.path, None))
            if self.order is None:
                return {"status": 404, "title": "Not Found"}, 404, PROBLEM
            if request.headers.get("If-Match", self.tag()) != self.tag():
                detail = "The resource changed since If-Match's ETag: read it again"
                problem = {"status": 412, "title": "Precondition Failed", "detail": detail}
                return problem, 412, PROBLEM
            status = self.order["status"]
            if status not in ("pending", "cancelled"):
                detail = f"Order {ORDER} is {status}: only pending or cancelled orders go"
                return {"status": 409, "title": "Conflict", "detail": detail}, 409, PROBLEM
            self.order = None
            return "", 204

        @app.get("/orders")
        def orders():
            for status in request.args.get("status", "").split(","):
                if status:
                    try:
                        validate.OneOf(STATUSES)(status)
                    except ValidationError as error:
                        return refusal("status", error)
            return {**page, "items": self.listed_orders, "total": len(self.listed_orders)}

        @app.post(f"/orders/{ORDER}/status")
        def change_status():
            self.sent.append(("POST", request.path, request.get_json()))
            target = request.get_json()["status"]
            if self.order["status"] in (target, "cancelled"):
                status = self.order["status"]
                detail = f"An order that is {status} cannot become {target}"
                return {"status": 409, "title": "Conflict", "detail": detail}, 409, PROBLEM
            self.order["status"] = target
            return self.order

        @app.get(f"/clients/{CLIENT}/addresses")
        def addresses():
            if self.clients_down:
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            if self.addresses_refused:
                return self.addresses_refused, self.addresses_refused["status"], PROBLEM
            items = [self.address] if self.address else []
            return {**page, "items": items, "total": len(items)}

        @app.get(f"/clients/{CLIENT}/addresses/<int:address_id>")
        def address(address_id):
            self.addresses_asked.append(address_id)
            if self.clients_down or not self.all_asked():
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            if self.address is None or address_id != self.address["id"]:
                return {"status": 404, "title": "Not Found", "detail": "Not found"}, 404, PROBLEM
            return self.address

        @app.get("/payments")
        def payments():
            if not self.all_asked():
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            return {**page, "items": self.payments, "total": len(self.payments)}

        @app.post("/orders")
        def place():
            key = request.headers.get("Idempotency-Key")
            body = request.get_json()
            first = self.placed.setdefault(key, (body, 40 + len(self.placed)))
            if first[0] != body:
                problem = {
                    "status": 409,
                    "title": "Conflict",
                    "detail": "This Idempotency-Key was used with another body",
                    "key_reused": True,
                    "resource_id": first[1],
                }
                return problem, 409, PROBLEM
            return {"id": first[1]}, 201

        @app.get(f"/inventory/stock/{PRODUCT}")
        def stock():
            return {
                "product_id": PRODUCT,
                "on_hand": 10,
                "reserved": 0,
                "available": 10,
                "reorder_level": 0,
                "updated_at": "2026-12-01T10:00:00+00:00",
            }

        @app.get(f"/inventory/stock/{PRODUCT}/movements")
        def movements():
            return {**page, "items": self.ledger, "total": len(self.ledger)}

        @app.post(f"/inventory/stock/{PRODUCT}/movements")
        def move():
            try:
                NewMovementSchema().load(request.get_json())
            except ValidationError as error:
                [field] = error.messages
                return refusal(field, error)
            return {"id": 1}, 201

        @app.get("/inventory/stock")
        def stock_list():
            try:
                low = FlagFilter().deserialize(request.args.get("low", "false"))
            except ValidationError as error:
                return refusal("low", error)
            rows = [r for r in self.stock if not low or r["available"] <= r["reorder_level"]]
            rows.sort(key=lambda row: row["product_id"])
            if request.args.get("sort") == "available":
                rows.sort(key=lambda row: row["available"])
            per_page = int(request.args.get("per_page", 20))
            return {**page, "items": rows[:per_page], "per_page": per_page, "total": len(rows)}

        @app.get("/products")
        def products():
            asked = request.args.to_dict()
            self.products_asked.append(asked)
            if self.products_down:
                return {"status": 503, "title": "Service Unavailable"}, 503, PROBLEM
            found = sorted(self.products, key=lambda p: p["name"])
            if "ids" in asked:
                found = [p for p in found if str(p["id"]) in asked["ids"].split(",")]
            if "q" in asked:
                found = [p for p in found if asked["q"].lower() in p["name"].lower()]
            if asked.get("active") == "true":
                found = [p for p in found if p["active"]]
            if asked.get("available") == "true":
                found = [p for p in found if p["available_quantity"] > 0]
            per_page = int(asked.get("per_page", 20))
            return {**page, "items": found[:per_page], "per_page": per_page, "total": len(found)}

    def tag(self) -> str:
        """The order's ETag as orders gives it: weak, a hash of the body."""
        return f'W/"{generate_etag(json.dumps(self.order, sort_keys=True).encode())}"'

    def all_asked(self) -> bool:
        """Whether this read may answer: at once without `together`, else once the other reads
        it waits for were asked too (False when they were not, within its timeout)."""
        try:
            if self.together:
                self.together.wait()
        except threading.BrokenBarrierError:
            return False
        return True

    def reset(self):
        self.order = {
            "id": ORDER,
            "client_id": CLIENT,
            "status": "pending",
            "total": "10.00",
            "payment_method": "pix",
            "shipping_address_id": ADDRESS,
            "created_at": "2026-12-01T10:00:00+00:00",
            "created_by": None,
            "items": [],
            "history": [],
        }
        self.address: dict | None = dict(RUA_A)
        self.clients_down = False
        self.clients: dict[int, str] = {}
        self.clients_asked: list[dict] = []
        self.addresses_asked: list[int] = []
        self.addresses_refused: dict | None = None
        self.together: threading.Barrier | None = None
        self.listed_orders: list[dict] = []
        self.patch_answer: tuple[int, dict] | None = None
        self.ledger: list[dict] = []
        self.placed: dict = {}
        self.stock: list[dict] = []
        self.sent: list[tuple] = []
        self.payments: list[dict] = []
        self.products: list[dict] = [product(PRODUCT, "Teclado", "10.00")]
        self.products_asked: list[dict] = []
        self.products_down = False


def product(product_id: int, name: str, price: str, available=10, active=True) -> dict:
    """A product as products lists it (the fields the console reads)."""
    return {
        "id": product_id,
        "name": name,
        "price": price,
        "available_quantity": available,
        "active": active,
    }


def line(product_id: int, quantity: int) -> dict:
    """An order's line as orders answers it, at 5.00 a unit."""
    return {
        "product_id": product_id,
        "quantity": quantity,
        "product_name": f"Produto {product_id}",
        "category_id": None,
        "unit_price": "5.00",
        "line_total": f"{5 * quantity}.00",
    }


@pytest.fixture(scope="module")
def api(auth):
    return Api()


@pytest.fixture(scope="module")
def api_console(database, jwt_keys, auth, auth_server, api):
    prefixes = ("/orders", "/clients", "/payments", "/inventory/", "/products")
    with console_with_api(database, jwt_keys, auth, auth_server, api.app, prefixes) as console:
        yield console


@pytest.fixture
def browser(api_console, auth, api):
    api.reset()
    return signed_in_admin(api_console, auth)


# --- the notes services write themselves ---


def step(status: str, by, note: str | None) -> dict:
    return {"status": status, "at": "2026-12-01T10:00:00+00:00", "by": by, "note": note}


def history_notes(html: str) -> list[str]:
    """Each history entry's note, after its author ("" when it has none)."""
    found = re.search(r'<ol class="history" id="history">(.*?)</ol>', html, re.S)
    return re.findall(r"· por [^<·]+?(?: · ([^<]*))?</li>", found.group(1))


def ledger_notes(html: str) -> list[str]:
    """Each movement's note, the ledger's last column."""
    found = re.search(r'<table class="list" id="ledger">(.*?)</table>', html, re.S)
    return re.findall(r"<td>([^<]*)</td></tr>", found.group(1))


def test_notes_the_services_wrote_in_an_orders_history_read_in_portuguese(browser, api):
    api.order["history"] = [
        step("pending", 1, None),
        step("paid", "payments", "payment 91"),
        step("cancelled", "payments", "PIX expired"),
        step("cancelled", "clients", "client deleted"),
        step("cancelled", 1, "PIX expired"),  # typed by a person: as typed
    ]
    page = browser.get(f"/console/orders/{ORDER}").text
    assert history_notes(page) == [
        "",
        "pagamento 91",
        "PIX expirado",
        "cliente excluído",
        "PIX expired",
    ]


def movement(reason: str, note: str | None, by: int | None) -> dict:
    return {
        "id": 1,
        "product_id": PRODUCT,
        "quantity": 1,
        "reason": reason,
        "note": note,
        "on_hand_after": 10,
        "created_by": by,
        "created_at": "2026-12-01T10:00:00+00:00",
    }


def test_notes_the_services_wrote_in_the_stock_ledger_read_in_portuguese(browser, api):
    api.ledger = [
        movement("receipt", "initial stock", None),
        movement("sale", f"order {ORDER}", 1),
        movement("adjustment", "product deleted", None),
        movement("receipt", "initial stock", 1),  # typed by the admin: as typed
        movement("receipt", None, 1),
    ]
    page = browser.get(f"/console/stock/{PRODUCT}").text
    assert ledger_notes(page) == [
        "estoque inicial",
        f"pedido {ORDER}",
        "produto excluído",
        "initial stock",
        "",
    ]


# What writes a note into an order's history (orders' events.py and workflow.py, its OrderEvent)
# or into a stock movement (inventory's stock.py, its Movement): a literal (or f-string) given
# there is a note a service writes itself. An event's note alone (`announce_cancelled`) is on no
# page.
NOTE_WRITERS = {"moved_by", "cancel_for", "transition", "record_movement", "OrderEvent", "Movement"}


def _notes_written() -> set[str]:
    found: set[str] = set()
    trees = [ast.parse(path.read_text(), str(path)) for path in _api_sources()]
    # Where each writer takes its note: a function by position or keyword, a model by keyword.
    takers: dict[str, int | None] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in NOTE_WRITERS:
                takers[node.name] = None
            if isinstance(node, ast.FunctionDef) and node.name in NOTE_WRITERS:
                params = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                takers[node.name] = params.index("note")
    assert set(takers) == NOTE_WRITERS, "a writer of notes was renamed: name it here"
    for tree in trees:
        constants = _constants(tree)
        for node, scope in _scopes(tree):
            if isinstance(node, ast.Call) and _name_of(node) in takers:
                position = takers[_name_of(node)]
                if position is not None and position < len(node.args):
                    found.update(_texts(node.args[position], constants, scope))
                for keyword in node.keywords:
                    if keyword.arg == "note":
                        found.update(_texts(keyword.value, constants, scope))
    return found


def test_every_note_the_services_write_reads_in_portuguese():
    notes = _notes_written()
    # The scan finds what it must (a scan that found nothing would pass anything).
    assert {
        "PIX expired",
        f"payment {SAMPLE}",
        "client deleted",
        "initial stock",
        f"order {SAMPLE}",
    } <= notes
    untranslated = sorted(text for text in notes if note_in_portuguese(text) == text)
    assert untranslated == [], "add these to NOTES in services/console/messages.py"


# --- the shipping address ---


def address_on(html: str) -> str:
    found = re.search(r'<dd id="shipping-address">(.*?)</dd>', html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_the_order_page_shows_the_shipping_address_itself(browser, api):
    page = browser.get(f"/console/orders/{ORDER}").text
    assert address_on(page) == "Rua Augusta, 1500, Apto 12 · São Paulo/SP · CEP 01304-001"


def test_a_shipped_order_shows_where_it_went_not_the_address_as_edited_since(browser, api):
    shipped_to = {k: RUA_A[k] for k in ("state", "city", "street", "number", "complement", "cep")}
    api.order = {**api.order, "status": "shipped", "shipped_to": shipped_to}
    api.address = {**RUA_A, "street": "Rua da Consolação", "number": "80", "complement": None}
    page = browser.get(f"/console/orders/{ORDER}").text
    assert re.search(r'<dt>Enviado para</dt><dd id="shipping-address">', page)
    assert address_on(page) == "Rua Augusta, 1500, Apto 12 · São Paulo/SP · CEP 01304-001"
    assert "Consolação" not in page


def test_a_shipped_orders_page_does_not_read_the_address_it_no_longer_shows(browser, api):
    shipped_to = {k: RUA_A[k] for k in ("state", "city", "street", "number", "complement", "cep")}
    api.order = {**api.order, "status": "shipped", "shipped_to": shipped_to}
    api.clients_down = True
    page = browser.get(f"/console/orders/{ORDER}").text
    assert address_on(page) == "Rua Augusta, 1500, Apto 12 · São Paulo/SP · CEP 01304-001"
    assert "indisponível" not in page
    assert api.addresses_asked == []


def test_an_orders_page_shows_its_external_reference_when_it_has_one(browser, api):
    api.order = {**api.order, "external_ref": "ML-<2000008123>"}
    page = browser.get(f"/console/orders/{ORDER}").text
    assert (
        '<dt>Referência externa</dt><dd id="order-external-ref">ML-&lt;2000008123&gt;</dd>' in page
    )
    api.order = {**api.order, "external_ref": None}
    assert "Referência externa" not in browser.get(f"/console/orders/{ORDER}").text


# --- what went back of its payment ---


def test_an_order_whose_payment_was_partly_refunded_shows_what_went_back(browser, api):
    api.order = {**api.order, "status": "paid", "refunded_amount": "1234.50"}
    page = browser.get(f"/console/orders/{ORDER}").text
    found = re.search(r"<dt>Reembolsado</dt><dd id=\"order-refunded\">(.*?)</dd>", page)
    assert found and found.group(1) == "R$ 1.234,50"


def test_an_order_nothing_went_back_of_says_nothing_of_refunds(browser, api):
    api.order = {**api.order, "status": "paid", "refunded_amount": "0.00"}
    assert "Reembolsado" not in browser.get(f"/console/orders/{ORDER}").text


def test_an_order_refunded_in_full_offers_no_shipping_but_one_partly_refunded_does(browser, api):
    api.order = {**api.order, "status": "paid", "refunded_amount": "10.00"}
    page = browser.get(f"/console/orders/{ORDER}").text
    assert button_of(page, "action-shipped") is None
    assert button_of(page, "action-cancelled") == "Cancelar"
    api.order["refunded_amount"] = "4.00"
    assert button_of(browser.get(f"/console/orders/{ORDER}").text, "action-shipped") == "Enviar"


def refunded_on(html: str) -> str | None:
    found = re.search(r'<dt>Reembolsado</dt><dd id="order-refunded">(.*?)</dd>', html)
    return found and found.group(1)


def test_a_full_refund_orders_has_not_heard_yet_is_read_from_the_payment_that_paid_it(browser, api):
    """Right after the refund answered, orders still says 0.00 (it hears payment.refunded a
    moment later): the page says what payments says went back of the payment that paid the
    order, and offers no shipping; another payment's refund is not the order's."""
    api.order = {**api.order, "status": "paid", "payment_id": 91, "refunded_amount": "0.00"}
    api.payments = [{**paid_by_card(refunded="10.00"), "status": "refunded"}]
    page = browser.get(f"/console/orders/{ORDER}").text
    assert refunded_on(page) == "R$ 10,00"
    assert button_of(page, "action-shipped") is None
    assert button_of(page, "action-cancelled") == "Cancelar"
    api.order["payment_id"] = 92
    api.payments.append({**paid_by_card(), "id": 92})
    page = browser.get(f"/console/orders/{ORDER}").text
    assert refunded_on(page) is None
    assert button_of(page, "action-shipped") == "Enviar"


@pytest.mark.parametrize("why", ["deleted", "clients down"])
def test_an_address_that_cannot_be_read_is_shown_by_its_id_with_a_note(browser, api, why):
    if why == "deleted":
        api.address = None
    else:
        api.clients_down = True
    answer = browser.get(f"/console/orders/{ORDER}")
    assert answer.status_code == 200
    assert address_on(answer.text) == (
        f"{ADDRESS} O endereço foi removido, ou o serviço de clientes não respondeu. indisponível"
    )
    # Marked as every page marks what a service could not give.
    shown = re.search(r'<dd id="shipping-address">(.*?)</dd>', answer.text, re.S).group(1)
    assert re.search(r'<p class="notice unavailable" role="status" data-unavailable>', shown)


# --- a status button clicked twice ---


def click(browser, status: str):
    token = csrf_of(browser.get(f"/console/orders/{ORDER}").text)
    return browser.post(
        f"/console/orders/{ORDER}/status",
        data={"csrf_token": token, "status": status},
        follow_redirects=True,
    )


def test_a_status_button_clicked_twice_says_the_order_already_is_in_that_status(browser, api):
    assert "Pedido 12: pago." in click(browser, "paid").text
    again = click(browser, "paid").text
    assert "O pedido já está pago." in again
    assert "Não foi possível mudar o status" not in again
    # A refusal for an order in another status is still said as the refusal it is.
    api.order["status"] = "cancelled"
    refused = click(browser, "shipped").text
    assert "Não foi possível mudar o status: Um pedido cancelado não pode passar a enviado" in (
        refused
    )


# --- a new order sent again changed under its spent key ---


def send_changed(browser):
    page = browser.get("/console/orders/new").text
    form = {
        **form_fields(page, "order-form"),
        "client_id": str(CLIENT),
        "product_id_1": str(PRODUCT),
    }
    assert browser.post("/console/orders/new", data=form).status_code == 303
    return browser.post("/console/orders/new", data={**form, "quantity_1": "2"})


def test_a_new_order_sent_again_changed_links_to_the_order_its_key_placed(browser, api):
    answer = send_changed(browser)
    assert answer.status_code == 409
    placed = next(iter(api.placed.values()))[1]
    notice = re.search(r'<div class="notice error" role="alert">(.*?)</div>', answer.text, re.S)
    assert notice, answer.text
    assert f"registrou o pedido {placed}" in notice.group(1)
    assert "abaixo" not in notice.group(1)
    link = re.search(r'<a href="([^"]+)">Ver o pedido registrado</a>', notice.group(1))
    assert link and link.group(1) == f"/console/orders/{placed}"


# --- what a stock-and-shipping walk found ---


def ledger_reasons(html: str) -> list[str]:
    """Each movement's reason, the ledger's second column."""
    found = re.search(r'<table class="list" id="ledger">(.*?)</table>', html, re.S)
    return re.findall(r"<tr><td>[^<]*</td><td>([^<]*)</td>", found.group(1))


def test_a_sale_in_the_stock_ledger_is_named_venda_and_the_form_does_not_offer_it(browser, api):
    assert set(LEDGER_REASONS) == set(REASONS)
    assert set(MOVEMENT_REASONS) == set(MANUAL_REASONS)
    api.ledger = [movement("sale", f"order {ORDER}", 1), movement("receipt", None, 1)]
    page = browser.get(f"/console/stock/{PRODUCT}").text
    assert ledger_reasons(page) == ["Venda", "Recebimento"]
    reason = re.search(r'<select id="movement-reason".*?</select>', page, re.S).group(0)
    assert 'value="sale"' not in reason


def error_of(html: str, fid: str) -> str | None:
    found = re.search(rf'<p id="{fid}-error" class="error"[^>]*>([^<]*)</p>', html)
    return found and found.group(1)


def test_a_movement_refused_for_its_reason_names_the_reasons_the_form_offers(browser, api):
    page = browser.get(f"/console/stock/{PRODUCT}").text
    form = {**form_fields(page, "movement-form"), "quantity": "-3", "reason": "sale"}
    answer = browser.post(f"/console/stock/{PRODUCT}/movements", data=form)
    assert answer.status_code == 422
    assert error_of(answer.text, "movement-reason") == (
        "Deve ser um destes: Recebimento, Ajuste, Devolução, Avaria."
    )


def actions_of(html: str) -> str:
    found = re.search(r"<h2>Ações</h2>(.*?)<h2>", html, re.S)
    return found.group(1) if found else ""


def test_a_status_change_sends_the_note_typed_and_no_note_when_left_empty(browser, api):
    api.order["status"] = "paid"
    page = browser.get(f"/console/orders/{ORDER}").text
    assert "Código de rastreio" in actions_of(page)
    form = {**form_fields(page, "status-shipped"), "note": " BR123456789BR "}
    assert browser.post(f"/console/orders/{ORDER}/status", data=form).status_code == 303
    api.order["status"] = "paid"
    page = browser.get(f"/console/orders/{ORDER}").text
    assert "Motivo do cancelamento" in actions_of(page)
    form = form_fields(page, "status-cancelled")
    assert form["note"] == ""
    assert browser.post(f"/console/orders/{ORDER}/status", data=form).status_code == 303
    assert [body for _, _, body in api.sent] == [
        {"status": "shipped", "note": "BR123456789BR"},
        {"status": "cancelled"},
    ]


def button_of(html: str, button_id: str) -> str | None:
    found = re.search(rf'<button type="submit" id="{button_id}"[^>]*>([^<]*)</button>', html)
    return found and found.group(1)


def paid_by_card(refunded: str = "0.00") -> dict:
    return {
        "id": 91,
        "order_id": ORDER,
        "method": "card",
        "status": "succeeded" if refunded == "0.00" else "partially_refunded",
        "amount": "10.00",
        "received_amount": "10.00",
        "refunded_amount": refunded,
        "currency": "BRL",
        "needs_review": False,
        "created_at": "2026-12-01T10:00:00+00:00",
    }


def test_the_cancel_button_of_a_paid_order_says_it_refunds(browser, api):
    assert button_of(browser.get(f"/console/orders/{ORDER}").text, "action-cancelled") == (
        "Cancelar"
    )
    api.order["status"] = "paid"
    api.payments = [paid_by_card(refunded="4.00")]
    assert button_of(browser.get(f"/console/orders/{ORDER}").text, "action-cancelled") == (
        "Cancelar e reembolsar"
    )


def test_the_cancel_button_of_an_order_with_nothing_to_refund_says_only_cancel(browser, api):
    """Paid by hand (no payment), or its payment all given back already: nothing goes back."""
    api.order["status"] = "paid"
    for payments in ([], [{**paid_by_card(refunded="10.00"), "status": "refunded"}]):
        api.payments = payments
        page = browser.get(f"/console/orders/{ORDER}").text
        assert button_of(page, "action-cancelled") == "Cancelar"


@pytest.mark.parametrize("status", ["pending", "cancelled"])
def test_an_admin_deletes_a_pending_or_cancelled_order_and_lands_on_the_orders_list(
    browser, api, status
):
    api.order["status"] = status
    page = browser.get(f"/console/orders/{ORDER}").text
    answer = browser.post(f"/console/orders/{ORDER}/delete", data=form_fields(page, "delete-order"))
    assert answer.status_code == 303
    assert answer.location == "/console/orders"
    assert api.sent == [("DELETE", f"/orders/{ORDER}", None)]
    assert f"Pedido {ORDER} excluído." in browser.get(answer.location).text


def test_the_delete_form_is_offered_to_admins_only_on_orders_the_api_deletes(browser, api):
    for status, offered in [("pending", True), ("cancelled", True), ("paid", False)]:
        api.order["status"] = status
        page = browser.get(f"/console/orders/{ORDER}").text
        assert (form_fields(page, "delete-order") is not None) is offered, status
    sign_out(browser)
    register(browser)
    api.order["status"] = "pending"
    assert form_fields(browser.get(f"/console/orders/{ORDER}").text, "delete-order") is None


def test_a_refused_delete_says_the_apis_reason_in_portuguese_on_the_orders_page(browser, api):
    page = browser.get(f"/console/orders/{ORDER}").text
    api.order["status"] = "paid"
    # Sent with the order's tag as it now is (paid since the page was shown is a 412, below):
    # orders' own refusal of a paid order.
    answer = browser.post(
        f"/console/orders/{ORDER}/delete",
        data={**form_fields(page, "delete-order"), "etag": api.tag()},
        follow_redirects=True,
    )
    assert answer.request.path == f"/console/orders/{ORDER}"
    assert (
        f"Não foi possível excluir o pedido: O pedido {ORDER} está pago: só pedidos pendentes ou"
        " cancelados podem ser excluídos" in answer.text
    )


def test_deleting_an_order_changed_since_its_page_was_shown_is_refused_and_deletes_nothing(
    browser, api
):
    page = browser.get(f"/console/orders/{ORDER}").text
    api.order["payment_method"] = "boleto"  # changed by its client since the page was shown
    answer = browser.post(f"/console/orders/{ORDER}/delete", data=form_fields(page, "delete-order"))
    assert answer.status_code == 412
    assert api.order is not None
    assert (
        "O pedido mudou desde que a página foi aberta e não foi excluído: confira-o abaixo e"
        " exclua de novo se ainda for o caso." in answer.text
    )
    # The page as it is now, whose form deletes the order as it now stands.
    again = browser.post(
        f"/console/orders/{ORDER}/delete", data=form_fields(answer.text, "delete-order")
    )
    assert again.status_code == 303
    assert api.order is None


def test_a_delete_form_without_the_orders_tag_deletes_nothing(browser, api):
    page = browser.get(f"/console/orders/{ORDER}").text
    answer = browser.post(
        f"/console/orders/{ORDER}/delete", data={**form_fields(page, "delete-order"), "etag": ""}
    )
    assert answer.status_code == 412
    assert api.sent == []
    assert api.order is not None


def stock_row(product_id: int, available: int) -> dict:
    return {
        "product_id": product_id,
        "on_hand": available,
        "reserved": 0,
        "available": available,
        "reorder_level": 20,
        "updated_at": "2026-12-01T10:00:00+00:00",
    }


def test_the_dashboards_low_stock_counts_them_all_lists_the_fewest_available_and_links(
    browser, api
):
    # Twelve low (20 or fewer available), the fewest in the highest ids; one well stocked.
    api.stock = [stock_row(n, 12 - n if n < 13 else 40) for n in range(1, 14)]
    page = browser.get("/console/").text
    box = re.search(r'<section aria-labelledby="low-title">(.*?)</section>', page, re.S).group(1)
    listed = re.findall(r'href="/console/stock/(\d+)"', box)
    assert [int(n) for n in listed] == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3]
    said = " ".join(re.sub(r"<[^>]+>", " ", box.split("<table")[0]).split())
    count = "12 produtos no nível de reposição ou abaixo dele; aqui, os 10 com menos disponível."
    assert count in said
    assert 'href="/console/stock?low=true"' in box


def test_a_list_filter_the_api_refuses_is_said_under_its_select_with_the_selects_names(
    browser, api
):
    stock = browser.get("/console/stock?low=maybe")
    assert stock.status_code == 422
    assert error_of(stock.text, "low") == "Deve ser um destes: Todos, Abaixo do nível de reposição."
    assert "Filtro recusado: confira o campo destacado." in stock.text
    assert "Nada encontrado." not in stock.text
    orders = browser.get("/console/orders?status=bogus")
    assert orders.status_code == 422
    assert error_of(orders.text, "status") == (
        "Deve ser um destes: Todos, Pendente, Pago, Enviado, Entregue, Cancelado, Aguardando ação."
    )
    assert "Filtro recusado: confira o campo destacado." in orders.text
    assert "Nenhum pedido encontrado." not in orders.text


# --- whose order it is ---


def listed(order_id: int, client_id: int) -> dict:
    return {
        "id": order_id,
        "client_id": client_id,
        "status": "pending",
        "total": "10.00",
        "created_at": "2026-12-01T10:00:00+00:00",
    }


def clients_listed(html: str) -> list[tuple[int | None, str]]:
    """Each row's client: the client page it links to (None: no link), and its words."""
    table = re.search(r'<table class="list" id="orders">(.*?)</table>', html, re.S).group(1)
    cells = re.findall(r'<td>(?:<a href="/console/clients/(\d+)">([^<]*)</a>|([^<]*))</td>', table)
    return [
        (int(client_id), name) if client_id else (None, text)
        for client_id, name, text in cells
        if client_id or text.startswith("Cliente")
    ]


def client_on(html: str) -> tuple[int | None, str]:
    """The order page's client: the client page it links to (None: no link), and its words."""
    found = re.search(r'<dd id="order-client">(.*?)</dd>', html).group(1)
    link = re.fullmatch(r'<a href="/console/clients/(\d+)">([^<]*)</a>', found)
    return (int(link.group(1)), link.group(2)) if link else (None, found)


def test_the_orders_list_names_each_client_from_one_read_of_clients(browser, api):
    api.clients = {CLIENT: "Maria Souza"}
    api.listed_orders = [listed(1, CLIENT), listed(2, 714), listed(3, CLIENT)]
    page = browser.get("/console/orders")
    assert page.status_code == 200
    # A client clients does not name is deleted: said by its id, without a link to its 404.
    assert clients_listed(page.text) == [
        (CLIENT, "Maria Souza"),
        (None, "Cliente 714 (excluído)"),
        (CLIENT, "Maria Souza"),
    ]
    assert api.clients_asked == [{"ids": f"{CLIENT},714", "per_page": "100"}]


def test_an_orders_page_names_its_client_and_links_to_them(browser, api):
    api.clients = {CLIENT: "Maria Souza"}
    assert client_on(browser.get(f"/console/orders/{ORDER}").text) == (CLIENT, "Maria Souza")


def test_a_deleted_clients_order_names_them_deleted_without_a_link_to_their_missing_page(
    browser, api
):
    api.clients = {}  # clients answers the read of names without them: deleted
    assert client_on(browser.get(f"/console/orders/{ORDER}").text) == (
        None,
        f"Cliente {CLIENT} (excluído)",
    )


def test_an_orders_page_reads_its_payments_address_and_clients_name_at_once(browser, api):
    """Each of the three answers only once all three were asked (within 2 s): read one after
    another, the first would wait, fail, and the page say "indisponível"."""
    api.clients = {CLIENT: "Maria Souza"}
    api.payments = [paid_by_card()]
    api.together = threading.Barrier(3, timeout=2)
    page = browser.get(f"/console/orders/{ORDER}").text
    assert client_on(page) == (CLIENT, "Maria Souza")
    assert address_on(page) == "Rua Augusta, 1500, Apto 12 · São Paulo/SP · CEP 01304-001"
    assert "indisponível" not in page
    assert '<table class="list" id="payments">' in page


def test_orders_are_said_by_their_clients_id_when_clients_does_not_answer(browser, api):
    api.clients_down = True
    api.listed_orders = [listed(1, CLIENT)]
    orders = browser.get("/console/orders")
    assert orders.status_code == 200
    assert clients_listed(orders.text) == [(CLIENT, f"Cliente {CLIENT}")]
    order = browser.get(f"/console/orders/{ORDER}")
    assert order.status_code == 200
    assert client_on(order.text) == (CLIENT, f"Cliente {CLIENT}")
