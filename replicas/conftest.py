"""The replica suite's view of its stack: `make replicas` brings up a SCALE=2 stack on its own
ports (stack/replicas.env) and runs this folder against it, then takes it down. Nothing here
starts a stack: run alone, `FEIRA_ENV_FILE=stack/replicas.env python -m stack up` first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from services.kit.makers import ean13
from stack.config import ROOT, StackConfig


class Stack:
    def __init__(self, cfg: StackConfig):
        self.cfg = cfg
        self.base = cfg.gateway_url
        self.http = requests.Session()
        self.http.trust_env = False
        self._admin: dict[str, str] | None = None

    def admin(self) -> dict[str, str]:
        if self._admin is None:
            answer = self.http.post(
                f"{self.base}/auth/login",
                json={
                    "email": self.cfg.get("FEIRA_ADMIN_EMAIL"),
                    "password": self.cfg.get("FEIRA_ADMIN_PASSWORD"),
                },
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            self._admin = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        return self._admin

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(
            method, f"{self.base}{path}", headers=self.admin(), timeout=30, **kwargs
        )

    def supervise(self, command: str, program: str) -> None:
        """`python -m stack stop|start NAME` on this stack, as a developer would."""
        subprocess.run(
            [sys.executable, "-m", "stack", command, program],
            cwd=ROOT,
            env={**os.environ},
            check=True,
            capture_output=True,
        )

    def sql(self, service: str, query: str, **params):
        """Rows of `query` run (and committed) as `service`'s own role on the stack's database."""
        engine = self.engines.get(service)
        if engine is None:
            url = self.cfg.database_url(service, self.cfg.db_passwords()[service])
            engine = self.engines[service] = create_engine(url, pool_size=1)
        with engine.begin() as connection:
            return connection.execute(text(query), params).all()

    engines: dict = {}

    def buyer(self) -> dict:
        tag = uuid.uuid4().hex[:10]
        answer = self.call(
            "POST",
            "/clients",
            json={"name": f"Replica {tag}", "email": f"replica-{tag}@example.com", "cpf": cpf()},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    def product(self, stock: int) -> dict:
        twelve = f"3{uuid.uuid4().int % 10**11:011d}"
        answer = self.call(
            "POST",
            "/products",
            json={
                "name": f"Replica product {twelve}",
                "price": "10.00",
                "barcode": ean13(twelve),
                "initial_stock": stock,
            },
        )
        assert answer.status_code == 201, answer.text
        product = answer.json()
        eventually(
            lambda: (
                (s := self.call("GET", f"/inventory/stock/{product['id']}")).status_code == 200
                and s.json()["on_hand"] == stock
            ),
            "inventory heard of the product",
        )
        return product


def cpf() -> str:
    digits = [int(d) for d in f"{uuid.uuid4().int % 10**9:09d}"]
    for _ in range(2):
        weight = len(digits) + 1
        remainder = sum(d * (weight - i) for i, d in enumerate(digits)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def eventually(check, what: str, timeout: float = 60.0, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(every)


@pytest.fixture(scope="session")
def stack() -> Stack:
    cfg = StackConfig.load()
    if cfg.scale < 2:
        pytest.fail("the replica suite needs a stack with FEIRA_SCALE >= 2 (make replicas)")
    try:
        requests.get(f"{cfg.gateway_url}/health", timeout=5).raise_for_status()
    except requests.RequestException:
        pytest.fail(f"no stack at {cfg.gateway_url}: make replicas brings one up")
    return Stack(cfg)
