"""The registry of benchmark cases and throughput targets that later issues add to."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from stack.config import StackConfig

# Access tokens live 15 minutes; the bench logs in again after 10.
TOKEN_REUSE_SECONDS = 600


@dataclass(frozen=True)
class Request:
    """What wrk sends, over and over, on every connection."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    # Latency goals are measured with few connections (what one request costs at the service),
    # throughput with the run's --connections.
    connections: int | None = None
    # The goal, if the case has one: p95 under this many milliseconds.
    p95_under_ms: float | None = None
    # A throughput goal, if the case has one: at least this many requests/s with its p99 under
    # this many milliseconds (issue 14's orders).
    at_least_per_s: float | None = None
    p99_under_ms: float | None = None
    # Anything but a GET goes through wrk's script: the method and the (JSON) body to send.
    method: str = "GET"
    body: str | None = None
    # More of wrk's Lua, e.g. a `request()` that makes each body different (a unique CPF).
    script: str | None = None
    # A case that is not requests wrk sends (messages a provider accepted, say): run instead of
    # wrk with the run's --duration, it answers what `wrk.Result.as_dict()` does, its rate in
    # `requests_per_s` ("things per second") and its latencies in `latency_ms`.
    measure: Callable[[int], dict] | None = None


@dataclass
class Context:
    """What a case's setup can use: the stack's settings and a token shared by every case."""

    cfg: StackConfig
    _token: str | None = None
    _token_at: float = 0.0
    # How long every run of one case loads it in all (warm-ups and rounds included): a case whose
    # every request uses up something (a pending order to pay) makes enough for this long.
    load_seconds: int = 36

    def token(self) -> str:
        """An admin access token, from a login through the gateway. It lives 15 minutes and a whole
        `make bench` takes longer: one older than 10 minutes is replaced (the clean-up at exit
        would otherwise be refused)."""
        if self._token is None or time.monotonic() - self._token_at > TOKEN_REUSE_SECONDS:
            body = json.dumps(
                {
                    "email": self.cfg.get("FEIRA_ADMIN_EMAIL"),
                    "password": self.cfg.get("FEIRA_ADMIN_PASSWORD"),
                }
            ).encode()
            login = urllib.request.Request(  # noqa: S310 (the stack's own loopback URL)
                f"{self.cfg.gateway_url}/auth/login",
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(login, timeout=10) as response:  # noqa: S310
                self._token = json.load(response)["access_token"]
            self._token_at = time.monotonic()
        return self._token

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}


@dataclass(frozen=True)
class Case:
    name: str
    describe: str
    # The setup: it may log in or create data, and answers the request to load.
    prepare: Callable[[Context], Request]


@dataclass(frozen=True)
class Ratio:
    """`numerator` must reach at least `at_least` of `denominator`'s requests per second."""

    label: str
    numerator: str
    denominator: str
    at_least: float


CASES: dict[str, Case] = {}
RATIOS: list[Ratio] = []


def case(name: str) -> Callable[[Callable[[Context], Request]], Callable[[Context], Request]]:
    """Register a case under `name`; the function's docstring describes it in `--list`."""

    def register(prepare: Callable[[Context], Request]) -> Callable[[Context], Request]:
        if name in CASES:
            raise ValueError(f"two benchmark cases are named {name!r}")
        CASES[name] = Case(name, (prepare.__doc__ or "").strip().partition("\n")[0], prepare)
        return prepare

    return register


def ratio(label: str, numerator: str, denominator: str, at_least: float) -> None:
    RATIOS.append(Ratio(label, numerator, denominator, at_least))
