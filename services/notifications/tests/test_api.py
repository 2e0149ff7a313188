"""The admins' API: lists with filters and pages, one notification, retry of a failed one; `to`
always masked."""

from sqlalchemy import update

from services.notifications.models import Notification, db

from .conftest import order_event


def set_row(app, order_id: int, **values) -> None:
    with app.app_context():
        db.session.execute(
            update(Notification).where(Notification.order_id == order_id).values(**values)
        )
        db.session.commit()
        db.session.remove()


def test_the_list_filters_pages_and_masks_to(client, app, admin):
    order_event(app, "order.paid", 1, 7)
    order_event(app, "order.shipped", 1, 7)
    order_event(app, "order.paid", 2, 8)
    set_row(app, 1, channel="whatsapp", to="+5511912345678")
    set_row(app, 2, channel="email", to="ana@example.com", status="failed", error="x")
    page = client.get("/notifications?client_id=7&per_page=1", headers=admin).json
    assert (page["total"], page["per_page"], len(page["items"])) == (2, 1, 1)
    assert page["items"][0]["to"] == "+55 11 9****-5678"
    [failed] = client.get("/notifications?status=failed", headers=admin).json["items"]
    assert (failed["order_id"], failed["to"], failed["channel"]) == (2, "a***@example.com", "email")
    by_template = client.get("/notifications?template=order_shipped", headers=admin).json
    assert [item["template"] for item in by_template["items"]] == ["order_shipped"]
    assert client.get("/notifications?order_id=2", headers=admin).json["total"] == 1
    assert client.get("/notifications?channel=email", headers=admin).json["total"] == 1


def test_a_bad_filter_is_a_422_naming_it(client, admin):
    answer = client.get("/notifications?status=lost", headers=admin)
    assert answer.status_code == 422
    assert "status" in answer.json["errors"]


def test_notifications_are_for_admins_only(client, app, user):
    order_event(app, "order.paid", 1, 7)
    assert client.get("/notifications", headers=user).status_code == 403
    assert client.get("/notifications/1", headers=user).status_code == 403
    assert client.post("/notifications/1/retry", headers=user).status_code == 403
    assert client.get("/notifications").status_code == 401


def test_one_notification_and_a_404(client, app, admin):
    order_event(app, "order.paid", 1, 7)
    one = client.get("/notifications/1", headers=admin)
    assert (one.status_code, one.json["status"], one.json["to"]) == (200, "queued", None)
    assert client.get("/notifications/99", headers=admin).status_code == 404


def test_retry_queues_a_failed_one_again_and_refuses_any_other(client, app, admin):
    order_event(app, "order.paid", 1, 7)
    assert client.post("/notifications/1/retry", headers=admin).status_code == 409
    set_row(app, 1, status="failed", error="no channel", attempts=3, provider_ref="wamid.x")
    retried = client.post("/notifications/1/retry", headers=admin)
    assert retried.status_code == 200
    assert (retried.json["status"], retried.json["error"], retried.json["attempts"]) == (
        "queued",
        None,
        0,
    )
    assert client.post("/notifications/1/retry", headers=admin).status_code == 409
    assert client.post("/notifications/99/retry", headers=admin).status_code == 404


def test_a_retried_notification_is_queued_with_no_channel_yet_as_its_schema_allows(
    client, app, admin
):
    order_event(app, "order.paid", 1, 7)
    set_row(app, 1, status="failed", error="x", channel="email", to="ana@example.com")

    retried = client.post("/notifications/1/retry", headers=admin).json

    # Its channel is chosen again when it is sent: the one it failed by is not its answer.
    assert (retried["status"], retried["channel"], retried["to"]) == ("queued", None, None)
    schema = client.get("/notifications/openapi.json").json["components"]["schemas"]
    channel, to = (schema["Notification"]["properties"][name] for name in ("channel", "to"))
    assert channel["nullable"] is True and None in channel["enum"]
    assert (to["type"], to["nullable"]) == ("string", True)
