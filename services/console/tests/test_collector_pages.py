"""The collector's pages against the real collector behind the gateway stand-in: a run names its
source by name (by its id when the collector cannot say), and its error in Portuguese; the admin
edits, deactivates, reactivates and deletes a source, the collector's refusals said in
Portuguese."""

import html
import re
from urllib.parse import urlsplit

import pytest

from services.collector import create_app as create_collector_app
from services.collector.models import Run, Source, db
from services.kit.testing import build_app

from .conftest import console_with_api, csrf_of, signed_in_admin
from .test_catalogue_writes import Form


class Collector:
    """The collector's app; `sources_fail` makes reading a source answer 503, as a collector
    that stopped between the run's read and its source's would."""

    def __init__(self, app):
        self.app, self.sources_fail = app, False

    def wsgi_app(self, environ, start_response):
        if self.sources_fail and environ["PATH_INFO"].startswith("/collector/sources/"):
            body = b'{"status":503,"title":"Service Unavailable"}'
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [body]
        return self.app.wsgi_app(environ, start_response)


@pytest.fixture(scope="module")
def collector(database, jwt_keys):
    return Collector(build_app(create_collector_app, "collector", database, jwt_keys))


@pytest.fixture(scope="module")
def console(database, jwt_keys, auth, auth_server, collector):
    with console_with_api(
        database, jwt_keys, auth, auth_server, collector, ("/collector",)
    ) as served:
        yield served


@pytest.fixture
def admin(console, auth, collector):
    collector.sources_fail = False
    return signed_in_admin(console, auth, collector.app)


def a_source(collector, name: str = "Casa Aurora", **fields) -> int:
    with collector.app.app_context():
        source = Source(name=name, start_urls=["http://127.0.0.1:5092/loja-json/"], **fields)
        db.session.add(source)
        db.session.commit()
        return source.id


def finished_run(collector, status: str, error: str, rejected_count: int = 0) -> int:
    source_id = a_source(collector)
    with collector.app.app_context():
        run = Run(source_id=source_id, status=status, error=error, rejected_count=rejected_count)
        db.session.add(run)
        db.session.commit()
        return run.id


def stored(collector, source_id: int) -> Source | None:
    with collector.app.app_context():
        found = db.session.get(Source, source_id)
        db.session.expunge_all()
        return found


def send_from_the_list(admin, source_id: int, action: str, query: str = ""):
    """The admin clicks the list's `action` form ("active", "runs") of the source; "delete"
    is a link to a page that asks, whose form is sent."""
    page = admin.get(f"/console/collector{query}").text
    if action == "delete":
        link = re.search(rf'href="(/console/collector/sources/{source_id}/delete[^"]*)"', page)
        assert link, f"the collector page offers to delete source {source_id}"
        page = admin.get(html.unescape(link.group(1))).text
    found = re.search(
        rf'action="(/console/collector/sources/{source_id}/{action}[^"]*)"(.*?)</form>', page, re.S
    )
    assert found, f"the collector page offers {action} for source {source_id}"
    data = {"csrf_token": csrf_of(page)}
    active = re.search(r'name="active" value="(\w+)"', found.group(2))
    if active:
        data["active"] = active.group(1)
    return admin.post(html.unescape(found.group(1)), data=data)


def notices(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
        for text in re.findall(r'<div class="notice [^"]*"[^>]*>(.*?)</div>', page, re.S)
    ]


def fact(page: str, name: str) -> str:
    found = re.search(rf'<dd id="run-{name}">(.*?)</dd>', page, re.S)
    assert found, f"the run page has its {name}"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_runs_page_names_its_source_and_says_its_error_in_portuguese(admin, collector):
    run_id = finished_run(collector, "partial", "3 pages or products rejected", 3)

    page = admin.get(f"/console/collector/runs/{run_id}")

    assert page.status_code == 200
    assert fact(page.text, "source") == "Casa Aurora"
    assert fact(page.text, "error") == "3 páginas ou produtos recusados"


@pytest.mark.parametrize(
    ("error", "said"),
    [
        ("1 page or product rejected", "1 página ou produto recusado"),
        (
            "no page could be fetched: HTTP 404 (http://127.0.0.1:5092/sumiu/)",
            "Nenhuma página pôde ser obtida: resposta HTTP 404 (http://127.0.0.1:5092/sumiu/)",
        ),
        (
            "no page could be fetched: refused: 10.0.0.1 is a private, loopback, link-local or "
            "reserved address (not in COLLECTOR_ALLOWED_PRIVATE_HOSTS) (http://10.0.0.1/)",
            "Nenhuma página pôde ser obtida: recusada: 10.0.0.1 é um endereço privado, de "
            "loopback, link-local ou reservado (fora de COLLECTOR_ALLOWED_PRIVATE_HOSTS) "
            "(http://10.0.0.1/)",
        ),
        ("no page could be fetched", "Nenhuma página pôde ser obtida"),
    ],
    ids=["one-rejected", "a-404", "a-private-address", "nothing-asked"],
)
def test_a_runs_error_is_said_in_portuguese(admin, collector, error, said):
    run_id = finished_run(collector, "failed", error)
    assert fact(admin.get(f"/console/collector/runs/{run_id}").text, "error") == said


def test_a_run_whose_source_cannot_be_read_names_it_by_its_id(admin, collector):
    run_id = finished_run(collector, "succeeded", None)
    with collector.app.app_context():
        source_id = db.session.get(Run, run_id).source_id
    collector.sources_fail = True

    page = admin.get(f"/console/collector/runs/{run_id}")

    assert page.status_code == 200
    assert fact(page.text, "source") == f"#{source_id}"
    assert fact(page.text, "error") == "—"


def test_an_admin_deactivates_a_source_and_activates_it_again_from_the_list(admin, collector):
    source_id = a_source(collector)

    answer = send_from_the_list(admin, source_id, "active", "?sources_page=1&status=failed")

    assert answer.status_code == 303
    back = urlsplit(answer.location)
    assert (back.path, back.query) == ("/console/collector", "status=failed&sources_page=1")
    assert stored(collector, source_id).active is False
    page = admin.get(answer.location).text
    assert "Fonte desativada." in notices(page)
    assert ">Ativar<" in page

    assert send_from_the_list(admin, source_id, "active").status_code == 303
    assert stored(collector, source_id).active is True


def test_an_admin_deletes_a_source_from_the_list(admin, collector):
    source_id = a_source(collector)

    answer = send_from_the_list(admin, source_id, "delete")

    assert answer.status_code == 303
    assert stored(collector, source_id) is None
    assert "Fonte excluída." in notices(admin.get(answer.location).text)


def test_the_list_filtered_by_a_source_offers_its_actions_and_comes_back_filtered(admin, collector):
    """`source_id` filters the runs and names the route's source too: the forms carry it as
    their query, not as url_for's argument (a 500 for every source)."""
    source_id, other = a_source(collector), a_source(collector, name="Loja Dois")

    answer = send_from_the_list(admin, other, "active", f"?source_id={source_id}")

    assert answer.status_code == 303
    back = urlsplit(answer.location)
    assert (back.path, back.query) == ("/console/collector", f"source_id={source_id}")
    assert stored(collector, other).active is False


def test_excluir_on_the_list_only_asks_and_says_what_goes_and_what_stays(admin, collector):
    source_id = a_source(collector)
    page = admin.get("/console/collector?sources_page=1").text
    link = re.search(rf'href="(/console/collector/sources/{source_id}/delete[^"]*)"', page)

    asked = admin.get(html.unescape(link.group(1)))

    assert asked.status_code == 200
    assert stored(collector, source_id) is not None
    said = html.unescape(asked.text)
    assert "Excluir a fonte Casa Aurora?" in said
    assert "Os produtos que ela trouxe ficam no catálogo." in said
    assert 'href="/console/collector?sources_page=1">Voltar sem excluir</a>' in said


def test_a_run_started_from_the_lists_second_page_goes_back_to_it(admin, collector):
    source_id = a_source(collector)

    answer = send_from_the_list(admin, source_id, "runs", "?sources_page=1&status=failed")

    assert answer.status_code == 303
    back = urlsplit(answer.location)
    assert (back.path, back.query) == ("/console/collector", "status=failed&sources_page=1")


def test_a_source_with_a_run_queued_is_not_deleted_and_the_list_says_why_in_portuguese(
    admin, collector
):
    source_id = a_source(collector)
    with collector.app.app_context():
        db.session.add(Run(source_id=source_id, status="queued"))
        db.session.commit()

    answer = send_from_the_list(admin, source_id, "delete")

    assert answer.status_code == 303
    assert stored(collector, source_id) is not None
    assert (
        f"Não foi possível excluir a fonte: A fonte {source_id} tem uma coleta na fila ou em "
        "andamento; espere que ela termine"
    ) in notices(admin.get(answer.location).text)


def test_the_list_links_each_source_to_its_edit_form(admin, collector):
    source_id = a_source(collector)
    page = admin.get("/console/collector").text
    assert f'href="/console/collector/sources/{source_id}">Editar' in page


def test_an_edited_source_saves_the_fields_changed_and_leaves_a_deactivation_made_since(
    admin, collector
):
    source_id = a_source(collector, selectors={"name": "h1"}, max_pages=50)
    form = Form(admin.get(f"/console/collector/sources/{source_id}").text, "source-form").values
    assert (form["name"], form["delay_s"], form["active"]) == ("Casa Aurora", "1.00", "on")
    with collector.app.app_context():
        db.session.get(Source, source_id).active = False
        db.session.commit()

    answer = admin.post(
        f"/console/collector/sources/{source_id}",
        data={
            **form,
            "name": "Casa Aurora II",
            "delay_s": "2.5",
            "schedule": "0 3 * * *",
        },
    )

    assert answer.status_code == 303, notices(answer.text)
    assert answer.location == "/console/collector"
    kept = stored(collector, source_id)
    assert (kept.name, str(kept.delay_s), kept.schedule, kept.active) == (
        "Casa Aurora II",
        "2.50",
        "0 3 * * *",
        False,
    )
    assert (kept.selectors, kept.max_pages) == ({"name": "h1"}, 50)
    assert "Fonte Casa Aurora II atualizada." in notices(admin.get(answer.location).text)


def test_an_edited_source_clears_its_selectors_when_the_field_is_emptied(admin, collector):
    source_id = a_source(collector, selectors={"name": "h1"})
    form = Form(admin.get(f"/console/collector/sources/{source_id}").text, "source-form").values

    answer = admin.post(f"/console/collector/sources/{source_id}", data={**form, "selectors": ""})

    assert answer.status_code == 303, notices(answer.text)
    assert stored(collector, source_id).selectors == {}


def test_a_source_renamed_to_another_sources_name_is_a_409_under_its_name(admin, collector):
    a_source(collector, "Casa Boreal")
    source_id = a_source(collector)
    form = Form(admin.get(f"/console/collector/sources/{source_id}").text, "source-form").values

    answer = admin.post(
        f"/console/collector/sources/{source_id}", data={**form, "name": "Casa Boreal"}
    )

    assert answer.status_code == 409
    assert re.search(
        r'<p id="name-error" class="error" data-field="name">Já está em uso.</p>', answer.text
    )
    assert Form(answer.text, "source-form").values["name"] == "Casa Boreal"
    assert stored(collector, source_id).name == "Casa Aurora"


def test_a_refused_source_field_is_said_in_portuguese_under_it(admin, collector):
    source_id = a_source(collector)
    form = Form(admin.get(f"/console/collector/sources/{source_id}").text, "source-form").values

    answer = admin.post(
        f"/console/collector/sources/{source_id}",
        data={**form, "delay_s": "", "schedule": "toda hora"},
    )

    assert answer.status_code == 422
    errors = dict(
        re.findall(r'<p id="[^"]+-error" class="error" data-field="(\w+)">([^<]*)</p>', answer.text)
    )
    assert errors.keys() == {"delay_s", "schedule"}
    assert errors["delay_s"] == "Campo obrigatório."
    assert errors["schedule"].startswith("Deve ser uma expressão cron de cinco campos")
    assert "Erro: " in answer.text
    assert str(stored(collector, source_id).delay_s) == "1.00"


def test_a_source_form_saved_unchanged_sends_nothing_and_says_so(admin, collector):
    source_id = a_source(collector, selectors={"name": "h1"})
    form = Form(admin.get(f"/console/collector/sources/{source_id}").text, "source-form").values

    answer = admin.post(f"/console/collector/sources/{source_id}", data=form)

    assert answer.status_code == 303
    assert answer.location == f"/console/collector/sources/{source_id}"
    assert "Nada foi alterado." in notices(admin.get(answer.location).text)


def stop_from_its_page(admin, run_id: int):
    """The admin clicks Parar on the run's page."""
    page = admin.get(f"/console/collector/runs/{run_id}").text
    found = re.search(rf'action="(/console/collector/runs/{run_id}/cancel)"', page)
    assert found, f"the page of run {run_id} offers to stop it"
    return admin.post(found.group(1), data={"csrf_token": csrf_of(page)})


def a_run(collector, status: str) -> int:
    source_id = a_source(collector)
    with collector.app.app_context():
        run = Run(source_id=source_id, status=status)
        db.session.add(run)
        db.session.commit()
        return run.id


def test_an_admin_stops_a_queued_run_from_its_page_and_it_is_cancelled(admin, collector):
    run_id = a_run(collector, "queued")

    answer = stop_from_its_page(admin, run_id)

    assert answer.status_code == 303
    assert urlsplit(answer.location).path == f"/console/collector/runs/{run_id}"
    page = admin.get(answer.location).text
    assert "Coleta cancelada." in notices(page)
    assert fact(page, "status") == "Cancelada"
    assert fact(page, "error").startswith("Cancelada pelo usuário ")
    assert f"/console/collector/runs/{run_id}/cancel" not in page


def test_a_running_run_stopped_from_its_page_says_it_is_stopping(admin, collector):
    run_id = a_run(collector, "running")

    answer = stop_from_its_page(admin, run_id)

    page = admin.get(answer.location).text
    assert "Coleta parando: ela termina antes da próxima página." in notices(page)
    assert fact(page, "status") == "Em andamento (parando)"
    assert f"/console/collector/runs/{run_id}/cancel" not in page


def test_a_run_that_ended_before_parar_was_sent_is_said_so_in_portuguese(admin, collector):
    run_id = a_run(collector, "running")
    page = admin.get(f"/console/collector/runs/{run_id}").text
    with collector.app.app_context():
        db.session.get(Run, run_id).status = "succeeded"
        db.session.commit()

    answer = admin.post(
        f"/console/collector/runs/{run_id}/cancel", data={"csrf_token": csrf_of(page)}
    )

    assert answer.status_code == 303
    assert (
        f"Não foi possível parar a coleta: A coleta {run_id} está concluída: só uma coleta na "
        "fila ou em andamento pode ser parada"
    ) in notices(admin.get(answer.location).text)
    page = admin.get(f"/console/collector/runs/{run_id}").text
    assert f"/console/collector/runs/{run_id}/cancel" not in page
