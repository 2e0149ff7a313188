"""Sources (shops to collect from), their runs, what was last seen at each product page (so an
unchanged product is not rewritten), the pictures each page sent, when each site may next be
asked, and the outbox."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import TimestampMixin, make_db
from services.kit.outbox import Outbox

db = make_db("collector")
outbox = Outbox(db)

STATUSES = ("queued", "running", "succeeded", "partial", "failed", "cancelled")
# The longest URL a source starts from or a run follows: a page's URL is in a unique index
# (uq_pages_source_id_url), and a btree entry holds about 2,700 bytes.
MAX_URL_LENGTH = 2000
# A run that holds its source: at most one per source (a partial unique index).
ACTIVE = ("queued", "running")
# A run that walked its source, or failed to: a source's health is its last one's.
FINISHED = ("succeeded", "partial", "failed")
# Every run that ended: those and the ones an admin stopped (POST /collector/runs/{id}/cancel).
ENDED = (*FINISHED, "cancelled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class Source(TimestampMixin, db.Model):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    start_urls: Mapped[list] = mapped_column(JSONB, nullable=False)
    # A five-field cron expression (UTC), or null: runs only when asked.
    schedule: Mapped[str | None] = mapped_column(String(120))
    # When the schedule was last set (its creation, else its last change): it fires only at times
    # after this, never at one from before it existed.
    schedule_set_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    max_pages: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("100"))
    delay_s: Mapped[Decimal] = mapped_column(
        Numeric(6, 2), nullable=False, server_default=text("1")
    )
    category_id: Mapped[int | None] = mapped_column(Integer)
    # {field: CSS or XPath} for pages without structured data.
    selectors: Mapped[dict] = mapped_column(JSONB, nullable=False, server_default=text("'{}'"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))

    __table_args__ = (
        db.UniqueConstraint("name", name="uq_sources_name"),
        CheckConstraint("max_pages BETWEEN 1 AND 10000", name="max_pages_range"),
        CheckConstraint("delay_s >= 0 AND delay_s <= 3600", name="delay_s_range"),
        Index("ix_sources_created_at_id", "created_at", "id"),
    )


class Run(db.Model):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(String(10), nullable=False, server_default="queued")
    # The cron fire time that made it (null: asked for by an admin): one run per fire time.
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    requested_by: Mapped[int | None] = mapped_column(Integer)
    pages_fetched: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    items_found: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    created: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    updated: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # [{url, reason}]: pages and products that could not be taken (the first 200 of them).
    rejected: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'"))
    # How many were, all of them.
    rejected_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(String(500))
    # An admin asked a running run to stop (who, and when): its worker ends it `cancelled`
    # before its next page. A queued run asked so is `cancelled` at once.
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_requested_by: Mapped[int | None] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(_one_of("status", STATUSES), name="status_known"),
        # One run per source at a time, whoever asks at the same moment (an admin, the schedule,
        # two workers): the database says no, not a check before the insert.
        Index(
            "uq_runs_active_source_id",
            "source_id",
            unique=True,
            postgresql_where=text(_one_of("status", ACTIVE)),
        ),
        Index(
            "uq_runs_source_id_scheduled_for",
            "source_id",
            "scheduled_for",
            unique=True,
            postgresql_where=text("scheduled_for IS NOT NULL"),
        ),
        Index("ix_runs_source_id_id", "source_id", "id"),
        Index("ix_runs_status_id", "status", "id"),
        Index("ix_runs_queued", "id", postgresql_where=text("status = 'queued'")),
    )


class Page(db.Model):
    """A product page as last collected: its validators for a conditional request, the hash of
    what was extracted, the product it became, and the pages it links to."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), nullable=False
    )
    url: Mapped[str] = mapped_column(Text, nullable=False)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    # sha256 of the page's products as they would be sent (one page may hold several).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # [{barcode, product_id, name}] the page's products became (rows from before names were kept
    # have none): a product the page gives another barcode is found by it and updated.
    products: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'"))
    # [[canonical URL, URL as linked]] of the in-scope pages it links to, in page order: walked
    # on when it answers 304, as when it answered 200.
    links: Mapped[list] = mapped_column(JSONB, nullable=False, server_default=text("'[]'"))
    seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=text("now()")
    )

    __table_args__ = (db.UniqueConstraint("source_id", "url", name="uq_pages_source_id_url"),)


class PagePicture(db.Model):
    """A picture a page showed one of its products, sent to products: its hash (the same bytes
    are not sent again), its place on the page, and the picture products made of it, which is
    removed once the page no longer shows it (null: sent before the collector kept ids)."""

    __tablename__ = "page_pictures"

    page_id: Mapped[int] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    image_id: Mapped[int | None] = mapped_column(Integer)

    # Whether another page holds the picture is asked by it, under the product's pictures lock.
    __table_args__ = (Index("ix_page_pictures_image_id", "image_id"),)


class SiteTurn(db.Model):
    """A site's (an origin's, `https://shop:8443`) last request, by the database's clock: when
    it ended and when the site may next be asked after it (its end and the pause it asked for).
    Written after each request to it under its advisory lock (collecting.SharedPacer), so the
    pause survives the worker that made the request (a rollout) and binds every replica; the next
    request waits for it, and for its own pause since `ended_at` (a Crawl-delay read meanwhile),
    and, while `slowed_until` is ahead, for `slowed_s` since `ended_at`: the gap a 429 from the
    site asked for, which binds every run until then, not only the one that was answered 429."""

    __tablename__ = "site_turns"

    # A host that resolved: a few hundred bytes at most, well inside a btree entry.
    site: Mapped[str] = mapped_column(Text, primary_key=True)
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    slowed_s: Mapped[float] = mapped_column(Float, nullable=False, server_default=text("0"))
    slowed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
