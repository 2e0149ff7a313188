"""The monitoring schema: targets and their state, raw results, rollups, incidents, heartbeats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.kit import make_db

db = make_db("monitoring")


class TargetRow(db.Model):
    """A target the worker checks (or did: `active` is false once it leaves targets.yaml), with
    the state the worker last wrote. The dashboard lists what is here, in `position` order."""

    __tablename__ = "targets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    interval_s: Mapped[float] = mapped_column(Float)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    state: Mapped[str] = mapped_column(String(10), default="unknown", server_default="unknown")
    state_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    successes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_step: Mapped[str | None] = mapped_column(String(40))


class Result(db.Model):
    """One check, as it happened. Pruned after 48 hours; the rollups keep the history."""

    __tablename__ = "results"
    __table_args__ = (
        Index("ix_results_target_checked_at", "target", "checked_at"),
        Index("ix_results_checked_at", "checked_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    target: Mapped[str] = mapped_column(String(40))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(10))
    latency_ms: Mapped[float] = mapped_column(Float)
    step: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list | None] = mapped_column(JSONB)


class Rollup(db.Model):
    """Checks summed per minute, hour or day (`resolution` in seconds): counts, the seconds spent
    up, degraded, down or in maintenance (uptime is time, not a count of samples), and a latency
    histogram with fixed buckets (monitoring.histogram) that adds up across any window."""

    __tablename__ = "rollups"
    __table_args__ = (Index("ix_rollups_resolution_bucket_start", "resolution", "bucket_start"),)

    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    checks: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    up_s: Mapped[float] = mapped_column(Float)
    degraded_s: Mapped[float] = mapped_column(Float)
    down_s: Mapped[float] = mapped_column(Float)
    maintenance_s: Mapped[float] = mapped_column(Float)
    latency_max_ms: Mapped[float | None] = mapped_column(Float)
    histogram: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class Incident(db.Model):
    """A target was down: from its first failure to its recovery. One caused by a dependency that
    was failing too is linked to that root cause and held back (told to nobody on its own) while
    the root cause's incident is open; if it outlives that, it is announced then."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_started_at", "started_at"),
        Index("ix_incidents_target_started_at", "target", "started_at"),
        Index(
            "ix_incidents_open", "target", unique=True, postgresql_where=text("ended_at IS NULL")
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The worker names an incident before the database has seen it (it may be the one down).
    key: Mapped[str] = mapped_column(Uuid(as_uuid=False), unique=True)
    target: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_failing_step: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    root_cause_target: Mapped[str | None] = mapped_column(String(40))
    root_cause_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL")
    )
    # Announced: not held back as the consequence of another incident (the column keeps its first
    # name, as does the API's field). What the webhook and the e-mail made of it: `deliveries`.
    notified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # [{"event", "channel", "outcome": delivered | given_up | dropped, "at"}], in order.
    deliveries: Mapped[list] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )


class Heartbeat(db.Model):
    """The worker's proof of life; the dashboard warns when it is stale."""

    __tablename__ = "heartbeats"

    worker: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    beat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    pid: Mapped[int] = mapped_column(Integer)
    targets: Mapped[int] = mapped_column(Integer)
