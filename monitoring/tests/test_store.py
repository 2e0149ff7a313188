"""Rollups, uptime by time with maintenance excluded, and pruning, against the real schema."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from monitoring import store
from monitoring.checks import CheckResult
from monitoring.config import parse
from monitoring.notify import Notifier
from monitoring.store import DAY, HOUR, MINUTE, Observation, cover, windows
from monitoring.worker import Monitor

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


def observation(at, ok=True, latency=20.0, span=15.0, maintenance=0.0, state="up"):
    return Observation(
        target="web",
        checked_at=at,
        ok=ok,
        latency_ms=latency,
        state=state,
        state_since=at,
        failures=0 if ok else 1,
        successes=1 if ok else 0,
        first_failure_at=None,
        span_s=span,
        maintenance_s=maintenance,
    )


def rollups(session, resolution):
    return session.execute(
        text(
            "SELECT bucket_start, checks, failures, up_s, down_s, histogram "
            "FROM monitoring.rollups WHERE resolution = :r ORDER BY bucket_start"
        ),
        {"r": resolution},
    ).all()


def test_each_check_is_summed_into_its_minute_hour_and_day(session):
    store.save(
        session,
        [
            observation(T0 + timedelta(seconds=5), latency=3),
            observation(T0 + timedelta(seconds=50), latency=120),
            observation(T0 + timedelta(seconds=65), ok=False, state="up"),
        ],
    )
    minutes = rollups(session, MINUTE)
    assert [(m.bucket_start, m.checks, m.failures) for m in minutes] == [
        (T0, 2, 0),
        (T0 + timedelta(minutes=1), 1, 1),
    ]
    assert minutes[0].histogram[0] == 1 and minutes[0].histogram[7] == 1
    assert sum(minutes[1].histogram) == 0, "a failure is not a latency"
    [hour] = rollups(session, HOUR)
    [day] = rollups(session, DAY)
    for whole in (hour, day):
        assert (whole.checks, whole.failures, whole.up_s, whole.down_s) == (3, 1, 30.0, 15.0)
        assert whole.histogram == [
            a + b for a, b in zip(*[m.histogram for m in minutes], strict=True)
        ]


def test_the_buckets_cover_a_window_exactly_with_days_in_the_middle():
    start, end = T0 - timedelta(days=2, minutes=30), T0 + timedelta(minutes=7)
    plan = cover(start, end)
    assert [resolution for resolution, _, _ in plan] == [MINUTE, HOUR, DAY, HOUR, MINUTE]
    assert plan[0][1] == start and plan[-1][2] == end
    for (_, _, a_end), (_, b_start, _) in itertools.pairwise(plan):
        assert a_end == b_start


def test_uptime_is_time_not_a_count_of_samples(session):
    # Ten quick successes a second apart, then one failure that stands for the 49 s before it:
    # counted by samples it is 91 % up, by time 10 s out of 59 s.
    records = [observation(T0 + timedelta(seconds=s), span=1.0) for s in range(1, 11)]
    records.append(observation(T0 + timedelta(seconds=59), ok=False, span=49.0))
    store.save(session, records)
    window = windows(session, T0, T0 + timedelta(minutes=1))["web"]
    assert window.checks == 11
    assert window.uptime == pytest.approx(100 * 10 / 59, abs=0.001)


def test_percentiles_come_from_any_window(session):
    fast = [observation(T0 + timedelta(minutes=m), latency=8) for m in range(0, 110)]
    slow = [observation(T0 + timedelta(minutes=m), latency=900) for m in range(110, 120)]
    store.save(session, fast + slow)
    first_hour = windows(session, T0, T0 + timedelta(hours=1))["web"]
    both = windows(session, T0, T0 + timedelta(hours=2))["web"]
    assert first_hour.percentile(0.95) <= 10
    assert both.percentile(0.5) <= 10
    assert 750 < both.percentile(0.95) <= 900


def test_latency_over_a_span_under_an_hour_comes_from_its_own_minutes(session):
    # Fast all hour but for ten slow minutes from 10:30.
    store.save(
        session,
        [
            observation(T0 + timedelta(minutes=m), latency=900 if 30 <= m < 40 else 8)
            for m in range(60)
        ],
    )
    before = windows(session, T0 + timedelta(minutes=5), T0 + timedelta(minutes=25))["web"]
    across = windows(session, T0 + timedelta(minutes=25), T0 + timedelta(minutes=45))["web"]
    assert before.checks == 20 and before.percentile(0.95) <= 10
    assert across.checks == 20 and across.percentile(0.5) <= 10
    assert 750 < across.percentile(0.95) <= 900


def test_a_span_whose_minutes_are_pruned_counts_the_whole_hours_that_overlap_its_edges(session):
    # Three hours of checks, slow for the first twenty minutes; the minutes before 11:00 are
    # pruned, as they are after 8 days.
    store.save(
        session,
        [observation(T0 + timedelta(minutes=m), latency=900 if m < 20 else 8) for m in range(180)],
    )
    session.execute(
        text("DELETE FROM monitoring.rollups WHERE resolution = :r AND bucket_start < :before"),
        {"r": MINUTE, "before": T0 + timedelta(hours=1)},
    )
    session.commit()
    window = windows(session, T0 + timedelta(minutes=10), T0 + timedelta(minutes=90))["web"]
    # 10:00-11:00 whole (only hours are left there), then 11:00-11:30 to the minute.
    assert window.checks == 90
    assert 750 < window.percentile(0.95) <= 900


def monitor_for(app, raw):
    monitor = Monitor(app, parse(raw, {}), Notifier(None))
    monitor.restore()
    return monitor


def test_uptime_over_a_window_with_a_maintenance_gap_counts_only_the_time_outside_it(app, session):
    raw = {
        "targets": [
            {"name": "web", "kind": "http", "url": "http://127.0.0.1:1/", "interval": "60s"}
        ],
        "maintenance": [
            {
                "name": "upgrade",
                "start": (T0 + timedelta(minutes=20)).isoformat(),
                "end": (T0 + timedelta(minutes=40)).isoformat(),
            }
        ],
    }
    monitor = monitor_for(app, raw)
    # Down from minute 20 to minute 40 (the maintenance), and once, at minute 50, outside it.
    for minute in range(1, 61):
        ok = not (20 < minute < 40 or minute == 50)
        monitor.observe("web", CheckResult(ok, 10.0, checked_at=T0 + timedelta(minutes=minute)))
    window = windows(session, T0, T0 + timedelta(hours=1) + timedelta(minutes=1))["web"]
    assert window.maintenance_s == pytest.approx(20 * 60)
    assert window.down_s == pytest.approx(60)
    assert window.uptime == pytest.approx(100 * 39 / 40, abs=0.001)
    opened = session.execute(text("SELECT count(*) FROM monitoring.incidents")).scalar_one()
    assert opened == 0, "no incident is opened during maintenance"


def test_a_weekly_window_recurs(app, session):
    raw = {
        "targets": [
            {"name": "web", "kind": "http", "url": "http://127.0.0.1:1/", "interval": "60s"}
        ],
        "maintenance": [{"weekly": {"day": "monday", "at": "10:00", "duration": "10m"}}],
    }
    config = parse(raw, {})
    for week in range(3):
        start = T0 + timedelta(weeks=week)
        assert (
            config.maintenance_seconds(
                "web", start - timedelta(hours=1), start + timedelta(hours=1)
            )
            == 600
        )
    assert not config.in_maintenance("web", T0 + timedelta(days=1))


def test_a_gap_in_checking_counts_as_no_data(app, session):
    raw = {
        "targets": [
            {"name": "web", "kind": "http", "url": "http://127.0.0.1:1/", "interval": "15s"}
        ]
    }
    monitor = monitor_for(app, raw)
    monitor.observe("web", CheckResult(True, 10.0, checked_at=T0))
    monitor.observe("web", CheckResult(False, 10.0, checked_at=T0 + timedelta(hours=1)))
    window = windows(session, T0 - timedelta(minutes=1), T0 + timedelta(hours=2))["web"]
    assert window.up_s == 15 and window.down_s == 30


def test_prune_drops_what_is_past_its_retention_and_keeps_the_rest(session):
    now = T0 + timedelta(days=100)
    store.save(
        session,
        [
            observation(now - timedelta(days=10)),
            observation(now - timedelta(days=3)),
            observation(now - timedelta(hours=1)),
        ],
    )
    removed = store.prune(session, now)
    # Raw results live 48 hours, minutes 8 days, hours 90 days.
    assert removed["results"] == 2
    assert removed[f"rollups_{MINUTE}s"] == 1 and removed[f"rollups_{HOUR}s"] == 0
    left = session.execute(text("SELECT count(*) FROM monitoring.results")).scalar_one()
    assert left == 1
