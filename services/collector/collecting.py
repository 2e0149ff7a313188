"""One run of a source: walk its pages from the start URLs, extract products, send what changed
to products, record what could not be taken.

- Pages: breadth first from the start URLs, following links (pagination included) that stay
  inside a start URL's site and folder, never more than `max_pages` requests, each through the
  Fetcher (robots.txt, pacing, SSRF guard). A page robots.txt disallows, as linked or in its
  canonical spelling, is skipped unfetched; the one as linked is requested, the canonical one
  only names the page (seen, and its row).
  The queue holds no more pages than `max_pages` can still fetch, in the order they were linked.
- Bad pages never break a run: a 5xx, a timeout, a refused address, a page that claims a product
  none can be read from or that no extractor can read or whose products cannot be taken, a
  product without a price, rows products refuses, a picture whose URL cannot be asked, a link
  longer than a start URL may be: each is `rejected` {url, reason} and the run ends `partial`.
  The run `failed` only when products cannot be reached, or when no page could be fetched: none
  was answered 200 (or 304 to what was asked), each refused, failed or answered an error, 4xx
  as 5xx; its error names the first reason.
- Deduplication is the barcode products upserts by: the page's GTIN when its check digit holds;
  else a deterministic internal EAN-13 in the restricted-circulation range (first digit 2, GS1's
  "in-store numbers", never printed on goods in trade) from (source, SKU); else from (source,
  canonical URL). The same product collected again lands on the same row; a second, different
  product of one page with the same barcode (a shared SKU) is rejected, not written over the
  first. A row carries only what the page says: products keeps the fields it leaves out. A page
  whose product now has another barcode (a SKU added or corrected, a GTIN added) sends it with
  the id of the product it became before (the one of the same name, or the only product of a
  page that gave it the barcode of its URL) and the barcode it gave it then: products updates
  that product, barcode included, while it still has that barcode (else, or when the new barcode
  is another product's, the row is upserted by its barcode as any other). Never a product the
  page gave a GTIN: a GTIN is one product wherever it is shown, and a page does not take it away;
  nor one another page of the source still lands on by that barcode (a SKU's is one per source:
  a listing and the product's own page share it).
- Unchanged: a product page's ETag / Last-Modified are sent back (304: unchanged, not fetched
  again; the in-scope links it had when last taken, kept on its row, are walked on as if it had
  answered 200), and the hash of what would be sent is compared with the last one: equal,
  nothing is written. Both are kept only for a page taken whole (every product landed), and a
  source's new category or selectors forget its pages' validators (sources.update_source).
  Pictures already sent (by their hash, per product) are not sent again: the page's row is
  stored before its pictures are sent and each picture (its hash, the id products gave it) as
  soon as products took it, so a run that ends mid-page (products down, the worker killed) does
  not send it twice.
- Pictures follow the page: those the collector sent that the page no longer shows, or that now
  come after one that changed, are removed from products before the page's next ones are sent,
  so the product holds the page's pictures in the page's order (products orders them by when
  they came) and never fills up with old ones. Only pictures the collector sent go (products
  never lets it remove a person's), none while one of the page's pictures cannot be read, and
  none another page still holds (two pages may land on one product, which keeps one picture of
  the same bytes): that page only forgets it. A page holds only pictures of the products it
  lands on now (its records of others go when it is taken), and only while its shop still has
  it (seen since its source's last run that walked began); once a picture is removed, the
  records of pages that no longer hold it go, and such a page shown again sends it again.
  A product's pictures change under its advisory lock
  (17019, product id), held from the check or the sending to the commit of what it changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app
from PIL import Image
from sqlalchemy import Float, case, delete, exists, func, text, update
from sqlalchemy.dialects.postgresql import insert

from services.kit import Unavailable, utcnow
from services.kit.leader import wait_xact_lock

from . import products
from .extract import Item, Unreadable, canonical, canonical_link, extract, links
from .extract import looks_like_a_product_page as claims_a_product
from .fetching import (
    SLOWED_FOR_S,
    Fetcher,
    FetchFailed,
    Pacer,
    Refused,
    Settings,
    Stopped,
    Turn,
    user_agent,
    wait_out,
)
from .models import MAX_URL_LENGTH, Page, PagePicture, Run, SiteTurn, Source, db

log = logging.getLogger("feira.collector")

# Session advisory locks of the collector: 17017 a running run (worker.py), 17018 a site's turn;
# and a transaction's: 17019 a product's pictures.
SITE_LOCK_CLASS = 17018
PICTURES_LOCK_CLASS = 17019
# How often a turn asks again for a site whose lock another process holds for a request.
BUSY_SITE_POLL_S = 0.1
# Runs that walked their source: a page one did not reach is gone from the shop.
WALKED = ("succeeded", "partial")
PICTURE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# products' own limit (its images.MAX_PIXELS): a bigger picture is refused before it is decoded.
MAX_PICTURE_PIXELS = 40_000_000
# The reasons a run keeps (the count is of them all).
MAX_REJECTED = 200
NOT_A_PICTURE = "picture: not a JPEG, PNG or WebP picture of at most 40 megapixels"


def internal_barcode(source_id: int, kind: str, value: str) -> str:
    """An EAN-13 starting with 2 (restricted circulation), the same for the same input."""
    digest = hashlib.sha256(f"{source_id}:{kind}:{value}".encode()).hexdigest()
    twelve = "2" + str(int(digest, 16) % 10**11).zfill(11)
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(twelve))
    return twelve + str((10 - total % 10) % 10)


def barcode_of(item: Item, source_id: int, shared_page: bool = False) -> str:
    """The GTIN; else from (source, SKU); else from (source, canonical URL), and the product's
    name too when the page holds several products (a listing's ItemList)."""
    if item.gtin:
        return item.gtin
    if item.sku:
        return internal_barcode(source_id, "sku", item.sku)
    return url_barcode(source_id, item.url, item.name if shared_page else None)


def url_barcode(source_id: int, url: str, name: str | None = None) -> str:
    """The barcode of a product known by its page's canonical URL (and its name, on a page of
    several)."""
    where = canonical(url)
    return internal_barcode(source_id, "url", f"{where}#{name}" if name is not None else where)


def in_store(barcode: str) -> bool:
    """A restricted-circulation EAN-13 (first digit 2): the collector's own from a SKU or URL, or
    a shop's in-store number; never a GTIN printed on goods in trade."""
    return barcode.startswith("2")


def earlier_landings(landed: list[dict], rows: list[dict], page_barcode: str) -> dict[int, dict]:
    """What each row whose barcode the page did not give before (a SKU the shop added or
    corrected, a GTIN added) became before, by the row's index: the earlier product of the same
    name the page no longer gives by its barcode or, on a page of one product then and now, the
    product it gave the barcode of its URL (`page_barcode`: the page was all it was known by). Not
    one it gave a SKU's barcode under another name (a URL reused for another product), nor one
    it gave a GTIN (one product wherever shown, by other pages, shops or a person: a page that
    drops or changes it does not take it away)."""
    barcodes = {row["barcode"] for row in rows}
    before = {mapping["barcode"] for mapping in landed}
    gone = [
        mapping
        for mapping in landed
        if mapping["barcode"] not in barcodes and in_store(mapping["barcode"])
    ]
    became = {}
    for index, row in enumerate(rows):
        if row["barcode"] in before:
            continue
        same = next((mapping for mapping in gone if mapping.get("name") == row["name"]), None)
        if same is not None:
            became[index] = same
            gone.remove(same)
    if (
        len(landed) == len(rows) == 1
        and gone
        and gone[0]["barcode"] == page_barcode
        and rows[0]["barcode"] not in before
    ):
        became[0] = gone[0]
    return became


class Shown(NamedTuple):
    """A picture the page shows, downloaded: `kind` is None for one sent before (not decoded)."""

    url: str
    sha256: str
    body: bytes
    kind: str | None


class SharedPacer(Pacer):
    """Pacing across every worker process (replicas included), kept in the database: a site's
    last request (site_turns: when it ended and when the site may next be asked after it, by the
    database's clock, the one all processes share), written after each request to it while
    holding its advisory lock (17018, hashtext(site)) on a connection of its own. The lock is
    held only from the check of the pause to the write of the next: the pause is waited holding
    nothing, so a stop during it (Stopped) gives the run back at once, and whichever worker asks
    the site next still waits for what is left of it. Nor does a waiter hold it: each sleeps
    once, to the pause's end, and polls only while another's request is under way (its deadline
    bounds that). A 429 writes the site's slowed gap in the same statement as its pause (never
    less than the one in force, which the turn carried to the fetcher), until SLOWED_FOR_S after
    that request ended."""

    @contextmanager
    def turn(self, site: str, delay: float, stopping: threading.Event) -> Iterator[Turn]:
        key = {"c": SITE_LOCK_CLASS, "site": site}
        with db.engine.connect() as holder:
            wait_out(0, stopping)
            while True:
                left, slowed = self.claim(holder, key, delay)
                if left <= 0:
                    break
                wait_out(left, stopping)
            held = Turn(pause=delay, slowed=slowed)
            try:
                yield held
            finally:
                self.write(holder, site, held)
                # Committed before the lock goes: the next holder must read it.
                holder.commit()
                holder.execute(text("SELECT pg_advisory_unlock(:c, hashtext(:site))"), key)
                holder.commit()

    @staticmethod
    def write(holder, site: str, held: Turn) -> None:
        """The turn's end, its pause, and after a 429 the site's slowed gap, in one statement."""
        # From when the request ended, by the database's clock: one wait, whoever asks. One
        # reading for the statement: clock_timestamp() is read again at each use (ended_at and
        # not_before came a microsecond apart).
        ended = func.statement_timestamp()
        slowed_until = ended + timedelta(seconds=SLOWED_FOR_S) if held.answered_429 else None
        after = insert(SiteTurn).values(
            site=site,
            ended_at=ended,
            not_before=ended + timedelta(seconds=held.pause),
            slowed_s=held.slowed if held.answered_429 else 0.0,
            slowed_until=slowed_until,
        )
        written = {"ended_at": after.excluded.ended_at, "not_before": after.excluded.not_before}
        if held.answered_429:
            # Never less than the gap in force: the turn read it under this lock (`claim`), and
            # the fetcher's slowing down starts from it.
            written["slowed_s"] = after.excluded.slowed_s
            written["slowed_until"] = after.excluded.slowed_until
        holder.execute(after.on_conflict_do_update(index_elements=[SiteTurn.site], set_=written))

    @staticmethod
    def claim(holder, key: dict, delay: float) -> tuple[float, float]:
        """(0, the site's slowed gap or 0) once the site's lock is taken on `holder` and its pause
        is over (the lock is then held); else (the seconds to wait before asking again, 0),
        holding nothing. The pause ends at not_before, or `delay` (the coming request's own) or
        the slowed gap (while slowed_until is ahead) after the last request ended, whichever is
        later. It is read after the lock is taken, in a statement of its own: a snapshot taken
        before could miss what the last holder wrote."""
        taken = holder.execute(text("SELECT pg_try_advisory_lock(:c, hashtext(:site))"), key)
        if not taken.scalar():
            holder.commit()
            return BUSY_SITE_POLL_S, 0.0
        holder.commit()
        now = func.statement_timestamp()
        slowed = case((SiteTurn.slowed_until > now, SiteTurn.slowed_s), else_=0.0)
        until = func.greatest(
            SiteTurn.not_before,
            SiteTurn.ended_at + timedelta(seconds=delay),
            SiteTurn.ended_at + func.make_interval(0, 0, 0, 0, 0, 0, slowed),
        )
        row = holder.execute(
            db.select(func.extract("epoch", until - now).cast(Float), slowed).where(
                SiteTurn.site == key["site"]
            )
        ).one_or_none()
        holder.commit()
        left, gap = row if row is not None else (0.0, 0.0)
        if left <= 0:
            return 0.0, gap
        holder.execute(text("SELECT pg_advisory_unlock(:c, hashtext(:site))"), key)
        holder.commit()
        return left, 0.0


SHARED_PACER = SharedPacer()


def fetch_settings() -> Settings:
    config = current_app.config
    return Settings(
        user_agent=user_agent(config["COLLECTOR_CONTACT_URL"]),
        allowed_private_hosts=frozenset(config["COLLECTOR_ALLOWED_PRIVATE_HOSTS"]),
        connect_timeout=config["COLLECTOR_CONNECT_TIMEOUT_S"],
        read_timeout=config["COLLECTOR_READ_TIMEOUT_S"],
        total_timeout=config["COLLECTOR_TOTAL_TIMEOUT_S"],
        max_bytes=config["COLLECTOR_MAX_PAGE_BYTES"],
        max_crawl_delay=config["COLLECTOR_MAX_CRAWL_DELAY_S"],
    )


def scope_of(url: str) -> str:
    """A start URL's site and folder: `http://shop/loja/?p=1` → `http://shop/loja/`."""
    parts = urlsplit(url)
    folder = parts.path.rsplit("/", 1)[0] + "/"
    return f"{parts.scheme}://{parts.netloc}{folder}".lower()


class Link(NamedTuple):
    """A page to ask: its URL as linked (what is requested, and what robots.txt judges) and its
    canonical spelling (one per page: what the walk has seen and the page's row is known by)."""

    url: str
    key: str


def too_long(link: Link) -> bool:
    """Longer than a start URL may be, as linked or canonical (where `ç` is six characters): its
    page's row could not be stored, and would fail the run."""
    return max(len(link.url), len(link.key.encode())) > MAX_URL_LENGTH


@dataclass
class Tally:
    pages_fetched: int = 0
    items_found: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_count: int = 0
    # A page the shop answered as one (200, or 304 to what was asked): a run without one walked
    # nothing, whatever it asked.
    answered_any: bool = False

    def reject(self, url: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTED:
            self.rejected.append({"url": storable(url[:2000]), "reason": storable(reason[:300])})

    def write_to(self, run: Run) -> None:
        run.pages_fetched, run.items_found = self.pages_fetched, self.items_found
        run.created, run.updated, run.unchanged = self.created, self.updated, self.unchanged
        run.rejected, run.rejected_count = list(self.rejected), self.rejected_count


def storable(text: str) -> str:
    """Text JSONB stores: a reason may quote the page (a currency, a name), and a NUL or a lone
    surrogate in it would fail the run's write."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode()


class Cancelled(Exception):
    """An admin asked the run to stop: it ends `cancelled` before its next page."""


def stopped_by(run: Run) -> str:
    """A stopped run's error: who asked it to stop."""
    return f"stopped by user {run.cancel_requested_by}"


class Collection:
    def __init__(self, source: Source, run: Run, stopping: threading.Event | None = None):
        self.source = source
        self.run = run
        self.stopping = stopping or threading.Event()
        self.tally = Tally()
        self.fetcher = Fetcher(fetch_settings(), float(source.delay_s), SHARED_PACER, self.stopping)
        self.scopes = [scope_of(url) for url in source.start_urls]
        self.config = current_app.config

    def in_scope(self, url: str) -> bool:
        return any(url.lower().startswith(scope) for scope in self.scopes)

    def walk(self) -> None:
        self.queue: deque[Link] = deque()
        self.seen: set[str] = set()
        self.enqueue(Link(url, canonical(url)) for url in self.source.start_urls)
        while self.queue and self.tally.pages_fetched < self.source.max_pages:
            if self.stopping.is_set():
                raise Stopped
            if self.cancel_requested():
                raise Cancelled
            found = (Link(url, key) for key, url in self.page(self.queue.popleft()).items())
            self.enqueue(link for link in found if self.worth_asking(link))
            self.tally.write_to(self.run)
            db.session.commit()

    def cancel_requested(self) -> bool:
        """Whether an admin asked the run to stop (sources.cancel_run), read afresh before each
        page: the API sets it in its own transaction, and never clears it."""
        asked = db.select(Run.cancel_requested_at).where(Run.id == self.run.id)
        return db.session.scalar(asked) is not None

    def enqueue(self, links: Iterable[Link]) -> None:
        """Queue the pages not seen yet, in their order, until the queue holds as many as
        max_pages can still fetch: a listing of 100,000 links holds no more than will be asked."""
        for link in links:
            if len(self.queue) >= self.source.max_pages - self.tally.pages_fetched:
                return
            if link.key in self.seen:
                continue
            self.seen.add(link.key)
            if too_long(link):
                self.tally.reject(link.url, f"a URL longer than {MAX_URL_LENGTH} characters")
            else:
                self.queue.append(link)

    def worth_asking(self, link: Link) -> bool:
        """Inside a start URL's site and folder, and not a page robots.txt disallows (such a link
        would take a place in the queue that an allowed page then never gets)."""
        return self.in_scope(link.key) and (
            self.robots_allow(link) or self.fetcher.robots_unreadable(link.url)
        )

    def robots_allow(self, link: Link) -> bool:
        """robots.txt lets us ask the page as linked, what is requested, and as its canonical
        spelling: w3lib sorts the query, so `/busca?q=x&pagina=2` becomes `/busca?pagina=2&q=x`,
        which `Disallow: /busca?q=` does not match, and resolves `..`, which the rule for
        `/admin/` would not see in `/loja/../admin/`."""
        return self.fetcher.allowed(link.url) and self.fetcher.allowed(link.key)

    def page(self, link: Link) -> dict[str, str]:
        """Fetch and take one page; the links it offers (see extract.links)."""
        url = link.url
        known = db.session.scalar(
            db.select(Page).where(Page.source_id == self.source.id, Page.url == link.key)
        )
        try:
            self.fetcher.check(url)
            if not self.robots_allow(link):
                if self.fetcher.robots_unreadable(url):
                    self.tally.reject(url, "the site's robots.txt could not be read")
                return {}
            answer = self.fetcher.get(
                url,
                etag=known.etag if known else None,
                last_modified=known.last_modified if known else None,
            )
        except Refused as refused:
            self.tally.reject(url, f"refused: {refused}")
            return {}
        except FetchFailed as failed:
            self.tally.pages_fetched += 1
            self.tally.reject(url, str(failed))
            return {}
        self.tally.pages_fetched += 1
        if answer.status == 304 and known:
            self.tally.answered_any = True
            # Still shown: its pictures are still held (held_elsewhere).
            known.seen_at = utcnow()
            # Unchanged spares its products, not the walk: the pages it linked to still are.
            self.tally.unchanged += max(len(known.products), 1)
            self.tally.items_found += max(len(known.products), 1)
            return dict(known.links)
        if answer.status != 200:
            self.tally.reject(url, f"HTTP {answer.status}")
            return {}
        self.tally.answered_any = True
        if "html" not in answer.headers.get("content-type", "text/html"):
            return {}
        document = answer.text
        found_links = links(document, answer.url)
        try:
            items = extract(document, answer.url, self.source.selectors)
        except Unreadable as unreadable:
            self.tally.reject(url, str(unreadable))
            return found_links
        except Exception as broken:  # what no extractor foresaw breaks this page, not the run
            log.warning("%s unreadable", url, exc_info=True)
            self.tally.reject(url, f"the page could not be read ({type(broken).__name__})")
            return found_links
        if not items:
            if claims_a_product(document):
                self.tally.reject(url, "no product could be read from the page")
            return found_links
        self.tally.items_found += len(items)
        try:
            self.take(link, canonical_link(document, answer.url), items, answer, known, found_links)
        except (Unavailable, Stopped):  # products down, or the worker stopping at a picture
            raise
        except Exception as broken:  # what one page holds breaks this page, not every run
            db.session.rollback()
            log.warning("%s could not be taken", url, exc_info=True)
            self.tally.reject(url, f"the page could not be taken ({type(broken).__name__})")
        return found_links

    def row(self, item: Item, shared_page: bool) -> dict:
        """What products is sent of the item: only what the page said (a product's description
        is not emptied because this page has none), and the source's category if it has one."""
        row = {
            "name": item.name,
            "price": str(item.price),
            "barcode": barcode_of(item, self.source.id, shared_page=shared_page),
        }
        if item.description:
            row["description"] = item.description
        if self.source.category_id is not None:
            row["category_id"] = self.source.category_id
        return row

    def take(
        self,
        link: Link,
        canonical_url: str,
        items: list[Item],
        answer,
        known,
        found_links: dict[str, str],
    ) -> None:
        url = link.url
        priced = []
        for item in items:
            if item.problem:
                self.tally.reject(url, item.problem)
            else:
                item.url = canonical_url
                priced.append(item)
        good, rows = [], []
        for item in priced:
            row = self.row(item, shared_page=len(priced) > 1)
            same = next((other for other in rows if other["barcode"] == row["barcode"]), None)
            if same is None:
                good.append(item)
                rows.append(row)
            elif same != row:
                reason = f"{item.name}: the SKU or GTIN of another product of the page"
                self.tally.reject(url, reason)
        if not good:
            return
        content_hash = hashlib.sha256(
            json.dumps([rows, [item.images for item in good]], sort_keys=True).encode()
        ).hexdigest()
        page = known or Page(source_id=self.source.id, url=link.key, products=[])
        page.seen_at = utcnow()
        page.links = [[key, found] for key, found in found_links.items() if self.in_scope(key)]
        if known is not None and known.content_hash == content_hash:
            keep_validators(page, answer.headers)
            self.tally.unchanged += len(good)
            db.session.commit()
            return
        page_barcode = url_barcode(self.source.id, canonical_url)
        became = {
            index: before
            for index, before in earlier_landings(
                known.products if known else [], rows, page_barcode
            ).items()
            if not mapped_elsewhere(page, before["barcode"])
        }
        result = products.upsert(
            [
                {**row, "id": became[index]["product_id"], "was": became[index]["barcode"]}
                if index in became
                else row
                for index, row in enumerate(rows)
            ]
        )
        landed, still = [], []
        rejected_before = self.tally.rejected_count
        for index, item in enumerate(good):
            if index in result.rejected:
                self.tally.reject(url, f"products refused it: {result.rejected[index]}")
                if index in became:  # remembered still: the next run finds that product again
                    still.append(became[index])
                continue
            product_id, created = result.products[index]
            if created:
                self.tally.created += 1
            else:
                self.tally.updated += 1
            mapping = {"barcode": rows[index]["barcode"], "product_id": product_id}
            landed.append((item, {**mapping, "name": item.name}))
        page.products = [mapping for _, mapping in landed] + still
        if known is not None:
            # What it sent a product it no longer lands on is no longer its to hold: kept, the
            # record would keep that picture on the product for ever (held_elsewhere).
            db.session.execute(
                delete(PagePicture).where(
                    PagePicture.page_id == page.id,
                    PagePicture.product_id.not_in(
                        [mapping["product_id"] for mapping in page.products]
                    ),
                )
            )
        # Stored before its pictures are sent, and not as taken whole: a run that ends meanwhile
        # (products down, the worker killed) leaves the page to be asked unconditionally next
        # time, with the hash of each picture products took. It stays so when a product or a
        # picture was refused: a 304 would call it unchanged, and it would never land once the
        # reason is gone.
        page.content_hash = page.etag = page.last_modified = None
        db.session.add(page)
        db.session.commit()
        for item, mapping in landed:
            self.pictures(page, mapping["product_id"], item)
        if self.tally.rejected_count == rejected_before:
            page.content_hash = content_hash
            keep_validators(page, answer.headers)
            db.session.commit()

    def pictures(self, page: Page, product_id: int, item: Item) -> None:
        """Bring the product's pictures from this page in line with the page. When every one of
        the page's pictures could be read, those sent before from the first one that differs
        from the page's on are removed (the page no longer shows them, or they must come again
        after a new one: products orders pictures by when they came); then the page's pictures
        not held are sent, in its order. Each is stored, with the id products gave it, as soon
        as products took it, and forgotten once products removed it."""
        held = db.session.scalars(
            db.select(PagePicture)
            .where(PagePicture.page_id == page.id, PagePicture.product_id == product_id)
            .order_by(PagePicture.position)
        ).all()
        shown, whole = self.download(item, {picture.sha256 for picture in held})
        if whole:
            kept = 0
            while kept < min(len(held), len(shown)) and held[kept].sha256 == shown[kept].sha256:
                kept += 1
            for picture in held[kept:]:
                if not let_go(picture):
                    reason = "picture: products would not remove one the page no longer shows"
                    self.tally.reject(item.url, reason)
                    return
            held, shown = held[:kept], shown[kept:]
        else:
            # One that could not be read may still be on the page: nothing goes, new ones come.
            sent = {picture.sha256 for picture in held}
            shown = [picture for picture in shown if picture.sha256 not in sent]
        position = held[-1].position + 1 if held else 0
        for picture in shown:
            if self.stopping.is_set():
                # Each picture sent is stored as products took it: the run, retaken, sends the
                # rest. One call at most is left under way when the grace period is counted.
                raise Stopped
            kind = picture.kind or picture_format(picture.body)
            if kind is None:
                self.tally.reject(picture.url, NOT_A_PICTURE)
                continue
            name = f"{picture.sha256[:16]}.{kind.lower()}"
            # Locked until it is stored: another page's removal waits, or sees this page hold it.
            lock_pictures(product_id)
            image_id = products.add_image(product_id, name, picture.body, PICTURE_FORMATS[kind])
            if image_id is None:
                db.session.commit()
                self.tally.reject(picture.url, "picture: products refused it")
                continue
            db.session.add(
                PagePicture(
                    page_id=page.id,
                    product_id=product_id,
                    sha256=picture.sha256,
                    position=position,
                    image_id=image_id,
                )
            )
            db.session.commit()
            position += 1

    def download(self, item: Item, sent: set[str]) -> tuple[list[Shown], bool]:
        """The item's pictures, each once, in the page's order, and whether every one could be
        read."""
        shown: list[Shown] = []
        whole = True
        for image_url in item.images[: self.config["COLLECTOR_MAX_IMAGES"]]:
            picture = self.picture(image_url, sent)
            if picture is None:
                whole = False
            elif all(other.sha256 != picture.sha256 for other in shown):
                shown.append(picture)
        return shown, whole

    def picture(self, image_url: str, sent: set[str]) -> Shown | None:
        """The picture, downloaded size-limited; None, rejected with the reason, when it could
        not be, or when one not `sent` before is not a picture products takes (decoded whole)."""
        try:
            answer = self.fetcher.get(image_url, max_bytes=self.config["COLLECTOR_IMAGE_MAX_BYTES"])
        except (Refused, FetchFailed) as failed:
            self.tally.reject(image_url, f"picture: {failed}")
            return None
        except ValueError as broken:  # a URL robots.txt's parser or requests cannot spell
            reason = f"picture: a URL that cannot be asked ({type(broken).__name__})"
            self.tally.reject(image_url, reason)
            return None
        if answer.status != 200:
            self.tally.reject(image_url, f"picture: HTTP {answer.status}")
            return None
        digest = hashlib.sha256(answer.body).hexdigest()
        if digest in sent:
            return Shown(image_url, digest, answer.body, None)
        kind = picture_format(answer.body)
        if kind is None:
            self.tally.reject(image_url, NOT_A_PICTURE)
            return None
        return Shown(image_url, digest, answer.body, kind)


def lock_pictures(product_id: int) -> None:
    """The product's pictures are this transaction's to change until it ends."""
    wait_xact_lock(db.session, PICTURES_LOCK_CLASS, product_id, shared=False)


def let_go(picture: PagePicture) -> bool:
    """Forget a picture the page sent, removing it from products unless another page (of any
    source) holds the same one, which products keeps once per product: that page still shows
    it. False, with nothing changed, when products would not remove it. Removed, the records
    of pages that no longer hold it go too, and those pages are asked whole again: one shown
    again is sent again."""
    lock_pictures(picture.product_id)
    if picture.image_id is not None and not held_elsewhere(picture):
        if not products.remove_image(picture.product_id, picture.image_id):
            db.session.rollback()
            return False
        others = db.select(PagePicture.page_id).where(
            PagePicture.image_id == picture.image_id, PagePicture.page_id != picture.page_id
        )
        db.session.execute(
            update(Page)
            .where(Page.id.in_(others))
            .values(content_hash=None, etag=None, last_modified=None)
        )
        db.session.execute(
            delete(PagePicture).where(
                PagePicture.image_id == picture.image_id, PagePicture.page_id != picture.page_id
            )
        )
    db.session.delete(picture)
    db.session.commit()
    return True


def held_elsewhere(picture: PagePicture) -> bool:
    """Whether another page holds the picture products made of these bytes for the product: one
    that still lands on the product and was seen since its source's last walk (a run that
    succeeded or was partial) began. A page that shows another product now, or that its shop no
    longer has, holds nothing; a failed run may have stopped before it reached the page."""
    last_walk = (
        db.select(func.max(Run.started_at))
        .where(Run.source_id == Page.source_id, Run.status.in_(WALKED))
        .scalar_subquery()
    )
    return db.session.scalar(
        db.select(
            exists().where(
                PagePicture.image_id == picture.image_id,
                PagePicture.page_id != picture.page_id,
                Page.id == PagePicture.page_id,
                Page.products.contains([{"product_id": picture.product_id}]),
                Page.seen_at >= func.coalesce(last_walk, Page.seen_at),
            )
        )
    )


def mapped_elsewhere(page: Page, barcode: str) -> bool:
    """Whether another page of the source lands on a product by the barcode: a SKU's is one per
    source, so a listing and the product's own page share it, and the page that no longer gives
    it does not take it from the product the other still lands on."""
    return db.session.scalar(
        db.select(
            exists().where(
                Page.source_id == page.source_id,
                Page.id != page.id,
                Page.products.contains([{"barcode": barcode}]),
            )
        )
    )


def keep_validators(page: Page, headers: dict[str, str]) -> None:
    """The answer's ETag and Last-Modified, sent back next time (a 304 is then `unchanged`)."""
    page.etag = fitting(headers.get("etag"), Page.etag)
    page.last_modified = fitting(headers.get("last-modified"), Page.last_modified)


def fitting(value: str | None, column) -> str | None:
    """A validator (ETag, Last-Modified) when it fits its column; a longer one is not kept, and
    the page is simply asked again unconditionally next time."""
    return value if value and len(value) <= column.type.length else None


def picture_format(content: bytes) -> str | None:
    """JPEG, PNG or WEBP when Pillow decodes the whole picture; None otherwise: a bomb, or more
    pixels than products takes (read from the header, before anything is decoded)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content), formats=list(PICTURE_FORMATS)) as picture:
                width, height = picture.size
                if width * height > MAX_PICTURE_PIXELS:
                    return None
                # A phone's JPEG holding more frames (MPO) is a JPEG to products too.
                kind = "JPEG" if picture.format == "MPO" else picture.format
                picture.load()
    except Exception:  # Pillow raises many kinds for a bad picture
        return None
    return kind if kind in PICTURE_FORMATS else None


def unfetched(tally: Tally) -> str:
    """Why a run that got no page failed: the first page's reason (a 404 start URL, a refused
    address, a timeout), with its URL cut to leave the reason whole within the error's 500. The
    URL goes without its query: the error reaches the public status page (the collector's
    sources' health names it), and a shop's query may hold a key."""
    if not tally.rejected:
        return "no page could be fetched"
    first = tally.rejected[0]
    url = urlsplit(first["url"])._replace(query="", fragment="").geturl()
    url = url if len(url) <= 150 else url[:149] + "…"
    return f"no page could be fetched: {first['reason']} ({url})"


def collect(run: Run, stopping: threading.Event | None = None) -> None:
    """Carry out a running run to its end (status, counts, finished_at); or, when `stopping` is
    set before its last request (during a pause too), give it back to the queue as it was before
    it was taken. A run an admin asked to stop ends `cancelled` before its next page, with the
    counts of what it took; one that reached its end first ends as it would have."""
    run_id = run.id
    source = db.session.get(Source, run.source_id)
    collection = Collection(source, run, stopping)
    try:
        collection.walk()
    except Stopped:
        # Read under the row's lock: a stop asked meanwhile (sources.cancel_run, which locks it
        # too) is seen here, not overwritten by `queued`, which another worker would run.
        run = db.session.get(Run, run_id, with_for_update=True, populate_existing=True)
        if run.cancel_requested_at is None:
            # Queued, not ended: another worker walks it again from its start URLs (what this
            # one took is kept, and is unchanged then), no event is emitted and no admin is
            # mailed for a deploy. Ended `partial` it would count as a walk of the whole source,
            # and the pages it had not reached yet would look gone from the shop
            # (held_elsewhere).
            Tally().write_to(run)
            run.status, run.started_at = "queued", None
            return
        collection.tally.write_to(run)
        run.status, run.error = "cancelled", stopped_by(run)
    except Cancelled:
        # Not a walk of the whole source either (held_elsewhere counts only WALKED runs): what
        # it created and updated stays, and so do its counts. Read afresh: the loaded run may
        # predate the ask (no page committed since), and its error names who asked.
        run = db.session.get(Run, run_id, with_for_update=True, populate_existing=True)
        collection.tally.write_to(run)
        run.status, run.error = "cancelled", stopped_by(run)
    except Unavailable as down:
        db.session.rollback()
        run = db.session.get(Run, run_id)
        collection.tally.write_to(run)
        run.status, run.error = "failed", str(down.detail or down)[:500]
    else:
        tally = collection.tally
        if not tally.answered_any:
            run.status, run.error = "failed", unfetched(tally)
        elif tally.rejected_count:
            run.status = "partial"
            run.error = (
                "1 page or product rejected"
                if tally.rejected_count == 1
                else f"{tally.rejected_count} pages or products rejected"
            )
        else:
            run.status = "succeeded"
    finally:
        collection.fetcher.close()
    run.finished_at = utcnow()
