"""Runs end to end: the worker's code against the fixture shops over real HTTP and the real
products service (its internal door): products created with prices and pictures, unchanged on a
second run, the disallowed section never fetched, bad pages rejected with their reason, the
event that tells notifications, metrics, scheduling and a dead worker's run."""

import hashlib
import io
import itertools
import json
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from PIL import Image
from sqlalchemy import select, text

from services.collector import collecting, worker
from services.collector.collecting import Collection
from services.collector.models import Page, PagePicture, Run, Source, db, outbox
from services.collector.watch import health_of
from services.collector.worker import (
    drain,
    latest_fire_time,
    recover,
    schedule_due,
    take_and_run,
)
from services.kit import service
from services.kit.testing import LOSE, losing_the_first_answer, proxy_before, rewired
from services.products.models import Product
from services.products.models import db as products_db

from .test_fetching import resolving

SELECTORS = {
    "name": "h1.titulo",
    "price": "span.preco",
    "description": "div.descricao",
    "image": "img.foto::attr(src)",
}


def add_source(client, admin, shops, path, **fields):
    body = {"name": path, "start_urls": [shops.url + path], "delay_s": "0", **fields}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 201, response.json
    return response.json["id"]


def run_now(app, client, admin, source_id):
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin)
    assert queued.status_code == 202, queued.json
    with app.app_context():
        assert take_and_run()
    return client.get(f"/collector/runs/{queued.json['id']}", headers=admin).json


def catalogue(products_app):
    with products_app.app_context():
        rows = products_db.session.scalars(select(Product).order_by(Product.name)).all()
        pictures = {
            product_id: count
            for product_id, count in products_db.session.execute(
                text("SELECT product_id, count(*) FROM products.product_images GROUP BY 1")
            )
        }
        return {p.name: (p.price, p.barcode, pictures.get(p.id, 0)) for p in rows}


def test_a_json_ld_shop_is_collected_with_prices_and_pictures(
    app, client, admin, shops, products_app
):
    source_id = add_source(client, admin, shops, "/loja-json/")
    run = run_now(app, client, admin, source_id)
    assert run["status"] == "succeeded", run
    assert (run["created"], run["updated"], run["unchanged"], run["rejected"]) == (10, 0, 0, [])
    assert run["items_found"] == 10
    assert run["pages_fetched"] == 13  # 3 listing pages and 10 products
    assert run["started_at"] and run["finished_at"]
    found = catalogue(products_app)
    assert found["Panela de Ferro Fundido 24 cm"][0] == Decimal("1299.90")
    assert found["Jogo de Facas Inox 5 peças"][0] == Decimal("249.00")  # AggregateOffer
    assert found["Chaleira Esmaltada Vermelha"][0] == Decimal("189.50")  # repaired JSON-LD
    assert all(pictures == 1 for _, _, pictures in found.values())
    # The valid GTIN is the barcode; the others are internal EAN-13s starting with 2.
    barcodes = {name: barcode for name, (_, barcode, _) in found.items()}
    assert barcodes["Cafeteira Italiana Aurora 6 xícaras"].startswith("789")
    assert barcodes["Tábua de Corte em Bambu"].startswith("2")  # its GTIN's check digit is wrong


def test_collected_rows_whose_answer_was_lost_are_sent_again_and_each_product_stored_once(
    app, client, admin, shops, products, products_app
):
    source_id = add_source(client, admin, shops, "/loja-json/")
    # The suite's clients never retry (HTTP_RETRIES=0); the stack's do (2), as here.
    with (
        losing_the_first_answer(products.base_url) as (proxy, seen),
        rewired(app, SERVICE_URLS={"products": proxy}, HTTP_RETRIES=1),
    ):
        run = run_now(app, client, admin, source_id)
    assert run["status"] == "succeeded", run
    # Products stored the first page's rows, the answer was lost, and the same rows came again.
    assert seen[:2] == ["/products/collected 200"] * 2
    found = catalogue(products_app)
    assert len(found) == 10
    assert all(pictures == 1 for _, _, pictures in found.values())
    # The resent rows were found by their barcodes: the run counts that product as updated.
    assert (run["created"], run["updated"]) == (9, 1)


def test_the_disallowed_section_is_never_fetched(app, client, admin, shops):
    run_now(app, client, admin, add_source(client, admin, shops, "/loja-json/"))
    assert shops.requests("/loja-json/ofertas/") == []
    assert shops.requests("/admin/") == []
    assert shops.requests("/loja-json/produto/")  # while the rest was


def test_a_second_run_finds_everything_unchanged_and_writes_nothing(
    app, client, admin, shops, products_app
):
    source_id = add_source(client, admin, shops, "/loja-json/")
    run_now(app, client, admin, source_id)
    before = catalogue(products_app)
    shops.forget()
    again = run_now(app, client, admin, source_id)
    assert again["status"] == "succeeded"
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 10)
    # Product pages were asked conditionally and answered 304.
    asked = shops.requests("/loja-json/produto/")
    assert asked and all(entry["if_none_match"] for entry in asked)
    assert shops.requests("/imagens/") == []
    assert catalogue(products_app) == before


def test_a_microdata_shop_without_validators_is_unchanged_by_its_content_hash(
    app, client, admin, shops
):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    first = run_now(app, client, admin, source_id)
    assert (first["status"], first["created"]) == ("succeeded", 4)
    again = run_now(app, client, admin, source_id)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)


def test_a_shop_without_structured_data_is_read_with_the_sources_selectors(
    app, client, admin, shops, products_app
):
    source_id = add_source(client, admin, shops, "/loja-simples/", selectors=SELECTORS)
    run = run_now(app, client, admin, source_id)
    assert (run["status"], run["created"]) == ("succeeded", 4), run
    found = catalogue(products_app)
    assert found["Furadeira de Impacto 650 W"][0] == Decimal("1349.00")
    assert found["Alicate Universal 8 polegadas"][0] == Decimal("54.90")  # OpenGraph


def test_bad_pages_make_the_run_partial_with_each_reason(app, client, admin, shops, products_app):
    run = run_now(app, client, admin, add_source(client, admin, shops, "/loja-instavel/"))
    assert run["status"] == "partial"
    assert run["created"] == 1
    reasons = {entry["url"].rsplit("/", 1)[-1]: entry["reason"] for entry in run["rejected"]}
    assert reasons == {
        "abajur-quebrado": "JSON-LD that cannot be read even once repaired",
        "sem-preco": "no price",
        "erro": "HTTP 500",
        "lento": "timed out",
        "sumiu": "HTTP 404",
    }
    assert "rejected" in run["error"]
    assert list(catalogue(products_app)) == ["Luminária de Mesa Articulada"]


def test_the_same_product_from_two_sources_by_gtin_is_one_product(
    app, client, admin, shops, products_app
):
    first = add_source(client, admin, shops, "/loja-micro/")
    run_now(app, client, admin, first)
    second = add_source(client, admin, shops, "/loja-micro/", name="Serra Azul de novo")
    run = run_now(app, client, admin, second)
    assert (run["created"], run["updated"]) == (0, 4)
    assert len(catalogue(products_app)) == 4


def test_max_pages_bounds_the_requests(app, client, admin, shops):
    run = run_now(app, client, admin, add_source(client, admin, shops, "/loja-json/", max_pages=3))
    assert run["pages_fetched"] == 3
    assert len([r for r in shops.requests("/loja-json") if r["path"] != "/robots.txt"]) == 3


def test_a_start_url_whose_name_resolves_to_a_private_address_fails_the_run_with_the_reason(
    app, client, admin, monkeypatch
):
    # Taken when added (a name is judged when resolved), refused when the run resolves it.
    body = {
        "name": "Rede interna",
        "start_urls": ["http://loja.interna.test/loja/"],
        "delay_s": "0",
    }
    source_id = client.post("/collector/sources", json=body, headers=admin).json["id"]
    resolving(monkeypatch, "loja.interna.test", ["10.1.2.3"])
    run = run_now(app, client, admin, source_id)
    assert run["status"] == "failed"
    assert run["error"] == (
        "no page could be fetched: refused: loja.interna.test (10.1.2.3) is a private, loopback, "
        "link-local or reserved address (not in COLLECTOR_ALLOWED_PRIVATE_HOSTS) "
        "(http://loja.interna.test/loja/)"
    )


def test_a_finished_run_emits_its_event_for_notifications(app, client, admin, shops):
    run = run_now(app, client, admin, add_source(client, admin, shops, "/loja-instavel/"))
    with app.app_context():
        event = db.session.scalars(
            select(outbox.Event).where(outbox.Event.type == "collector.run.finished")
        ).one()
    assert event.payload["data"] == {
        "run_id": run["id"],
        "source_id": run["source_id"],
        "source_name": "/loja-instavel/",
        "status": "partial",
        "error": run["error"],
        "pages_fetched": run["pages_fetched"],
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": 5,
    }


def test_runs_are_metrics(app, client, admin, shops):
    run_now(app, client, admin, add_source(client, admin, shops, "/loja-micro/"))
    body = client.get("/metrics").get_data(as_text=True)
    assert 'feira_collector_runs_total{source="/loja-micro/",status="succeeded"} 1.0' in body
    assert 'feira_collector_source_healthy{source="/loja-micro/"} 1.0' in body
    assert 'feira_collector_last_run_products{outcome="created",source="/loja-micro/"} 4.0' in body


def test_a_source_whose_last_run_failed_is_unhealthy_for_monitoring(app, client, admin, shops):
    good = add_source(client, admin, shops, "/loja-micro/")
    run_now(app, client, admin, good)
    assert client.get("/health/sources").status_code == 200
    bad = add_source(client, admin, shops, "/loja-instavel/")
    run_now(app, client, admin, bad)
    answer = client.get("/health/sources")
    assert answer.status_code == 503
    assert {s["id"]: s["ok"] for s in answer.json["sources"]} == {good: True, bad: False}
    # A problem+json whose detail names the failing source: what the monitoring incident says.
    assert answer.mimetype == "application/problem+json"
    assert answer.json["detail"].startswith("1 failing: /loja-instavel/ (last run ")
    assert "/loja-micro/" not in answer.json["detail"]
    assert client.get(f"/health/sources/{good}").status_code == 200
    assert client.get(f"/health/sources/{bad}").status_code == 503


def test_a_run_queued_longer_than_the_threshold_means_the_worker_is_not_taking_runs(
    app, client, admin, shops
):
    source = add_source(client, admin, shops, "/loja-micro/")
    assert client.get("/health/queue").json["queues"]["queued"]["pending"] == 0
    queued = client.post(f"/collector/sources/{source}/runs", headers=admin)
    assert queued.status_code == 202
    assert client.get("/health/queue").status_code == 200
    with app.app_context():
        db.session.execute(
            text("UPDATE collector.runs SET queued_at = now() - interval '3 minutes'")
        )
        db.session.commit()
    answer = client.get("/health/queue")
    assert answer.status_code == 503
    assert answer.json["detail"].startswith(
        "A run has been queued longer than 120 s: queued (1 waiting, oldest due 180 s ago)"
    )
    body = client.get("/metrics").get_data(as_text=True)
    assert "feira_collector_runs_queued 1.0" in body
    assert "feira_collector_queued_oldest_seconds 18" in body
    with app.app_context():
        assert take_and_run()
    assert client.get("/health/queue").status_code == 200


def on_time(schedule: str, ended: datetime, now: datetime, **took) -> bool:
    """Is a source healthy at `now`, its schedule set long ago and its last run having ended at
    `ended` (queued a minute before, or as long as `took`)?"""
    source = Source(id=1, schedule=schedule, schedule_set_at=ended - timedelta(days=30))
    queued = ended - timedelta(**(took or {"minutes": 1}))
    last = Run(id=1, source_id=1, status="succeeded", queued_at=queued, finished_at=ended)
    return health_of(source, last, now).ok


def march(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2026, whose 1st is a Sunday."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def test_an_office_hours_source_is_not_late_in_the_evening_nor_at_the_weekend():
    schedule = "0 9-17 * * mon-fri"
    wednesday_last = march(4, 17, 2)
    assert on_time(schedule, wednesday_last, march(4, 23))
    assert on_time(schedule, wednesday_last, march(5, 10, 14))  # 09:00 missed, 10:00 may be late
    assert not on_time(schedule, wednesday_last, march(5, 10, 16))  # 09:00 and 10:00 missed
    friday_last = march(6, 17, 2)
    assert on_time(schedule, friday_last, march(7, 12))
    assert on_time(schedule, friday_last, march(9, 10, 14))
    assert not on_time(schedule, friday_last, march(9, 10, 16))


def test_a_twice_a_night_source_is_not_late_during_the_day():
    schedule = "0 3,4 * * *"
    last = march(4, 4, 2)
    assert on_time(schedule, last, march(4, 6, 5))
    assert on_time(schedule, last, march(5, 3, 30))
    assert not on_time(schedule, last, march(5, 4, 16))


def test_a_source_whose_runs_take_long_is_late_only_when_its_run_could_have_ended():
    last = march(4, 3, 50)  # queued at 03:00, ended 50 minutes later
    assert on_time("0 * * * *", last, march(4, 5, 49), minutes=50)
    assert not on_time("0 * * * *", last, march(4, 5, 51), minutes=50)


def test_a_stored_schedule_that_cannot_be_read_is_unhealthy_saying_so_not_an_error():
    last = march(4, 3, 2)
    source = Source(id=1, schedule="0 3 * * fri-mon", schedule_set_at=last - timedelta(days=30))
    run = Run(id=1, status="succeeded", queued_at=last, finished_at=last)
    health = health_of(source, run, march(4, 5))
    assert not health.ok and health.reason.startswith("its schedule cannot be read")


def test_fire_times_before_the_schedule_was_set_are_not_missed():
    source = Source(id=1, schedule="0 * * * *", schedule_set_at=march(4, 14, 30))
    last = Run(id=1, status="succeeded", queued_at=march(4, 9), finished_at=march(4, 9, 1))
    assert health_of(source, last, march(4, 16, 14)).ok
    assert not health_of(source, last, march(4, 16, 16)).ok


def test_a_running_run_whose_worker_died_is_failed_and_its_source_freed(app, client, admin, shops):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin).json
    with app.app_context():
        db.session.get(Run, queued["id"]).status = "running"
        db.session.commit()
        assert recover() == 1
    run = client.get(f"/collector/runs/{queued['id']}", headers=admin).json
    assert (run["status"], run["error"]) == ("failed", "the worker stopped during the run")
    assert client.post(f"/collector/sources/{source_id}/runs", headers=admin).status_code == 202


def test_a_running_run_whose_worker_holds_its_lock_is_left_alone(app, client, admin, shops):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin).json
    with app.app_context():
        db.session.get(Run, queued["id"]).status = "running"
        db.session.commit()
        with db.engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(17017, :r)"), {"r": queued["id"]})
            assert recover() == 0
            holder.execute(text("SELECT pg_advisory_unlock_all()"))


def test_a_stopping_worker_takes_no_run_and_gives_the_one_under_way_back_to_the_queue(
    app, client, admin, shops
):
    # 32 pages 0.1 s apart, then a small shop queued behind it; the worker is told to stop
    # (SIGTERM, a rollout) a second into the first run.
    big = add_source(client, admin, shops, "/loja-grande/", delay_s="0.1")
    small = add_source(client, admin, shops, "/loja-micro/")
    queued = [client.post(f"/collector/sources/{s}/runs", headers=admin).json for s in (big, small)]
    stopping = threading.Event()

    def worker():
        with app.app_context():
            drain(stopping)
            db.session.remove()

    taking = threading.Thread(target=worker, daemon=True)
    taking.start()
    time.sleep(1)
    stopping.set()
    taking.join(timeout=2)
    assert not taking.is_alive(), "the worker went on after it was told to stop"
    with app.app_context():
        runs = [db.session.get(Run, run["id"]) for run in queued]
        assert [(r.status, r.started_at, r.pages_fetched) for r in runs] == [
            ("queued", None, 0)
        ] * 2
        assert db.session.scalars(select(outbox.Event)).all() == []  # nothing for the admins
        db.session.remove()
    assert 0 < len(shops.requests("/loja-grande/")) < 32
    # Another worker takes it, and walks the shop whole.
    with app.app_context():
        drain(threading.Event())
    again = client.get(f"/collector/runs/{queued[0]['id']}", headers=admin).json
    assert (again["status"], again["pages_fetched"]) == ("succeeded", 32), again
    assert again["created"] + again["unchanged"] == 30
    assert client.get(f"/collector/runs/{queued[1]['id']}", headers=admin).json["status"] == (
        "succeeded"
    )


def aged(app, source_id, **ago) -> None:
    """The source created (and its schedule set) that long ago."""
    with app.app_context():
        source = db.session.get(Source, source_id)
        source.created_at = source.schedule_set_at = datetime.now(UTC) - timedelta(**ago)
        db.session.commit()
        db.session.remove()


def changed(client, admin, source_id, **body) -> None:
    answer = client.patch(f"/collector/sources/{source_id}", json=body, headers=admin)
    assert answer.status_code == 200, answer.json


def hourly_fired_minutes_ago(minutes: int) -> tuple[str, datetime]:
    """An hourly schedule whose latest fire time was `minutes` ago, and its next."""
    fired = (datetime.now(UTC) - timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return f"{fired.minute} * * * *", fired + timedelta(hours=1)


def test_a_scheduled_source_gets_one_run_per_fire_time_whoever_asks(app, client, admin, shops):
    source_id = add_source(client, admin, shops, "/loja-micro/", schedule="*/5 * * * *")
    aged(app, source_id, hours=2)
    # A change to anything but the schedule leaves it as it was set.
    changed(client, admin, source_id, name="micro", schedule="*/5 * * * *")
    with app.app_context():
        assert schedule_due() == 1
        assert schedule_due() == 0  # the same fire time, or a run still queued
        run = db.session.scalars(select(Run)).one()
        assert run.scheduled_for.minute % 5 == 0
        assert datetime.now(UTC) - run.scheduled_for < timedelta(minutes=5)


def test_a_schedule_given_to_an_existing_source_first_fires_at_its_next_time(
    app, client, admin, shops
):
    source_id = add_source(client, admin, shops, "/loja-micro/")
    aged(app, source_id, days=7)
    schedule, next_fire = hourly_fired_minutes_ago(10)
    changed(client, admin, source_id, schedule=schedule)
    with app.app_context():
        assert schedule_due() == 0  # not for the fire time of 10 minutes ago, before it was set
        assert schedule_due(now=next_fire - timedelta(seconds=1)) == 0
        assert schedule_due(now=next_fire) == 1
        assert db.session.scalars(select(Run.scheduled_for)).one() == next_fire


def test_a_changed_schedule_first_fires_at_its_next_time(app, client, admin, shops):
    source_id = add_source(client, admin, shops, "/loja-micro/", schedule="0 3 * * *")
    aged(app, source_id, days=7)
    # Its last scheduled run was at 03:00 two days ago (none since: the worker was stopped).
    today_at_3 = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
    last = today_at_3 - timedelta(days=2)
    with app.app_context():
        db.session.add(Run(source_id=source_id, status="succeeded", scheduled_for=last))
        db.session.commit()
    schedule, next_fire = hourly_fired_minutes_ago(10)
    changed(client, admin, source_id, schedule=schedule)
    with app.app_context():
        assert schedule_due() == 0
        assert schedule_due(now=next_fire) == 1


def test_a_source_made_active_again_first_fires_at_its_next_time(app, client, admin, shops):
    schedule, next_fire = hourly_fired_minutes_ago(10)
    source_id = add_source(client, admin, shops, "/loja-micro/", schedule=schedule)
    changed(client, admin, source_id, active=False)
    aged(app, source_id, days=7)  # inactive for a week: its fire times passed unseen
    changed(client, admin, source_id, active=True)
    with app.app_context():
        assert schedule_due() == 0  # not for the fire time of 10 minutes ago, while inactive
        assert schedule_due(now=next_fire) == 1


def test_the_latest_fire_time_is_the_last_one_before_now():
    now = datetime(2026, 12, 3, 10, 7, tzinfo=UTC)
    since = now - timedelta(days=30)
    assert latest_fire_time("*/5 * * * *", since, now) == datetime(2026, 12, 3, 10, 5, tzinfo=UTC)
    assert latest_fire_time("0 3 * * *", since, now) == datetime(2026, 12, 3, 3, 0, tzinfo=UTC)
    assert latest_fire_time("0 3 * * *", now - timedelta(hours=1), now) is None


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3, year: int = 2026):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "since", "now", "latest"),
    [
        # Office hours, the worker down from Friday evening to a Tuesday night three weeks on:
        # no fire time in the night before now, nor in the weekends between.
        ("*/5 9-17 * * 1-5", at(20, 17, 55, month=2), at(17, 3), at(16, 17, 55)),
        ("* * * * *", at(17, 3) - timedelta(days=90), at(17, 10, 7, 30), at(17, 10, 7)),
        ("0 3 1 * *", at(17, 3) - timedelta(days=400), at(17, 3), at(1, 3)),
        ("0 12 * * 0", at(1, 12, month=1), at(21, 11), at(15, 12)),
        ("30 6 * * sat-sun", at(1, 0, month=1), at(17, 3), at(15, 6, 30)),
        ("0 * * * sat-sun", at(1, 0, year=2025), at(18, 12), at(15, 23)),
        ("0 8 * * 6-0", at(1, 0, month=1), at(20, 23, 59), at(15, 8)),
        ("0 0 29 2 *", at(1, 0, year=2021), at(17, 3), at(29, 0, month=2, year=2024)),
    ],
)
def test_fire_times_missed_over_any_pause_make_one_run_for_the_latest(schedule, since, now, latest):
    assert latest_fire_time(schedule, since, now) == latest
    # The worker's next look, 15 s on, finds nothing more: one run, not one more per catch-up.
    assert latest_fire_time(schedule, latest, now + timedelta(seconds=15)) is None


def fire_days(schedule: str) -> list[str]:
    """The days of the week (cron numbering: 0 Sunday) on which the worker queues a run at 03:00
    for the schedule, over the week from Sunday 1 March 2026."""
    days = []
    for offset in range(7):
        day = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=offset)
        if latest_fire_time(schedule, day, day + timedelta(hours=4)):
            days.append(day.strftime("%a"))
    return days


def test_weekdays_1_to_5_are_monday_to_friday_as_in_cron():
    assert fire_days("0 3 * * 1-5") == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert fire_days("0 3 * * mon-fri") == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_weekday_0_and_7_are_sunday_as_in_cron():
    assert fire_days("0 3 * * 0") == ["Sun"]
    assert fire_days("0 3 * * 7") == ["Sun"]
    assert fire_days("0 3 * * 5-7") == ["Sun", "Fri", "Sat"]
    assert fire_days("0 3 * * */2") == ["Sun", "Tue", "Thu", "Sat"]


def test_a_range_ending_on_sunday_by_name_or_0_runs_to_the_weeks_end():
    # APScheduler's own names (Monday first) took these, and schedules stored so still run.
    assert fire_days("0 3 * * sat-sun") == ["Sun", "Sat"]
    assert fire_days("0 3 * * fri-sun") == ["Sun", "Fri", "Sat"]
    assert fire_days("0 3 * * 6-0") == ["Sun", "Sat"]


@pytest.mark.slow
def test_the_big_shop_is_collected_whole(app, client, admin, shops):
    run = run_now(app, client, admin, add_source(client, admin, shops, "/loja-grande/"))
    assert (run["status"], run["created"], run["pages_fetched"]) == ("succeeded", 30, 32)


def test_products_of_one_page_without_gtin_or_sku_get_barcodes_of_their_own():
    from services.collector.collecting import barcode_of
    from services.collector.extract import Item

    one = Item(url="https://loja.example/lista", name="Panela")
    other = Item(url="https://loja.example/lista", name="Chaleira")
    assert barcode_of(one, 1, shared_page=True) != barcode_of(other, 1, shared_page=True)
    assert barcode_of(one, 1) == barcode_of(other, 1)  # one product per page: the page is it
    assert barcode_of(one, 1) != barcode_of(one, 2)  # and each source has its own
    assert barcode_of(one, 1).startswith("2") and len(barcode_of(one, 1)) == 13


# --- pages written here, served by the test's own shop ---


def product(name, price="10.00", **fields):
    offer = {"@type": "Offer", "price": price, "priceCurrency": "BRL"}
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": name,
        "offers": offer,
        **fields,
    }


def product_page(*products):
    blocks = "".join(
        f'<script type="application/ld+json">{json.dumps(p)}</script>' for p in products
    )
    return f"<html><head>{blocks}</head><body></body></html>"


def links_to(*paths):
    return (
        "<html><body>"
        + "".join(f'<a href="{path}">{path}</a>' for path in paths)
        + "</body></html>"
    )


def run_own_shop(app, client, admin, own_shop, **fields):
    body = {"name": "Loja própria", "start_urls": [own_shop.url + "/"], "delay_s": "0", **fields}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 201, response.json
    return run_now(app, client, admin, response.json["id"])


def reasons_by_path(run):
    return {urlsplit(entry["url"]).path: entry["reason"] for entry in run["rejected"]}


def test_validators_too_long_to_keep_are_dropped_and_the_run_succeeds(app, client, admin, own_shop):
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1")),
        200,
        {
            "ETag": '"' + "e" * 600 + '"',
            "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT" + "x" * 200,
        },
    )
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["pages_fetched"]) == ("succeeded", 1, 1), run
    with app.app_context():
        page = db.session.scalars(select(Page)).one()
        assert (page.etag, page.last_modified, page.products != []) == (None, None, True)
    again = run_now(app, client, admin, run["source_id"])
    assert (again["status"], again["unchanged"]) == ("succeeded", 1)
    asked = [entry["headers"] for entry in own_shop.asked if entry["path"] == "/"]
    assert not any(
        "If-None-Match" in headers or "If-Modified-Since" in headers for headers in asked
    )


def test_a_run_that_breaks_is_failed_at_once_with_its_reason(
    app, client, admin, own_shop, monkeypatch
):
    def breaking(run, stopping):  # a database error mid-run: the session needs a rollback
        db.session.add(Page(source_id=run.source_id, url="/", etag="e" * 600))
        db.session.commit()

    monkeypatch.setattr(worker, "collect", breaking)
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], bool(run["finished_at"])) == ("failed", True)
    assert run["error"].startswith("the collector broke: StringDataRightTruncation: value too long")
    with app.app_context():
        event = db.session.scalars(select(outbox.Event)).one()
    assert event.payload["data"]["status"] == "failed"


def test_a_collected_product_keeps_the_fields_its_page_does_not_give(
    app, client, admin, own_shop, products_app
):
    catalogue_client = products_app.test_client()
    category = catalogue_client.post("/categories", json={"name": "Cozinha"}, headers=admin).json
    made = catalogue_client.post(
        "/products",
        json={
            "name": "Panela de Barro",
            "price": "10.00",
            "barcode": "7891234567895",
            "description": "Feita à mão",
            "category_id": category["id"],
        },
        headers=admin,
    ).json
    own_shop.pages["/"] = product_page(
        product("Panela de Barro", "R$ 12,50", gtin13="7891234567895")
    )
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["updated"]) == ("succeeded", 1), run
    kept = catalogue_client.get(f"/products/{made['id']}", headers=admin).json
    assert (kept["price"], kept["description"], kept["category_id"]) == (
        "12.50",
        "Feita à mão",
        category["id"],
    )


def test_json_ld_nested_too_deep_rejects_its_page_alone(app, client, admin, own_shop):
    deep = '{"@type": "Product", "name": "Fundo", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    own_shop.pages["/"] = links_to("/fundo", "/boa")
    own_shop.pages["/fundo"] = f'<script type="application/ld+json">{deep}</script>'
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {"/fundo": "JSON-LD that cannot be read even once repaired"}


def test_a_redirect_to_a_location_that_cannot_be_parsed_rejects_its_page_alone(
    app, client, admin, own_shop
):
    own_shop.pages["/"] = links_to("/mudou", "/boa")
    own_shop.pages["/mudou"] = ("", 302, {"Location": "http://["})
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {"/mudou": "refused: a redirect to an invalid URL (http://[)"}


@pytest.mark.parametrize("status", [404, 401])
def test_a_run_whose_every_start_url_answers_a_client_error_fails_naming_the_first(
    app, client, admin, own_shop, status
):
    own_shop.pages["/"] = ("Não encontrada", status)
    own_shop.pages["/outra"] = ("Não encontrada", 404)
    urls = [own_shop.url + "/", own_shop.url + "/outra"]
    run = run_own_shop(app, client, admin, own_shop, start_urls=urls)
    assert (run["status"], run["pages_fetched"], run["items_found"]) == ("failed", 2, 0), run
    assert run["error"] == f"no page could be fetched: HTTP {status} ({own_shop.url}/)"


def test_a_failed_runs_error_names_its_start_url_without_its_query_which_may_hold_a_key(
    app, client, admin, own_shop
):
    """The error reaches the public status page through the sources' health."""
    own_shop.pages["/"] = ("Não encontrada", 404)
    run = run_own_shop(app, client, admin, own_shop, start_urls=[own_shop.url + "/?api_key=s3"])
    assert run["status"] == "failed", run
    assert run["error"] == f"no page could be fetched: HTTP 404 ({own_shop.url}/)"


def test_a_start_url_answering_404_beside_one_that_answers_makes_the_run_partial(
    app, client, admin, own_shop
):
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    urls = [own_shop.url + "/sumiu", own_shop.url + "/boa"]
    run = run_own_shop(app, client, admin, own_shop, start_urls=urls)
    assert (run["status"], run["created"], run["error"]) == (
        "partial",
        1,
        "1 page or product rejected",
    ), run
    assert reasons_by_path(run) == {"/sumiu": "HTTP 404"}


def test_a_page_answered_429_is_collected_once_asked_again_and_one_answered_twice_rejected(
    app, client, admin, own_shop
):
    busy = ("Too Many Requests", 429, {"Retry-After": "0"})
    own_shop.pages["/"] = links_to("/ocupada", "/lotada")
    own_shop.pages["/ocupada"] = [busy, product_page(product("Caneca Boa"))]
    own_shop.pages["/lotada"] = busy
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {"/lotada": "HTTP 429"}
    pages = [entry["path"] for entry in own_shop.asked if entry["path"] != "/robots.txt"]
    assert pages == ["/", "/ocupada", "/ocupada", "/lotada", "/lotada"]


def test_a_stored_selector_that_fails_when_run_rejects_each_page_it_breaks_not_the_run(
    app, client, admin, own_shop
):
    own_shop.pages["/"] = links_to("/sem-dados", "/boa")
    own_shop.pages["/sem-dados"] = "<h1>Sem dados</h1>"
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    body = {"name": "Antiga", "start_urls": [own_shop.url + "/"], "delay_s": "0"}
    source_id = client.post("/collector/sources", json=body, headers=admin).json["id"]
    with app.app_context():  # saved before the API ran selectors to check them
        db.session.get(Source, source_id).selectors = {"name": "(1+1)"}
        db.session.commit()
    run = run_now(app, client, admin, source_id)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {
        "/": "the page could not be read (ValueError)",
        "/sem-dados": "the page could not be read (ValueError)",
    }


def test_a_batch_waits_for_products_longer_than_a_single_calls_read_timeout(
    app, client, admin, own_shop, products_app, monkeypatch
):
    # A read timeout no upsert can meet: the batch's own (SLOW_READ_TIMEOUT_S) is used instead.
    with app.app_context():
        monkeypatch.setattr(service("products"), "timeout", (3.0, 0.001))
    own_shop.pages["/"] = product_page(product("Caneca Esmaltada", sku="c-1"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("succeeded", 1), run


def test_a_picture_upload_waits_for_products_longer_than_a_single_calls_read_timeout(
    app, client, admin, own_shop, products_app, monkeypatch
):
    # Products decodes and re-encodes each picture: seconds for a big one on a loaded host.
    with app.app_context():
        monkeypatch.setattr(service("products"), "timeout", (3.0, 0.001))
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(picture, "PNG")
    own_shop.pages["/foto.png"] = (picture.getvalue(), 200, {"Content-Type": "image/png"})
    own_shop.pages["/"] = product_page(product("Caneca Esmaltada", sku="c-1", image="/foto.png"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 1, []), run
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1


@pytest.mark.slow
def test_a_page_of_more_products_than_one_call_takes_is_sent_in_batches(
    app, client, admin, own_shop, products_app
):
    # 1001 rows (products takes 1000 a call) of over 1 MiB (its body limit).
    many = [
        product(f"Item {n}", sku=f"i-{n}", description=f"Descrição {n} " + "d" * 1000)
        for n in range(1001)
    ]
    own_shop.pages["/"] = product_page({"@context": "https://schema.org", "@graph": many})
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 1001, []), run
    assert len(catalogue(products_app)) == 1001


def test_rows_products_refuses_are_rejected_with_the_reason_and_the_run_goes_on(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = links_to("/grande", "/pequena")
    own_shop.pages["/grande"] = product_page(product("Caneca Grande", description="d" * 5000))
    own_shop.pages["/pequena"] = product_page(product("Caneca Pequena"))
    with rewired(products_app, MAX_CONTENT_LENGTH=4096):
        run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {
        "/grande": "products refused it: HTTP 413 for the batch it was sent in"
    }
    assert list(catalogue(products_app)) == ["Caneca Pequena"]


def test_every_rejection_is_counted_past_the_reasons_kept(app, client, admin, own_shop):
    without_price = [{"@type": "Product", "name": f"Sem preço {n}"} for n in range(250)]
    own_shop.pages["/"] = product_page({"@context": "https://schema.org", "@graph": without_price})
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["rejected_count"], len(run["rejected"])) == ("partial", 250, 200)
    assert run["error"] == "250 pages or products rejected"
    with app.app_context():
        event = db.session.scalars(select(outbox.Event)).one()
    assert event.payload["data"]["rejected"] == 250


def test_a_second_product_of_a_page_with_the_same_sku_is_rejected_not_written_over_the_first(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(
        product("Caneca Azul", "5.00", sku="mesmo"), product("Caneca Verde", "6.00", sku="mesmo")
    )
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {
        "/": "Caneca Verde: the SKU or GTIN of another product of the page"
    }
    assert catalogue(products_app)["Caneca Azul"][0] == Decimal("5.00")
    assert "Caneca Verde" not in catalogue(products_app)


def test_a_picture_of_more_pixels_than_products_takes_is_refused_before_it_is_decoded():
    from services.collector.collecting import picture_format

    def png(width, height):
        buffer = io.BytesIO()
        Image.new("1", (width, height)).save(buffer, "PNG")
        return buffer.getvalue()

    assert picture_format(png(7000, 6000)) is None  # 42 MP: products takes 40
    assert picture_format(png(6000, 6000)) == "PNG"


def test_a_phones_jpeg_holding_two_pictures_is_sent_as_a_jpeg():
    from services.collector.collecting import picture_format

    buffer = io.BytesIO()
    photo, gain_map = Image.new("RGB", (80, 60), "teal"), Image.new("RGB", (80, 60), "gray")
    photo.save(buffer, "MPO", save_all=True, append_images=[gain_map])
    assert picture_format(buffer.getvalue()) == "JPEG"


def test_a_reason_quoting_the_page_is_stored_whatever_characters_it_holds(
    app, client, admin, own_shop
):
    in_nul = {
        **product("Caneca Reta", sku="r"),
        "offers": {"price": "1", "priceCurrency": "\x00U$"},
    }
    own_shop.pages["/"] = product_page(
        in_nul, product("Caneca Lisa", sku="t"), product("Caneca \ud800 Torta", "2.00", sku="t")
    )
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert [entry["reason"] for entry in run["rejected"]] == [
        "price in U$, not BRL",
        "Caneca Torta: the SKU or GTIN of another product of the page",  # \ud800 dropped
    ]


def test_a_page_with_a_product_products_refused_is_asked_whole_again_though_its_etag_holds(
    app, client, admin, own_shop, products_app
):
    catalogue_client = products_app.test_client()
    clash = catalogue_client.post(
        "/products",
        json={"name": "Caneca Esmaltada", "price": "1.00", "barcode": "7891234567895"},
        headers=admin,
    ).json
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1")),
        200,
        {"ETag": '"v1"'},
    )
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("partial", 0), first
    assert reasons_by_path(first)["/"].startswith("products refused it: ")
    renamed = catalogue_client.patch(
        f"/products/{clash['id']}", json={"name": "Caneca Antiga"}, headers=admin
    )
    assert renamed.status_code == 200, renamed.json
    # The shop would answer 304 to its ETag: the page is asked unconditionally instead.
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["unchanged"]) == ("succeeded", 1, 0), again
    assert "Caneca Esmaltada" in catalogue(products_app)
    asked = [entry["headers"] for entry in own_shop.asked if entry["path"] == "/"]
    assert "If-None-Match" not in asked[1]
    # Taken whole, its ETag is kept: the next run is a 304.
    third = run_now(app, client, admin, first["source_id"])
    assert (third["status"], third["unchanged"]) == ("succeeded", 1), third
    assert own_shop.asked[-1]["headers"]["If-None-Match"] == '"v1"'


def test_a_picture_that_failed_is_fetched_again_next_run_though_the_shop_answers_304(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1", image="/foto.png")),
        200,
        {"ETag": '"v1"'},
    )
    # The picture is missing at first (404): the product lands without it.
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("partial", 1), first
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 0
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(picture, "PNG")
    own_shop.pages["/foto.png"] = (picture.getvalue(), 200, {"Content-Type": "image/png"})
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1
    asked = [entry["headers"] for entry in own_shop.asked if entry["path"] == "/"]
    assert "If-None-Match" not in asked[1]


def test_a_sources_new_category_reaches_its_products_though_the_shop_answers_304(
    app, client, admin, own_shop, products_app
):
    catalogue_client = products_app.test_client()
    kitchen, table = (
        catalogue_client.post("/categories", json={"name": name}, headers=admin).json["id"]
        for name in ("Cozinha", "Mesa")
    )
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1")),
        200,
        {"ETag": '"v1"', "Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"},
    )
    first = run_own_shop(app, client, admin, own_shop, category_id=kitchen)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    moved = client.patch(
        f"/collector/sources/{first['source_id']}", json={"category_id": table}, headers=admin
    )
    assert moved.status_code == 200, moved.json
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["updated"], again["unchanged"]) == ("succeeded", 1, 0), again
    with products_app.app_context():
        caneca = products_db.session.scalars(select(Product)).one()
        assert caneca.category_id == table


def png(colour):
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(picture, "PNG")
    return picture.getvalue(), 200, {"Content-Type": "image/png"}


def pictures_kept(page):
    """What the collector remembers sending of the page's pictures, in the page's order."""
    return db.session.scalars(
        select(PagePicture).where(PagePicture.page_id == page.id).order_by(PagePicture.position)
    ).all()


def products_behind_a_proxy(upstream, *, failing_picture=None, losing_picture=None):
    """The kit's proxy in front of products, passing every POST on except: the
    `failing_picture`-th picture sent (1 the first) is answered 503 without products seeing it
    (products failing mid-page); the `losing_picture`-th reaches products, but its answer is lost
    (a reset, or the read timeout). Yields the proxy's URL and what products answered each POST
    it saw, as `"<path> <status>"`."""
    pictures = itertools.count(1)

    def verdict(path):
        if not path.endswith("/images"):
            return None
        sent = next(pictures)
        return 503 if sent == failing_picture else LOSE if sent == losing_picture else None

    return proxy_before(upstream, verdict)


def test_a_picture_sent_before_products_failed_mid_page_is_not_sent_again_next_run(
    app, client, admin, own_shop, products, products_app
):
    own_shop.pages["/um.png"], own_shop.pages["/dois.png"] = png("red"), png("blue")
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1", image=["/um.png", "/dois.png"])),
        200,
        {"ETag": '"v1"'},
    )
    with (
        products_behind_a_proxy(products.base_url, failing_picture=2) as (proxy, _),
        rewired(app, SERVICE_URLS={"products": proxy}),
    ):
        first = run_own_shop(app, client, admin, own_shop)
    assert first["status"] == "failed", first
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1
    with app.app_context():  # the first picture's hash was kept; the page is not taken whole
        page = db.session.scalars(select(Page)).one()
        assert (len(pictures_kept(page)), page.etag, page.content_hash) == (1, None, None)
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["updated"], again["rejected"]) == ("succeeded", 1, []), again
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 2
    asked = [entry["headers"] for entry in own_shop.asked if entry["path"] == "/"]
    assert "If-None-Match" not in asked[1]


def test_a_worker_stopping_between_two_pictures_sends_no_more_and_the_next_run_sends_the_rest(
    app, client, admin, own_shop, products_app, monkeypatch
):
    own_shop.pages["/um.png"], own_shop.pages["/dois.png"] = png("red"), png("blue")
    own_shop.pages["/"] = product_page(
        product("Caneca Esmaltada", sku="c-1", image=["/um.png", "/dois.png"])
    )
    body = {"name": "Loja própria", "start_urls": [own_shop.url + "/"], "delay_s": "0"}
    source_id = client.post("/collector/sources", json=body, headers=admin).json["id"]
    queued = client.post(f"/collector/sources/{source_id}/runs", headers=admin).json
    stopping, sent = threading.Event(), []
    add_image = collecting.products.add_image

    def sent_then_stopped(*args):
        sent.append(args[1])
        stopping.set()  # SIGTERM while products takes the first picture
        return add_image(*args)

    monkeypatch.setattr(collecting.products, "add_image", sent_then_stopped)
    with app.app_context():
        drain(stopping)
        db.session.remove()
    assert len(sent) == 1, sent
    assert client.get(f"/collector/runs/{queued['id']}", headers=admin).json["status"] == "queued"
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1

    monkeypatch.setattr(collecting.products, "add_image", add_image)
    with app.app_context():
        assert take_and_run()
    again = client.get(f"/collector/runs/{queued['id']}", headers=admin).json
    assert again["status"] == "succeeded", again
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 2


def a_mug_with_one_picture(own_shop) -> None:
    own_shop.pages["/um.png"] = png("red")
    own_shop.pages["/"] = (
        product_page(product("Caneca Esmaltada", sku="c-1", image="/um.png")),
        200,
        {"ETag": '"v1"'},
    )


def test_a_picture_whose_answer_was_lost_is_sent_again_and_stored_once(
    app, client, admin, own_shop, products, products_app
):
    a_mug_with_one_picture(own_shop)
    # The suite's clients never retry (HTTP_RETRIES=0); the stack's do (2), as here.
    with (
        products_behind_a_proxy(products.base_url, losing_picture=1) as (proxy, answered),
        rewired(app, SERVICE_URLS={"products": proxy}, HTTP_RETRIES=1),
    ):
        run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 1, []), run
    # Products stored it, the answer was lost; sent again, products answered the same picture.
    assert [line.split()[1] for line in answered if "/images " in line] == ["201", "200"]
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1
    with app.app_context():
        assert len(pictures_kept(db.session.scalars(select(Page)).one())) == 1


def test_a_picture_whose_answer_a_failed_run_lost_is_taken_as_sent_by_the_next_run(
    app, client, admin, own_shop, products, products_app
):
    a_mug_with_one_picture(own_shop)
    with (
        products_behind_a_proxy(products.base_url, losing_picture=1) as (proxy, _),
        rewired(app, SERVICE_URLS={"products": proxy}),
    ):
        first = run_own_shop(app, client, admin, own_shop)
    assert first["status"] == "failed", first
    with app.app_context():  # products took it; the run never heard so
        assert pictures_kept(db.session.scalars(select(Page)).one()) == []
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert catalogue(products_app)["Caneca Esmaltada"][2] == 1
    with app.app_context():
        assert len(pictures_kept(db.session.scalars(select(Page)).one())) == 1


def queue_at_each_page(monkeypatch):
    """The paths a walk's queue holds as each page is asked, recorded as the walk goes."""
    held = []
    page = Collection.page

    def watched(self, link):
        held.append([urlsplit(queued.url).path for queued in self.queue])
        return page(self, link)

    monkeypatch.setattr(Collection, "page", watched)
    return held


def test_a_walk_queues_no_more_pages_than_max_pages_can_still_fetch_in_the_order_linked(
    app, client, admin, own_shop, monkeypatch
):
    own_shop.pages["/"] = links_to("/p3", "/p1", "/p3", "/p2", *(f"/q{n}" for n in range(500)))
    for path in ("/p1", "/p2", "/p3"):
        own_shop.pages[path] = "<html><body>nada</body></html>"
    held = queue_at_each_page(monkeypatch)
    run = run_own_shop(app, client, admin, own_shop, max_pages=3)
    assert (run["status"], run["pages_fetched"]) == ("succeeded", 3), run
    assert held == [[], ["/p1"], []]
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/", "/p3", "/p1"]


def test_links_robots_txt_disallows_take_no_place_in_the_queue(app, client, admin, own_shop):
    own_shop.pages["/robots.txt"] = (
        "User-agent: *\nDisallow: /ofertas/\n",
        200,
        {"Content-Type": "text/plain"},
    )
    own_shop.pages["/"] = links_to("/ofertas/1", "/ofertas/2", "/p1", "/p2", "/p3")
    run = run_own_shop(app, client, admin, own_shop, max_pages=3)
    assert run["pages_fetched"] == 3, run
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/", "/p1", "/p2"]


@pytest.mark.parametrize("rule", ["/busca?q=", "/busca?pagina="])
def test_a_page_robots_txt_disallows_as_linked_or_as_canonical_is_never_requested(
    app, client, admin, own_shop, products_app, rule
):
    own_shop.pages["/robots.txt"] = (
        f"User-agent: *\nDisallow: {rule}\n",
        200,
        {"Content-Type": "text/plain"},
    )
    # Canonical, the query is sorted: /busca?pagina=2&q=panela.
    own_shop.pages["/"] = links_to("/busca?q=panela&amp;pagina=2", "/boa")
    own_shop.pages["/busca"] = product_page(product("Panela Proibida"))
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("succeeded", 1), run
    assert "/busca" not in [entry["path"] for entry in own_shop.asked]
    assert list(catalogue(products_app)) == ["Caneca Boa"]


def test_a_link_longer_than_a_start_url_may_be_is_rejected_alone_not_the_run(
    app, client, admin, own_shop, products_app
):
    # Random, so PostgreSQL cannot compress it into its index: too long for a page's row.
    long_path = "/" + secrets.token_hex(1500)
    own_shop.pages["/"] = links_to(long_path, "/boa")
    own_shop.pages[long_path] = product_page(product("Caneca Comprida"))
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["pages_fetched"]) == ("partial", 1, 2), run
    [rejected] = run["rejected"]
    assert rejected["reason"] == "a URL longer than 2000 characters"
    assert (own_shop.url + long_path).startswith(rejected["url"])
    assert long_path not in [entry["path"] for entry in own_shop.asked]
    assert list(catalogue(products_app)) == ["Caneca Boa"]


def test_lone_surrogates_in_a_name_sku_or_picture_url_are_dropped_and_the_run_succeeds(
    app, client, admin, own_shop, products_app
):
    # Emojis a shop's template cut in half: json.dumps writes each as the escape `\ud83d`.
    own_shop.pages["/"] = links_to("/partida", "/foto-partida", "/boa")
    own_shop.pages["/partida"] = product_page(product("Caneca \ud83d", sku="c-\ud83d"))
    own_shop.pages["/foto.png"] = png("red")
    own_shop.pages["/foto-partida"] = product_page(
        product("Caneca Pintada", sku="p-1", image="/foto\ud83d.png")
    )
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 3, []), run
    found = catalogue(products_app)
    assert sorted(found) == ["Caneca", "Caneca Boa", "Caneca Pintada"]
    assert found["Caneca Pintada"][2] == 1


def past_extraction(monkeypatch, name, **changes):
    """What extraction gives, with `changes` made to the item called `name` afterwards: what
    the collector does when something reaches it that extraction let through."""
    read = collecting.extract

    def changed(document, url, selectors=None):
        items = read(document, url, selectors)
        for item in items:
            if item.name == name:
                for field, value in changes.items():
                    setattr(item, field, value)
        return items

    monkeypatch.setattr(collecting, "extract", changed)


def test_a_page_whose_products_cannot_be_taken_is_rejected_alone_not_the_run(
    app, client, admin, own_shop, products_app, monkeypatch
):
    past_extraction(monkeypatch, "Caneca Partida", sku="c-\ud83d")  # no barcode can be made
    own_shop.pages["/"] = links_to("/partida", "/boa")
    own_shop.pages["/partida"] = product_page(product("Caneca Partida"))
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 1), run
    assert reasons_by_path(run) == {"/partida": "the page could not be taken (UnicodeEncodeError)"}
    assert list(catalogue(products_app)) == ["Caneca Boa"]


def test_a_picture_url_that_cannot_be_asked_is_rejected_alone_and_its_product_lands(
    app, client, admin, own_shop, products_app, monkeypatch
):
    past_extraction(monkeypatch, "Caneca Pintada", images=[own_shop.url + "/foto\ud83d.png"])
    own_shop.pages["/"] = links_to("/pintada", "/boa")
    own_shop.pages["/pintada"] = product_page(product("Caneca Pintada"))
    own_shop.pages["/boa"] = product_page(product("Caneca Boa"))
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"]) == ("partial", 2), run
    [rejected] = run["rejected"]
    assert rejected["url"] == own_shop.url + "/foto?.png"
    assert rejected["reason"].startswith("picture: a URL that cannot be asked (")
    assert sorted(catalogue(products_app)) == ["Caneca Boa", "Caneca Pintada"]


def listing(*products, links=()):
    """A category page: its products' JSON-LD and links to other pages."""
    page = product_page(*products)
    anchors = "".join(f'<a href="{path}">{path}</a>' for path in links)
    return page.replace("<body></body>", f"<body>{anchors}</body>")


def test_a_listing_page_that_answers_304_still_leads_to_the_pages_behind_it(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = (
        listing(product("Caneca Azul", sku="a"), links=["/pagina-2"]),
        200,
        {"ETag": '"v1"'},
    )
    own_shop.pages["/pagina-2"] = listing(product("Caneca Verde", sku="v"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 2), first
    own_shop.pages["/pagina-2"] = listing(product("Caneca Verde", sku="v"), links=["/nova"])
    own_shop.pages["/nova"] = product_page(product("Caneca Nova", sku="n"))
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["unchanged"]) == ("succeeded", 1, 2), again
    assert own_shop.asked[-3]["path"] == "/"
    assert own_shop.asked[-3]["headers"]["If-None-Match"] == '"v1"'  # answered 304
    assert sorted(catalogue(products_app)) == ["Caneca Azul", "Caneca Nova", "Caneca Verde"]


def test_products_of_one_page_that_show_the_same_picture_each_get_it(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/foto.png"] = png("red")
    own_shop.pages["/"] = product_page(
        product("Caneca Azul", sku="a", image="/foto.png"),
        product("Caneca Verde", sku="v", image="/foto.png"),
    )
    run = run_own_shop(app, client, admin, own_shop)
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 2, []), run
    found = catalogue(products_app)
    assert (found["Caneca Azul"][2], found["Caneca Verde"][2]) == (1, 1)


# --- a page whose product gets another barcode, or other pictures ---


def products_by_id(products_app):
    with products_app.app_context():
        return {
            p.id: (p.name, p.price, p.barcode)
            for p in products_db.session.scalars(select(Product)).all()
        }


def test_a_page_that_gains_a_gtin_updates_the_product_it_became(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(product("Caneca Esmaltada", "10.00", sku="c-1"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    [product_id] = products_by_id(products_app)
    own_shop.pages["/"] = product_page(
        product("Caneca Esmaltada", "12.00", sku="c-1", gtin13="7891234567895")
    )
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["updated"]) == ("succeeded", 0, 1), again
    assert products_by_id(products_app) == {
        product_id: ("Caneca Esmaltada", Decimal("12.00"), "7891234567895")
    }


def test_products_of_a_listing_that_gain_gtins_are_found_by_their_names(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(product("Caneca Azul", sku="a"), product("Caneca Verde"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 2), first
    ids = {name: id_ for id_, (name, _, _) in products_by_id(products_app).items()}
    own_shop.pages["/"] = product_page(
        product("Caneca Azul", sku="a", gtin13="7891234567895"), product("Caneca Verde", sku="v")
    )
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["updated"]) == ("succeeded", 0, 2), again
    after = products_by_id(products_app)
    assert set(after) == set(ids.values())
    assert after[ids["Caneca Azul"]][2] == "7891234567895"


def test_a_new_gtin_another_product_of_another_name_holds_is_refused_and_nothing_changes(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = links_to("/panela", "/caneca")
    own_shop.pages["/panela"] = product_page(product("Panela", gtin13="7891234567895"))
    own_shop.pages["/caneca"] = product_page(product("Caneca", "10.00", sku="c-1"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 2), first
    before = products_by_id(products_app)
    # The shop gives the mug the pan's GTIN: landing on the pan would rename it after the mug,
    # which products refuses, and nothing is written.
    own_shop.pages["/caneca"] = product_page(
        product("Caneca", "12.00", sku="c-1", gtin13="7891234567895")
    )
    again = run_now(app, client, admin, first["source_id"])
    assert again["status"] == "partial", again
    assert reasons_by_path(again) == {"/caneca": "products refused it: name: already taken"}
    assert products_by_id(products_app) == before
    # Corrected, the page lands on the product it became at first.
    own_shop.pages["/caneca"] = product_page(
        product("Caneca", "12.00", sku="c-1", gtin13="7890000000017")
    )
    fixed = run_now(app, client, admin, first["source_id"])
    assert (fixed["status"], fixed["created"]) == ("succeeded", 0), fixed
    [mug] = [id_ for id_, (name, _, _) in before.items() if name == "Caneca"]
    assert products_by_id(products_app)[mug] == ("Caneca", Decimal("12.00"), "7890000000017")


def test_a_page_known_by_its_url_alone_whose_product_gets_a_sku_and_a_new_name_keeps_it(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(product("Caneca Esmaltada", "10.00"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    [product_id] = products_by_id(products_app)
    own_shop.pages["/"] = product_page(product("Caneca Esmaltada Azul", "12.00", sku="c-1"))
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["updated"]) == ("succeeded", 0, 1), again
    [(name, price, barcode)] = products_by_id(products_app).values()
    assert (list(products_by_id(products_app)), name, price) == (
        [product_id],
        "Caneca Esmaltada Azul",
        Decimal("12.00"),
    )
    assert barcode == collecting.internal_barcode(first["source_id"], "sku", "c-1")


def test_a_page_reused_for_another_product_leaves_the_one_it_showed_before_as_it_was(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(product("Caneca", "10.00", sku="c-1"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    before = products_by_id(products_app)
    own_shop.pages["/"] = product_page(product("Panela", "99.00", sku="p-9"))
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["created"], again["updated"]) == ("succeeded", 1, 0), again
    after = products_by_id(products_app)
    assert {id_: after[id_] for id_ in before} == before
    assert sorted(name for name, _, _ in after.values()) == ["Caneca", "Panela"]


def test_a_page_that_drops_its_gtin_never_takes_it_from_the_product(
    app, client, admin, own_shop, products_app
):
    own_shop.pages["/"] = product_page(product("Café Pilão 500g", gtin13="7891234567895"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    before = products_by_id(products_app)
    # The GTIN may be shared with other pages, other shops, a person's product: it stays, and the
    # page's row, under a barcode of its own, is refused for the name the product holds.
    own_shop.pages["/"] = product_page(product("Café Pilão 500g", "12.00", sku="cafe-500"))
    again = run_now(app, client, admin, first["source_id"])
    assert again["status"] == "partial", again
    assert reasons_by_path(again) == {"/": "products refused it: name: already taken"}
    assert products_by_id(products_app) == before


def pictures_of(products_app, product_name):
    """The sha256 of each picture the product holds, in products' order."""
    with products_app.app_context():
        return products_db.session.scalars(
            text(
                "SELECT i.sha256 FROM products.product_images i JOIN products.products p"
                " ON p.id = i.product_id WHERE p.name = :name ORDER BY i.id"
            ),
            {"name": product_name},
        ).all()


def sha256_of(picture):
    return hashlib.sha256(picture[0]).hexdigest()


def a_mug_showing(own_shop, *colours):
    for colour in colours:
        own_shop.pages[f"/{colour}.png"] = png(colour)
    own_shop.pages["/"] = product_page(
        product("Caneca Esmaltada", sku="c-1", image=[f"/{colour}.png" for colour in colours])
    )


def test_a_replaced_photo_replaces_the_products_and_a_hand_added_picture_stays(
    app, client, admin, own_shop, products_app
):
    a_mug_showing(own_shop, "red", "blue")
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 1), first
    [product_id] = products_by_id(products_app)
    by_hand = products_app.test_client().post(
        f"/products/{product_id}/images",
        data={"file": (io.BytesIO(png("white")[0]), "mao.png")},
        headers=admin,
        content_type="multipart/form-data",
    )
    assert by_hand.status_code == 201
    # The shop replaces its first photo: the new one comes first of the collector's, as on the page.
    a_mug_showing(own_shop, "green", "blue")
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert pictures_of(products_app, "Caneca Esmaltada") == [
        sha256_of(png("white")),
        sha256_of(png("green")),
        sha256_of(png("blue")),
    ]


def test_a_page_whose_photo_changes_run_after_run_never_fills_its_product(
    app, client, admin, own_shop, products_app
):
    colours = [(n * 20, 255 - n * 20, 128) for n in range(12)]  # more than products holds (10)
    source_id = None
    for colour in colours:
        own_shop.pages["/foto.png"] = png(colour)
        own_shop.pages["/"] = product_page(
            product("Caneca Esmaltada", sku="c-1", image=f"/foto.png?v={colours.index(colour)}")
        )
        if source_id is None:
            run = run_own_shop(app, client, admin, own_shop)
            source_id = run["source_id"]
        else:
            run = run_now(app, client, admin, source_id)
        assert (run["status"], run["rejected"]) == ("succeeded", []), run
    assert pictures_of(products_app, "Caneca Esmaltada") == [sha256_of(png(colours[-1]))]


def test_a_picture_another_page_of_the_product_still_shows_is_not_removed(
    app, client, admin, own_shop, products_app
):
    for colour in ("red", "green"):
        own_shop.pages[f"/{colour}.png"] = png(colour)
    mug = {"name": "Caneca Esmaltada", "gtin13": "7891234567895"}  # one product, two pages
    own_shop.pages["/"] = links_to("/a", "/b")
    own_shop.pages["/a"] = product_page(product(**mug, image=["/red.png"]))
    own_shop.pages["/b"] = product_page(product(**mug, image=["/red.png"]))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["rejected"]) == ("succeeded", []), first
    assert pictures_of(products_app, "Caneca Esmaltada") == [sha256_of(png("red"))]
    own_shop.pages["/a"] = product_page(product(**mug, image=["/green.png"]))
    again = run_now(app, client, admin, first["source_id"])
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert pictures_of(products_app, "Caneca Esmaltada") == [
        sha256_of(png("red")),
        sha256_of(png("green")),
    ]
    # Once no page shows it, it goes.
    own_shop.pages["/b"] = product_page(product(**mug, image=["/green.png"]))
    last = run_now(app, client, admin, first["source_id"])
    assert (last["status"], last["rejected"]) == ("succeeded", []), last
    assert pictures_of(products_app, "Caneca Esmaltada") == [sha256_of(png("green"))]


MUG = {"name": "Caneca Esmaltada", "gtin13": "7891234567895"}


def two_pages_of_a_red_mug(app, client, admin, own_shop, products_app, **b_headers):
    """/a and /b show one product (a GTIN) with the same red photo: its source's id."""
    for colour in ("red", "green"):
        own_shop.pages[f"/{colour}.png"] = png(colour)
    own_shop.pages["/"] = links_to("/a", "/b")
    own_shop.pages["/a"] = product_page(product(**MUG, image=["/red.png"]))
    own_shop.pages["/b"] = (product_page(product(**MUG, image=["/red.png"])), 200, b_headers)
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["rejected"]) == ("succeeded", []), first
    assert pictures_of(products_app, MUG["name"]) == [sha256_of(png("red"))]
    return first["source_id"]


def test_a_picture_a_page_now_showing_another_product_sent_goes_once_no_page_shows_it(
    app, client, admin, own_shop, products_app
):
    source_id = two_pages_of_a_red_mug(app, client, admin, own_shop, products_app)
    own_shop.pages["/b"] = product_page(product("Panela", sku="p-1"))
    moved = run_now(app, client, admin, source_id)
    assert (moved["status"], moved["created"]) == ("succeeded", 1), moved
    with app.app_context():
        b = db.session.scalars(select(Page).where(Page.url.endswith("/b"))).one()
        # Its record is of what it shows now (a pan without a photo), not the mug's red one.
        assert pictures_kept(b) == []
    own_shop.pages["/a"] = product_page(product(**MUG, image=["/green.png"]))
    again = run_now(app, client, admin, source_id)
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert pictures_of(products_app, MUG["name"]) == [sha256_of(png("green"))]


def test_a_picture_a_page_gone_from_the_shop_sent_goes_and_comes_back_with_the_page(
    app, client, admin, own_shop, products_app
):
    source_id = two_pages_of_a_red_mug(app, client, admin, own_shop, products_app)
    shown = own_shop.pages.pop("/b")
    gone = run_now(app, client, admin, source_id)
    assert reasons_by_path(gone) == {"/b": "HTTP 404"}
    own_shop.pages["/a"] = product_page(product(**MUG, image=["/green.png"]))
    again = run_now(app, client, admin, source_id)
    assert reasons_by_path(again) == {"/b": "HTTP 404"}
    assert pictures_of(products_app, MUG["name"]) == [sha256_of(png("green"))]
    # Back as it was, the page sends its picture again.
    own_shop.pages["/b"] = shown
    back = run_now(app, client, admin, source_id)
    assert (back["status"], back["rejected"]) == ("succeeded", []), back
    assert pictures_of(products_app, MUG["name"]) == [
        sha256_of(png("green")),
        sha256_of(png("red")),
    ]


def test_a_picture_a_page_answering_304_still_shows_is_not_removed(
    app, client, admin, own_shop, products_app
):
    source_id = two_pages_of_a_red_mug(app, client, admin, own_shop, products_app, ETag='"b1"')
    unchanged = run_now(app, client, admin, source_id)
    assert (unchanged["status"], unchanged["unchanged"]) == ("succeeded", 2), unchanged
    own_shop.pages["/a"] = product_page(product(**MUG, image=["/green.png"]))
    again = run_now(app, client, admin, source_id)
    assert (again["status"], again["rejected"]) == ("succeeded", []), again
    assert own_shop.asked[-1]["headers"]["If-None-Match"] == '"b1"'  # /b answered 304
    assert pictures_of(products_app, MUG["name"]) == [
        sha256_of(png("red")),
        sha256_of(png("green")),
    ]


def test_a_page_that_drops_a_sku_another_page_still_gives_leaves_the_product_its_barcode(
    app, client, admin, own_shop, products_app
):
    # The listing and the mug's own page give one SKU: one barcode, one product.
    own_shop.pages["/"] = listing(
        product("Caneca", "10.00", sku="c-1"), product("Prato", "20.00", sku="p-1"), links=["/x"]
    )
    own_shop.pages["/x"] = product_page(product("Caneca", "10.00", sku="c-1"))
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["created"]) == ("succeeded", 2), first
    before = products_by_id(products_app)
    [mug] = [id_ for id_, (name, _, _) in before.items() if name == "Caneca"]
    # The product page's template drops the SKU; the listing still gives it, and a new price.
    own_shop.pages["/"] = listing(
        product("Caneca", "12.00", sku="c-1"), product("Prato", "20.00", sku="p-1"), links=["/x"]
    )
    own_shop.pages["/x"] = product_page(product("Caneca", "12.00"))
    again = run_now(app, client, admin, first["source_id"])
    assert reasons_by_path(again) == {"/x": "products refused it: name: already taken"}
    sku_barcode = collecting.internal_barcode(first["source_id"], "sku", "c-1")
    assert products_by_id(products_app)[mug] == ("Caneca", Decimal("12.00"), sku_barcode)
    # And the listing still lands on it, run after run.
    own_shop.pages["/"] = listing(
        product("Caneca", "13.00", sku="c-1"), product("Prato", "20.00", sku="p-1"), links=["/x"]
    )
    last = run_now(app, client, admin, first["source_id"])
    assert reasons_by_path(last) == {"/x": "products refused it: name: already taken"}
    assert products_by_id(products_app)[mug] == ("Caneca", Decimal("13.00"), sku_barcode)


def test_no_picture_is_removed_while_one_of_the_page_cannot_be_read(
    app, client, admin, own_shop, products_app
):
    a_mug_showing(own_shop, "red", "blue")
    first = run_own_shop(app, client, admin, own_shop)
    assert (first["status"], first["rejected"]) == ("succeeded", []), first
    a_mug_showing(own_shop, "green", "blue")
    own_shop.pages["/blue.png"] = ("", 404)
    again = run_now(app, client, admin, first["source_id"])
    assert reasons_by_path(again) == {"/blue.png": "picture: HTTP 404"}
    assert pictures_of(products_app, "Caneca Esmaltada") == [
        sha256_of(png("red")),
        sha256_of(png("blue")),
        sha256_of(png("green")),
    ]
