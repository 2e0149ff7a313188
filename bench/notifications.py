"""Notifications (issue 16): messages per second from an order event to the provider's accept.

"notification messages": not requests wrk sends but messages the WhatsApp provider accepts. The
setup of each round (not timed) places N pending orders for one client with a phone who opted in
to WhatsApp (bench/orders.py's buyer, given a phone of its own). The round then moves the N orders
to `paid` as the admin, ten at a time (each `POST /orders/{id}/status` writes `order.paid` to
orders' outbox), and polls the stand-in's `GET /_standin/messages?to=<phone>` until it has
accepted an `order_paid` send for every one of them: the relay, notifications' receiver (one
notification per order and template), its sender (the client's contact read from clients, the
send to the provider) all included. The figure is N over the time from the first status change
to the last accept; each message's latency is from its order's status change to the poll (every
0.1 s) that first saw it. N is 20 per second of --duration (200 for 10 s).

Needs the WhatsApp stand-in (`FEIRA_STANDINS` with `whatsapp`; WHATSAPP_API_URL empty). When the
run ends, the orders are cancelled (one `order_cancelled` message each) and deleted, then the
client and the product (bench/payments.py's and bench/orders.py's clean-ups)."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request

from .orders import _call
from .payments import _buyer, _in_parallel, _place_orders
from .registry import Context, Request, case

PER_SECOND = 20
LEAST = 50
# How long the stand-in may take to accept the last message before the round is a failure.
DEADLINE_S = 180.0
POLL_S = 0.1


def _standin_url(ctx: Context) -> str:
    return f"http://{ctx.cfg.host}:{ctx.cfg.get('WHATSAPP_STANDIN_PORT', '5091')}"


def _accepted(ctx: Context, to: str) -> list[dict]:
    """The stand-in's sends to `to` (E.164 without '+'), newest first."""
    url = f"{_standin_url(ctx)}/_standin/messages?to={to}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback stand-in)
        body = json.load(response)
    return body if isinstance(body, list) else body["items"]


def _order_ids(messages: list[dict], to: str) -> set[str]:
    """The order ids (the template's second body parameter) of the `order_paid` sends to `to`."""
    ids = set()
    for message in messages:
        template = message.get("template")
        name = template if isinstance(template, str) else (template or {}).get("name")
        if name != "order_paid" or str(message.get("to", "")).lstrip("+") != to:
            continue
        parameters = message.get("parameters") or []
        if len(parameters) > 1:
            value = parameters[1]
            ids.add(str(value.get("text") if isinstance(value, dict) else value))
    return ids


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def _round(ctx: Context, client_id: int, product_id: int, to: str, seconds: int) -> dict:
    count = max(LEAST, PER_SECOND * seconds)
    order_ids = _place_orders(ctx, client_id, product_id, count)
    print(f"    {count} pending orders placed; moving them to paid", flush=True)
    wanted = {str(order_id) for order_id in order_ids}
    changed_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    lock = threading.Lock()

    def pay(order_id: int) -> None:
        _call(ctx, "POST", f"/orders/{order_id}/status", {"status": "paid"})
        with lock:
            changed_at[str(order_id)] = time.monotonic()

    failures: list[Exception] = []

    def move_all() -> None:
        try:
            _in_parallel(pay, order_ids)
        except Exception as exc:  # handed to the round
            failures.append(exc)

    started = time.monotonic()
    mover = threading.Thread(target=move_all)
    mover.start()
    while len(seen_at) < count and not failures and time.monotonic() - started < DEADLINE_S:
        now = time.monotonic()
        for order_id in _order_ids(_accepted(ctx, to), to) & wanted:
            seen_at.setdefault(order_id, now)
        time.sleep(POLL_S)
    mover.join()
    if failures:
        raise ValueError(f"moving the bench's orders to paid failed: {failures[0]}")
    if len(seen_at) < count:
        raise ValueError(
            f"the provider accepted {len(seen_at)} of {count} messages in {DEADLINE_S:.0f}s"
        )
    elapsed = max(seen_at.values()) - started
    latencies = [
        1000 * max(0.0, seen_at[order_id] - changed_at.get(order_id, started))
        for order_id in seen_at
    ]
    return {
        "requests_per_s": round(count / elapsed, 2),
        "requests": count,
        "seconds": round(elapsed, 3),
        "latency_ms": {
            share: round(_percentile(latencies, value), 2)
            for share, value in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
        },
        "socket_errors": {},
        "non_2xx": 0,
        "unit": "messages",
    }


@case("notification messages")
def notification_messages(ctx: Context) -> Request:
    """Order events to WhatsApp sends the provider accepted, per second (orders moved to paid)."""
    client_id, product_id = _buyer(ctx)
    digits = f"{random.randrange(10**7, 10**8)}"  # noqa: S311 (test data)
    phone = f"+55119{digits}"
    _call(ctx, "PATCH", f"/clients/{client_id}", {"phone": phone, "whatsapp_opt_in": True})
    to = phone.lstrip("+")
    _accepted(ctx, to)  # the stand-in answers, before any order is placed
    return Request(
        f"{_standin_url(ctx)}/_standin/messages?to={to}",
        measure=lambda seconds: _round(ctx, client_id, product_id, to, seconds),
    )
