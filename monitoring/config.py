"""targets.yaml: what the worker checks, read and validated once at start-up with clear errors."""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

DEFAULT_FILE = Path(__file__).resolve().parent / "targets.yaml"
KINDS = ("http", "postgres", "synthetic", "pair")
DEFAULT_INTERVAL = 15.0
# A check gets this long unless told otherwise, or 80 % of a shorter interval.
DEFAULT_TIMEOUT = 5.0
DEFAULT_LATENCY_THRESHOLD_MS = 1000.0
DEFAULT_DOWN_AFTER = 2
DEFAULT_UP_AFTER = 2
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
OPERATORS = ("equals", "not_equals", "less_than", "greater_than", "exists", "one_of")
INTERVAL_OVERRIDE = "MONITOR_INTERVAL"
# The journey signs in with the monitor's own least-privilege account; the admin's only when
# that is not configured (a stack from before it existed).
MONITOR_SIGN_IN = ("FEIRA_MONITOR_EMAIL", "FEIRA_MONITOR_PASSWORD")
ADMIN_SIGN_IN = ("FEIRA_ADMIN_EMAIL", "FEIRA_ADMIN_PASSWORD")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_MISSING = object()


class ConfigError(ValueError):
    """Every problem found in the file, one per line, each naming where it is."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source} is not valid:\n" + "\n".join(f"  - {p}" for p in problems))


def parse_duration(value: Any) -> float:
    """`15s`, `500ms`, `2m`, `1h` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (say 15s or 500ms)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration (say 15s or 500ms)")
        unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
        seconds = float(match.group(1)) * unit
    if seconds <= 0 or not math.isfinite(seconds):
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


@dataclass(frozen=True)
class Condition:
    """One JSON condition on an answer's body: `path` (dots into objects) `op` `value`."""

    path: str
    op: str
    value: Any = None

    def failure(self, body: Any) -> str | None:
        """None when the body satisfies the condition, else what is wrong."""
        found = body
        for part in self.path.split("."):
            if isinstance(found, Mapping) and part in found:
                found = found[part]
            elif isinstance(found, list) and part.isdigit() and int(part) < len(found):
                found = found[int(part)]
            else:
                found = _MISSING
                break
        if self.op == "exists":
            return None if found is not _MISSING else f"{self.path} is missing"
        if found is _MISSING:
            return f"{self.path} is missing"
        ok = {
            "equals": lambda: found == self.value,
            "not_equals": lambda: found != self.value,
            "less_than": lambda: _number(found) is not None and _number(found) < self.value,
            "greater_than": lambda: _number(found) is not None and _number(found) > self.value,
            "one_of": lambda: found in self.value,
        }[self.op]()
        return None if ok else f"{self.path} is {found!r}, wanted {self.op} {self.value!r}"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class Probe:
    """One HTTP request and what its answer must be."""

    url: str
    method: str = "GET"
    expect_status: tuple[int, ...] = (200,)
    json: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Target:
    name: str
    kind: str
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    latency_threshold_ms: float = DEFAULT_LATENCY_THRESHOLD_MS
    down_after: int = DEFAULT_DOWN_AFTER
    up_after: int = DEFAULT_UP_AFTER
    depends_on: tuple[str, ...] = ()
    description: str = ""
    probe: Probe | None = None  # http
    direct: Probe | None = None  # pair
    via_gateway: Probe | None = None  # pair
    dsn: str | None = None  # postgres
    gateway_url: str | None = None  # synthetic


@dataclass(frozen=True)
class Maintenance:
    """A window during which the targets' time counts for nothing: neither up nor down, and no
    incident is opened. One-off (`start`/`end`) or weekly (`weekly: {day, at, duration}`, UTC)."""

    name: str
    targets: frozenset[str] | None = None  # None: every target
    start: datetime | None = None
    end: datetime | None = None
    weekday: int | None = None
    at: time | None = None
    duration: timedelta | None = None

    def applies_to(self, target: str) -> bool:
        return self.targets is None or target in self.targets

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Its occurrences that overlap [start, end), clipped to it."""
        if self.start is not None and self.end is not None:
            spans = [(self.start, self.end)]
        else:
            first = datetime.combine(start.date() - timedelta(days=7), self.at, tzinfo=UTC)
            first += timedelta(days=(self.weekday - first.weekday()) % 7)
            spans = []
            while first < end:
                spans.append((first, first + self.duration))
                first += timedelta(days=7)
        return [(max(a, start), min(b, end)) for a, b in spans if a < end and b > start]


@dataclass(frozen=True)
class Config:
    targets: tuple[Target, ...]
    maintenance: tuple[Maintenance, ...] = ()
    source: str = ""
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(t.name for t in self.targets))

    def target(self, name: str) -> Target:
        return next(t for t in self.targets if t.name == name)

    def maintenance_seconds(self, target: str, start: datetime, end: datetime) -> float:
        """How much of [start, end) the target spends in maintenance (overlaps merged)."""
        spans = sorted(
            span
            for window in self.maintenance
            if window.applies_to(target)
            for span in window.windows(start, end)
        )
        total, reach = 0.0, start
        for a, b in spans:
            a = max(a, reach)
            if b > a:
                total += (b - a).total_seconds()
                reach = b
        return total

    def in_maintenance(self, target: str, moment: datetime) -> bool:
        return self.maintenance_seconds(target, moment, moment + timedelta(microseconds=1)) > 0

    def dependencies(self, name: str) -> list[str]:
        """Every target `name` depends on, transitively, the deepest (the likeliest root) first."""
        order: list[str] = []

        def visit(current: str) -> None:
            for dependency in self.target(current).depends_on:
                if dependency not in order:
                    visit(dependency)
                    order.append(dependency)

        visit(name)
        return order


def sign_in_variables(env: Mapping[str, str]) -> tuple[str, str]:
    """The names of the email and password variables the journey signs in with."""
    return MONITOR_SIGN_IN if any(env.get(k) for k in MONITOR_SIGN_IN) else ADMIN_SIGN_IN


def load(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate the targets file (`MONITOR_TARGETS_FILE`, else monitoring/targets.yaml).

    Raises ConfigError listing every problem, each with where it is."""
    env = os.environ if env is None else env
    path = Path(path or env.get("MONITOR_TARGETS_FILE") or DEFAULT_FILE)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc.strerror}"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"is not YAML: {exc}"]) from exc
    return parse(raw, env, source=str(path))


def parse(raw: Any, env: Mapping[str, str], source: str = "targets.yaml") -> Config:
    return _Parser(env, source).config(raw)


class _Parser:
    def __init__(self, env: Mapping[str, str], source: str):
        self.env = env
        self.source = source
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def config(self, raw: Any) -> Config:
        if not isinstance(raw, dict):
            raise ConfigError(self.source, ["the file must be a mapping with `targets:`"])
        self.unknown_keys("the file", raw, {"defaults", "targets", "maintenance"})
        defaults = self.defaults(raw.get("defaults") or {})
        entries = raw.get("targets")
        if not isinstance(entries, list) or not entries:
            self.problem("targets", "must be a non-empty list")
            entries = []
        targets: list[Target] = []
        disabled: set[str] = set()
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            where = f"targets[{index}]" + (f" ({name})" if name else "")
            if isinstance(name, str) and name in seen:
                self.problem(where, f"the name {name!r} is used twice")
            if isinstance(name, str):
                seen.add(name)
            target = self.target(where, entry, defaults)
            if target is None:
                continue
            if target is False:
                disabled.add(name)
                continue
            targets.append(target)
        targets = self.resolve_dependencies(targets, disabled)
        maintenance = self.maintenance(raw.get("maintenance") or [], {t.name for t in targets})
        if self.problems:
            raise ConfigError(self.source, self.problems)
        return Config(tuple(targets), tuple(maintenance), self.source)

    def unknown_keys(self, where: str, raw: dict, known: set[str]) -> None:
        for key in sorted(set(raw) - known, key=str):
            self.problem(where, f"unknown setting {key!r} (known: {', '.join(sorted(known))})")

    def defaults(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            self.problem("defaults", "must be a mapping")
            return {}
        known = {"interval", "timeout", "latency_threshold", "down_after", "up_after"}
        self.unknown_keys("defaults", raw, known)
        return raw

    def target(self, where: str, raw: Any, defaults: dict) -> Target | bool | None:
        if not isinstance(raw, dict):
            self.problem(where, "must be a mapping")
            return None
        common = {"name", "kind", "interval", "timeout", "latency_threshold", "down_after"}
        common |= {"up_after", "depends_on", "description", "enabled_if_service"}
        per_kind = {
            "http": {"url", "method", "expect_status", "json"},
            "pair": {"direct", "via_gateway"},
            "postgres": {"dsn"},
            "synthetic": {"gateway"},
        }
        name, kind = raw.get("name"), raw.get("kind")
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9-]{0,39}", name):
            self.problem(where, "`name` must be lower-case letters, digits and '-' (at most 40)")
            return None
        if kind not in KINDS:
            self.problem(where, f"`kind` must be one of {', '.join(KINDS)}, not {kind!r}")
            return None
        self.unknown_keys(where, raw, common | per_kind[kind])
        service = raw.get("enabled_if_service")
        if service is not None and not self.env.get(f"{str(service).upper()}_URL"):
            return False

        settings = {**defaults, **{k: v for k, v in raw.items() if k in common}}
        target = Target(name=name, kind=kind, description=str(raw.get("description") or ""))
        try:
            interval = parse_duration(settings.get("interval", DEFAULT_INTERVAL))
        except ValueError as exc:
            self.problem(where, f"interval {exc}")
            interval = DEFAULT_INTERVAL
        override = self.env.get(INTERVAL_OVERRIDE)
        if override:
            try:
                interval = parse_duration(override)
            except ValueError as exc:
                self.problem(INTERVAL_OVERRIDE, str(exc))
        if interval < 1:
            self.problem(where, f"the interval must be at least 1s, not {interval:g}s")
        timeout = min(DEFAULT_TIMEOUT, interval * 0.8)
        if "timeout" in settings:
            try:
                timeout = parse_duration(settings["timeout"])
            except ValueError as exc:
                self.problem(where, f"timeout {exc}")
        if override:
            # A shorter interval for everything (tests, demos) shortens the timeouts with it.
            timeout = min(timeout, interval * 0.8)
        if timeout >= interval:
            self.problem(
                where,
                f"the timeout ({timeout:g}s) must be shorter than the interval ({interval:g}s)",
            )
        try:
            threshold = (
                parse_duration(settings.get("latency_threshold", DEFAULT_LATENCY_THRESHOLD_MS))
                * 1000
                if "latency_threshold" in settings
                else DEFAULT_LATENCY_THRESHOLD_MS
            )
        except ValueError as exc:
            self.problem(where, f"latency_threshold {exc}")
            threshold = DEFAULT_LATENCY_THRESHOLD_MS
        counts = {}
        for key, default in (("down_after", DEFAULT_DOWN_AFTER), ("up_after", DEFAULT_UP_AFTER)):
            value = settings.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                self.problem(where, f"`{key}` must be a whole number from 1 to 100, not {value!r}")
                value = default
            counts[key] = value
        depends_on = raw.get("depends_on") or []
        if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
            self.problem(where, "`depends_on` must be a list of target names")
            depends_on = []
        target = replace(
            target,
            interval=interval,
            timeout=timeout,
            latency_threshold_ms=threshold,
            depends_on=tuple(depends_on),
            **counts,
        )
        if kind == "http":
            probe = self.probe(where, {k: raw[k] for k in per_kind["http"] if k in raw})
            return replace(target, probe=probe)
        if kind == "pair":
            legs = {}
            for leg in ("direct", "via_gateway"):
                if not isinstance(raw.get(leg), dict):
                    self.problem(where, f"a pair needs `{leg}` (a mapping with `url`)")
                    continue
                legs[leg] = self.probe(f"{where}.{leg}", raw[leg])
            return replace(target, **legs)
        if kind == "postgres":
            dsn = self.required_text(where, raw, "dsn")
            return replace(target, dsn=dsn)
        gateway = self.required_text(where, raw, "gateway")
        missing = [k for k in sign_in_variables(self.env) if not self.env.get(k)]
        if missing:
            self.problem(
                where, f"the journey needs an account to sign in: set {' and '.join(missing)}"
            )
        return replace(target, gateway_url=gateway.rstrip("/") if gateway else None)

    def required_text(self, where: str, raw: dict, key: str) -> str | None:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            self.problem(where, f"`{key}` is required")
            return None
        return self.interpolate(f"{where}.{key}", raw[key])

    def interpolate(self, where: str, text: str) -> str | None:
        missing = [name for name in _VARIABLE.findall(text) if not self.env.get(name)]
        if missing:
            self.problem(where, f"{', '.join('${' + m + '}' for m in missing)} is not set")
            return None
        return _VARIABLE.sub(lambda m: self.env[m.group(1)], text)

    def probe(self, where: str, raw: dict) -> Probe | None:
        self.unknown_keys(where, raw, {"url", "method", "expect_status", "json"})
        url = self.required_text(where, raw, "url")
        if url and not url.startswith(("http://", "https://")):
            self.problem(f"{where}.url", f"must be an http(s) URL, not {url!r}")
        method = str(raw.get("method", "GET")).upper()
        if method not in {"GET", "HEAD"}:
            self.problem(f"{where}.method", "a check only reads: GET or HEAD")
        status = raw.get("expect_status", 200)
        statuses = status if isinstance(status, list) else [status]
        if not statuses or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
        ):
            self.problem(f"{where}.expect_status", f"must be HTTP statuses, not {status!r}")
            statuses = [200]
        conditions = []
        for index, item in enumerate(raw.get("json") or []):
            condition = self.condition(f"{where}.json[{index}]", item)
            if condition:
                conditions.append(condition)
        if url is None:
            return None
        return Probe(url, method, tuple(statuses), tuple(conditions))

    def condition(self, where: str, raw: Any) -> Condition | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
            self.problem(where, "a condition is `{path: a.b, <operator>: value}`")
            return None
        operators = [key for key in raw if key != "path"]
        if len(operators) != 1 or operators[0] not in OPERATORS:
            self.problem(where, f"give exactly one operator of {', '.join(OPERATORS)}")
            return None
        op, value = operators[0], raw[operators[0]]
        if op in {"less_than", "greater_than"} and _number(value) is None:
            self.problem(where, f"`{op}` needs a number, not {value!r}")
            return None
        if op == "one_of" and not isinstance(value, list):
            self.problem(where, "`one_of` needs a list")
            return None
        return Condition(raw["path"], op, value)

    def resolve_dependencies(self, targets: list[Target], disabled: set[str]) -> list[Target]:
        """Drop dependencies on disabled targets; refuse unknown ones and cycles."""
        names = {t.name for t in targets}
        resolved = []
        for target in targets:
            kept = []
            for dependency in target.depends_on:
                if dependency in disabled:
                    continue
                if dependency not in names or dependency == target.name:
                    self.problem(f"{target.name}.depends_on", f"no target named {dependency!r}")
                    continue
                kept.append(dependency)
            resolved.append(replace(target, depends_on=tuple(kept)))
        graph = {t.name: t.depends_on for t in resolved}
        state: dict[str, int] = {}

        def cyclic(node: str) -> bool:
            state[node] = 1
            for nxt in graph[node]:
                if state.get(nxt) == 1 or (nxt not in state and cyclic(nxt)):
                    return True
            state[node] = 2
            return False

        for name in graph:
            if name not in state and cyclic(name):
                self.problem(f"{name}.depends_on", "the dependencies go round in a circle")
                break
        return resolved

    def maintenance(self, raw: Any, names: set[str]) -> list[Maintenance]:
        if not isinstance(raw, list):
            self.problem("maintenance", "must be a list of windows")
            return []
        windows = []
        for index, item in enumerate(raw):
            where = f"maintenance[{index}]"
            if not isinstance(item, dict):
                self.problem(where, "must be a mapping")
                continue
            self.unknown_keys(where, item, {"name", "targets", "start", "end", "weekly"})
            targets = item.get("targets")
            if targets is not None:
                if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                    self.problem(where, "`targets` must be a list of target names")
                    continue
                unknown = sorted(set(targets) - names)
                if unknown:
                    self.problem(where, f"no target named {', '.join(map(repr, unknown))}")
                targets = frozenset(targets)
            window = Maintenance(name=str(item.get("name") or f"maintenance {index + 1}"))
            window = replace(window, targets=targets)
            if "weekly" in item:
                weekly = self.weekly(where, item["weekly"])
                if weekly:
                    windows.append(replace(window, **weekly))
                continue
            start, end = self.moment(where, item, "start"), self.moment(where, item, "end")
            if start and end:
                if end <= start:
                    self.problem(where, "`end` must come after `start`")
                    continue
                windows.append(replace(window, start=start, end=end))
        return windows

    def moment(self, where: str, item: dict, key: str) -> datetime | None:
        value = item.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if not isinstance(value, datetime) or value.tzinfo is None:
            self.problem(where, f"`{key}` must be an ISO 8601 time with its offset")
            return None
        return value.astimezone(UTC)

    def weekly(self, where: str, raw: Any) -> dict | None:
        if not isinstance(raw, dict) or set(raw) != {"day", "at", "duration"}:
            self.problem(where, '`weekly` is `{day: sunday, at: "03:00", duration: 30m}` (UTC)')
            return None
        day = str(raw["day"]).lower()
        if day not in WEEKDAYS:
            self.problem(where, f"`day` must be a weekday name, not {raw['day']!r}")
            return None
        try:
            at = time.fromisoformat(str(raw["at"]))
            duration = timedelta(seconds=parse_duration(raw["duration"]))
        except ValueError as exc:
            self.problem(where, f"weekly: {exc}")
            return None
        return {"weekday": WEEKDAYS.index(day), "at": at, "duration": duration}
