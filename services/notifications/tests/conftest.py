"""The notifications suite runs against the REAL clients service (its internal contacts route)
and the WhatsApp stand-in, each over real HTTP on a local port, all on the test database; the
stand-in's status webhooks reach notifications on its own port, as the gateway would pass them
on. Order events are delivered to notifications' inbox as a relay would sign them."""

import time

import pytest
import requests
from sqlalchemy import select, update

from services.clients import create_app as create_clients_app
from services.kit import utcnow
from services.kit.testing import LiveServer, build_app, deliver, truncate_all
from services.notifications import create_app, notifications
from services.notifications.models import Notification, db
from standins.whatsapp.testing import running_whatsapp_standin

ACCESS_TOKEN = "test-whatsapp-access-token"
APP_SECRET = "test-whatsapp-app-secret"
VERIFY_TOKEN = "test-whatsapp-verify-token"
CPFS = ["454.090.000-56", "123.456.789-09", "529.982.247-25", "111.444.777-35"]
# The stand-in accepts a send to it, then reports it `failed` (131026, undeliverable).
REJECTED_NUMBER = "+5511900000000"


@pytest.fixture(scope="session")
def clients(database, jwt_keys):
    server = LiveServer(build_app(create_clients_app, "clients", database, jwt_keys)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def standin():
    with running_whatsapp_standin(
        access_token=ACCESS_TOKEN, app_secret=APP_SECRET, status_delay_s=0.05
    ) as running:
        yield running


@pytest.fixture(scope="session")
def app(database, jwt_keys, clients, standin):
    return build_app(
        create_app,
        "notifications",
        database,
        jwt_keys,
        SERVICE_URLS={"clients": clients.base_url},
        HTTP_RETRIES=0,
        WHATSAPP_API_URL=standin.url,
        WHATSAPP_PHONE_NUMBER_ID=standin.phone_number_id,
        WHATSAPP_ACCESS_TOKEN=ACCESS_TOKEN,
        WHATSAPP_APP_SECRET=APP_SECRET,
        WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        NOTIFY_RETRY_BASE_S=0.01,
        NOTIFY_MAX_ATTEMPTS=3,
    )


@pytest.fixture(scope="session")
def served(app, standin):
    server = LiveServer(app).start()
    standin.webhook_url = f"{server.base_url}/notifications/webhooks/whatsapp"
    yield server
    server.stop()


@pytest.fixture
def client(app, served, clients, standin):
    # A status webhook of the last test arriving now would write the tables being emptied.
    standin.quiet()
    for each in (app, clients.app):
        truncate_all(each)
    app.config["WHATSAPP_ACCESS_TOKEN"] = ACCESS_TOKEN
    assert requests.delete(f"{standin.url}/_standin/messages", timeout=5).status_code == 204
    return app.test_client()


@pytest.fixture
def make_client(client, clients, user):
    """A client of clients' own API: `phone` and `whatsapp_opt_in` as given, an e-mail unless
    `email=None`."""
    counter = iter(range(1000))

    def _make(phone=None, opt_in=False, email=""):
        n = next(counter)
        body = {"name": f"Cliente {n}", "cpf": CPFS[n % 4], "whatsapp_opt_in": opt_in}
        if email is not None:
            body["email"] = email or f"c{n}@example.com"
        if phone:
            body["phone"] = phone
        response = clients.app.test_client().post("/clients", json=body, headers=user)
        assert response.status_code == 201, response.json
        return response.json

    return _make


def order_event(app, event_type: str, order_id: int, client_id: int, **more):
    data = {
        "order_id": order_id,
        "client_id": client_id,
        "total": "60.50",
        "status": event_type.split(".")[1],
        "note": None,
        **more,
    }
    answer = deliver(app, event_type, data, more.pop("event_id", None))
    assert answer.status_code == 200, answer.json
    return answer.json


def send_due(app) -> int:
    with app.app_context():
        try:
            return notifications.send_due()
        finally:
            db.session.remove()


def send_one(app) -> bool:
    with app.app_context():
        try:
            return notifications.send_one()
        finally:
            db.session.remove()


def rows(app) -> list[Notification]:
    with app.app_context():
        found = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        db.session.expunge_all()
        db.session.remove()
        return found


def by_template(app) -> dict[str, Notification]:
    return {row.template: row for row in rows(app)}


def due_now(app) -> None:
    """Every notification due now (a retry's wait skipped)."""
    with app.app_context():
        db.session.execute(update(Notification).values(next_attempt_at=utcnow()))
        db.session.commit()
        db.session.remove()


# The buyer's phone of the tests that read what the WhatsApp stand-in was sent.
PHONE = "+5511912345678"


def sent_templates(standin) -> list[str]:
    """What the provider accepted for PHONE, oldest first."""
    return [message["template"] for message in reversed(standin.messages(to=PHONE))]


def eventually(check, timeout: float = 10.0):
    """`check()` once it is truthy (webhooks arrive from the stand-in's own thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@pytest.fixture(scope="session")
def _sink():
    from standins.smtp.testing import running_smtp_sink

    with running_smtp_sink() as sink:
        yield sink


@pytest.fixture
def smtp_sink(_sink, monkeypatch):
    """The SMTP sink over a real loopback socket, and notifications' mail sent to it."""
    # The kit's SMTP client reads its settings from the environment at each send.
    monkeypatch.setenv("SMTP_HOST", _sink.host)
    monkeypatch.setenv("SMTP_PORT", str(_sink.port))
    _sink.clear()
    return _sink
