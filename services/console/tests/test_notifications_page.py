"""The notifications page against the real notifications service behind the gateway stand-in:
staff answering "what did you send me, and when?" read each message's moments."""

import re
from datetime import UTC, datetime

import pytest

from services.kit.testing import build_app
from services.notifications import create_app as create_notifications_app
from services.notifications.models import Notification, db

from .conftest import console_with_api, signed_in_admin


@pytest.fixture(scope="module")
def notifications(database, jwt_keys):
    return build_app(create_notifications_app, "notifications", database, jwt_keys)


@pytest.fixture(scope="module")
def console(database, jwt_keys, auth, auth_server, notifications):
    with console_with_api(
        database, jwt_keys, auth, auth_server, notifications, ("/notifications",)
    ) as served:
        yield served


def test_each_notification_says_when_it_was_made_and_last_changed_in_the_shops_time_zone(
    console, auth, notifications
):
    admin = signed_in_admin(console, auth, notifications)
    with notifications.app_context():
        sent = Notification(
            channel="whatsapp",
            template="order_paid",
            order_id=7,
            client_id=3,
            status="sent",
            attempts=1,
            created_at=datetime(2026, 12, 5, 2, 30, tzinfo=UTC),
            updated_at=datetime(2026, 12, 5, 2, 31, tzinfo=UTC),
        )
        db.session.add(sent)
        db.session.commit()
        sent_id = sent.id
    page = admin.get("/console/notifications?client_id=3")
    assert page.status_code == 200, page.text
    row = page.text.split(f'<tr data-notification="{sent_id}">')[1].split("</tr>")[0]
    # 02:30 UTC is 23:30 of the day before in São Paulo.
    assert "<td>04/12/2026 23:30</td><td>04/12/2026 23:31</td>" in row
    assert '<th scope="col">Criada</th><th scope="col">Atualizada</th>' in page.text


def test_the_log_a_clients_page_links_to_lists_that_clients_notifications_alone(
    console, auth, notifications
):
    admin = signed_in_admin(console, auth, notifications)
    with notifications.app_context():
        theirs, others = (
            Notification(
                channel="whatsapp", template="order_paid", order_id=n, client_id=n, status="sent"
            )
            for n in (3, 4)
        )
        db.session.add_all([theirs, others])
        db.session.commit()
        ids = theirs.id, others.id
    page = admin.get("/console/notifications?client_id=3")  # the client page's link
    assert page.status_code == 200, page.text
    assert re.findall(r'<tr data-notification="(\d+)">', page.text) == [str(ids[0])]
