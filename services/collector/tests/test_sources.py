"""The sources and runs API: admin only, validated, one run per source at a time (409), 404s."""

import threading

import pytest
from sqlalchemy import text

from services.collector import sources
from services.collector.models import Run, db
from services.collector.schemas import RunSchema
from services.kit import Unavailable
from services.kit.httpclient import ServiceClient
from services.kit.testing import answered_behind

SHOP = "http://127.0.0.1:5092/loja-json/"


def source(client, admin, **fields):
    body = {"name": "Casa Aurora", "start_urls": [SHOP], "delay_s": "0", **fields}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 201, response.json
    return response.json


def test_an_admin_adds_a_source_and_reads_it_back(client, admin):
    made = source(client, admin, schedule="0 3 * * *", selectors={"name": "h1.titulo"})
    assert made["start_urls"] == [SHOP]
    assert (made["schedule"], made["max_pages"], made["delay_s"]) == ("0 3 * * *", 100, "0.00")
    assert made["active"] is True and made["last_run"] is None
    read = client.get(f"/collector/sources/{made['id']}", headers=admin)
    assert read.status_code == 200 and read.json["selectors"] == {"name": "h1.titulo"}
    listed = client.get("/collector/sources?name=aurora", headers=admin).json
    assert [s["id"] for s in listed["items"]] == [made["id"]]


def test_a_user_is_refused_and_no_token_is_a_401(client, user):
    assert client.get("/collector/sources", headers=user).status_code == 403
    assert client.post("/collector/sources", json={}, headers=user).status_code == 403
    assert client.get("/collector/runs").status_code == 401


def test_invalid_fields_are_a_422_naming_each(client, admin):
    body = {
        "name": "",
        "start_urls": ["ftp://x/", "nada"],
        "schedule": "toda hora",
        "max_pages": 0,
        "delay_s": "-1",
        "selectors": {"name": "h1[", "cor": ".x"},
    }
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    errors = response.json["errors"]
    for field in ("name", "start_urls.0", "start_urls.1", "schedule", "max_pages", "delay_s"):
        assert field in errors, (field, errors)
    assert any(key.startswith("selectors") for key in errors)


@pytest.mark.parametrize("delay", ["3599.994", "0.001", 0.001, "1.5e-3"])
def test_a_delay_with_more_than_two_places_is_refused_not_rounded(client, admin, delay):
    body = {"name": "Bazar", "start_urls": [SHOP], "delay_s": delay}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422, response.json
    assert response.json["errors"] == {"delay_s": ["At most two decimal places."]}


def test_a_delay_of_whole_or_two_place_seconds_reads_back_with_two_places(client, admin):
    assert source(client, admin, delay_s=2)["delay_s"] == "2.00"
    assert source(client, admin, name="Bazar", delay_s="0.25")["delay_s"] == "0.25"


@pytest.mark.parametrize("selector", ["(//h1)[$x]", "//x:h1", "h1::bogus", "(1+1)"])
def test_a_selector_that_compiles_but_fails_when_run_is_a_422(client, admin, selector):
    body = {"name": "Bazar", "start_urls": [SHOP], "selectors": {"name": selector}}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422
    assert any(key.startswith("selectors") for key in response.json["errors"])


@pytest.mark.parametrize(
    "schedule", ["0 3 * * 7", "0 3 * * 0", "0 3 * * 1-5", "0 9 * * 5-7", "0 9 * * sat-sun"]
)
def test_a_standard_cron_weekday_is_accepted_sunday_as_0_or_7(client, admin, schedule):
    assert source(client, admin, schedule=schedule)["schedule"] == schedule


@pytest.mark.parametrize("schedule", ["0 3 * * 8", "0 3 * * 5-1", "0 3 * * 1/0", "0 3 * *"])
def test_a_weekday_cron_does_not_have_is_a_422_naming_schedule(client, admin, schedule):
    body = {"name": "Bazar", "start_urls": [SHOP], "schedule": schedule}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422 and "schedule" in response.json["errors"]


def test_a_source_without_start_urls_is_a_422(client, admin):
    response = client.post("/collector/sources", json={"name": "x"}, headers=admin)
    assert response.status_code == 422 and "start_urls" in response.json["errors"]


def test_a_second_source_with_the_same_name_is_a_409(client, admin):
    source(client, admin)
    response = client.post(
        "/collector/sources", json={"name": "Casa Aurora", "start_urls": [SHOP]}, headers=admin
    )
    assert response.status_code == 409 and "name" in response.json["errors"]


def test_unknown_ids_are_404s(client, admin):
    assert client.get("/collector/sources/999", headers=admin).status_code == 404
    assert (
        client.patch("/collector/sources/999", json={"active": False}, headers=admin).status_code
        == 404
    )
    assert client.delete("/collector/sources/999", headers=admin).status_code == 404
    assert client.post("/collector/sources/999/runs", headers=admin).status_code == 404
    assert client.get("/collector/runs/999", headers=admin).status_code == 404


def test_patch_changes_some_fields_and_an_empty_patch_is_a_422(client, admin):
    made = source(client, admin)
    changed = client.patch(
        f"/collector/sources/{made['id']}", json={"max_pages": 5, "active": False}, headers=admin
    )
    assert changed.status_code == 200
    assert (changed.json["max_pages"], changed.json["active"]) == (5, False)
    assert (
        client.patch(f"/collector/sources/{made['id']}", json={}, headers=admin).status_code == 422
    )


def test_asking_for_a_run_queues_it_and_a_second_is_a_409(client, admin):
    made = source(client, admin)
    first = client.post(f"/collector/sources/{made['id']}/runs", headers=admin)
    assert first.status_code == 202
    assert first.json["status"] == "queued" and first.headers["Location"].endswith(
        f"/collector/runs/{first.json['id']}"
    )
    second = client.post(f"/collector/sources/{made['id']}/runs", headers=admin)
    assert second.status_code == 409
    assert second.content_type == "application/problem+json"
    runs = client.get(f"/collector/runs?source_id={made['id']}&status=queued", headers=admin)
    assert runs.json["total"] == 1


def test_many_asking_at_once_make_exactly_one_run(app, client, admin):
    made = source(client, admin)
    statuses = []

    def ask():
        statuses.append(
            app.test_client()
            .post(f"/collector/sources/{made['id']}/runs", headers=admin)
            .status_code
        )

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [409] * 7
    with app.app_context():
        assert db.session.query(Run).count() == 1


def test_an_inactive_source_is_not_run(client, admin):
    made = source(client, admin, active=False)
    assert client.post(f"/collector/sources/{made['id']}/runs", headers=admin).status_code == 409


def test_a_source_with_a_queued_run_cannot_be_deleted_and_one_without_can(client, admin):
    made = source(client, admin)
    client.post(f"/collector/sources/{made['id']}/runs", headers=admin)
    assert client.delete(f"/collector/sources/{made['id']}", headers=admin).status_code == 409
    other = source(client, admin, name="Outra")
    assert client.delete(f"/collector/sources/{other['id']}", headers=admin).status_code == 204
    assert client.get(f"/collector/sources/{other['id']}", headers=admin).status_code == 404


def test_a_source_deleted_while_a_run_of_it_is_being_queued_is_refused_with_409(app, client, admin):
    made = source(client, admin)
    with app.app_context(), db.engine.connect() as holder:
        # What POST .../runs holds until its run is committed: the source, share-locked.
        holder.execute(text("SELECT id FROM collector.sources WHERE id = :id FOR SHARE"), made)
        holder.execute(text("INSERT INTO collector.runs (source_id) VALUES (:id)"), made)
        deleted = answered_behind(
            app,
            holder,
            lambda: app.test_client().delete(f"/collector/sources/{made['id']}", headers=admin),
        )
    assert deleted.status_code == 409 and "queued or running" in deleted.json["detail"]
    runs = client.get(f"/collector/runs?source_id={made['id']}", headers=admin).json
    assert [run["status"] for run in runs["items"]] == ["queued"]


def test_a_run_asked_for_while_its_source_is_being_deleted_is_a_404_and_no_run(app, client, admin):
    made = source(client, admin)
    with app.app_context(), db.engine.connect() as holder:
        holder.execute(text("DELETE FROM collector.sources WHERE id = :id"), made)
        asked = answered_behind(
            app,
            holder,
            lambda: app.test_client().post(f"/collector/sources/{made['id']}/runs", headers=admin),
        )
    assert asked.status_code == 404, asked.json
    assert asked.json["detail"] == f"Source {made['id']} does not exist"
    assert client.get("/collector/runs", headers=admin).json["total"] == 0


def test_a_queued_run_is_answered_as_stored_even_when_it_is_gone_at_once(app, client, admin):
    made = source(client, admin)
    with app.app_context():
        run = sources.start_run(made["id"], requested_by=1)
        with db.engine.begin() as other:
            other.execute(text("DELETE FROM collector.sources WHERE id = :id"), made)
        answered = RunSchema().dump(run)
        db.session.rollback()
    assert answered["source_id"] == made["id"] and answered["status"] == "queued"
    assert answered["queued_at"] is not None and answered["id"] > 0


def test_run_filters_are_checked(client, admin):
    assert client.get("/collector/runs?status=talvez", headers=admin).status_code == 422
    assert client.get("/collector/runs?source_id=x", headers=admin).status_code == 422
    assert client.get("/collector/runs?cor=azul", headers=admin).status_code == 422


def test_the_openapi_document_lists_the_routes(client):
    paths = client.get("/collector/openapi.json").json["paths"]
    assert {"/collector/sources", "/collector/sources/{source_id}", "/collector/runs"} <= set(paths)


def test_a_start_url_python_cannot_split_is_a_422_not_a_500(client, admin):
    body = {"name": "x", "start_urls": ["http://[", "http://loja:porta/"]}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422
    assert {"start_urls.0", "start_urls.1"} <= set(response.json["errors"])


PRIVATE = [
    "http://10.0.0.1/",
    "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:5092/",
    "http://[::ffff:10.0.0.1]/",
    "http://127.0.0.2:5092/",
    "http://2130706433/",  # 127.0.0.1 as a number, which COLLECTOR_ALLOWED_PRIVATE_HOSTS holds
]


@pytest.mark.parametrize("url", PRIVATE[:-1])
def test_a_start_url_at_a_private_address_is_a_422_naming_it_when_added_or_changed(
    client, admin, url
):
    body = {"name": "Rede interna", "start_urls": [SHOP, url]}
    added = client.post("/collector/sources", json=body, headers=admin)
    assert added.status_code == 422, added.json
    [said] = added.json["errors"]["start_urls.1"]
    assert "is a private, loopback, link-local or reserved address" in said
    made = source(client, admin)
    changed = client.patch(
        f"/collector/sources/{made['id']}", json={"start_urls": [url]}, headers=admin
    )
    assert changed.status_code == 422 and "start_urls.0" in changed.json["errors"]
    kept = client.get(f"/collector/sources/{made['id']}", headers=admin).json
    assert kept["start_urls"] == [SHOP]


def test_an_allowed_private_address_and_any_host_name_are_taken_as_the_fetcher_takes_them(
    app, client, admin, monkeypatch
):
    # A name is judged when the run resolves it (what it resolves to can change till then).
    monkeypatch.setitem(app.config, "COLLECTOR_ALLOWED_PRIVATE_HOSTS", ["127.0.0.1", "10.0.0.1"])
    urls = ["http://10.0.0.1/", PRIVATE[-1], "http://loja.interna.test/"]
    assert source(client, admin, start_urls=urls)["start_urls"] == urls


@pytest.mark.parametrize("value", [1.5, "2"])
def test_max_pages_must_be_a_json_integer_as_every_other_services_integers(client, admin, value):
    body = {"name": "Bazar", "start_urls": [SHOP], "max_pages": value}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json["errors"] == {"max_pages": ["Not a valid integer."]}
    made = source(client, admin)
    changed = client.patch(
        f"/collector/sources/{made['id']}", json={"max_pages": value}, headers=admin
    )
    assert changed.status_code == 422 and list(changed.json["errors"]) == ["max_pages"]


def test_a_category_products_does_not_have_is_a_422_naming_category_id(client, admin, products_app):
    body = {"name": "Bazar", "start_urls": [SHOP], "category_id": 999999999}
    response = client.post("/collector/sources", json=body, headers=admin)
    assert response.status_code == 422
    assert response.json["errors"] == {"category_id": ["No such category."]}
    assert client.get("/collector/sources", headers=admin).json["total"] == 0
    made = source(client, admin)
    changed = client.patch(
        f"/collector/sources/{made['id']}", json={"category_id": 999999999}, headers=admin
    )
    assert changed.status_code == 422 and list(changed.json["errors"]) == ["category_id"]
    category = (
        products_app.test_client().post("/categories", json={"name": "Cozinha"}, headers=admin).json
    )
    kept = source(client, admin, name="Outra", category_id=category["id"])
    assert kept["category_id"] == category["id"]


def test_a_source_is_kept_when_products_cannot_say_whether_its_category_exists(
    client, admin, monkeypatch
):
    # Products judges each collected row's category anyway: a run rejects the rows, with its reason.
    def down(self, method, path, **kwargs):
        raise Unavailable("The products service is unavailable")

    monkeypatch.setattr(ServiceClient, "request", down)
    made = source(client, admin, category_id=999999999)
    assert made["category_id"] == 999999999
