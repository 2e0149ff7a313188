"""WhatsApp's status webhooks: the GET handshake, the signature on the raw body (a forged or
unsigned one changes nothing), each (message, status) applied once and never backwards."""

import hashlib
import hmac
import json

import pytest
from sqlalchemy import update

from services.notifications.models import Notification, db

from .conftest import APP_SECRET, VERIFY_TOKEN, order_event, rows

URL = "/notifications/webhooks/whatsapp"


def signed(body: bytes, secret: str = APP_SECRET) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def status_event(wamid: str, status: str, **more) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "1"},
        "statuses": [
            {
                "id": wamid,
                "status": status,
                "timestamp": "1764800000",
                "recipient_id": "5511912345678",
                **more,
            }
        ],
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def sent_notification(app, order_id: int = 300, wamid: str = "wamid.test1") -> None:
    """A notification the provider accepted as `wamid` (as the sender leaves it)."""
    order_event(app, "order.paid", order_id, 1)
    with app.app_context():
        db.session.execute(
            update(Notification)
            .where(Notification.order_id == order_id)
            .values(status="sent", channel="whatsapp", to="+5511912345678", provider_ref=wamid)
        )
        db.session.commit()
        db.session.remove()


def post(client, body: bytes, headers: dict):
    return client.post(URL, data=body, headers=headers)


def test_the_handshake_answers_the_challenge_as_plain_text(client):
    answer = client.get(
        URL,
        query_string={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert answer.status_code == 200
    assert answer.mimetype == "text/plain"
    assert answer.get_data(as_text=True) == "1158201444"


def test_the_handshake_with_a_wrong_token_is_a_403_problem(client):
    answer = client.get(
        URL,
        query_string={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"},
    )
    assert answer.status_code == 403
    assert answer.mimetype == "application/problem+json"


def test_a_forged_or_unsigned_webhook_is_a_401_and_changes_nothing(client, app):
    sent_notification(app)
    body = status_event("wamid.test1", "delivered")
    forged = post(client, body, signed(body, "not-the-secret"))
    unsigned = post(client, body, {"Content-Type": "application/json"})
    tampered = post(client, status_event("wamid.test1", "read"), signed(body))
    for answer in (forged, unsigned, tampered):
        assert answer.status_code == 401
        assert answer.mimetype == "application/problem+json"
    assert [row.status for row in rows(app)] == ["sent"]


def test_statuses_move_forward_once_and_never_back(client, app):
    sent_notification(app)
    for status, expected in [
        ("read", "read"),  # read may come without delivered
        ("delivered", "read"),  # late: not backwards
        ("sent", "read"),
        ("failed", "read"),  # failed only from queued or sent
    ]:
        body = status_event("wamid.test1", status)
        assert post(client, body, signed(body)).status_code == 200
        assert rows(app)[0].status == expected


def test_a_redelivered_status_applies_once(client, app):
    sent_notification(app)
    body = status_event("wamid.test1", "delivered")
    assert post(client, body, signed(body)).json == {"applied": 1}
    assert post(client, body, signed(body)).json == {"applied": 0}


def test_failed_after_sent_records_the_error_code(client, app):
    sent_notification(app)
    body = status_event(
        "wamid.test1", "failed", errors=[{"code": 131026, "title": "Message undeliverable"}]
    )
    assert post(client, body, signed(body)).status_code == 200
    [row] = rows(app)
    assert (row.status, row.error) == ("failed", "Message undeliverable (code 131026)")


def test_an_unknown_message_changes_nothing_and_is_answered_200(client, app):
    body = status_event("wamid.nobody", "delivered")
    answer = post(client, body, signed(body))
    assert (answer.status_code, answer.json) == (200, {"applied": 0})


def test_a_signed_body_that_is_not_json_is_a_400(client):
    body = b"not json"
    assert post(client, body, signed(body)).status_code == 400


@pytest.mark.parametrize(
    "event",
    [
        {"entry": "x"},
        {"entry": ["x", None]},
        {"entry": [{"changes": "x"}]},
        {"entry": [{"changes": [{"value": []}]}]},
        {"entry": [{"changes": [{"value": {"statuses": "x"}}]}]},
        {
            "entry": [
                {
                    "changes": [
                        {
                            "value": {
                                "statuses": [{"id": "wamid.x", "status": "failed", "errors": "x"}]
                            }
                        }
                    ]
                }
            ]
        },
    ],
)
def test_a_signed_status_webhook_of_an_unexpected_shape_changes_nothing(client, event):
    body = json.dumps(event).encode()
    answer = client.post(URL, data=body, headers=signed(body))
    assert answer.status_code == 200 and answer.json == {"applied": 0}


@pytest.mark.parametrize("depth", [33, 5000])
def test_a_signed_body_nested_too_deep_is_a_400_and_changes_nothing(client, app, depth):
    sent_notification(app)
    body = b'{"a":' * depth + b"1" + b"}" * depth
    answer = post(client, body, signed(body))
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert "deeper than 32" in answer.json["detail"]
    assert [row.status for row in rows(app)] == ["sent"]
