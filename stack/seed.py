"""`make seed`: realistic demo data (Faker pt_BR, valid CPFs) loaded through the gateway's API,
so a newcomer sees a living system and every rule is applied to it."""

from __future__ import annotations

import argparse
import random

import requests
from faker import Faker

from .config import StackConfig


class Api:
    def __init__(self, cfg: StackConfig):
        self.base = cfg.gateway_url
        self.session = requests.Session()
        response = self.session.post(
            f"{self.base}/auth/login",
            json={
                "email": cfg.get("FEIRA_ADMIN_EMAIL"),
                "password": cfg.get("FEIRA_ADMIN_PASSWORD"),
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise SystemExit(f"cannot log in as the admin ({response.status_code}): is it up?")
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def post(self, path: str, body: dict) -> requests.Response:
        return self.session.post(f"{self.base}{path}", json=body, timeout=10)


def seed_clients(api: Api, fake: Faker, count: int) -> int:
    created = 0
    for _ in range(count):
        response = api.post(
            "/clients",
            {
                "name": fake.name(),
                "email": fake.unique.email(),
                "cpf": fake.unique.cpf(),
                "balance": f"{random.uniform(0, 5000):.2f}",  # noqa: S311 (demo data)
            },
        )
        if response.status_code == 409:
            continue
        response.raise_for_status()
        client_id = response.json()["id"]
        for _ in range(random.randint(1, 2)):  # noqa: S311
            api.post(
                f"/clients/{client_id}/addresses",
                {
                    "state": fake.estado_sigla(),
                    "city": fake.city(),
                    "street": fake.street_name(),
                    "number": random.choice([fake.building_number(), "s/n"]),  # noqa: S311
                    "complement": random.choice([None, f"Apto {random.randint(1, 300)}"]),  # noqa: S311
                    "cep": fake.postcode(formatted=False),
                },
            ).raise_for_status()
        created += 1
    return created


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.seed")
    parser.add_argument("--clients", type=int, default=60)
    args = parser.parse_args(argv)
    cfg = StackConfig.load()
    fake = Faker("pt_BR")
    api = Api(cfg)
    if "clients" in cfg.services:
        print(f"==> {seed_clients(api, fake, args.clients)} clients with addresses")


if __name__ == "__main__":
    main()


def bulk_clients(cfg: StackConfig, total: int) -> int:
    """Top the clients table up to `total` rows with COPY (for benchmarks: 100k through the API
    would take minutes). The rows are valid: formatted CPFs with real check digits."""
    import psycopg

    from services.clients.cpf import check_digits

    url = cfg.database_url("clients", cfg.db_passwords()["clients"])
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        present = conn.execute("SELECT count(*) FROM clients.clients").fetchone()[0]
        missing = total - present
        if missing <= 0:
            return 0
        fake = Faker("pt_BR")
        start = conn.execute("SELECT coalesce(max(id), 0) FROM clients.clients").fetchone()[0]
        with conn.cursor().copy(
            "COPY clients.clients (name, email, cpf, balance) FROM STDIN"
        ) as copy:
            for n in range(start + 1, start + missing + 1):
                base = f"{(700_000_000 + n * 7) % 1_000_000_000:09d}"
                digits = base + check_digits(base)
                cpf = f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
                copy.write_row((fake.name(), f"bench{n}@example.com", cpf, "0.00"))
        conn.execute("ANALYZE clients.clients")
    return missing
