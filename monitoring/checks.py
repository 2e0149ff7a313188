"""The kinds of check: one HTTP request, a gateway-versus-direct pair, Postgres' SELECT 1, and the
synthetic journey (monitoring.journey). Each answers a CheckResult and never raises."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import requests

from .config import Probe, Target

MAX_ERROR = 300
# The most of a failing answer's problem detail that a check's error carries.
MAX_DETAIL = 200
PROBLEM_JSON = "application/problem+json"


@dataclass
class CheckResult:
    ok: bool
    latency_ms: float
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    step: str | None = None  # the first failing step
    error: str | None = None
    steps: list[dict] | None = None  # per step: name, ok, latency_ms (and error)
    # A success that is not whole: a copy of the service does not answer while the others (and the
    # gateway, through them) do. The target is degraded, not down; `step` and `error` say why.
    degraded: bool = False

    @classmethod
    def of_steps(cls, steps: list[dict], latency_ms: float | None = None) -> CheckResult:
        failed = next((s for s in steps if not s["ok"]), None)
        total = sum(s["latency_ms"] for s in steps) if latency_ms is None else latency_ms
        return cls(
            ok=failed is None,
            latency_ms=round(total, 2),
            step=failed["name"] if failed else None,
            error=failed.get("error") if failed else None,
            steps=steps,
        )


def describe(exc: BaseException) -> str:
    """A short reason for a failed request or query, without URLs' credentials or bodies."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection refused or reset"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return message[:MAX_ERROR]


def problem_detail(response: requests.Response) -> str | None:
    """A problem+json answer's `detail` (what a health route says fails: the sources, the
    subscribers), on one line and cut to MAX_DETAIL characters; None for any other body."""
    if response.headers.get("Content-Type", "").split(";")[0].strip() != PROBLEM_JSON:
        return None
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return None
    if not isinstance(detail, str) or not detail.strip():
        return None
    line = " ".join(detail.split())
    return line if len(line) <= MAX_DETAIL else line[: MAX_DETAIL - 1] + "…"


def step(name: str, started: float, error: str | None = None) -> dict:
    entry = {"name": name, "ok": error is None, "latency_ms": ms_since(started)}
    if error:
        entry["error"] = error[:MAX_ERROR]
    return entry


def ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def probe(session: requests.Session, name: str, spec: Probe, timeout: float) -> dict:
    """One request: its status must be expected and its JSON body meet every condition."""
    started = time.perf_counter()
    try:
        response = session.request(
            spec.method, spec.url, timeout=(min(timeout, 2.0), timeout), allow_redirects=False
        )
    except requests.RequestException as exc:
        return step(name, started, describe(exc))
    entry = step(name, started)
    entry["status"] = response.status_code
    if response.status_code not in spec.expect_status:
        wanted = " or ".join(map(str, spec.expect_status))
        error = f"status {response.status_code}, wanted {wanted}"
        detail = problem_detail(response)
        entry.update(ok=False, error=f"{error}: {detail}" if detail else error)
        return entry
    if spec.json:
        try:
            body = response.json()
        except ValueError:
            entry.update(ok=False, error="the body is not JSON")
            return entry
        for condition in spec.json:
            failure = condition.failure(body)
            if failure:
                entry.update(ok=False, error=failure[:MAX_ERROR])
                return entry
    if entry["latency_ms"] > timeout * 1000:
        entry.update(ok=False, error=f"slower than the {timeout:g}s timeout")
    return entry


def check_http(target: Target, session: requests.Session) -> CheckResult:
    return CheckResult.of_steps([probe(session, "request", target.probe, target.timeout)])


def check_pair(target: Target, session: requests.Session) -> CheckResult:
    """The service straight and through the gateway. Users go through the gateway, so its leg's
    latency is the target's; when only that leg fails, the gateway is where the fault is.

    A service run as several copies (`direct_copies`) is asked on each at once: the direct leg
    fails when none answers, and while some do, a copy that does not makes the target degraded
    (users are served by the others), named in the error."""
    if target.direct_copies:
        direct, silent = each_copy(session, target)
    else:
        direct, silent = probe(session, "direct", target.direct, target.timeout), []
    via = probe(session, "via_gateway", target.via_gateway, target.timeout)
    if direct["ok"] and not via["ok"]:
        via["error"] = f"answers directly but not through the gateway: {via['error']}"
    result = CheckResult.of_steps([direct, via], latency_ms=via["latency_ms"])
    if result.ok and silent:
        result.degraded, result.step, result.error = True, "direct", "; ".join(silent)[:MAX_ERROR]
    return result


def each_copy(session: requests.Session, target: Target) -> tuple[dict, list[str]]:
    """The direct leg asked of every copy at once (a copy that hangs costs one timeout, not one
    each): one step, ok when any copy answers, and what each silent copy's answer was."""
    copies = target.direct_copies
    with ThreadPoolExecutor(len(copies)) as pool:
        answers = list(
            pool.map(lambda copy: probe(session, "direct", copy, target.timeout), copies)
        )
    silent = [
        f"copy {number} of {len(copies)} ({copy.url.split('/', 3)[2]}): {answer['error']}"
        for number, (copy, answer) in enumerate(zip(copies, answers, strict=True), start=1)
        if not answer["ok"]
    ]
    answered = [answer for answer in answers if answer["ok"]]
    leg = {
        "name": "direct",
        "ok": bool(answered),
        "latency_ms": max(answer["latency_ms"] for answer in answered or answers),
        "copies": len(copies),
    }
    if not answered:
        leg["error"] = ("no copy answers: " + "; ".join(silent))[:MAX_ERROR]
    return leg, silent


def check_postgres(target: Target) -> CheckResult:
    """A new connection and `SELECT 1`, as the monitoring role: whether the database answers."""
    dsn = target.dsn.replace("postgresql+psycopg://", "postgresql://", 1)
    statement_ms = max(1, int(target.timeout * 1000))
    started = time.perf_counter()
    try:
        # libpq counts connect_timeout in whole seconds, 2 at least.
        with psycopg.connect(
            dsn,
            connect_timeout=max(2, math.ceil(target.timeout)),
            options=f"-c statement_timeout={statement_ms}",
            application_name="feira-monitoring",
        ) as connection:
            connection.execute("SELECT 1").fetchone()
    except psycopg.Error as exc:
        return CheckResult.of_steps([step("query", started, describe(exc))])
    return CheckResult.of_steps([step("query", started)])
