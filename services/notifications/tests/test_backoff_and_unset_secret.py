"""The provider's 5xx retried after NOTIFY_RETRY_BASE_S · 2^(attempts-1), not at a fixed pace;
and an unset WHATSAPP_APP_SECRET refuses every status webhook, even one signed with the empty
key (an HMAC anyone can make)."""

from datetime import timedelta

import requests

from .conftest import due_now, order_event, rows, send_one
from .test_webhooks import post, sent_notification, signed, status_event


def test_each_retry_of_a_5xx_waits_twice_as_long_as_the_last(
    client, app, standin, make_client, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_RETRY_BASE_S", 10)
    monkeypatch.setitem(app.config, "NOTIFY_MAX_ATTEMPTS", 5)
    buyer = make_client(phone="11912345678", opt_in=True)
    requests.post(f"{standin.url}/_standin/fail_next", json={"status": 503, "count": 2}, timeout=5)
    order_event(app, "order.paid", 150, buyer["id"])
    waits = []
    for _ in range(2):
        assert send_one(app)
        [row] = rows(app)
        assert row.status == "queued"
        waits.append(row.next_attempt_at - row.updated_at)
        due_now(app)
    assert timedelta(seconds=9) < waits[0] <= timedelta(seconds=10)
    assert timedelta(seconds=19) < waits[1] <= timedelta(seconds=20)


def test_with_no_app_secret_set_a_webhook_signed_with_the_empty_key_is_refused(
    client, app, monkeypatch
):
    sent_notification(app)
    monkeypatch.setitem(app.config, "WHATSAPP_APP_SECRET", "")
    body = status_event("wamid.test1", "delivered")
    answer = post(client, body, signed(body, ""))
    assert answer.status_code == 401
    assert [row.status for row in rows(app)] == ["sent"]
