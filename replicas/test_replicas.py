"""Proof that replicas are safe (issue 19), against a SCALE=2 stack (`make replicas`): every web
app, relay and worker runs twice. Under load no event is handled twice nor lost with two relays;
a copy stopped mid-load costs no idempotent request and no order; the sweeper and reconciliation
never act twice on a row; one copy stopped is a degraded target, not an incident; two monitoring
workers record each check once and open one incident for one outage."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import Stack, eventually

pytestmark = pytest.mark.replicas

THREADS = 6
ORDERS = 150


def place(stack: Stack, client_id: int, product_id: int, key: str, tries: int = 3):
    """POST /orders with an Idempotency-Key, sent again with the same key after a 502/503 (what
    the key is for): the answer, and how many sends it took."""
    body = {
        "client_id": client_id,
        "items": [{"product_id": product_id, "quantity": 1}],
        "payment_method": "pix",
    }
    for attempt in range(1, tries + 1):
        answer = stack.http.post(
            f"{stack.base}/orders",
            json=body,
            headers={**stack.admin(), "Idempotency-Key": key},
            timeout=30,
        )
        if answer.status_code not in (502, 503, 504) or attempt == tries:
            return answer, attempt
        time.sleep(0.2)
    raise AssertionError("unreachable")


def cancel(stack: Stack, order_id: int, tries: int = 3) -> int:
    """Cancel a pending order, asked again after a 503 (an overloaded machine's timeout: nothing
    was changed); an order found cancelled already counts as cancelled."""
    for attempt in range(1, tries + 1):
        answer = stack.call("POST", f"/orders/{order_id}/status", json={"status": "cancelled"})
        if answer.status_code == 409 and attempt > 1:
            return (
                200
                if stack.call("GET", f"/orders/{order_id}").json()["status"] == "cancelled"
                else 409
            )
        if answer.status_code not in (502, 503, 504) or attempt == tries:
            return answer.status_code
        time.sleep(0.5)
    raise AssertionError("unreachable")


def mails_to(stack: Stack, address: str) -> list[dict]:
    port = stack.cfg.smtp_standin_ports[1]
    answer = requests.get(
        f"http://{stack.cfg.host}:{port}/_standin/messages", params={"to": address}, timeout=10
    )
    return answer.json()["items"]


def orders_of(stack: Stack, client_id: int) -> list[dict]:
    found, page = [], 1
    while True:
        answer = stack.call("GET", f"/orders?client_id={client_id}&per_page=100&page={page}")
        assert answer.status_code == 200, answer.text
        found += answer.json()["items"]
        if len(answer.json()["items"]) < 100:
            return found
        page += 1


def test_under_load_two_relays_and_two_senders_handle_each_event_once_and_lose_none(stack):
    """Orders placed and cancelled from several threads: each cancellation (orders' relays →
    notifications' copies → its two senders) is mailed to the buyer exactly once."""
    buyer = stack.buyer()
    product = stack.product(stock=ORDERS * 2)
    with ThreadPoolExecutor(THREADS) as pool:
        placed = list(
            pool.map(
                lambda n: place(stack, buyer["id"], product["id"], str(uuid.uuid4()))[0],
                range(ORDERS),
            )
        )
    assert [a.status_code for a in placed] == [201] * ORDERS
    ids = [a.json()["id"] for a in placed]
    with ThreadPoolExecutor(THREADS) as pool:
        cancelled = list(pool.map(lambda i: cancel(stack, i), ids))
    assert set(cancelled) == {200}, "every order cancelled"
    eventually(
        lambda: len(mails_to(stack, buyer["email"])) >= ORDERS,
        f"{ORDERS} cancellation e-mails",
        timeout=90,
    )
    # Anything delivered twice would arrive a moment later.
    time.sleep(2)
    mails = mails_to(stack, buyer["email"])
    assert len(mails) == ORDERS, "one e-mail per cancelled order, none twice"
    stock = stack.call("GET", f"/inventory/stock/{product['id']}").json()
    assert stock["on_hand"] == ORDERS * 2
    # None lost: every delivery of orders' events reached its subscriber.
    eventually(
        lambda: (
            stack.sql(
                "orders",
                "SELECT count(*) FROM orders.outbox_deliveries WHERE delivered_at IS NULL",
            )[0][0]
            == 0
        ),
        "every delivery of orders' events made",
    )


def test_a_copy_stopped_mid_load_costs_no_idempotent_request_and_no_order(stack):
    """GETs and keyed POSTs from several threads while the first copy of orders, clients and
    inventory stops: every GET answers 200 (the gateway tries the other copy), every order is
    placed once (a POST a stopping copy dropped is sent again with its key)."""
    buyer = stack.buyer()
    product = stack.product(stock=10_000)
    stop = threading.Event()
    gets: list[tuple[int, str]] = []
    posts: list[tuple[str, int, int]] = []
    lock = threading.Lock()

    def reader():
        paths = [f"/clients/{buyer['id']}", f"/products/{product['id']}", "/orders?per_page=5"]
        n = 0
        while not stop.is_set():
            answer = stack.http.get(
                f"{stack.base}{paths[n % 3]}", headers=stack.admin(), timeout=30
            )
            n += 1
            with lock:
                gets.append((answer.status_code, answer.text[:200]))

    def buyer_thread():
        while not stop.is_set():
            key = str(uuid.uuid4())
            answer, sends = place(stack, buyer["id"], product["id"], key)
            with lock:
                posts.append((key, answer.status_code, sends))

    threads = [threading.Thread(target=reader) for _ in range(2)]
    threads += [threading.Thread(target=buyer_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    stopped = ["orders-1", "clients-1", "inventory-1"]
    try:
        time.sleep(2)
        for program in stopped:
            stack.supervise("stop", program)
        time.sleep(4)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        # Together: each waits for supervisord to see its process up.
        with ThreadPoolExecutor(len(stopped)) as pool:
            list(pool.map(lambda program: stack.supervise("start", program), stopped))
    assert len(gets) > 20 and len(posts) > 10
    failed = [(status, text) for status, text in gets if status != 200]
    assert not failed, f"every GET answered 200: {failed[:5]}"
    assert {status for _, status, _ in posts} == {201}, [p for p in posts if p[1] != 201][:5]
    listed = orders_of(stack, buyer["id"])
    assert len(listed) == len(posts), "each key placed one order, none lost, none twice"
    resent = sum(1 for _, _, sends in posts if sends > 1)
    print(f"\n    {len(gets)} GETs, {len(posts)} orders; {resent} sent again with their key")


def test_the_sweeper_in_two_relays_gives_up_each_stale_order_once(stack):
    """Orders that never became pending (written as a crashed request leaves them): both of
    orders' relays sweep, each order is given up (order.abandoned) once."""
    rows = stack.sql(
        "orders",
        "INSERT INTO orders.orders (client_id, status, total, created_by, created_at, updated_at)"
        " SELECT 1, 'reserving', 0, 1, now() - interval '1 hour', now() - interval '1 hour'"
        " FROM generate_series(1, 60) RETURNING id",
    )
    ids = [row[0] for row in rows]
    eventually(
        lambda: (
            stack.sql("orders", "SELECT count(*) FROM orders.orders WHERE id = ANY(:ids)", ids=ids)[
                0
            ][0]
            == 0
        ),
        "the stale orders swept",
        timeout=30,
    )
    abandoned = stack.sql(
        "orders",
        "SELECT (payload->'data'->>'order_id')::int, count(*) FROM orders.outbox_events"
        " WHERE type = 'order.abandoned' AND (payload->'data'->>'order_id')::int = ANY(:ids)"
        " GROUP BY 1",
        ids=ids,
    )
    assert sorted(order_id for order_id, _ in abandoned) == sorted(ids)
    assert {count for _, count in abandoned} == {1}


def test_reconciliation_in_two_relays_settles_a_lost_webhooks_payment_once(stack):
    """PIX paid at the provider whose webhook was lost: both of payments' relays reconcile, the
    payment succeeds once (one payment.succeeded), its order is paid, the buyer mailed once."""
    buyer = stack.buyer()
    product = stack.product(stock=10)
    standin = f"http://{stack.cfg.host}:{stack.cfg.get('STRIPE_STANDIN_PORT')}"
    payments = []
    for _ in range(3):
        order = place(stack, buyer["id"], product["id"], str(uuid.uuid4()))[0].json()
        answer = stack.call("POST", "/payments", json={"order_id": order["id"], "method": "pix"})
        assert answer.status_code == 201, answer.text
        payment = answer.json()
        dropped = requests.post(f"{standin}/_standin/webhooks/drop", json={"count": 1}, timeout=10)
        assert dropped.status_code == 200, dropped.text
        paid = requests.post(
            f"{standin}/_standin/payment_intents/{payment['provider_ref']}/pay", json={}, timeout=10
        )
        assert paid.status_code == 200, paid.text
        payments.append((order["id"], payment["id"]))
    for order_id, payment_id in payments:
        eventually(
            lambda p=payment_id: (
                stack.call("GET", f"/payments/{p}").json()["status"] == "succeeded"
            ),
            "reconciliation settled the payment",
            timeout=30,
        )
        eventually(
            lambda o=order_id: stack.call("GET", f"/orders/{o}").json()["status"] == "paid",
            "the order paid",
            timeout=30,
        )
    time.sleep(3)  # a second reconciliation would have acted by now
    succeeded = stack.sql(
        "payments",
        "SELECT (payload->'data'->>'payment_id')::int, count(*) FROM payments.outbox_events"
        " WHERE type = 'payment.succeeded' AND (payload->'data'->>'payment_id')::int = ANY(:ids)"
        " GROUP BY 1",
        ids=[p for _, p in payments],
    )
    assert sorted(succeeded) == sorted((p, 1) for _, p in payments)
    eventually(lambda: len(mails_to(stack, buyer["email"])) >= 3, "the paid e-mails")
    time.sleep(1)
    assert len(mails_to(stack, buyer["email"])) == 3


def test_one_copy_of_clients_stopped_is_degraded_naming_it_and_opens_no_incident(stack):
    """The gateway still serves clients through its other copy: monitoring asks each copy, so
    the target is degraded with the silent copy named, nobody is paged, and it is up once the copy
    is back."""
    started = stack.sql("monitoring", "SELECT now()")[0][0]

    def clients_target():
        return stack.sql(
            "monitoring", "SELECT state, last_error FROM monitoring.targets WHERE name = 'clients'"
        )[0]

    stack.supervise("stop", "clients-2")
    try:
        eventually(lambda: clients_target()[0] == "degraded", "clients degraded", timeout=60)
        assert clients_target()[1].startswith("copy 2 of 2 ("), clients_target()
        assert stack.http.get(f"{stack.base}/health/clients", timeout=30).status_code == 200
    finally:
        stack.supervise("start", "clients-2")
    eventually(lambda: clients_target()[0] == "up", "clients up again", timeout=60)
    [[incidents]] = stack.sql(
        "monitoring",
        "SELECT count(*) FROM monitoring.incidents WHERE target = 'clients' AND started_at >= :t",
        t=started,
    )
    assert incidents == 0


def test_two_monitoring_workers_record_each_check_once_and_open_one_incident(stack):
    """Both copies of clients stopped: one incident, opened by the leading worker; back, it is
    closed; and no target's checks come twice as often as its interval."""
    started = stack.sql("monitoring", "SELECT now()")[0][0]
    stack.supervise("stop", "clients")
    try:
        eventually(
            lambda: (
                stack.sql(
                    "monitoring",
                    "SELECT count(*) FROM monitoring.incidents"
                    " WHERE target = 'clients' AND ended_at IS NULL AND started_at >= :t",
                    t=started,
                )[0][0]
                == 1
            ),
            "the clients incident opened",
            timeout=60,
        )
        # Every copy stopped: the gateway has no copy left to try.
        health = stack.http.get(f"{stack.base}/health/clients", timeout=30)
        assert health.status_code >= 500, "`stop clients` stopped every copy"
        time.sleep(3)  # a second worker would have opened its own by now
    finally:
        stack.supervise("start", "clients")
    eventually(
        lambda: (
            stack.sql(
                "monitoring",
                "SELECT count(*) FROM monitoring.incidents"
                " WHERE target = 'clients' AND ended_at IS NULL",
            )[0][0]
            == 0
        ),
        "the clients incident closed",
        timeout=60,
    )
    [[incidents]] = stack.sql(
        "monitoring",
        "SELECT count(*) FROM monitoring.incidents WHERE target = 'clients' AND started_at >= :t",
        t=started,
    )
    assert incidents == 1
    # auth stayed up all along: checked every second by one worker, never twice at once.
    gaps = stack.sql(
        "monitoring",
        "SELECT extract(epoch FROM checked_at - lag(checked_at) OVER (ORDER BY checked_at))"
        " FROM monitoring.results WHERE target = 'auth' AND checked_at >= :t",
        t=started,
    )
    gaps = [float(g) for (g,) in gaps if g is not None]
    assert len(gaps) >= 5
    assert min(gaps) > 0.5, f"two checks of auth {min(gaps):.3f} s apart"
