"""Sources and runs: what the API does with them. One run per source at a time is the database's
rule (a partial unique index), so asking twice at once is a 409 for one of the two, never two
runs."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from services.kit import Conflict, NotFound, Unprocessable, precondition, utcnow
from services.kit.db import kept_after_commit, violated

from . import products
from .models import ACTIVE, Page, Run, Source, db
from .schemas import SourceSchema
from .worker import finish

# What a source gives its products besides their pages: changed, its products are sent again.
SHAPING = ("category_id", "selectors")


def last_run(source: Source) -> Run | None:
    return db.session.scalar(
        select(Run).where(Run.source_id == source.id).order_by(Run.id.desc()).limit(1)
    )


def with_last_run(source: Source) -> Source:
    source.last_run = last_run(source)
    return source


def search(args: dict):
    stmt = select(Source)
    if "name" in args:
        stmt = stmt.where(Source.name.ilike(f"%{_escaped(args['name'])}%", escape="\\"))
    if "active" in args:
        stmt = stmt.where(Source.active.is_(args["active"]))
    return stmt


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def get_source(source_id: int, *, lock: bool = False) -> Source:
    """`lock`: FOR UPDATE, read afresh, until the write's commit (its If-Match is checked on it)."""
    source = db.session.get(Source, source_id, with_for_update=lock or None, populate_existing=lock)
    if source is None:
        raise NotFound(f"Source {source_id} does not exist")
    return source


def check_category(data: dict) -> None:
    """A category products does not have is a 422 naming `category_id`, as products answers it;
    when products cannot say, the source is kept (see products.unknown_category)."""
    category_id = data.get("category_id")
    if category_id is not None and products.unknown_category(category_id):
        raise Unprocessable({"category_id": ["No such category."]})


def create_source(data: dict) -> Source:
    check_category(data)
    source = Source(**data)
    db.session.add(source)
    db.session.commit()
    return with_last_run(source)


def update_source(source: Source, data: dict) -> Source:
    """A new category or new selectors forget its pages' validators in the same transaction: the
    next run asks every page unconditionally (a 304 would keep the products as they were) and
    sends each product whose row changed, as it does for a shop without validators. A new
    schedule, or a source made active again, first fires at its next time after now
    (`schedule_set_at`), not at one it missed while it had no say."""
    precondition(with_last_run(source), SourceSchema)
    check_category(data)
    reshaped = any(key in data and data[key] != getattr(source, key) for key in SHAPING)
    rescheduled = "schedule" in data and data["schedule"] != source.schedule
    reactivated = data.get("active") is True and not source.active
    if rescheduled or reactivated:
        source.schedule_set_at = utcnow()
    source.update(data)
    if reshaped:
        db.session.execute(
            update(Page).where(Page.source_id == source.id).values(etag=None, last_modified=None)
        )
    db.session.commit()
    return with_last_run(source)


def delete_source(source_id: int) -> None:
    """Not while a run of it is queued or running (its worker would lose it mid-way). The row is
    locked first: a run being queued (`start_run`) is committed before the check reads it, and
    one asked for from now on finds no source."""
    source = _locked_source(source_id, share=False)
    precondition(with_last_run(source), SourceSchema)
    if db.session.scalar(select(Run.id).where(Run.source_id == source.id, Run.status.in_(ACTIVE))):
        raise Conflict(f"Source {source.id} has a run queued or running; wait for it to end")
    db.session.delete(source)
    db.session.commit()


def start_run(source_id: int, requested_by: int | None) -> Run:
    """A queued run, unless one is queued or running already (409: the index refuses it). The
    source stays share-locked until the run is committed, so a deletion waits and then refuses
    (a run is queued), or went first and this is a 404. The run is answered as it was stored:
    the worker may take it, end it and the source be deleted before the answer is written."""
    source = _locked_source(source_id, share=True)
    if not source.active:
        raise Conflict(f"Source {source.id} is not active")
    run = Run(source_id=source.id, requested_by=requested_by, status="queued")
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        if violated(exc) == "uq_runs_active_source_id":
            raise Conflict(f"Source {source.id} already has a run queued or running") from exc
        raise
    with kept_after_commit(db):
        db.session.commit()
    return run


def _locked_source(source_id: int, *, share: bool) -> Source:
    source = db.session.scalar(
        select(Source)
        .where(Source.id == source_id)
        .with_for_update(read=share)
        .execution_options(populate_existing=True)
    )
    if source is None:
        raise NotFound(f"Source {source_id} does not exist")
    return source


def get_run(run_id: int) -> Run:
    run = db.session.get(Run, run_id)
    if run is None:
        raise NotFound(f"Run {run_id} does not exist")
    return run


def cancel_run(run_id: int, by: int) -> Run:
    """Stop a run (`by`: the admin). Under the run's row lock, which the worker's claim of a
    queued run (FOR UPDATE SKIP LOCKED) also takes: a queued run becomes `cancelled` at once and
    is never taken (its end emitted as any run's); a running one is marked
    (`cancel_requested_at`, `cancel_requested_by`, the first ask kept) and its worker ends it
    `cancelled` before its next page, keeping what it took. A run that has ended is a 409 saying
    its status as `current_status`. The run is answered as it was stored."""
    run = db.session.get(Run, run_id, with_for_update=True, populate_existing=True)
    if run is None:
        raise NotFound(f"Run {run_id} does not exist")
    if run.status not in ACTIVE:
        raise Conflict(
            f"Run {run.id} is {run.status}: only a queued or running run can be stopped",
            extra={"current_status": run.status},
        )
    if run.cancel_requested_at is None:
        run.cancel_requested_at, run.cancel_requested_by = utcnow(), by
    if run.status == "queued":
        run.status, run.finished_at = "cancelled", run.cancel_requested_at
        run.error = f"cancelled by user {by} before it started"
        finish(run)
    with kept_after_commit(db):
        db.session.commit()
    return run


def search_runs(args: dict):
    stmt = select(Run)
    if "source_id" in args:
        stmt = stmt.where(Run.source_id == args["source_id"])
    if "status" in args:
        stmt = stmt.where(Run.status == args["status"])
    return stmt


def runs_by_status() -> dict[tuple[int, str], int]:
    rows = db.session.execute(
        select(Run.source_id, Run.status, func.count()).group_by(Run.source_id, Run.status)
    )
    return {(source_id, status): count for source_id, status, count in rows}
