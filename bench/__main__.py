"""`python -m bench [--only NAME] [--duration 10s]`: what `make bench` runs."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from stack.config import ROOT, StackConfig

from . import cases, wrk  # noqa: F401 (importing cases registers them)
from .registry import CASES, RATIOS, Case, Run

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# Settings that explain a figure, recorded with it (as configured: `make up` applies them).
CONTEXT_KEYS = (
    "GUNICORN_WORKERS",
    "GUNICORN_THREADS",
    "FEIRA_GATEWAY_WORKERS",
    "FEIRA_VERIFY_CACHE_SECONDS",
)

# Defaults for a 2-core machine where wrk, nginx, gunicorn and PostgreSQL share the CPU.
# Two wrk threads cost almost nothing at these rates (about 1k req/s against a Python
# service) and keep wrk from being the limit on the cases nginx answers itself. Sixteen
# connections are twice what auth serves at once (2 workers x 4 threads), so the service
# is saturated in both the direct and the gateway case, and they stay under the gateway's
# 32 pooled upstream connections, so nginx reuses its connections to auth instead of
# opening new ones: both cases load auth with the same concurrency, and the only difference
# left is the gateway's own cost.
DEFAULT_CONNECTIONS = 16
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
        "--only", action="append", metavar="NAME", help="run this case only (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the cases and stop")
    args = parser.parse_args(argv)
    if args.duration < 1:
        parser.error("--duration must be at least 1s")
    if args.threads < 1 or args.connections < args.threads:
        parser.error("--connections must be at least --threads, and --threads at least 1")
    unknown = [name for name in args.only or [] if name not in CASES]
    if unknown:
        parser.error(f"no case named {', '.join(map(repr, unknown))}; see --list")
    return args


def stack_is_up(cfg: StackConfig) -> str | None:
    """None when the gateway and every service answer /health, else the first that does not."""
    for url in [
        f"{cfg.gateway_url}/health",
        *(f"{cfg.service_url(s)}/health" for s in cfg.services),
    ]:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (loopback)
                if response.status != 200:
                    return url
        except (urllib.error.URLError, OSError):
            return url
    return None


def measure(case: Case, run: Run, args: argparse.Namespace) -> dict:
    load = {"connections": args.connections, "threads": args.threads}
    print(
        f"==> {case.name}: {args.warmup}s warm-up, then {args.duration}s "
        f"(wrk -t{args.threads} -c{args.connections})",
        flush=True,
    )
    request = case.prepare(run)
    if args.warmup:
        wrk.run(request, seconds=args.warmup, **load)
    result = wrk.run(request, seconds=args.duration, **load)
    return {"name": case.name, "url": request.url, **result.as_dict()}


def print_table(rows: list[dict]) -> None:
    width = max(len("case"), *(len(row["name"]) for row in rows))
    columns = ("req/s", "p50 ms", "p99 ms", "errors", "non-2xx")
    header = f"{'case':<{width}}" + "".join(f"  {column:>9}" for column in columns)
    print(f"\n{header}\n{'-' * len(header)}")
    for row in rows:
        if "error" in row:
            print(f"{row['name']:<{width}}  FAILED: {row['error']}")
            continue
        figures = (
            f"{row['requests_per_s']:.1f}",
            f"{row['latency_ms']['p50']:.2f}",
            f"{row['latency_ms']['p99']:.2f}",
            str(sum(row["socket_errors"].values())),
            str(row["non_2xx"]),
        )
        print(f"{row['name']:<{width}}" + "".join(f"  {figure:>9}" for figure in figures))
    print()


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
    down = stack_is_up(cfg)
    if down:
        print(f"the stack is not answering at {down}: make up", file=sys.stderr)
        return 2

    run = Run(cfg)
    rows = []
    for case in (CASES[name] for name in args.only or CASES):
        try:
            rows.append(measure(case, run, args))
        except (wrk.WrkError, urllib.error.URLError, OSError, KeyError, ValueError) as exc:
            rows.append({"name": case.name, "error": str(exc)})
    print_table(rows)
    verdicts = judge_ratios(rows)

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load": {
            "tool": "wrk",
            "seconds": args.duration,
            "warmup_seconds": args.warmup,
            "connections": args.connections,
            "threads": args.threads,
        },
        "host": {"cpus": os.cpu_count()},
        "config": {key: cfg.get(key) for key in CONTEXT_KEYS},
        "cases": rows,
        "ratios": verdicts,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n==> results in {RESULTS.relative_to(ROOT)}")
    # A missed target is a finding, not a failure; a case that could not run is.
    return 1 if any("error" in row for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
