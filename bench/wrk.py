"""Runs wrk against one request and reads its `--latency` report."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .registry import Request

_MS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.MULTILINE
)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)", re.MULTILINE)


class WrkError(RuntimeError):
    pass


@dataclass(frozen=True)
class Result:
    requests_per_s: float
    requests: int
    seconds: float
    latency_ms: dict[str, float]
    socket_errors: dict[str, int]
    # wrk counts every answer with a status of 400 or more here, despite the name.
    non_2xx: int

    @property
    def errors(self) -> int:
        return sum(self.socket_errors.values())

    def as_dict(self) -> dict:
        return {
            "requests_per_s": self.requests_per_s,
            "requests": self.requests,
            "seconds": self.seconds,
            "latency_ms": self.latency_ms,
            "socket_errors": self.socket_errors,
            "non_2xx": self.non_2xx,
        }


def available() -> bool:
    return shutil.which("wrk") is not None


def parse(output: str) -> Result:
    """The figures from wrk's report; raises WrkError when a figure is missing."""
    rate, total = _RATE.search(output), _TOTAL.search(output)
    percentiles = {
        f"p{float(p):g}": float(value) * _MS_PER_UNIT[unit]
        for p, value, unit in _PERCENTILE.findall(output)
    }
    if not rate or not total or "p50" not in percentiles or "p99" not in percentiles:
        raise WrkError(f"could not read wrk's report:\n{output}")
    socket = _SOCKET_ERRORS.search(output)
    non_2xx = _NON_2XX.search(output)
    return Result(
        requests_per_s=float(rate.group(1)),
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _MS_PER_UNIT[total.group(3)] / 1000,
        latency_ms=percentiles,
        socket_errors=dict(
            zip(
                ("connect", "read", "write", "timeout"),
                (int(n) for n in socket.groups()) if socket else (0, 0, 0, 0),
                strict=True,
            )
        ),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def _lua_string(value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ValueError("a header value cannot hold a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run(request: Request, *, seconds: int, connections: int, threads: int) -> Result:
    """Load `request` for `seconds` with `connections` kept-alive connections."""
    # Headers go through a script, not `-H`, so no token shows in the process list.
    script = "".join(
        f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}\n"
        for name, value in request.headers.items()
    )
    if request.method != "GET":
        script += f"wrk.method = {_lua_string(request.method)}\n"
    if request.body is not None:
        script += f"wrk.body = {_lua_string(request.body)}\n"
    if request.script is not None:
        script += request.script + "\n"
    # wrk's --latency table stops at 50/75/90/99; the goals are stated at p95.
    script += (
        "done = function(summary, latency, requests)\n"
        '  io.write(string.format("  95%%  %.2fms\\n", latency:percentile(95) / 1000))\n'
        "end\n"
    )
    with tempfile.TemporaryDirectory(prefix="feira-bench-") as tmp:
        path = Path(tmp) / "request.lua"
        path.write_text(script)
        path.chmod(0o600)
        command = [
            "wrk",
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={seconds}s",
            "--latency",
            f"--script={path}",
            request.url,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=seconds + 30, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise WrkError(f"wrk did not finish within {seconds + 30}s") from exc
    if done.returncode != 0:
        raise WrkError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout}")
    return parse(done.stdout)
