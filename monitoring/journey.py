"""The synthetic journey through the gateway, as an API client lives it, signed in with the
monitor's own `user` account (FEIRA_MONITOR_EMAIL), which can do no more than any clerk: find its
probe client (created the first time; its email put back if someone changed it), change it, add
an address, read both back and delete the address. Nothing accumulates and no admin right is
needed (a user cannot delete a client). Each step is timed; an address a failed run left is
deleted at once, and the janitor removes what even that could not."""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from dataclasses import dataclass

import requests

from .checks import CheckResult, describe, ms_since

log = logging.getLogger("feira.monitoring.journey")

# The one client the journey works on, found by its email (else by its CPF); its name changes at
# every run.
PROBE_EMAIL = "monitoring-journey@example.com"
NAME_PREFIX = "Monitoring journey "
STEPS = (
    "login",
    "find_client",
    "update_client",
    "add_address",
    "read_client",
    "read_address",
    "delete_address",
)
CLEANUP_SECONDS = 5.0
# The janitor deletes at most this many pages of 100 leftover addresses per sweep.
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


# The probe client's CPF: the same at every run, so that a second worker finds the same client.
PROBE_CPF = random_cpf(random.Random(PROBE_EMAIL))  # noqa: S311 (test data, not a secret)


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
        """One journey; never raises. The address it added is gone afterwards, whatever failed."""
        deadline = time.monotonic() + self.timeout
        steps: list[dict] = []
        token: str | None = None
        client_id: int | None = None
        address_id: int | None = None
        deleted = False
        run = uuid.uuid4().hex[:12]
        try:
            token = self._step(steps, "login", deadline, self._login)
            client_id = self._step(steps, "find_client", deadline, self._find, token)
            self._step(steps, "update_client", deadline, self._update, token, client_id, run)
            address_id = self._step(
                steps, "add_address", deadline, self._add_address, token, client_id
            )
            self._step(steps, "read_client", deadline, self._read, token, client_id, run)
            self._step(
                steps, "read_address", deadline, self._read_address, token, client_id, address_id
            )
            self._step(
                steps,
                "delete_address",
                deadline,
                self._delete_address,
                token,
                client_id,
                address_id,
            )
            deleted = True
        except StepFailed:
            pass
        finally:
            if address_id is not None and not deleted:
                steps.append(self._clean_up(token, client_id, address_id))
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

    def _find(self, timeout: float, token: str) -> int:
        """The probe client's id, created the first time (or when someone deleted it). Any user
        may edit a client: one whose email someone changed is found by its CPF and its email put
        back, or it would stay lost, every create a 409 on its CPF, and the journey down."""
        client = self._lookup(timeout, token, email=PROBE_EMAIL) or self._lookup(
            timeout, token, cpf=PROBE_CPF
        )
        if client is None:
            body = {"name": f"{NAME_PREFIX}probe", "email": PROBE_EMAIL, "cpf": PROBE_CPF}
            response = self._call("POST", "/clients", timeout, token, json=body)
            if response.status_code == 409:
                # Another worker created it meanwhile, or someone changed its email meanwhile.
                client = self._lookup(timeout, token, cpf=PROBE_CPF)
            if client is None:
                return int(self._expect(response, 201).json()["id"])
        if client["email"] != PROBE_EMAIL:
            log.warning(
                "the journey's probe client had another email; put back",
                extra={"client_id": client["id"]},
            )
            body = {"email": PROBE_EMAIL}
            self._expect(
                self._call("PATCH", f"/clients/{client['id']}", timeout, token, json=body), 200
            )
        return int(client["id"])

    def _lookup(self, timeout: float, token: str, **where: str) -> dict | None:
        response = self._call("GET", "/clients", timeout, token, params=where)
        items = self._expect(response, 200).json()["items"]
        return items[0] if items else None

    def _update(self, timeout: float, token: str, client_id: int, run: str) -> None:
        body = {"name": f"{NAME_PREFIX}{run}"}
        self._expect(self._call("PATCH", f"/clients/{client_id}", timeout, token, json=body), 200)

    def _add_address(self, timeout: float, token: str, client_id: int) -> int:
        response = self._call(
            "POST", f"/clients/{client_id}/addresses", timeout, token, json=ADDRESS
        )
        return int(self._expect(response, 201).json()["id"])

    def _read(self, timeout: float, token: str, client_id: int, run: str) -> None:
        response = self._call("GET", f"/clients/{client_id}", timeout, token)
        if self._expect(response, 200).json().get("name") != f"{NAME_PREFIX}{run}":
            raise StepFailed("the client read back does not have the name just given")

    def _read_address(self, timeout: float, token: str, client_id: int, address_id: int) -> None:
        path = f"/clients/{client_id}/addresses/{address_id}"
        if (
            self._expect(self._call("GET", path, timeout, token), 200).json().get("street")
            != (ADDRESS["street"])
        ):
            raise StepFailed("the address read back is not the one added")

    def _delete_address(self, timeout: float, token: str, client_id: int, address_id: int) -> None:
        path = f"/clients/{client_id}/addresses/{address_id}"
        self._expect(self._call("DELETE", path, timeout, token), 204)

    def _clean_up(self, token: str | None, client_id: int, address_id: int) -> dict:
        """Delete the address a failed run added, with a budget of its own: a step that ran out
        of time must not leave data behind. What even this cannot delete, the janitor will."""
        started = time.perf_counter()
        path = f"/clients/{client_id}/addresses/{address_id}"
        try:
            response = self._call("DELETE", path, CLEANUP_SECONDS, token)
            if response.status_code in (204, 404):
                return {"name": "cleanup", "ok": True, "latency_ms": ms_since(started)}
            error = f"status {response.status_code}"
        except requests.RequestException as exc:
            error = describe(exc)
        log.warning(
            "journey cleanup failed; the janitor will remove it",
            extra={"client_id": client_id, "address_id": address_id, "error": error},
        )
        return {"name": "cleanup", "ok": False, "latency_ms": ms_since(started), "error": error}

    def _logout(self, token: str) -> None:
        # Best effort: the session ends by itself when the token expires.
        with contextlib.suppress(requests.RequestException):
            self._call("POST", "/auth/logout", CLEANUP_SECONDS, token)

    def sweep(self) -> int:
        """The janitor: delete every address of the probe client. It runs just before a journey,
        never during one (one run of a target at a time), so every address there is a leftover.
        Answers how many went."""
        token = self._login(CLEANUP_SECONDS)
        removed = 0
        try:
            client = self._lookup(CLEANUP_SECONDS, token, email=PROBE_EMAIL)
            if client is None:
                return 0
            client_id = client["id"]
            for _ in range(SWEEP_PAGES):
                response = self._call(
                    "GET",
                    f"/clients/{client_id}/addresses",
                    CLEANUP_SECONDS,
                    token,
                    params={"per_page": 100},
                )
                leftovers = self._expect(response, 200).json()["items"]
                for item in leftovers:
                    path = f"/clients/{client_id}/addresses/{item['id']}"
                    answer = self._call("DELETE", path, CLEANUP_SECONDS, token)
                    removed += answer.status_code in (204, 404)
                if len(leftovers) < 100:
                    break
        finally:
            self._logout(token)
        return removed
