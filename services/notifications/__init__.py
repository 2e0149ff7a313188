"""notifications: one message per order event to the client, on WhatsApp (Meta's Cloud API
protocol: real, or the local stand-in) when it has a phone and opted in, else by e-mail; tracked
to `delivered`/`read` by WhatsApp's signed status webhooks. It hears `order.paid`,
`order.shipped`, `order.delivered`, `order.cancelled` and `payment.failed`; the
`notifications-sender` worker (`flask --app services.notifications:create_app sender`) sends
what is queued."""

from __future__ import annotations

import logging

import click
from flask import Flask

from services.kit import create_service_app
from services.kit.backlog import Backlog, watch_backlog
from services.kit.outbox import Stopping, init_outbox
from services.kit.settings import env

from .models import db, outbox
from .whatsapp import DEFAULT_TIMEOUT_S

log = logging.getLogger("feira.notifications")


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "notifications",
        __name__,
        db=db,
        config=config,
        settings={
            "WHATSAPP_API_URL": env("WHATSAPP_API_URL") or "https://graph.facebook.com",
            "WHATSAPP_API_VERSION": env("WHATSAPP_API_VERSION") or "21.0",
            "WHATSAPP_PHONE_NUMBER_ID": env("WHATSAPP_PHONE_NUMBER_ID") or "100000000000001",
            "WHATSAPP_ACCESS_TOKEN": env("WHATSAPP_ACCESS_TOKEN"),
            "WHATSAPP_APP_SECRET": env("WHATSAPP_APP_SECRET"),
            "WHATSAPP_VERIFY_TOKEN": env("WHATSAPP_VERIFY_TOKEN"),
            "WHATSAPP_TIMEOUT_S": env("WHATSAPP_TIMEOUT_S", DEFAULT_TIMEOUT_S, float),
            "NOTIFY_MAX_ATTEMPTS": env("NOTIFY_MAX_ATTEMPTS", 5, int),
            "NOTIFY_RETRY_BASE_S": env("NOTIFY_RETRY_BASE_S", 2, float),
            "NOTIFY_SENDER_INTERVAL_S": env("NOTIFY_SENDER_INTERVAL_S", 0.25, float),
            # A collector run that failed or was partial is mailed here.
            "COLLECTOR_ALERT_TO": env("COLLECTOR_ALERT_TO") or env("FEIRA_ADMIN_EMAIL"),
        },
        description="Notifications: one message per order event to the client, on WhatsApp "
        "(Cloud API protocol) or by e-mail, tracked to delivery by signed status webhooks.",
    )
    init_outbox(app, outbox)
    from . import collector_runs, notifications
    from .routes import blp

    # Each queues its template's message (one per order and template).
    outbox.receiver(
        app,
        {
            "order.paid": notifications.on_order_paid,
            "order.shipped": notifications.on_order_shipped,
            "order.delivered": notifications.on_order_delivered,
            "order.cancelled": notifications.on_order_cancelled,
            "payment.failed": notifications.on_payment_failed,
            "collector.run.finished": collector_runs.on_collector_run_finished,
        },
    )

    # notifications emits nothing, so it has no relay (services/registry.py) to run its chores:
    # the sender runs them (`Outbox.run_due_chores`). They forget statuses kept for message ids that
    # never became a notification's (another app on the same number) and statuses applied long
    # ago, and prune the inbox's ids as a relay would.
    outbox.every(3600, notifications.forget_early_statuses)
    outbox.every(3600, notifications.forget_statuses_seen)
    outbox.every(3600, outbox.prune)

    @app.cli.command("sender")
    @click.option("--once", is_flag=True, help="Run the chores, send what is due now, then stop")
    def sender_command(once):
        """Send the queued notifications that are due, forever (or once), and run the service's
        chores when due. SIGTERM or SIGINT lets the message being sent finish and be recorded,
        then stops (kit.outbox.Stopping)."""
        interval = app.config["NOTIFY_SENDER_INTERVAL_S"]
        last_run: dict[int, float] = {}
        log.info("notifications sender started")
        with Stopping() as stop:
            while not stop.requested:
                outbox.run_due_chores(last_run)
                try:
                    # One message a pass: a stop waits for the message being sent, not a batch.
                    taken = notifications.send_due(limit=1)
                except Exception:
                    log.exception("the sender's pass failed")
                    db.session.remove()
                    taken = 0
                if not taken:
                    if once:
                        return
                    stop.wait(interval)

    # Red while a message the sender would take has been due too long: it is not sending.
    watch_backlog(
        app,
        Backlog(
            "/health/queue",
            notifications.queue_lag,
            metric="feira_notifications_queued",
            pending_metric="feira_notifications_queued",
            late_because="A queued message has been due",
        ),
    )
    api.register_blueprint(blp)
    return app
