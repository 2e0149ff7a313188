"""The dashboard's period and charts against a stand-in for the KPI route: a `days` the picker
cannot take is a 422 saying what it takes, as a date it cannot read is; every chart, the top
clients' too, names its table for screen readers; and, drawn by the real Chart.js in headless
Chromium, the charts say numbers and money as Brazilians write them, cut long names on their
axis (whole in the tooltip) and give every category a colour of its own (named by the tooltip
and the table, not a legend, past 10)."""

import html
import json
import re
import shutil
import subprocess
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, request

from .conftest import console_with_api, emptied_with_the_admin, register, signed_in_admin

LONG_NAME = "Cafeteira elétrica italiana de alumínio para seis xícaras"
CATEGORIES = 12


def kpi_answer(first: str, last: str) -> dict:
    """A period's KPIs as orders gives them, with a long product name and 12 categories."""
    return {
        "from": first,
        "to": last,
        "tz": "America/Sao_Paulo",
        "gmv": "101500.50",
        "refunded": "1500.50",
        "net": "100000.00",
        "orders": 40,
        "average_order_value": "2537.51",
        "units": 1503,
        "cancellation_rate": "0.0000",
        "new_clients": 2,
        "repeat_client_rate": "0.5000",
        "by_day": [
            {"date": first, "gmv": "100000.00", "orders": 30},
            {"date": last, "gmv": "1500.50", "orders": 10},
        ],
        "top_products": [
            {"product_id": 1, "name": LONG_NAME, "units": 1500, "revenue": "100000.00"},
            {"product_id": 2, "name": "Café", "units": 3, "revenue": "1500.50"},
        ],
        "by_category": [
            {"category_id": n, "name": f"Categoria número {n}", "units": 1, "revenue": "10.00"}
            for n in range(1, CATEGORIES + 1)
        ],
        "by_client": [
            {"client_id": 5, "name": "Fernando Cunha", "gmv": "70000.00", "orders": 2},
            {"client_id": 9, "name": "Maria Souza", "gmv": "31500.50", "orders": 1},
        ],
        "by_state": [{"state": "SP", "gmv": "101500.50", "orders": 40}],
    }


class Kpis:
    """`/orders/reports/kpis` as orders answers it: at most 366 days, else its 422 naming
    `from`. It keeps the periods it was asked (`asked`: from, to). Its top clients are
    `by_client` when set; `/clients?ids=` names those of `clients` (id: name), as clients' read
    of names answers, and keeps what it was asked (`clients_asked`)."""

    def __init__(self):
        self.asked: list[tuple[str, str]] = []
        self.by_client: list[dict] | None = None
        self.clients: dict[int, str] = {}
        self.clients_asked: list[dict] = []
        app = self.app = Flask("kpis")

        @app.get("/clients")
        def clients():
            self.clients_asked.append(request.args.to_dict())
            asked = [int(n) for n in request.args["ids"].split(",")]
            items = [{"id": n, "name": self.clients[n]} for n in asked if n in self.clients]
            return {"items": items, "total": len(items), "page": 1, "per_page": 100}

        @app.get("/orders/reports/kpis")
        def kpis():
            first, last = request.args["from"], request.args["to"]
            self.asked.append((first, last))
            if (date.fromisoformat(last) - date.fromisoformat(first)).days >= 366:
                return {
                    "status": 422,
                    "title": "Unprocessable Entity",
                    "detail": "Invalid fields: from",
                    "errors": {"from": ["The period is at most 366 days."]},
                }, 422
            found = kpi_answer(first, last)
            return found if self.by_client is None else {**found, "by_client": self.by_client}


@pytest.fixture(scope="module")
def kpis_api(auth):
    return Kpis()


@pytest.fixture(scope="module")
def kpis_console(database, jwt_keys, auth, auth_server, kpis_api):
    with console_with_api(
        database, jwt_keys, auth, auth_server, kpis_api.app, ("/orders/reports/kpis", "/clients")
    ) as console:
        yield console


@pytest.fixture
def admin(kpis_console, auth, kpis_api):
    kpis_api.asked.clear()
    kpis_api.by_client, kpis_api.clients = None, {}
    kpis_api.clients_asked.clear()
    return signed_in_admin(kpis_console, auth)


def shop_today() -> date:
    return datetime.now(ZoneInfo("America/Sao_Paulo")).date()


@pytest.mark.parametrize(
    "days",
    ["0", "-1", "367", "abc", "99999999999999999999", "9" * 4301, "٣٠", " 30", "3_0"],
    ids=[
        "zero",
        "negative",
        "367",
        "letters",
        "huge",
        "past-int-limit",
        "arabic-digits",
        "space",
        "underscore",
    ],
)
def test_days_the_picker_cannot_take_are_a_422_saying_what_days_may_be(admin, kpis_api, days):
    before = shop_today()
    answer = admin.get("/console/", query_string={"days": days})
    assert answer.status_code == 422
    assert (
        '<p id="days-error" class="error" data-field="days">'
        "O número de dias deve ser de 1 a 366.</p>" in answer.text
    )
    # The error summary's link leads to the picker's days.
    assert '<a href="#days">O número de dias deve ser de 1 a 366.</a>' in answer.text
    assert '<span class="presets" id="days" tabindex="-1">' in answer.text
    # The period shown is then the default one, the last 30 days, and the page says why.
    first, last = (date.fromisoformat(day) for day in kpis_api.asked[-1])
    assert last in (before, shop_today())
    assert (last - first).days == 29


def test_a_user_who_is_shown_no_picker_is_told_nothing_of_its_days(kpis_console, auth):
    user = emptied_with_the_admin(kpis_console, auth)
    register(user)
    answer = user.get("/console/", query_string={"days": "abc"})
    assert answer.status_code == 200
    assert "Há um problema" not in answer.text and 'id="days-error"' not in answer.text


@pytest.mark.parametrize("days", [1, 7, 366])
def test_any_days_from_1_to_366_is_the_period_up_to_today(admin, kpis_api, days):
    answer = admin.get("/console/", query_string={"days": days})
    assert answer.status_code == 200
    assert 'id="days-error"' not in answer.text
    first, last = (date.fromisoformat(day) for day in kpis_api.asked[-1])
    assert (last - first).days == days - 1


def test_a_period_the_kpis_refuse_is_a_422_saying_why(admin):
    answer = admin.get("/console/", query_string={"from": "2025-01-01", "to": "2026-01-02"})
    assert answer.status_code == 422
    assert "O período é de no máximo 366 dias." in answer.text


def test_every_chart_names_its_table_for_screen_readers(admin):
    page = admin.get("/console/").text
    canvases = re.findall(r"<canvas [^>]*>", page)
    assert len(canvases) == 5
    for canvas in canvases:
        described = re.search(r'aria-describedby="([^"]+)"', canvas)
        assert described, canvas
        table = re.search(rf'<table id="{described.group(1)}">.*?</table>', page, re.S)
        assert table, f"{described.group(1)} is a table of the page"
        # On a phone an opened table scrolls in its own box, not the page.
        boxed = (
            r'<div class="scroll" role="region" aria-label="[^"]+" tabindex="0">\s*'
            rf'<table id="{described.group(1)}">'
        )
        assert re.search(boxed, page), f"{described.group(1)} scrolls in its own box"


def test_the_tiles_say_what_went_back_and_what_is_left(admin):
    page = admin.get("/console/").text
    assert re.search(r'<strong id="kpi-refunded">R\$ 1\.500,50</strong>', page)
    assert re.search(r'<strong id="kpi-net">R\$ 100\.000,00</strong>', page)


def test_the_top_clients_have_a_chart_of_their_gmv_beside_their_table(admin):
    page = admin.get("/console/").text
    canvas = re.search(r'<canvas id="chart-by-client" [^>]*data-chart="([^"]+)"', page)
    assert canvas, "the top clients have a chart"
    spec = json.loads(html.unescape(canvas.group(1)))
    assert spec["labels"] == ["Fernando Cunha", "Maria Souza"]
    assert spec["values"] == ["70000.00", "31500.50"]
    assert spec["money"] is True
    table = re.search(r'<table id="table-by-client">.*?</table>', page, re.S).group(0)
    assert '<a href="/console/clients/5">Fernando Cunha</a>' in table
    assert "R$ 70.000,00" in table


def top_clients(page: str) -> list[tuple[int | None, str]]:
    """Each top client's table cell: the client page it links to (None: no link), and its words."""
    table = re.search(r'<table id="table-by-client">.*?</table>', page, re.S).group(0)
    cells = re.findall(
        r'<tr><td>(?:<a href="/console/clients/(\d+)">([^<]*)</a>|([^<]*))</td>', table
    )
    return [
        (int(link), html.unescape(name)) if link else (None, html.unescape(text))
        for link, name, text in cells
    ]


def test_a_deleted_top_client_is_named_deleted_without_a_link_to_their_missing_page(
    admin, kpis_api
):
    """The KPIs leave a client unnamed whether deleted or clients did not answer orders: one read
    of clients tells them apart, as on the orders pages."""
    kpis_api.by_client = [
        {"client_id": 5, "name": "Fernando Cunha", "gmv": "70000.00", "orders": 2},
        {"client_id": 714, "name": None, "gmv": "31500.50", "orders": 1},
        {"client_id": 9, "name": None, "gmv": "100.00", "orders": 1},
    ]
    kpis_api.clients = {9: "Maria Souza"}  # 714 is no more; 9 clients names now
    page = admin.get("/console/").text
    assert top_clients(page) == [
        (5, "Fernando Cunha"),
        (None, "Cliente 714 (excluído)"),
        (9, "Maria Souza"),
    ]
    canvas = re.search(r'<canvas id="chart-by-client" [^>]*data-chart="([^"]+)"', page).group(1)
    assert json.loads(html.unescape(canvas))["labels"][1] == "Cliente 714 (excluído)"
    # Only the unnamed are asked, in one read.
    assert kpis_api.clients_asked == [{"ids": "9,714", "per_page": "100"}]


def test_top_clients_all_named_ask_nothing_of_clients(admin, kpis_api):
    admin.get("/console/")
    assert kpis_api.clients_asked == []


# Run on `load`, after console.js has drawn every chart: what Chart.js shows of each, its
# tooltip opened on the first item.
PROBE = """<pre id="probe"></pre><script>
window.addEventListener("load", function () {
  var seen = {};
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var chart = Chart.getChart(canvas);
    chart.tooltip.setActiveElements([{datasetIndex: 0, index: 0}], {x: 0, y: 0});
    chart.update();
    var ticks = {};
    Object.keys(chart.scales).forEach(function (axis) {
      ticks[axis] = chart.scales[axis].ticks.map(function (tick) { return tick.label; });
    });
    seen[canvas.id] = {
      ticks: ticks,
      title: chart.tooltip.title,
      body: chart.tooltip.body.map(function (item) { return item.lines.join(" "); }),
      colours: chart.data.datasets[0].backgroundColor,
      legend: chart.legend.options.display
    };
  });
  document.getElementById("probe").textContent = JSON.stringify(seen);
});
</script>"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium draws the charts here: bash stack/ensure-system.sh test installs it")
    return found


@pytest.fixture(scope="module")
def drawn(kpis_console, auth, kpis_api, tmp_path_factory) -> dict:
    """The dashboard as the console renders it, its scripts read from their files, opened in
    headless Chromium: what each chart shows, by canvas id."""
    page = signed_in_admin(kpis_console, auth).get("/console/").text
    served = kpis_console.extensions["console.assets.files"]
    page = re.sub(
        r'(src|href)="/console/assets/([^"]+)"',
        lambda found: f'{found.group(1)}="{served[found.group(2)].as_uri()}"',
        page,
    )
    folder = tmp_path_factory.mktemp("dashboard")
    opened = folder / "dashboard.html"
    opened.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={folder / 'profile'}",
            "--window-size=1280,2000",
            "--dump-dom",
            opened.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    probe = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert probe and probe.group(1), "the page's charts were drawn"
    return json.loads(html.unescape(probe.group(1)).replace("\xa0", " "))


def test_the_charts_say_numbers_and_money_as_brazilians_write_them(drawn):
    assert "R$ 100.000" in drawn["chart-by-day"]["ticks"]["y"]
    assert drawn["chart-by-day"]["body"] == ["GMV por dia: R$ 100.000,00"]
    assert drawn["chart-by-state"]["body"] == ["GMV por UF: R$ 101.500,50"]
    # Units are a count: no R$, a dot between thousands.
    assert "1.000" in drawn["chart-top-products"]["ticks"]["x"]
    assert drawn["chart-top-products"]["body"] == ["Unidades vendidas: 1.500"]
    assert drawn["chart-by-category"]["body"] == ["Receita por categoria: R$ 10,00"]
    assert drawn["chart-by-client"]["body"] == ["GMV: R$ 70.000,00"]
    assert not any(
        "," in tick and "R$" not in tick
        for chart in drawn.values()
        for axis in chart["ticks"].values()
        for tick in axis
    ), "no number is written 100,000"


def test_the_tiles_and_tables_write_counts_with_a_dot_between_thousands(admin):
    page = admin.get("/console/").text
    assert '<strong id="kpi-units">1.503</strong>' in page
    # The top products' table: a product's units.
    assert "<td>1.500</td>" in page


def test_the_days_of_the_gmv_chart_are_written_as_its_table_writes_them(drawn):
    day_chart = drawn["chart-by-day"]
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", tick) for tick in day_chart["ticks"]["x"])
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", day_chart["title"][0])


def test_a_long_product_name_is_cut_on_its_axis_and_whole_in_its_tooltip(drawn):
    products = drawn["chart-top-products"]
    assert products["ticks"]["y"] == [LONG_NAME[:23] + "…", "Café"]
    assert products["title"] == [LONG_NAME]


def test_every_category_has_a_colour_of_its_own(drawn):
    colours = drawn["chart-by-category"]["colours"]
    assert len(colours) == CATEGORIES
    assert len(set(colours)) == CATEGORIES


def test_more_categories_than_the_palette_leave_their_names_to_the_tooltip_and_table(drawn):
    assert drawn["chart-by-category"]["legend"] is False
    assert drawn["chart-by-category"]["title"] == ["Categoria número 1"]
