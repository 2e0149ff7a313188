"""`python -m bench [--only NAME] [--duration 10s]`: what `make bench` runs."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from stack.config import ROOT, StackConfig

from . import (  # noqa: F401 (registers cases)
    cases,
    catalogue,
    collector,
    console,
    kpis,
    monitoring,
    notifications,
    orders,
    payments,
    wrk,
)
from .registry import CASES, RATIOS, Case, Context, Request

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# Settings that explain a figure, recorded with it (as configured: `make up` applies them).
CONTEXT_KEYS = (
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "FEIRA_GATEWAY_WORKERS",
    "FEIRA_VERIFY_CACHE_SECONDS",
)
# Above this, other work on the host is likely to move the figures.
BUSY_WARNING = 20.0
# How long a case waits for the CPUs to calm down before it starts: the case before it may leave
# work behind that outlives wrk (logins queued behind argon2 past wrk's timeout, events its
# orders announced), and a case measured on top of that is measured on a busy machine.
SETTLE_SECONDS = 30

# Defaults for a 2-core machine where wrk, nginx, gunicorn and PostgreSQL share the CPU.
# - Sixteen connections: twice what auth serves at once (2 workers x 4 threads), so the
#   service is saturated whether wrk talks to it or to the gateway, and under the gateway's
#   32 pooled upstream connections, so nginx reuses its connections to auth instead of
#   opening new ones. Both cases then load auth alike and differ by the gateway's own cost.
# - Two wrk threads: a gthread worker keeps every kept-alive connection it accepts, and one
#   wrk thread opening all sixteen at once often lands them all on one gunicorn worker (one
#   core busy, the other idle: half the throughput; 5 of 10 runs with -t1, 1 of 23 with -t2).
#   wrk itself costs about 0.05 ms of CPU per request against ~3 ms for /auth/me. The price:
#   on GET /health, which only nginx answers, wrk's second thread takes CPU from nginx.
# - Three rounds, best kept: another process on the host or an unlucky spread of connections
#   only ever slows a run down, so the best round is the nearest to what the code can do.
DEFAULT_CONNECTIONS = 16
DEFAULT_ROUNDS = 3
DEFAULT_THREADS = 2


def seconds(value: str) -> int:
    """`10`, `10s` or `1m`."""
    match = re.fullmatch(r"(\d+)(s|m)?", value.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {value!r} (say 10s or 1m)")
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=seconds, default=10, help="per case (10s)")
    parser.add_argument("--warmup", type=seconds, default=2, help="per case, not measured (2s)")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"run every case this many times, interleaved, and keep its best ({DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="run this case only (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    parser.add_argument(
        "--older-stack",
        action="store_true",
        help="check only that the gateway answers: an older checkout's stack (FEIRA_RUN_DIR) "
        "lacks the services added since, which the selected cases may not need",
    )
    args = parser.parse_args(argv)
    if args.duration < 1:
        parser.error("--duration must be at least 1s")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("--connections must be at least --threads, and --threads at least 1")
    unknown = [name for name in args.only or [] if name not in CASES]
    if unknown:
        parser.error(f"no case named {', '.join(map(repr, unknown))}; see --list")
    return args


def first_down(cfg: StackConfig, *, gateway_only: bool = False) -> str | None:
    """None when the gateway and every service answer /health, else the first that does not."""
    services = () if gateway_only else cfg.services
    for url in [
        f"{cfg.gateway_url}/health",
        *(f"{cfg.service_url(s)}/health" for s in services),
    ]:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (loopback)
                if response.status != 200:
                    return url
        except (urllib.error.URLError, OSError):
            return url
    return None


def cpu_busy(interval: float = 1.0) -> float | None:
    """How busy the CPUs are, in percent, before our load starts (None off Linux)."""
    try:
        with open("/proc/stat") as stat:
            before = [int(n) for n in stat.readline().split()[1:9]]
        time.sleep(interval)
        with open("/proc/stat") as stat:
            after = [int(n) for n in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    spent = [b - a for a, b in zip(before, after, strict=True)]
    idle = spent[3] + spent[4]  # idle and iowait
    return round(100 * (1 - idle / sum(spent)), 1) if sum(spent) else None


def settled(seconds: float = SETTLE_SECONDS) -> float | None:
    """How busy the CPUs are once they are below BUSY_WARNING, or after `seconds` of waiting."""
    deadline = time.monotonic() + seconds
    busy = cpu_busy()
    while busy is not None and busy > BUSY_WARNING and time.monotonic() < deadline:
        busy = cpu_busy()
    return busy


def measure(case: Case, request: Request, args: argparse.Namespace) -> dict:
    if request.measure is not None:  # not wrk's: the case measures itself
        print(f"==> {case.name}: about {args.duration}s", flush=True)
        return {**request.measure(args.duration), "cpu_busy_before_pct": cpu_busy()}
    connections = request.connections or args.connections
    load = {"connections": connections, "threads": min(args.threads, connections)}
    print(
        f"==> {case.name}: {args.warmup}s warm-up, then {args.duration}s "
        f"(wrk -t{load['threads']} -c{connections})",
        flush=True,
    )
    busy = settled()
    if busy is not None and busy > BUSY_WARNING:
        print(
            f"    the CPUs were {busy:.0f}% busy after {SETTLE_SECONDS}s of waiting for them to "
            "calm down: expect noise",
            flush=True,
        )
    # The warm-up also caches the token's verify answer at the gateway: the first concurrent
    # burst with a new token waits up to 500 ms on nginx's cache lock, a cost paid once per
    # token, not per request.
    if args.warmup:
        wrk.run(request, seconds=args.warmup, **load)
    result = wrk.run(request, seconds=args.duration, **load)
    return {**result.as_dict(), "cpu_busy_before_pct": busy}


def best_round(rounds: list[dict]) -> dict:
    """The round with the most requests per second; its latencies come from the same run."""
    return max(rounds, key=lambda r: r["requests_per_s"])


def run_cases(selected: list[Case], ctx: Context, args: argparse.Namespace) -> list[dict]:
    """Every case once per round, round after round, so drift on the host hits all alike."""
    requests: dict[str, Request] = {}
    rounds: dict[str, list[dict]] = {case.name: [] for case in selected}
    failed: dict[str, str] = {}
    for _ in range(args.rounds):
        for case in selected:
            if case.name in failed:
                continue
            try:
                if case.name not in requests:
                    requests[case.name] = case.prepare(ctx)
                rounds[case.name].append(measure(case, requests[case.name], args))
            except (wrk.WrkError, urllib.error.URLError, OSError, KeyError, ValueError) as exc:
                failed[case.name] = str(exc)
    rows = []
    for case in selected:
        if case.name in failed:
            rows.append({"name": case.name, "error": failed[case.name]})
            continue
        request = requests[case.name]
        row = {"name": case.name, "url": request.url, "p95_under_ms": request.p95_under_ms}
        if request.at_least_per_s is not None:
            row["at_least_per_s"] = request.at_least_per_s
            row["p99_under_ms"] = request.p99_under_ms
        row.update(best_round(rounds[case.name]))
        if args.rounds > 1:
            row["rounds"] = rounds[case.name]
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    width = max(len("case"), *(len(row["name"]) for row in rows))
    columns = ("req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "non-2xx")
    header = f"{'case':<{width}}" + "".join(f"  {column:>9}" for column in columns)
    print(f"\n{header}\n{'-' * len(header)}")
    for row in rows:
        if "error" in row:
            print(f"{row['name']:<{width}}  FAILED: {row['error']}")
            continue
        figures = (
            f"{row['requests_per_s']:.1f}",
            f"{row['latency_ms']['p50']:.2f}",
            f"{row['latency_ms'].get('p95', float('nan')):.2f}",
            f"{row['latency_ms']['p99']:.2f}",
            str(sum(row["socket_errors"].values())),
            str(row["non_2xx"]),
        )
        print(f"{row['name']:<{width}}" + "".join(f"  {figure:>9}" for figure in figures))
    print()


def judge_latencies(rows: list[dict]) -> list[dict]:
    verdicts = []
    for row in rows:
        goal = row.get("p95_under_ms")
        if goal is None or "error" in row:
            continue
        value = row["latency_ms"]["p95"]
        met = value < goal
        print(
            f"{row['name']}: p95 {value:.1f} ms (target < {goal:g} ms) {'OK' if met else 'MISSED'}"
        )
        verdicts.append({"case": row["name"], "p95_ms": value, "under_ms": goal, "met": met})
    return verdicts


def judge_throughputs(rows: list[dict]) -> list[dict]:
    """Cases with a throughput goal: at least so many requests/s, and p99 under a bound."""
    verdicts = []
    for row in rows:
        floor = row.get("at_least_per_s")
        if floor is None or "error" in row:
            continue
        rate, p99 = row["requests_per_s"], row["latency_ms"]["p99"]
        ceiling = row.get("p99_under_ms")
        met = rate >= floor and (ceiling is None or p99 < ceiling)
        bound = "" if ceiling is None else f", p99 < {ceiling:g} ms"
        print(
            f"{row['name']}: {rate:.1f} req/s, p99 {p99:.1f} ms "
            f"(target >= {floor:g}/s{bound}) {'OK' if met else 'MISSED'}"
        )
        verdicts.append(
            {
                "case": row["name"],
                "requests_per_s": rate,
                "at_least_per_s": floor,
                "p99_ms": p99,
                "p99_under_ms": ceiling,
                "met": met,
            }
        )
    return verdicts


def judge_ratios(rows: list[dict]) -> list[dict]:
    rate = {row["name"]: row["requests_per_s"] for row in rows if "error" not in row}
    verdicts = []
    for target in RATIOS:
        if target.numerator not in rate or not rate.get(target.denominator):
            continue
        value = rate[target.numerator] / rate[target.denominator]
        met = value >= target.at_least
        print(
            f"{target.label}: {value:.1%} of the throughput "
            f"(target >= {target.at_least:.0%}) {'OK' if met else 'MISSED'}"
        )
        verdicts.append(
            {
                "label": target.label,
                "value": round(value, 4),
                "at_least": target.at_least,
                "met": met,
            }
        )
    return verdicts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for case in CASES.values():
            print(f"  {case.name:<28} {case.describe}")
        return 0
    if not wrk.available():
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    cfg = StackConfig.load()
    down = first_down(cfg, gateway_only=args.older_stack)
    if down:
        print(f"the stack is not answering at {down}: make up", file=sys.stderr)
        return 2

    ctx = Context(cfg, load_seconds=(args.warmup + args.duration) * args.rounds)
    rows = run_cases([CASES[name] for name in args.only or CASES], ctx, args)
    if args.rounds > 1:
        print(f"\nEach line is the best of {args.rounds} rounds (all of them are in the JSON).")
    print_table(rows)
    verdicts = judge_ratios(rows)
    latencies = judge_latencies(rows)
    throughputs = judge_throughputs(rows)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": {
            "tool": "wrk",
            "seconds": args.duration,
            "warmup_seconds": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
            "rounds": args.rounds,
        },
        "host": {"cpus": os.cpu_count()},
        "config": {key: cfg.get(key) for key in CONTEXT_KEYS},
        "cases": rows,
        "ratios": verdicts,
        "latency_goals": latencies,
        "throughput_goals": throughputs,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n==> results in {RESULTS.relative_to(ROOT)}")
    # A missed target is a finding, not a failure; a case that could not run is.
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
