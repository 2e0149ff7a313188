"""Order events become one message each, sent on the client's channel as it is at send time, over
real HTTP to the WhatsApp stand-in; the provider's 429/5xx retried with backoff, its 4xx failed
at once; two senders racing send each message once."""

import json
import threading

import pytest
import requests
from sqlalchemy import update

from services.kit.db import utcnow
from services.notifications import notifications
from services.notifications.models import Notification, db

from .conftest import REJECTED_NUMBER, eventually, order_event, rows, send_due, send_one


def test_an_opted_in_client_paid_gets_a_whatsapp_template_that_reaches_delivered(
    client, app, standin, make_client, admin
):
    buyer = make_client(phone="(11) 91234-5678", opt_in=True)
    order_event(app, "order.paid", 101, buyer["id"], note="payment 7", payment_id=7)
    assert send_due(app) == 1
    [sent] = standin.messages(to="5511912345678")
    assert sent["template"] == "order_paid"
    assert sent["language"] == "pt_BR"
    assert sent["parameters"] == [buyer["name"], "101", "R$ 60,50", "-"]
    delivered = eventually(
        lambda: [row for row in rows(app) if row.status in ("delivered", "read")]
    )
    assert delivered, [row.status for row in rows(app)]
    listed = client.get(f"/notifications?client_id={buyer['id']}", headers=admin).json
    [item] = listed["items"]
    assert item["channel"] == "whatsapp"
    assert item["to"] == "+55 11 9****-5678"
    assert item["template"] == "order_paid"
    assert item["status"] in ("delivered", "read")
    assert item["attempts"] == 1
    assert "provider_ref" not in item and "parameters" not in item


def test_a_redelivered_event_and_the_same_step_twice_make_one_message(
    client, app, standin, make_client
):
    buyer = make_client(phone="11912345678", opt_in=True)
    event_id = "6f1c1a52-3d55-4c3f-9f55-0a4a8c2b7e01"
    first = order_event(app, "order.shipped", 102, buyer["id"], event_id=event_id)
    again = order_event(app, "order.shipped", 102, buyer["id"], event_id=event_id)
    other_id = order_event(app, "order.shipped", 102, buyer["id"])
    assert (first["status"], again["status"], other_id["status"]) == (
        "processed",
        "duplicate",
        "processed",
    )
    assert send_due(app) == 1
    assert send_due(app) == 0
    assert len(standin.messages(to="5511912345678")) == 1
    assert len(rows(app)) == 1


def test_a_phone_without_opt_in_gets_an_e_mail_in_the_sink_and_no_whatsapp(
    client, app, standin, make_client, smtp_sink
):
    buyer = make_client(phone="+5511912345678", opt_in=False, email="ana@example.com")
    order_event(app, "order.cancelled", 103, buyer["id"], note="PIX expired")
    assert send_due(app) == 1
    assert standin.messages() == []
    [row] = rows(app)
    assert (row.channel, row.to, row.status) == ("email", "ana@example.com", "sent")
    [mail] = eventually(lambda: smtp_sink.messages(to="ana@example.com"))
    assert mail["subject"] == "Pedido 103 cancelado"
    assert "R$ 60,50" in mail["text"] and "PIX expired" not in mail["text"]


def test_an_e_mail_sent_again_after_a_crash_carries_the_same_message_id(
    client, app, make_client, smtp_sink
):
    buyer = make_client(email="caio@example.com")
    order_event(app, "order.shipped", 111, buyer["id"])
    assert send_due(app) == 1
    # The server took it, then the sender died before recording so: the row is queued again.
    with app.app_context():
        db.session.execute(update(Notification).values(status="queued", next_attempt_at=utcnow()))
        db.session.commit()
        db.session.remove()
    assert send_due(app) == 1
    mails = eventually(
        lambda: m if len(m := smtp_sink.messages(to="caio@example.com")) == 2 else []
    )
    [row] = rows(app)
    first, again = (mail["message_id"] for mail in mails)
    assert first == again and first.startswith(f"<feira-notification-{row.id}@")


def test_an_smtp_server_that_cannot_be_reached_is_tried_again_later(
    client, app, make_client, monkeypatch
):
    from services.kit.testing import free_port

    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    buyer = make_client(email="bia@example.com")
    order_event(app, "order.shipped", 110, buyer["id"])
    assert send_one(app)
    [row] = rows(app)
    assert (row.channel, row.status, row.attempts) == ("email", "queued", 1)
    assert "bia@" not in row.error


def test_a_client_clients_does_not_know_fails_without_a_channel(client, app):
    order_event(app, "order.paid", 104, 999)
    send_due(app)
    [row] = rows(app)
    assert (row.status, row.error, row.channel, row.attempts) == (
        "failed",
        "Client 999 does not exist",
        None,
        0,
    )


def test_the_phone_added_after_the_event_is_the_one_used(
    client, app, standin, clients, make_client, user
):
    buyer = make_client()
    order_event(app, "order.delivered", 105, buyer["id"])
    changed = clients.app.test_client().patch(
        f"/clients/{buyer['id']}",
        json={"phone": "11987654321", "whatsapp_opt_in": True},
        headers=user,
    )
    assert changed.status_code == 200, changed.json
    send_due(app)
    assert [m["template"] for m in standin.messages(to="5511987654321")] == ["order_delivered"]


def test_a_429_then_a_200_is_one_message_after_two_attempts(client, app, standin, make_client):
    buyer = make_client(phone="11912345678", opt_in=True)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 429, "count": 1}, timeout=5)
    order_event(app, "order.paid", 106, buyer["id"])
    assert send_one(app)
    [row] = rows(app)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "code 130429" in row.error
    assert row.next_attempt_at > row.updated_at
    assert eventually(lambda: send_one(app))
    [row] = rows(app)
    assert row.attempts == 2
    assert row.error is None
    assert row.status in ("sent", "delivered", "read")
    assert len(standin.messages(to="5511912345678")) == 1


@pytest.mark.parametrize("code", [131056, 130429])
def test_a_rate_limit_answered_400_is_retried_not_failed(client, app, standin, make_client, code):
    buyer = make_client(phone="11912345678", opt_in=True)
    requests.post(
        f"{standin.url}/_standin/fail_next", json={"status": 400, "code": code}, timeout=5
    )
    order_event(app, "order.paid", 106, buyer["id"])
    assert send_one(app)
    [row] = rows(app)
    assert (row.status, row.attempts) == ("queued", 1)
    assert f"code {code}" in row.error
    assert eventually(lambda: send_one(app))
    [row] = rows(app)
    assert row.attempts == 2 and row.status in ("sent", "delivered", "read")
    assert len(standin.messages(to="5511912345678")) == 1


def test_a_5xx_waiting_to_be_retried_says_graphs_error_once_with_its_code(
    client, app, standin, make_client
):
    buyer = make_client(phone="11912345678", opt_in=True)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 500, "count": 1}, timeout=5)
    order_event(app, "order.paid", 106, buyer["id"])
    assert send_one(app)
    [row] = rows(app)
    assert (row.status, row.error) == ("queued", "Something went wrong (code 131000)")


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            {"message": "(#100) Invalid parameter", "code": 100, "error_data": {"details": "to"}},
            "Invalid parameter (code 100): to",
        ),
        (
            {"message": "", "code": 131000, "error_data": {"details": "Something went wrong."}},
            "Something went wrong. (code 131000)",
        ),
        ({"message": "(#131000) Something went wrong"}, "(#131000) Something went wrong"),
    ],
)
def test_graphs_details_are_said_only_when_they_add_to_its_message(error, said):
    from services.notifications.whatsapp import _graph_error

    answer = requests.Response()
    answer.status_code = 400
    answer._content = json.dumps({"error": error}).encode()
    assert _graph_error(answer) == said


def test_5xx_past_the_cap_fails_with_the_attempts_counted(client, app, standin, make_client):
    buyer = make_client(phone="11912345678", opt_in=True)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 503, "count": 9}, timeout=5)
    order_event(app, "order.paid", 107, buyer["id"])
    eventually(lambda: send_due(app) == 0 and rows(app)[0].status == "failed")
    [row] = rows(app)
    assert (row.status, row.attempts) == ("failed", app.config["NOTIFY_MAX_ATTEMPTS"])
    assert row.error.startswith("Gave up after 3 attempts")
    assert standin.messages() == []


def test_a_refused_token_4xx_fails_at_once_with_the_graph_error(client, app, standin, make_client):
    buyer = make_client(phone="11912345678", opt_in=True)
    app.config["WHATSAPP_ACCESS_TOKEN"] = "not-the-token"
    order_event(app, "order.paid", 108, buyer["id"])
    send_due(app)
    [row] = rows(app)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "code 190" in row.error
    assert "not-the-token" not in row.error


def test_an_undeliverable_number_is_accepted_then_failed_by_its_status_webhook(
    client, app, standin, make_client
):
    buyer = make_client(phone=REJECTED_NUMBER, opt_in=True)
    order_event(
        app,
        "payment.failed",
        109,
        buyer["id"],
        reason="Your card was declined.",
        code="generic_decline",
        method="card",
    )
    send_due(app)
    failed = eventually(lambda: [row for row in rows(app) if row.status == "failed"])
    assert failed, [row.status for row in rows(app)]
    assert "131026" in failed[0].error
    [sent] = standin.messages()
    assert sent["template"] == "payment_failed"
    assert sent["parameters"][3] == f"O banco recusou o cartão. {notifications.TRY_AGAIN['card']}"


def test_a_failed_payments_message_says_why_in_portuguese_from_its_code_never_the_providers_words(
    client, app, standin, make_client, smtp_sink
):
    buyer = make_client(email="ana@example.com")
    order_event(
        app,
        "payment.failed",
        112,
        buyer["id"],
        reason="Your card has insufficient funds.",
        code="insufficient_funds",
        method="card",
    )
    [row] = rows(app)
    why = "O cartão não tem saldo ou limite suficiente."
    assert row.parameters["note"] == f"{why} {notifications.TRY_AGAIN['card']}"
    assert send_due(app) == 1
    [mail] = eventually(lambda: smtp_sink.messages(to="ana@example.com"))
    assert mail["subject"] == "Pagamento do pedido 112 recusado"
    assert f"não foi aprovado. {why} Tente novamente" in mail["text"]
    assert "insufficient" not in mail["text"] and "Your card" not in mail["text"]


def test_a_failed_payment_with_an_unknown_or_no_code_is_told_only_to_try_again(
    client, app, make_client
):
    buyer = make_client()
    order_event(
        app, "payment.failed", 113, buyer["id"], reason="Something new.", code="new", method="card"
    )
    order_event(app, "payment.failed", 114, buyer["id"], reason="The payment failed")
    notes = [row.parameters["note"] for row in rows(app)]
    assert notes == [notifications.TRY_AGAIN["card"], notifications.TRY_AGAIN[None]]


def test_a_failed_pix_is_told_to_make_a_new_pix_not_to_use_another_card(client, app, make_client):
    buyer = make_client()
    order_event(app, "payment.failed", 115, buyer["id"], reason="The payment failed", method="pix")
    [row] = rows(app)
    assert row.parameters["note"] == "Gere um novo PIX ou escolha outra forma de pagamento."


def test_two_senders_racing_send_each_message_once(client, app, standin, make_client):
    buyer = make_client(phone="11912345678", opt_in=True)
    for order_id in range(200, 230):
        order_event(app, "order.paid", order_id, buyer["id"])
    taken = []

    def sender():
        with app.app_context():
            taken.append(notifications.send_due())
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(taken) == 30
    sent = standin.messages(to="5511912345678")
    assert sorted(int(m["parameters"][1]) for m in sent) == list(range(200, 230))
    assert all(row.attempts == 1 for row in rows(app))


def test_an_event_without_a_client_is_rejected_once(client, app):
    from services.kit.testing import deliver

    answer = deliver(app, "payment.failed", {"order_id": 5, "client_id": None, "reason": "x"})
    assert answer.json["status"] == "rejected"
    assert rows(app) == []


def test_template_parameters_with_new_lines_tabs_or_runs_of_spaces_are_sent_on_one_line(
    client, app, standin, clients, user
):
    # Meta refuses such a parameter for good (132018), as the stand-in does.
    buyer = clients.app.test_client().post(
        "/clients",
        json={
            "name": "Ana     Souza",
            "email": "ana@example.com",
            "cpf": "454.090.000-56",
            "phone": "(11) 91234-5678",
            "whatsapp_opt_in": True,
        },
        headers=user,
    )
    assert buyer.status_code == 201, buyer.json
    order_event(
        app, "order.shipped", 110, buyer.json["id"], note="  Rastreio:\r\n\tBR123456789BR   \n"
    )
    assert send_due(app) == 1
    [row] = rows(app)
    # The stand-in's status webhooks may already have moved it past "sent".
    assert row.status in ("sent", "delivered", "read")
    assert row.error is None
    [sent] = standin.messages(to="5511912345678")
    assert sent["parameters"] == ["Ana Souza", "110", "R$ 60,50", "Rastreio: BR123456789BR"]


@pytest.mark.parametrize("code", [[131056], {"n": 1}, "131056", True])
def test_a_graph_error_whose_code_is_not_a_number_is_no_retry_code(code):
    from services.notifications.whatsapp import _code

    answer = requests.Response()
    answer.status_code = 400
    answer._content = json.dumps({"error": {"code": code}}).encode()
    assert _code(answer) is None
