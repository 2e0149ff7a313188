"""collector: products gathered from shop pages (JSON-LD, microdata, OpenGraph or the source's
selectors), politely (robots.txt, one request at a time per site, a contact in the User-Agent)
and safely (no private address unless allowed), sent to products through its internal door, on
a schedule or when an admin asks. It emits `collector.run.finished`; the `collector-worker`
(`flask --app services.collector:create_app worker`) carries the runs out."""

from __future__ import annotations

from flask import Flask

from services.kit import create_service_app
from services.kit.outbox import init_outbox
from services.kit.settings import env

from .models import db, outbox


def _hosts(value: str | None) -> list[str]:
    return [host.strip().lower() for host in (value or "").split(",") if host.strip()]


# The whole of one answer when COLLECTOR_TOTAL_TIMEOUT_S is not set (the stack's stop wait for the
# worker assumes it too: stack/processes.py's UNSET_DEFAULTS, kept equal by a test).
TOTAL_TIMEOUT_S = 30.0


def create_app(config: dict | None = None) -> Flask:
    app, api = create_service_app(
        "collector",
        __name__,
        db=db,
        config=config,
        settings={
            # Named in the User-Agent (`FeiraCollector/1.0 (+URL)`): where a shop learns who we are.
            "COLLECTOR_CONTACT_URL": env("COLLECTOR_CONTACT_URL", "https://feira.dev/collector"),
            # Hosts or addresses that may be private or loopback (the local fixture shops).
            "COLLECTOR_ALLOWED_PRIVATE_HOSTS": _hosts(env("COLLECTOR_ALLOWED_PRIVATE_HOSTS")),
            "COLLECTOR_CONNECT_TIMEOUT_S": env("COLLECTOR_CONNECT_TIMEOUT_S", 3, float),
            "COLLECTOR_READ_TIMEOUT_S": env("COLLECTOR_READ_TIMEOUT_S", 10, float),
            # The whole of one answer (the read timeout is each wait for a byte, not their sum).
            "COLLECTOR_TOTAL_TIMEOUT_S": env("COLLECTOR_TOTAL_TIMEOUT_S", TOTAL_TIMEOUT_S, float),
            # The longest robots.txt Crawl-delay obeyed: a site asking for more gets this.
            "COLLECTOR_MAX_CRAWL_DELAY_S": env("COLLECTOR_MAX_CRAWL_DELAY_S", 60, float),
            "COLLECTOR_MAX_PAGE_BYTES": env("COLLECTOR_MAX_PAGE_BYTES", 2 * 1024 * 1024, int),
            "COLLECTOR_IMAGE_MAX_BYTES": env("COLLECTOR_IMAGE_MAX_BYTES", 5 * 1024 * 1024, int),
            "COLLECTOR_MAX_IMAGES": env("COLLECTOR_MAX_IMAGES", 3, int),
            "COLLECTOR_CONCURRENCY": env("COLLECTOR_CONCURRENCY", 2, int),
            "COLLECTOR_POLL_S": env("COLLECTOR_POLL_S", 1, float),
        },
        description="The collector: shops' product pages read (structured data or selectors), "
        "politely and safely, into the catalogue; sources, scheduled runs and what they found.",
    )
    init_outbox(app, outbox)
    from .routes import blp
    from .watch import add_run_metrics
    from .watch import bp as watch_bp

    @app.cli.command("worker")
    def worker_command():
        """Take queued runs and queue scheduled ones, forever."""
        from .worker import run_worker

        run_worker()

    @app.cli.command("run-queued")
    def run_queued_command():
        """Carry out every queued run now, then stop (by hand, or in a test)."""
        from .worker import take_and_run

        while take_and_run():
            db.session.remove()

    app.register_blueprint(watch_bp)
    add_run_metrics(app)
    api.register_blueprint(blp)
    return app
