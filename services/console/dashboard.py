"""The dashboard: sales KPIs over a period (tiles, charts and their tables), the stock running
low, and the orders waiting for someone to act."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from flask import current_app, render_template, request, session

from . import api
from .api import ApiError
from .pages import bp, day, shop_zone, signed_in
from .sales import gone_of, labels_of, names_read

PERIODS = {"7": "7 dias", "30": "30 dias", "90": "90 dias", "365": "12 meses"}
# The most days the KPIs take in one period (the API's limit): `days` may be any of 1 to this.
MAX_DAYS = 366
BAD_DAYS = f"O número de dias deve ser de 1 a {MAX_DAYS}."


def category_label(row: dict) -> str:
    """A category orders has no name for: none (uncategorised products), or one products did not
    name (down, or slow to answer)."""
    category_id = row.get("category_id")
    return "Sem categoria" if category_id is None else f"Categoria {category_id}"


def client_label(row: dict) -> str:
    """A client orders has no name for, and no read of clients named (`named_clients`): clients
    did not say it."""
    client_id = row.get("client_id")
    return "—" if client_id is None else f"Cliente {client_id}"


# What a KPI series calls a row the API has no name for (null): a category or a client by its id
# (their names are null also while products or clients cannot answer orders), a product "—", an
# order without a shipping address "—".
UNNAMED = {
    "top_products": ("name", lambda row: "—"),
    "by_category": ("name", category_label),
    "by_client": ("name", client_label),
    "by_state": ("state", lambda row: "—"),
}


def period() -> tuple[str, str, dict[str, list[str]]]:
    """`from`/`to` from the picker (a number of days up to today, or two dates); the last 30
    days. Days of the shop's time zone, as the KPIs are asked for. What cannot be read is named
    in `errors`, and the period is then as if it had not been given."""
    today = datetime.now(shop_zone()).date()
    start, end = request.args.get("from", ""), request.args.get("to", "")
    errors: dict[str, list[str]] = {}
    days = request.args.get("days", "")
    # ASCII digits only: int() would also take "٣٠", " 30" or "3_0".
    # At most 3 of them: int() refuses over 4,300 digits (a 500), and no more than 366 is taken.
    if days.isascii() and days.isdigit() and len(days) <= 3 and 1 <= int(days) <= MAX_DAYS:
        return (today - timedelta(days=int(days) - 1)).isoformat(), today.isoformat(), errors
    if days:
        errors["days"] = [BAD_DAYS]
    try:
        last = date.fromisoformat(end) if end else today
    except ValueError:
        errors["to"] = ["Data inválida."]
        last = today
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        errors["from"] = ["Data inválida."]
        first = None
    if first is None:
        # The 30 days up to "Até", as the API counts them when `from` is missing.
        try:
            first = last - timedelta(days=29)
        except OverflowError:  # "Até" in the calendar's first days: the API, asked, names it
            return "", last.isoformat(), errors
    return first.isoformat(), last.isoformat(), errors


def chart(
    kind: str, labels: list, values: list, label: str, money: bool, horizontal: bool = False
) -> str:
    """What console.js draws on a canvas: `money` values are reais (its axis and tooltips say
    R$); `horizontal` bars give long names a line each."""
    return json.dumps(
        {
            "type": kind,
            "labels": labels,
            "values": values,
            "label": label,
            "money": money,
            "horizontal": horizontal,
        }
    )


def unnamed_clients(found) -> list[int]:
    """The top clients the KPI answer gives no name: deleted, or clients not answering orders
    (orders cannot tell them apart)."""
    if isinstance(found, ApiError):
        return []
    rows = found.get("by_client", [])
    return sorted({row["client_id"] for row in rows if row.get("name") is None} - {None})


def named_clients(rows: list[dict], clients) -> list[dict]:
    """The top clients orders left unnamed, as `clients` (names_read's answer for them, or the
    ApiError it met) says them, as the orders pages do: a client it does not name is deleted,
    "Cliente 9 (excluído)" and `gone` (not linked: its page is a 404); one it names, by name;
    each "Cliente 9" when clients did not answer."""
    unnamed = unnamed_clients({"by_client": rows})
    labels, gone = labels_of(unnamed, clients), gone_of(unnamed, clients)
    return [
        {**row, "name": labels[row["client_id"]], "gone": row["client_id"] in gone}
        if row.get("client_id") in labels
        else row
        for row in rows
    ]


def kpis(found, clients=None) -> tuple[dict | None, str | None, dict]:
    """The KPI answer, or why it is missing (the route not there yet, orders down, a bad period).
    `clients`: the read of names of the top clients it leaves unnamed (`unnamed_clients`)."""
    if isinstance(found, ApiError):
        if found.status == 422:
            return None, "Período inválido: " + found.reason, found.errors
        if found.status in (404, 405, 429) or found.status >= 500:
            # Tiles that cannot be filled say so; the page's other panels still show.
            return None, "Indicadores indisponíveis no momento.", {}
        raise found
    if clients is not None:
        found["by_client"] = named_clients(found.get("by_client", []), clients)
    for series, (key, label) in UNNAMED.items():
        found[series] = [{**row, key: row.get(key) or label(row)} for row in found.get(series, [])]
    charts = {
        "by_day": chart(
            "line",
            [day(row["date"]) for row in found.get("by_day", [])],
            [row["gmv"] for row in found.get("by_day", [])],
            "GMV por dia",
            money=True,
        ),
        "top_products": chart(
            "bar",
            [row["name"] for row in found.get("top_products", [])],
            [row["units"] for row in found.get("top_products", [])],
            "Unidades vendidas",
            money=False,
            horizontal=True,
        ),
        "by_category": chart(
            "doughnut",
            [row["name"] for row in found.get("by_category", [])],
            [row["revenue"] for row in found.get("by_category", [])],
            "Receita por categoria",
            money=True,
        ),
        "by_state": chart(
            "bar",
            [row["state"] for row in found.get("by_state", [])],
            [row["gmv"] for row in found.get("by_state", [])],
            "GMV por UF",
            money=True,
        ),
        "by_client": chart(
            "bar",
            [row["name"] for row in found.get("by_client", [])],
            [row["gmv"] for row in found.get("by_client", [])],
            "GMV",
            money=True,
            horizontal=True,
        ),
    }
    return {**found, "charts": charts}, None, {}


# The low stock the dashboard lists: the fewest available first (the first to run out), as many
# as the box holds; it says how many there are in all and links to them.
LOW_STOCK = ("/inventory/stock", {"low": "true", "sort": "available", "per_page": 10})


def low_stock(found) -> tuple[list[dict], int, str | None]:
    """The low stock's rows (with their products' names) and how many are low in all; or none
    and why, when inventory cannot say."""
    if isinstance(found, ApiError):
        if found.status >= 500 or found.status in (404, 429):
            return [], 0, "Estoque indisponível no momento."
        raise found
    rows = found["items"]
    names = {}
    if rows:
        ids = ",".join(str(row["product_id"]) for row in rows)
        try:
            products = api.get("/products", ids=ids, per_page=100)["items"]
            names = {product["id"]: product["name"] for product in products}
        except ApiError as exc:
            if exc.status < 500:
                raise
    named = [{**row, "name": names.get(row["product_id"], "—")} for row in rows]
    return named, found["total"], None


def waiting_orders(found) -> tuple[list[dict], str | None]:
    """Pending orders wait for payment; paid ones for shipping."""
    if isinstance(found, ApiError):
        if found.status >= 500 or found.status in (404, 429):
            return [], "Pedidos indisponíveis no momento."
        raise found
    return found["items"], None


@bp.get("/")
@signed_in
def dashboard():
    start, end, period_errors = period()
    reads = [
        LOW_STOCK,
        ("/orders", {"status": "pending,paid", "sort": "created_at", "per_page": 10}),
    ]
    if session.is_admin:
        tz = current_app.config["CONSOLE_TIME_ZONE"]
        reads.append(("/orders/reports/kpis", {"from": start, "to": end, "tz": tz}))
    answers = api.get_many(*reads)
    found, why, errors = None, None, {}
    if session.is_admin:
        # A top client the KPIs leave unnamed is asked of clients: a deleted one is not linked.
        unnamed = unnamed_clients(answers[2])
        clients = api.get_many(names_read(unnamed))[0] if unnamed else None
        found, why, errors = kpis(answers[2], clients)
    stock, stock_total, stock_why = low_stock(answers[0])
    orders, orders_why = waiting_orders(answers[1])
    # A period the picker or the API refused is a 422, as a list's refused filter is; only the
    # admin is shown the picker, and so the refusal.
    refused = session.is_admin and (
        bool(period_errors) or (isinstance(answers[2], ApiError) and answers[2].status == 422)
    )
    if not session.is_admin:
        period_errors = {}
    page = render_template(
        "dashboard.html",
        start=start,
        end=end,
        periods=PERIODS,
        kpis=found,
        kpis_why=why,
        errors={**errors, **period_errors},
        stock=stock,
        stock_total=stock_total,
        stock_why=stock_why,
        orders=orders,
        orders_why=orders_why,
    )
    return page, 422 if refused else 200
