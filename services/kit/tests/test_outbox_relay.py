"""The outbox relay facing subscribers that fail: one that is down, silent or refusing events
costs the others nothing, pinned on a small app built by kit_app and stand-in
subscribers on real local ports, and on the app's own receiver through a LiveServer."""

import http.server
import json
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text, update

from services.kit import make_db, utcnow
from services.kit.outbox import Outbox
from services.kit.testing import OUTBOX_SECRET, LiveServer, kit_app, unreachable_url

db = make_db("auth")
outbox = Outbox(db)
# The events the app's own receiver handled (a test posts to it through a LiveServer).
HANDLED: list[int] = []


def on_handled(data: dict) -> None:
    time.sleep(data["hang"])
    HANDLED.append(data["n"])


@pytest.fixture(scope="module")
def app(database, jwt_keys):
    app = kit_app(
        __name__, db, None, database, jwt_keys, OUTBOX_SECRET=OUTBOX_SECRET, OUTBOX_SUBSCRIBERS={}
    )
    outbox.receiver(app, {"widget.handled": on_handled})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.drop_all()


@pytest.fixture(autouse=True)
def empty_outbox(app, monkeypatch):
    with app.app_context():
        db.session.execute(text("TRUNCATE outbox_events, outbox_deliveries RESTART IDENTITY"))
        db.session.commit()
    HANDLED.clear()
    # A subscriber that does not answer costs a fifth of a second here, not the 5 s of the stack.
    monkeypatch.setattr(outbox, "post_timeout", (1, 0.2))
    yield
    app.config["OUTBOX_SUBSCRIBERS"] = {}


class Subscriber:
    """A stand-in subscriber on a local port. `answer(events)` says what it does with a body's
    events (the body's list, or a list of the one event): an HTTP status, or None to never
    answer (the relay's read times out). `bodies` are the events of each POST, in order, and
    `arrivals` when each came (time.monotonic())."""

    def __init__(self, answer):
        self.bodies: list[list[dict]] = []
        self.arrivals: list[float] = []
        self.released = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                parsed = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                events = parsed if isinstance(parsed, list) else [parsed]
                outer.arrivals.append(time.monotonic())
                outer.bodies.append(events)
                status = answer(events)
                if status is None:
                    outer.released.wait(5)
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/internal/events"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def numbers(self) -> list[list[int]]:
        """Each POST's events, as the numbers they were emitted with."""
        return [[event["data"]["n"] for event in events] for events in self.bodies]

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def subscriber():
    made = []

    def make(answer):
        made.append(Subscriber(answer))
        return made[-1]

    yield make
    for each in made:
        each.stop()


def emit(app, subscribers: dict[str, str], numbers) -> None:
    app.config["OUTBOX_SUBSCRIBERS"] = subscribers
    with app.app_context():
        for n in numbers:
            outbox.emit("widget.made", {"n": n})
        db.session.commit()


def relay(app, **kwargs) -> int:
    with app.app_context():
        return outbox.relay_once(**kwargs)


def deliveries(app, subscriber: str) -> list:
    with app.app_context():
        return db.session.scalars(
            select(outbox.Delivery)
            .where(outbox.Delivery.subscriber == subscriber)
            .order_by(outbox.Delivery.id)
        ).all()


def test_a_subscriber_whose_failures_fill_a_pass_holds_back_no_other_subscriber(app, subscriber):
    down = unreachable_url() + "/internal/events"
    quick = subscriber(lambda events: 200)
    emit(app, {"down": down}, [1, 2, 3])
    emit(app, {"down": down, "quick": quick.url}, [4])

    assert relay(app, batch=3) == 1, "quick's event went out beside down's three older ones"
    assert quick.numbers() == [[4]]
    assert [d.attempts for d in deliveries(app, "down")] == [1, 1, 1, 0], (
        "down's pass took its own batch of three, the fourth waits for the next pass"
    )


def test_a_subscriber_that_does_not_answer_delays_no_other_subscribers_events_of_the_pass(
    app, subscriber, monkeypatch
):
    """Subscribers are posted to at once: the silent one's timeouts (three here, 3 s) run beside
    the quick one's POST, not before it."""
    monkeypatch.setattr(outbox, "post_timeout", (1, 1))
    silent = subscriber(lambda events: None)
    quick = subscriber(lambda events: 200)
    emit(app, {"silent": silent.url}, [1, 2, 3])
    emit(app, {"silent": silent.url, "quick": quick.url}, [4])

    assert relay(app) == 1
    assert quick.numbers() == [[4]]
    assert silent.numbers() == [[1, 2, 3, 4], [1], [2]], "silent's own pass is as before"
    assert quick.arrivals[0] < silent.arrivals[1], (
        "quick had its events before the relay gave up on silent's first POST "
        f"({quick.arrivals[0] - silent.arrivals[0]:.2f} s after it, read timeout 1 s)"
    )
    assert [d.last_error for d in deliveries(app, "silent")] == ["ReadTimeout"] * 4
    assert [d.delivered_at is not None for d in deliveries(app, "quick")] == [True]


def test_a_subscriber_that_does_not_answer_costs_a_pass_a_few_timeouts_not_one_per_event(
    app, subscriber
):
    silent = subscriber(lambda events: None)
    emit(app, {"silent": silent.url}, [1, 2, 3, 4, 5])

    assert relay(app) == 0
    assert silent.numbers() == [[1, 2, 3, 4, 5], [1], [2]], (
        "the batch, then events alone until two went unanswered: the rest wait"
    )
    failed = deliveries(app, "silent")
    assert [(d.attempts, d.last_error) for d in failed] == [(1, "ReadTimeout")] * 5
    assert all(d.next_attempt_at > utcnow() for d in failed), "each waits its backoff"


def test_one_event_whose_handler_hangs_holds_back_its_batch_until_it_ends_and_no_longer(
    app, monkeypatch
):
    """The kit's receiver takes a body in one transaction, its events' inbox ids held till it
    ends: one whose handler hangs (a payment provider that does not answer) times the batch out,
    and its others, tried alone meanwhile, are answered "in progress" at once rather than
    waiting on that transaction (two read timeouts, and the third never tried). Once it ends
    they are all delivered, each handled once."""
    monkeypatch.setattr(outbox, "post_timeout", (1, 1.0))
    server = LiveServer(app).start()
    try:
        app.config["OUTBOX_SUBSCRIBERS"] = {"self": f"{server.base_url}/internal/events"}
        with app.app_context():
            for n in (1, 2, 3):
                outbox.emit("widget.handled", {"n": n, "hang": 3.0 if n == 2 else 0})
            db.session.commit()

        started = time.monotonic()
        assert relay(app) == 0
        took = time.monotonic() - started
        # One read timeout and answers, well short of a second timeout: room for a busy host.
        assert took < 1.0 + 0.7, f"the pass lasted {took:.1f} s: one read timeout, then answers"
        assert [d.last_error for d in deliveries(app, "self")] == ["HTTP 409"] * 3

        deadline = time.monotonic() + 10
        while not all(d.delivered_at for d in deliveries(app, "self")):
            assert time.monotonic() < deadline, "the batch's events were delivered once it ended"
            time.sleep(0.1)
            with app.app_context():
                db.session.execute(update(outbox.Delivery).values(next_attempt_at=utcnow()))
                db.session.commit()
            relay(app)
        assert sorted(HANDLED) == [1, 2, 3], "each handled once, by the batch"
    finally:
        server.stop()


def test_a_subscriber_that_refuses_a_batch_still_gets_each_event_tried_alone(app, subscriber):
    picky = subscriber(
        lambda events: 500 if len(events) > 1 or events[0]["data"]["n"] == 2 else 200
    )
    emit(app, {"picky": picky.url}, [1, 2, 3])

    assert relay(app) == 2, "the event it refuses holds back no other"
    assert picky.numbers() == [[1, 2, 3], [1], [2], [3]]
    assert [(d.delivered_at is None, d.last_error) for d in deliveries(app, "picky")] == [
        (False, None),
        (True, "HTTP 500"),
        (False, None),
    ]


def test_a_subscriber_that_stops_answering_while_its_events_go_alone_costs_two_timeouts_more(
    app, subscriber
):
    failing = subscriber(lambda events: 500 if len(events) > 1 else None)
    emit(app, {"failing": failing.url}, [1, 2, 3, 4])

    assert relay(app) == 0
    assert failing.numbers() == [[1, 2, 3, 4], [1], [2]], "the events after two silent ones wait"
    assert [d.last_error for d in deliveries(app, "failing")] == ["ReadTimeout"] * 4


def test_a_subscriber_that_answers_errors_slowly_holds_up_the_next_pass_a_few_timeouts_at_most(
    app, subscriber, monkeypatch
):
    """A subscriber whose handler waits on a service that is down answers each event alone an
    error after a while, never a timeout. Events alone are tried for three read timeouts (1.5 s
    here), the rest wait for the next pass; a pass ends, and every other subscriber's next one
    starts, within about four (each of its 30 tries lasting 0.3 s, that was 9 s)."""
    monkeypatch.setattr(outbox, "post_timeout", (1, 0.5))
    slow = subscriber(lambda events: time.sleep(0.3) or 503)
    quick = subscriber(lambda events: 200)
    emit(app, {"slow": slow.url}, range(1, 30))
    emit(app, {"slow": slow.url, "quick": quick.url}, [30])

    started = time.monotonic()
    assert relay(app) == 1
    took = time.monotonic() - started

    assert took < 4 * 0.5 + 0.5, f"the pass lasted {took:.1f} s"
    assert [d.delivered_at is not None for d in deliveries(app, "quick")] == [True]
    alone = slow.numbers()[1:]
    assert 1 < len(alone) < 10
    assert alone == [[n] for n in range(1, len(alone) + 1)], (
        "tried alone in the order written; none after one that was not"
    )
    tried = len(alone)
    assert [(d.attempts, d.last_error) for d in deliveries(app, "slow")] == [(1, "HTTP 503")] * (
        tried
    ) + [(0, None)] * (30 - tried), "those it did not reach are left as they were"
    assert all(d.next_attempt_at <= utcnow() for d in deliveries(app, "slow")[tried:]), (
        "and are due at the next pass"
    )


def test_a_few_old_events_that_fail_slowly_keep_no_newer_one_from_being_delivered(
    app, subscriber, monkeypatch
):
    """A subscriber's three oldest events are answered a 503 after most of a read timeout (their
    handler waits on a service that is down), its newer ones at once: the three fill the pass's
    three read timeouts, and the newer ones, not reached, are left due and not charged; the
    next pass tries them first, even with the three due again, and delivers them."""
    monkeypatch.setattr(outbox, "post_timeout", (1, 0.5))

    def answer(events):
        if any(event["data"]["n"] <= 3 for event in events):
            time.sleep(0.45)
            return 503
        return 200

    flaky = subscriber(answer)
    emit(app, {"flaky": flaky.url}, range(1, 11))

    assert relay(app) == 0
    assert flaky.numbers()[1:] == [[1], [2], [3]], "the slow three used the pass up"
    assert [(d.attempts, d.last_error) for d in deliveries(app, "flaky")] == [
        (1, "HTTP 503")
    ] * 3 + [(0, None)] * 7, "the seven it did not reach were not charged an attempt"

    with app.app_context():
        # Their backoff over too: the three old ones are due beside the newer ones.
        db.session.execute(update(outbox.Delivery).values(next_attempt_at=utcnow()))
        db.session.commit()
    flaky.bodies.clear()
    assert relay(app) == 7
    assert flaky.numbers()[1:8] == [[n] for n in range(4, 11)], (
        "the events never tried went alone first, in the order written"
    )
    assert [(d.attempts, d.delivered_at is not None) for d in deliveries(app, "flaky")][3:] == [
        (1, True)
    ] * 7


def test_a_subscriber_whose_copies_all_hang_still_has_the_events_it_left_wait_their_backoff(
    app, subscriber
):
    """Two copies that take bodies and never answer spend the pass's three read timeouts on the
    batch and one event alone, before a second unanswered one stops it: the events left are
    not left due (each pass would start by timing out again), they wait their backoff."""
    first, second = subscriber(lambda events: None), subscriber(lambda events: None)
    emit(app, {"hung": f"{first.url}|{second.url}"}, [1, 2, 3])

    assert relay(app) == 0
    assert first.numbers() == [[1, 2, 3], [1]], "the batch, then one event alone"
    failed = deliveries(app, "hung")
    assert [(d.attempts, d.last_error) for d in failed] == [(1, "ReadTimeout")] * 3
    assert all(d.next_attempt_at > utcnow() for d in failed)


def statements_of_a_pass(app) -> tuple[int, list[str]]:
    """What one pass delivers, and the statements it sent to PostgreSQL."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    with app.app_context():
        engine = db.engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            delivered = outbox.relay_once()
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return delivered, sent


def test_a_pass_with_nothing_due_asks_one_statement_and_takes_no_lock(app, subscriber):
    quick = subscriber(lambda events: 200)
    emit(app, {"quick": quick.url}, [1])
    with app.app_context():
        db.session.execute(
            update(outbox.Delivery).values(next_attempt_at=utcnow() + timedelta(minutes=5))
        )
        db.session.commit()

    delivered, sent = statements_of_a_pass(app)

    assert delivered == 0 and quick.numbers() == []
    assert len(sent) == 1 and "pg_try_advisory_xact_lock" not in sent[0], sent


def test_a_pass_with_an_event_due_takes_the_lock_and_delivers_it(app, subscriber):
    quick = subscriber(lambda events: 200)
    emit(app, {"quick": quick.url}, [1])

    delivered, sent = statements_of_a_pass(app)

    assert delivered == 1 and quick.numbers() == [[1]]
    assert any("pg_try_advisory_xact_lock" in statement for statement in sent), sent
