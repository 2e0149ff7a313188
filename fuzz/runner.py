"""Sign in as the admin and as a fresh user, seed a little data, then run `schemathesis run`
against every OpenAPI document through the gateway, once per role, and judge the runs."""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import re
import secrets
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import requests

from services.kit.makers import ean13, random_cpf
from services.registry import SERVICES
from stack.config import ROOT, StackConfig

RESULTS = ROOT / "fuzz" / "results"
# Every service's OpenAPI document, as the path before /openapi.json (`status/api`).
DOCUMENTS = tuple(
    s.document.strip("/").removesuffix("/openapi.json") for s in SERVICES if s.document
)
ROLES = ("user", "admin")
# What a response is judged by. Left out: negative_data_rejection and positive_data_acceptance
# (the services accept more than the document promises, e.g. money as a JSON number or "30.5",
# and reject values the schema cannot express, e.g. a CPF's check digits), use_after_free and
# ensure_resource_availability (events make deletions and stock eventually consistent), and
# object_level_authorization (by design every signed-in user reads every client and order).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "missing_required_header",
    "ignored_auth",
)
# Operations that would end or weaken the very accounts the fuzzer uses; the Robot suites
# cover each of them.
EXCLUDED = {
    "POST /auth/logout": "ends the session whose token the fuzzer is using",
    "DELETE /auth/me": "deletes the account the fuzzer is signed in with",
    "PATCH /auth/me": "a password change ends every session of the fuzzer's account",
    "PATCH /auth/users/{user_id}": "could demote or deactivate the admin the fuzzer uses",
}
# A path parameter is a seeded id this often, so operations reach their logic past a 404.
SEEDED_ID_PROBABILITY = 0.5
TOKEN_ENV = "FEIRA_FUZZ_TOKEN"  # noqa: S105 (the name of a variable, not a token)


@dataclass(frozen=True)
class Budget:
    max_examples: int
    phases: tuple[str, ...]
    max_time: int | None  # seconds per run; fuzzing and stateful repeat until it is spent
    parallel: int  # runs at once

    @property
    def timeout(self) -> int:
        return (self.max_time or 120) + 300


BUDGETS = {
    "quick": Budget(3, ("examples", "coverage", "fuzzing"), None, parallel=2),
    "long": Budget(100, ("examples", "coverage", "fuzzing", "stateful"), 150, parallel=2),
}


@dataclass
class Run:
    document: str
    role: str
    returncode: int
    seconds: float
    cases: int
    failures: int
    log: Path

    @property
    def name(self) -> str:
        return f"{self.document.replace('/', '-')}-{self.role}"


class Gateway:
    """The few calls the runner makes itself: sign-ins and the seed data."""

    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for _ in range(10):
            response = self.session.request(
                method, self.base_url + path, headers=headers, timeout=15, **kwargs
            )
            if response.status_code != 429:
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        return response

    def expect(self, status: int, method: str, path: str, token: str | None = None, **kwargs):
        response = self.call(method, path, token, **kwargs)
        if response.status_code != status:
            raise SystemExit(
                f"fuzz: {method} {path} answered {response.status_code}, not {status}: "
                f"{response.text[:300]}"
            )
        return response.json() if response.content else None

    def login(self, email: str, password: str) -> str:
        body = {"email": email, "password": password}
        return self.expect(200, "POST", "/auth/login", json=body)["access_token"]

    def register(self) -> tuple[str, str, int]:
        email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
        password = secrets.token_urlsafe(18)
        body = {"email": email, "password": password, "name": "Fuzz user"}
        user = self.expect(201, "POST", "/auth/register", json=body)
        return email, password, user["id"]


def seed(gateway: Gateway, admin: str, user: str) -> dict[str, list[int | str]]:
    """A category, a product with stock, a client with an address, a pending order and a
    delivered one (so the ledger has a `sale` and the client a holding): ids for path
    parameters, so operations get past their 404."""
    tag = uuid.uuid4().hex[:8]
    category = gateway.expect(201, "POST", "/categories", admin, json={"name": f"Fuzz {tag}"})
    rng = random.Random()  # noqa: S311 (test data, not secrets)
    product = gateway.expect(
        201,
        "POST",
        "/products",
        admin,
        json={
            "name": f"Fuzz product {tag}",
            "price": "12.50",
            "barcode": ean13("789" + "".join(rng.choices("0123456789", k=9))),
            "category_id": category["id"],
            "initial_stock": 1000,
        },
    )
    client = gateway.expect(
        201,
        "POST",
        "/clients",
        user,
        json={
            "name": "Fuzz client",
            "email": f"fuzz-{tag}@example.com",
            "cpf": random_cpf(rng),
        },
    )
    address = gateway.expect(
        201,
        "POST",
        f"/clients/{client['id']}/addresses",
        user,
        json={
            "state": "SP",
            "city": "São Paulo",
            "street": "Av. Paulista",
            "number": "1",
            "cep": "01310100",
        },
    )
    line = {"client_id": client["id"], "items": [{"product_id": product["id"], "quantity": 1}]}
    orders = [_place_order(gateway, user, line) for _ in range(2)]
    for status in ("paid", "shipped", "delivered"):
        gateway.expect(200, "POST", f"/orders/{orders[1]}/status", admin, json={"status": status})
    return {
        "category_id": [category["id"]],
        "product_id": [product["id"]],
        "client_id": [client["id"]],
        "address_id": [address["id"]],
        "order_id": orders,
        "name": ["auth", "gateway"],
    }


def _place_order(gateway: Gateway, user: str, body: dict) -> int:
    """The stock row arrives with `product.created` within a second or so: until then, a 409."""
    deadline = time.monotonic() + 20
    while True:
        response = gateway.call("POST", "/orders", user, json=body)
        if response.status_code == 201:
            return response.json()["id"]
        if response.status_code != 409 or time.monotonic() > deadline:
            raise SystemExit(f"fuzz: placing the seed order answered {response.status_code}")
        time.sleep(0.5)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(f"no TOML for {type(value).__name__}")


def config_toml(budget: Budget, ids: dict[str, list[int | str]]) -> str:
    """schemathesis.toml for one session: the token comes from the environment, never a file."""
    lines = [
        "# Written by python -m fuzz for this session; see fuzz/runner.py.",
        "[auth.openapi.bearerAuth]",
        f'bearer = "${{{TOKEN_ENV}}}"',
        "",
        "[output.sanitization]",
        "enabled = true",
        "",
        "[phases.stateful.inference]",
        'algorithms = ["location-headers", "dependency-analysis"]',
        "",
    ]
    for name, values in ids.items():
        lines += [f"[dictionaries.{name}]", f"values = {toml_value(values)}", ""]
    lines.append("[parameters]")
    for name in ids:
        binding = {"dictionary": name, "probability": SEEDED_ID_PROBABILITY}
        lines.append(f'"path.{name}" = {toml_value(binding)}')
    return "\n".join(lines) + "\n"


def schemathesis_command(
    base_url: str, document: str, budget: Budget, config: Path, junit: Path
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base_url}/{document}/openapi.json",
        "--url",
        base_url,
        "--checks",
        ",".join(CHECKS),
        "--phases",
        ",".join(budget.phases),
        "--max-examples",
        str(budget.max_examples),
        "--workers",
        "1",
        # A 1000-row import takes seconds, longer when the other runs load the machine.
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    if budget.max_time:
        command += ["--max-time", str(budget.max_time)]
    for name in EXCLUDED:
        command += ["--exclude-name", name]
    return command


def run_one(
    base_url: str, document: str, role: str, login: tuple[str, str], budget: Budget, config: Path
) -> Run:
    slug = f"{document.replace('/', '-')}-{role}"
    junit, log = RESULTS / f"{slug}.xml", RESULTS / f"{slug}.log"
    command = schemathesis_command(base_url, document, budget, config, junit)
    # A token per run: an access token lives 15 minutes, a long session takes longer.
    env = {**os.environ, TOKEN_ENV: Gateway(base_url).login(*login)}
    started = time.monotonic()
    with log.open("w") as out:
        try:
            returncode = subprocess.run(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=budget.timeout
            ).returncode
        except subprocess.TimeoutExpired:
            out.write(f"\nfuzz: no answer within {budget.timeout}s\n")
            returncode = 124
    seconds = time.monotonic() - started
    cases = re.findall(r"(\d+) generated", log.read_text())
    return Run(
        document, role, returncode, seconds, int(cases[-1]) if cases else 0, failures(junit), log
    )


def failures(junit: Path) -> int:
    if not junit.exists():
        return 0
    try:
        root = ET.parse(junit).getroot()  # noqa: S314 (schemathesis wrote it, a moment ago)
    except ET.ParseError:
        return 1  # cut short (a run past its timeout): a failed run, whatever it found
    suites = [root] if root.tag == "testsuite" else list(root)
    return sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__)
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="quick")
    parser.add_argument("--base-url", help="the gateway (default: the stack's, from its env)")
    parser.add_argument("--only", action="append", choices=DOCUMENTS, help="these documents")
    args = parser.parse_args(argv)
    cfg = StackConfig.load()
    base_url = (args.base_url or cfg.gateway_url).rstrip("/")
    budget = BUDGETS[args.budget]
    started = time.monotonic()

    gateway = Gateway(base_url)
    admin_login = (cfg.get("FEIRA_ADMIN_EMAIL"), cfg.get("FEIRA_ADMIN_PASSWORD"))
    email, password, _ = gateway.register()
    logins = {"admin": admin_login, "user": (email, password)}
    ids = seed(gateway, gateway.login(*admin_login), gateway.login(email, password))
    RESULTS.mkdir(parents=True, exist_ok=True)
    config = RESULTS / "schemathesis.toml"
    config.write_text(config_toml(budget, ids))
    print(f"==> fuzz ({args.budget}) against {base_url}; reports in {RESULTS.relative_to(ROOT)}/")

    # The user first: the admin's runs delete what was seeded.
    plan = [(d, r) for r in ROLES for d in (args.only or DOCUMENTS)]
    runs: list[Run] = []
    with concurrent.futures.ThreadPoolExecutor(budget.parallel) as pool:
        futures = [pool.submit(run_one, base_url, d, r, logins[r], budget, config) for d, r in plan]
        for future in futures:
            run = future.result()
            runs.append(run)
            verdict = "ok  " if run.returncode == 0 else "FAIL"
            print(
                f"    {verdict} {run.document:<10} as {run.role:<5} {run.cases:5d} cases, "
                f"{run.failures} failing, {run.seconds:5.1f}s  ({run.log.relative_to(ROOT)})"
            )
    failed = [run for run in runs if run.returncode != 0]
    total = sum(run.cases for run in runs)
    print(
        f"==> fuzz: {len(runs) - len(failed)}/{len(runs)} runs passed, {total} cases, "
        f"{time.monotonic() - started:.0f}s"
    )
    return 1 if failed else 0
