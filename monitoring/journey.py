"""The synthetic journey through the gateway, as an API client lives it: log in as the admin,
create a client with an address, read it, delete it. Each step is timed; whatever a failed run
created is deleted at once, and the janitor removes what even that could not."""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests

from .checks import CheckResult, describe, ms_since

log = logging.getLogger("feira.monitoring.journey")

# Every client the journey creates is named so: the janitor recognises its leftovers by it.
NAME_PREFIX = "Monitoring journey "
STEPS = ("login", "create_client", "add_address", "read_client", "delete_client")
CLEANUP_SECONDS = 5.0
# The janitor deletes at most this many pages of 100 leftovers per sweep.
SWEEP_PAGES = 10
ADDRESS = {
    "state": "SP",
    "city": "São Paulo",
    "street": "Avenida Paulista",
    "number": "1578",
    "cep": "01310-200",
}


def random_cpf(rng: random.Random) -> str:
    """A CPF with valid check digits (never one repeated digit), formatted."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        if len(set(digits)) > 1:
            break
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits, range(length + 1, 1, -1), strict=True))
        digits.append(0 if total % 11 < 2 else 11 - total % 11)
    s = "".join(map(str, digits))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


class StepFailed(Exception):
    pass


@dataclass
class Journey:
    gateway_url: str
    email: str
    password: str
    timeout: float
    session: requests.Session

    def run(self) -> CheckResult:
        """One journey; never raises. The client it created is gone afterwards, whatever failed."""
        deadline = time.monotonic() + self.timeout
        steps: list[dict] = []
        token: str | None = None
        client_id: int | None = None
        deleted = False
        run = uuid.uuid4().hex[:12]
        try:
            token = self._step(steps, "login", deadline, self._login)
            client_id = self._step(steps, "create_client", deadline, self._create, token, run)
            self._step(steps, "add_address", deadline, self._add_address, token, client_id)
            self._step(steps, "read_client", deadline, self._read, token, client_id, run)
            self._step(steps, "delete_client", deadline, self._delete, token, client_id)
            deleted = True
        except StepFailed:
            pass
        finally:
            if client_id is not None and not deleted:
                steps.append(self._clean_up(token, client_id))
            if token:
                self._logout(token)
        return CheckResult.of_steps(steps)

    def _step(self, steps: list[dict], name: str, deadline: float, action, *args):
        started = time.perf_counter()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            steps.append({"name": name, "ok": False, "latency_ms": 0.0, "error": "out of time"})
            raise StepFailed(name)
        try:
            value = action(remaining, *args)
        except (requests.RequestException, StepFailed, ValueError, KeyError, TypeError) as exc:
            error = "timed out" if isinstance(exc, requests.Timeout) else describe(exc)
            steps.append(
                {"name": name, "ok": False, "latency_ms": ms_since(started), "error": error}
            )
            raise StepFailed(name) from exc
        steps.append({"name": name, "ok": True, "latency_ms": ms_since(started)})
        return value

    def _call(self, method: str, path: str, timeout: float, token: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.request(
            method,
            f"{self.gateway_url}{path}",
            headers=headers,
            timeout=(min(timeout, 2.0), timeout),
            allow_redirects=False,
            **kwargs,
        )

    @staticmethod
    def _expect(response: requests.Response, status: int) -> requests.Response:
        if response.status_code != status:
            raise StepFailed(f"status {response.status_code}, wanted {status}")
        return response

    def _login(self, timeout: float) -> str:
        body = {"email": self.email, "password": self.password}
        response = self._call("POST", "/auth/login", timeout, json=body)
        return self._expect(response, 200).json()["access_token"]

    def _create(self, timeout: float, token: str, run: str) -> int:
        body = {
            "name": f"{NAME_PREFIX}{run}",
            "email": f"monitoring-journey-{run}@example.com",
            "cpf": random_cpf(random.Random(run)),  # noqa: S311 (test data, not a secret)
        }
        response = self._call("POST", "/clients", timeout, token, json=body)
        return int(self._expect(response, 201).json()["id"])

    def _add_address(self, timeout: float, token: str, client_id: int) -> None:
        response = self._call(
            "POST", f"/clients/{client_id}/addresses", timeout, token, json=ADDRESS
        )
        self._expect(response, 201)

    def _read(self, timeout: float, token: str, client_id: int, run: str) -> None:
        response = self._call("GET", f"/clients/{client_id}", timeout, token)
        if self._expect(response, 200).json().get("name") != f"{NAME_PREFIX}{run}":
            raise StepFailed("the client read back is not the one created")

    def _delete(self, timeout: float, token: str, client_id: int) -> None:
        self._expect(self._call("DELETE", f"/clients/{client_id}", timeout, token), 204)

    def _clean_up(self, token: str | None, client_id: int) -> dict:
        """Delete the client a failed run created, with a budget of its own: a step that ran out
        of time must not leave data behind. What even this cannot delete, the janitor will."""
        started = time.perf_counter()
        try:
            response = self._call("DELETE", f"/clients/{client_id}", CLEANUP_SECONDS, token)
            if response.status_code in (204, 404):
                return {"name": "cleanup", "ok": True, "latency_ms": ms_since(started)}
            error = f"status {response.status_code}"
        except requests.RequestException as exc:
            error = describe(exc)
        log.warning(
            "journey cleanup failed; the janitor will remove it",
            extra={"client_id": client_id, "error": error},
        )
        return {"name": "cleanup", "ok": False, "latency_ms": ms_since(started), "error": error}

    def _logout(self, token: str) -> None:
        # Best effort: the session ends by itself when the token expires.
        with contextlib.suppress(requests.RequestException):
            self._call("POST", "/auth/logout", CLEANUP_SECONDS, token)

    def sweep(self, older_than: timedelta) -> int:
        """The janitor: delete every client named like the journey's and older than
        `older_than` (so never one a journey is still using). Answers how many went."""
        token = self._login(CLEANUP_SECONDS)
        removed = 0
        try:
            cutoff = datetime.now(UTC) - older_than
            for _ in range(SWEEP_PAGES):
                response = self._call(
                    "GET",
                    "/clients",
                    CLEANUP_SECONDS,
                    token,
                    params={"name": NAME_PREFIX.strip(), "per_page": 100, "sort": "created_at"},
                )
                items = self._expect(response, 200).json()["items"]
                leftovers = [
                    item
                    for item in items
                    if item["name"].startswith(NAME_PREFIX)
                    and datetime.fromisoformat(item["created_at"]) < cutoff
                ]
                for item in leftovers:
                    answer = self._call("DELETE", f"/clients/{item['id']}", CLEANUP_SECONDS, token)
                    removed += answer.status_code in (204, 404)
                if len(leftovers) < 100 or len(items) < 100:
                    break
        finally:
            self._logout(token)
        return removed
