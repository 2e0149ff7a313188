"""targets.yaml: what the worker checks, read and validated once at start-up with clear errors.

The rules are marshmallow schemas, one per kind of target (`SCHEMAS`); every mistake in the file
is collected and reported at once, each named by where it is: the target and the setting."""

from __future__ import annotations

import contextlib
import graphlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validate,
    validates,
    validates_schema,
)
from marshmallow.experimental.context import Context

DEFAULT_FILE = Path(__file__).resolve().parent / "targets.yaml"
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
    # After a check that may change the state (a first failure, a first success while down), the
    # next one comes this soon, so that an outage shorter than `down_after` intervals is seen.
    retry_interval: float = DEFAULT_INTERVAL
    latency_threshold_ms: float = DEFAULT_LATENCY_THRESHOLD_MS
    down_after: int = DEFAULT_DOWN_AFTER
    up_after: int = DEFAULT_UP_AFTER
    depends_on: tuple[str, ...] = ()
    description: str = ""
    probe: Probe | None = None  # http
    direct: Probe | None = None  # pair
    # pair, when the stack runs its service as several copies (`NAME_URLS`): `direct` on each one
    direct_copies: tuple[Probe, ...] = ()
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
    """Validate the file's parsed YAML: a Config, or ConfigError listing every problem, each named
    by where it is (`targets[2] (clients).direct.url: ...`)."""
    problems: list[str] = []
    override = env.get(INTERVAL_OVERRIDE)
    if override:
        try:
            parse_duration(override)
        except ValueError as exc:
            # Every target's interval would be wrong: that one line says it all.
            raise ConfigError(source, [f"{INTERVAL_OVERRIDE}: {exc}"]) from None
    with Context({"env": env}):
        try:
            document = FileSchema().load(raw if isinstance(raw, Mapping) else {"": raw})
        except ValidationError as exc:
            # What is wrong with the file as a whole is said of "the file".
            messages = {k if k != "_schema" else "the file": v for k, v in exc.messages.items()}
            raise ConfigError(source, _flatten("", messages)) from None
        targets, disabled = _load_targets(document, env, problems)
        targets = _resolve_dependencies(targets, disabled, problems)
        with Context({"env": env, "names": {t.name for t in targets}}):
            try:
                maintenance = [
                    window if window.name else replace(window, name=f"maintenance {index + 1}")
                    for index, window in enumerate(
                        MaintenanceSchema(many=True).load(document["maintenance"])
                    )
                ]
            except ValidationError as exc:
                problems += _flatten("maintenance", exc.messages)
                maintenance = []
    if problems:
        raise ConfigError(source, problems)
    return Config(tuple(targets), tuple(maintenance), source)


# --- the schemas --------------------------------------------------------------------------------
# Each error message either starts by naming its setting (`interval 'x' is not a duration`), and
# is reported at the target (`targets[0] (web): interval ...`), or not, and is reported at the
# setting (`targets[0] (web).url: must be an http(s) URL`); see _flatten.


def _env() -> Mapping[str, str]:
    return Context.get()["env"]


class Duration(fields.Field):
    """`15s`, `500ms`, `2m`, `1h` or a number of seconds, loaded as seconds."""

    def _deserialize(self, value, attr, data, **kwargs) -> float:
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValidationError(f"{self.name} {exc}") from exc


def _count(name: str) -> fields.Integer:
    """A whole number of consecutive checks, 1 to 100 (strict: neither 1.5 nor `true`)."""
    message = f"`{name}` must be a whole number from 1 to 100, not {{input!r}}"
    return fields.Integer(
        strict=True,
        validate=validate.Range(1, 100, error=message),
        error_messages={"invalid": message},
    )


class Interpolated(fields.Field):
    """Non-blank text whose `${NAME}` come from the worker's environment."""

    def __init__(self, **kwargs):
        super().__init__(required=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(self.error_messages["required"])
        env = _env()
        missing = [name for name in _VARIABLE.findall(value) if not env.get(name)]
        if missing:
            raise ValidationError(f"{', '.join('${' + m + '}' for m in missing)} is not set")
        return _VARIABLE.sub(lambda m: env[m.group(1)], value)


class Method(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs) -> str:
        method = str(value).upper()
        if method not in {"GET", "HEAD"}:
            raise ValidationError("a check only reads: GET or HEAD")
        return method


class Statuses(fields.Field):
    """One HTTP status or a list of them."""

    def _deserialize(self, value, attr, data, **kwargs) -> tuple[int, ...]:
        statuses = value if isinstance(value, list) else [value]
        if not statuses or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in statuses
        ):
            raise ValidationError(f"must be HTTP statuses, not {value!r}")
        return tuple(statuses)


class ConditionField(fields.Field):
    """`{path: a.b, <operator>: value}`, loaded as a Condition."""

    def _deserialize(self, value, attr, data, **kwargs) -> Condition:
        if not isinstance(value, dict) or not isinstance(value.get("path"), str):
            raise ValidationError("a condition is `{path: a.b, <operator>: value}`")
        operators = [key for key in value if key != "path"]
        if len(operators) != 1 or operators[0] not in OPERATORS:
            raise ValidationError(f"give exactly one operator of {', '.join(OPERATORS)}")
        op, operand = operators[0], value[operators[0]]
        if op in {"less_than", "greater_than"} and _number(operand) is None:
            raise ValidationError(f"`{op}` needs a number, not {operand!r}")
        if op == "one_of" and not isinstance(operand, list):
            raise ValidationError("`one_of` needs a list")
        return Condition(value["path"], op, operand)


class Moment(fields.Field):
    """An ISO 8601 time with its offset (YAML may have parsed it already), in UTC."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = datetime.fromisoformat(value)
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValidationError(f"`{self.name}` must be an ISO 8601 time with its offset")
        return value.astimezone(UTC)


def _names(message: str) -> fields.List:
    return fields.List(fields.String(), error_messages={"invalid": message})


class Settings(Schema):
    """A mapping whose unknown keys are mistakes, each named with the settings there are."""

    class Meta:
        unknown = EXCLUDE

    error_messages = {"type": "must be a mapping"}

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def known_settings(self, data, original, **kwargs):
        known = sorted(field.data_key or name for name, field in self.load_fields.items())
        unknown = sorted(set(original) - set(known), key=str) if isinstance(original, dict) else []
        if unknown:
            raise ValidationError(
                [f"unknown setting {key!r} (known: {', '.join(known)})" for key in unknown]
            )


class DefaultsSchema(Settings):
    """`defaults:`, and what a target may set for itself."""

    interval = Duration()
    timeout = Duration()
    retry_interval = Duration()
    latency_threshold = Duration()
    down_after = _count("down_after")
    up_after = _count("up_after")


class FileSchema(Settings):
    defaults = fields.Nested(
        DefaultsSchema, load_default=dict, error_messages={"type": "must be a mapping"}
    )
    targets = fields.List(
        fields.Raw(),
        required=True,
        validate=validate.Length(min=1, error="must be a non-empty list"),
        error_messages={
            "required": "must be a non-empty list",
            "invalid": "must be a non-empty list",
        },
    )
    maintenance = fields.List(
        fields.Raw(),
        load_default=list,
        allow_none=True,
        error_messages={"invalid": "must be a list of windows"},
    )

    @pre_load
    def a_mapping(self, data, **kwargs):
        if "" in data:
            raise ValidationError("must be a mapping with `targets:`")
        # `defaults:` or `maintenance:` with nothing under them mean none.
        return {key: value for key, value in data.items() if value is not None}


class ProbeSchema(Settings):
    """One request and what its answer must be."""

    url = Interpolated(error_messages={"required": "`url` is required"})
    method = Method(load_default="GET")
    expect_status = Statuses(load_default=(200,))
    json = fields.List(ConditionField(), load_default=list)

    @validates_schema(skip_on_field_errors=False)
    def a_web_address(self, data, **kwargs):
        url = data.get("url")
        if url and not url.startswith(("http://", "https://")):
            raise ValidationError(f"must be an http(s) URL, not {url!r}", "url")


def _probe(data: dict) -> Probe:
    return Probe(data["url"], data["method"], data["expect_status"], tuple(data["json"]))


class TargetSchema(DefaultsSchema):
    """What every kind has: its own settings over the file's `defaults:` (in the context)."""

    name = fields.String(required=True)
    kind = fields.String(required=True)
    description = fields.String(load_default="")
    enabled_if_service = fields.String()
    depends_on = _names("`depends_on` must be a list of target names")

    @pre_load
    def with_defaults(self, data, **kwargs):
        return {**Context.get()["defaults"], **data}

    @validates_schema
    def the_timeout_fits_the_interval(self, data, **kwargs):
        interval, timeout, retry = _timing(data, _env())
        if interval < 1:
            raise ValidationError(f"the interval must be at least 1s, not {interval:g}s")
        if timeout >= interval:
            raise ValidationError(
                f"the timeout ({timeout:g}s) must be shorter than the interval ({interval:g}s)"
            )
        if not 1 <= retry <= interval:
            raise ValidationError(
                f"the retry interval ({retry:g}s) must be from 1s to the interval ({interval:g}s)"
            )

    @post_load
    def target(self, data, **kwargs) -> Target:
        interval, timeout, retry = _timing(data, _env())
        threshold = data.get("latency_threshold")
        return Target(
            name=data["name"],
            kind=data["kind"],
            interval=interval,
            timeout=timeout,
            retry_interval=retry,
            latency_threshold_ms=threshold * 1000 if threshold else DEFAULT_LATENCY_THRESHOLD_MS,
            down_after=data.get("down_after", DEFAULT_DOWN_AFTER),
            up_after=data.get("up_after", DEFAULT_UP_AFTER),
            depends_on=tuple(data.get("depends_on", ())),
            description=data["description"],
            **self.specific(data),
        )

    def specific(self, data: dict) -> dict[str, Any]:
        """The kind's own fields of the Target."""
        return {}


def _timing(settings: dict, env: Mapping[str, str]) -> tuple[float, float, float]:
    """The interval, the timeout and the retry interval. MONITOR_INTERVAL replaces every interval
    and shortens the others with it; a timeout not given is 5 s, or 80 % of a shorter interval; a
    retry interval not given is a fifth of the interval, 1 s at least."""
    interval = settings.get("interval", DEFAULT_INTERVAL)
    override = env.get(INTERVAL_OVERRIDE)
    if override:
        interval = parse_duration(override)
    timeout = settings.get("timeout", min(DEFAULT_TIMEOUT, interval * 0.8))
    retry = settings.get("retry_interval", max(1.0, interval / 5))
    if override:
        timeout = min(timeout, interval * 0.8)
        retry = min(retry, interval)
    return interval, timeout, retry


class HttpSchema(TargetSchema, ProbeSchema):
    def specific(self, data: dict) -> dict[str, Any]:
        return {"probe": _probe(data)}


def _leg(name: str) -> fields.Nested:
    return fields.Nested(
        ProbeSchema,
        required=True,
        error_messages={"required": f"a pair needs `{name}` (a mapping with `url`)"},
    )


class PairSchema(TargetSchema):
    direct = _leg("direct")
    via_gateway = _leg("via_gateway")

    def specific(self, data: dict) -> dict[str, Any]:
        direct = _probe(data["direct"])
        return {
            "direct": direct,
            "direct_copies": _copies(direct, data.get("enabled_if_service"), _env()),
            "via_gateway": _probe(data["via_gateway"]),
        }


def _copies(direct: Probe, service: str | None, env: Mapping[str, str]) -> tuple[Probe, ...]:
    """`direct` asked of every copy of `service` when the stack runs several (`NAME_URLS`, SCALE
    > 1, the first copy being `NAME_URL`): one copy stopped is then seen although the gateway and
    `NAME_URL` still answer. None with one copy, or for a URL that is not under `NAME_URL`."""
    if not service:
        return ()
    first = env.get(f"{service.upper()}_URL", "").rstrip("/")
    urls = [u.strip().rstrip("/") for u in env.get(f"{service.upper()}_URLS", "").split(",")]
    urls = [u for u in urls if u]
    if len(urls) < 2 or not first or not direct.url.startswith(first + "/"):
        return ()
    return tuple(replace(direct, url=url + direct.url[len(first) :]) for url in urls)


class PostgresSchema(TargetSchema):
    dsn = Interpolated(error_messages={"required": "`dsn` is required"})

    def specific(self, data: dict) -> dict[str, Any]:
        return {"dsn": data["dsn"]}


class SyntheticSchema(TargetSchema):
    gateway = Interpolated(error_messages={"required": "`gateway` is required"})

    @validates_schema(skip_on_field_errors=False)
    def an_account_to_sign_in(self, data, **kwargs):
        env = _env()
        missing = [key for key in sign_in_variables(env) if not env.get(key)]
        if missing:
            raise ValidationError(
                f"the journey needs an account to sign in: set {' and '.join(missing)}"
            )

    def specific(self, data: dict) -> dict[str, Any]:
        return {"gateway_url": data["gateway"].rstrip("/")}


SCHEMAS: dict[str, type[TargetSchema]] = {
    "http": HttpSchema,
    "pair": PairSchema,
    "postgres": PostgresSchema,
    "synthetic": SyntheticSchema,
}
KINDS = tuple(SCHEMAS)
NAME = re.compile(r"[a-z][a-z0-9-]{0,39}")


def _load_targets(
    document: dict, env: Mapping[str, str], problems: list[str]
) -> tuple[list[Target], set[str]]:
    """Each entry with the schema of its kind, but those of a service the stack does not run (no
    `NAME_URL` for `enabled_if_service: NAME`): they are left out."""
    targets: list[Target] = []
    disabled: set[str] = set()
    seen: set[str] = set()
    for index, entry in enumerate(document["targets"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"targets[{index}]" + (f" ({name})" if isinstance(name, str) and name else "")
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        if isinstance(name, str) and name in seen:
            problems.append(f"{where}: the name {name!r} is used twice")
        if isinstance(name, str):
            seen.add(name)
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(
                f"{where}: `name` must be lower-case letters, digits and '-' (at most 40)"
            )
            continue
        kind = entry.get("kind")
        if kind not in SCHEMAS:
            problems.append(f"{where}: `kind` must be one of {', '.join(KINDS)}, not {kind!r}")
            continue
        service = entry.get("enabled_if_service")
        if service is not None and not env.get(f"{str(service).upper()}_URL"):
            # The stack does not run it: its `${SERVICE_URL}` is not set, and no more to check.
            disabled.add(name)
            continue
        try:
            with Context({"env": env, "defaults": document["defaults"]}):
                targets.append(SCHEMAS[kind]().load(entry))
        except ValidationError as exc:
            problems += _flatten(where, exc.messages)
    return targets, disabled


def _resolve_dependencies(
    targets: list[Target], disabled: set[str], problems: list[str]
) -> list[Target]:
    """Drop dependencies on disabled targets; refuse unknown ones and cycles."""
    names = {t.name for t in targets}
    resolved = []
    for target in targets:
        kept = []
        for dependency in target.depends_on:
            if dependency in disabled:
                continue
            if dependency not in names or dependency == target.name:
                problems.append(f"{target.name}.depends_on: no target named {dependency!r}")
                continue
            kept.append(dependency)
        resolved.append(replace(target, depends_on=tuple(kept)))
    try:
        graphlib.TopologicalSorter({t.name: t.depends_on for t in resolved}).prepare()
    except graphlib.CycleError as exc:
        problems.append(f"{exc.args[1][0]}.depends_on: the dependencies go round in a circle")
    return resolved


class WeeklySchema(Settings):
    day = fields.String(required=True)
    at = fields.Time(
        required=True, error_messages={"invalid": '`at` must be a time of day, such as "03:00"'}
    )
    duration = Duration(required=True)

    @validates("day")
    def a_weekday(self, value, **kwargs):
        if value.lower() not in WEEKDAYS:
            raise ValidationError(f"`day` must be a weekday name, not {value!r}")


class MaintenanceSchema(Settings):
    """A one-off window (`start`, `end`) or a weekly one (`weekly: {day, at, duration}`, UTC)."""

    name = fields.String()
    targets = _names("`targets` must be a list of target names")
    start = Moment()
    end = Moment()
    weekly = fields.Nested(WeeklySchema)

    @validates_schema
    def a_window(self, data, **kwargs):
        unknown = sorted(set(data.get("targets") or ()) - Context.get()["names"])
        if unknown:
            raise ValidationError(f"no target named {', '.join(map(repr, unknown))}")
        if "weekly" in data:
            return
        missing = [key for key in ("start", "end") if key not in data]
        if missing:
            raise ValidationError(
                {key: [f"`{key}` must be an ISO 8601 time with its offset"] for key in missing}
            )
        if data["end"] <= data["start"]:
            raise ValidationError("`end` must come after `start`")

    @post_load
    def window(self, data, **kwargs) -> Maintenance:
        targets = data.get("targets")
        window = Maintenance(
            name=data.get("name") or "",
            targets=frozenset(targets) if targets is not None else None,
        )
        weekly = data.get("weekly")
        if weekly:
            return replace(
                window,
                weekday=WEEKDAYS.index(weekly["day"].lower()),
                at=weekly["at"],
                duration=timedelta(seconds=weekly["duration"]),
            )
        return replace(window, start=data["start"], end=data["end"])


def _flatten(where: str, errors: Any) -> list[str]:
    """marshmallow's nested errors as `where: message` lines (see the schemas' comment)."""
    if isinstance(errors, str):
        return [f"{where}: {errors}" if where else errors]
    if isinstance(errors, list):
        return [line for error in errors for line in _flatten(where, error)]
    lines = []
    for key, value in errors.items():
        if key in ("_schema", ""):
            lines += _flatten(where, value)
        elif isinstance(key, int):
            lines += _flatten(f"{where}[{key}]", value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for message in value:
                inline = where and message.startswith((key, f"`{key}`"))
                lines += _flatten(where if inline else f"{where}.{key}".lstrip("."), message)
        else:
            lines += _flatten(f"{where}.{key}".lstrip("."), value)
    return lines
