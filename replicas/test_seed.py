"""`make seed`, a newcomer's first step after `make up`, on a stack of its own (this suite's, which
runs after the replica proofs): the demo clients, catalogue and orders through the API, the
catalogue topped up with COPY, the orders dated back over 60 days where the KPIs count them, and
a second run that places no more orders and adds no product."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

from stack.config import ROOT

from .conftest import Stack

pytestmark = pytest.mark.replicas

ORDERS = 12
PRODUCTS = 400


def seed(*args: str) -> str:
    """`python -m stack.seed` on this suite's stack (its settings come from the environment
    `make replicas` gives); its output, after checking it ended well."""
    run = subprocess.run(
        [sys.executable, "-m", "stack.seed", *args],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_seed_loads_what_the_kpis_count_and_a_second_run_places_no_more_orders(stack: Stack):
    options = ("--clients", "3", "--orders", str(ORDERS), "--bulk-products", str(PRODUCTS))
    first = seed(*options)
    assert "==> 3 clients with addresses" in first
    assert f"==> {ORDERS} orders over the last 60 days" in first
    products = stack.call("GET", "/products", params={"per_page": 1})
    assert products.status_code == 200 and products.json()["total"] >= PRODUCTS
    today = date.today()
    kpis = stack.call(
        "GET",
        "/orders/reports/kpis",
        params={"from": (today - timedelta(days=59)).isoformat(), "to": today.isoformat()},
    )
    assert kpis.status_code == 200, kpis.text
    # The replica proofs' orders are all of today: the seed's sold ones are spread back.
    earlier = [d for d in kpis.json()["by_day"] if d["orders"] and d["date"] < today.isoformat()]
    assert len(earlier) > 1, kpis.json()["by_day"]
    again = seed(*options)
    assert "==> 0 orders over the last 60 days" in again
    assert "==> 0 more products with COPY" in again
    assert (
        stack.call("GET", "/products", params={"per_page": 1}).json()["total"]
        == (products.json()["total"])
    )
