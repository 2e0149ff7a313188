"""A collector run's page against the real collector behind the gateway stand-in: the run names
its source by name (by its id when the collector cannot say), and its error in Portuguese."""

import re

import pytest

from services.collector import create_app as create_collector_app
from services.collector.models import Run, Source, db
from services.kit.testing import build_app

from .conftest import console_with_api, signed_in_admin


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


def finished_run(collector, status: str, error: str, rejected_count: int = 0) -> int:
    with collector.app.app_context():
        source = Source(name="Casa Aurora", start_urls=["http://127.0.0.1:5092/loja-json/"])
        db.session.add(source)
        db.session.flush()
        run = Run(source_id=source.id, status=status, error=error, rejected_count=rejected_count)
        db.session.add(run)
        db.session.commit()
        return run.id


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
