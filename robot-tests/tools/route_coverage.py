"""Which documented routes and statuses no Robot scenario has pinned.

    python robot-tests/tools/route_coverage.py [--base-url URL] [--records DIR] [--report FILE]

Reads every service's OpenAPI document through the gateway, plus the gateway's own routes (it
has no document: `GATEWAY_ROUTES` below), and the records `libraries/RouteLog.py` wrote during a
Robot run: one line per answer whose status a scenario asserted. A route is covered when every
status its document lists (but `default`) was asserted by some scenario. It prints one line per
route with what is missing, writes the same table to `--report`, and exits 1 on any gap, and on
any asserted status a document does not list (the document is then what is wrong). With
`--api-md` (by default ../shared/API.md beside the checkout, when it is there) it also fails when
API.md names a route that neither a document nor the gateway has, unless the route belongs to a
service still to come (`planned`): its prefix is no registry service's, or `PLANNED` names it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from services.registry import SERVICES

# The documents the gateway serves, by path: one per service of the registry.
DOCUMENTS = tuple(service.document for service in SERVICES if service.document)
# API.md's routes that extend a service already running but come with a later issue.
PLANNED: dict[tuple[str, str], str] = {}
SERVED_PREFIXES = {prefix for s in SERVICES for prefix in (*s.prefixes, *s.public)}
METHODS = ("get", "head", "post", "put", "patch", "delete")

# Routes nginx answers itself or passes to a page, which no OpenAPI document describes.
GATEWAY_ROUTES: dict[tuple[str, str], frozenset[int]] = {
    ("GET", "/health"): frozenset({200}),
    ("GET", "/health/{service}"): frozenset({200, 404, 503}),
    ("GET", "/docs"): frozenset({200}),
    ("GET", "/status"): frozenset({200}),
    ("GET", "/status/badge/{name}"): frozenset({200, 404}),
    ("GET", "/media/products/{product_id}/{file}"): frozenset({200, 404}),
    # The console serves pages (its own sign-in), no API document; its browser suites judge them.
    ("GET", "/console/login"): frozenset({200}),
    # Internal routes (tag `internal`): the verifier behind auth_request, and the reservations
    # orders makes at inventory directly. The gateway keeps them to itself.
    ("GET", "/auth/verify"): frozenset({404}),
    # auth's door for the console's sign-in form: the console alone calls it, directly.
    ("POST", "/auth/vouched/login"): frozenset({404}),
    ("POST", "/auth/vouched/register"): frozenset({404}),
    ("POST", "/inventory/reservations"): frozenset({404}),
    ("GET", "/inventory/reservations/{order_id}"): frozenset({404}),
    ("PUT", "/inventory/reservations/{order_id}"): frozenset({404}),
    ("POST", "/inventory/reservations/{order_id}/release"): frozenset({404}),
    ("POST", "/inventory/reservations/{order_id}/commit"): frozenset({404}),
}


@dataclass
class Route:
    method: str
    template: str
    documented: frozenset[int]
    asserted: set[int] = field(default_factory=set)
    scenarios: set[str] = field(default_factory=set)

    @property
    def missing(self) -> list[int]:
        return sorted(self.documented - self.asserted)

    @property
    def undocumented(self) -> list[int]:
        return sorted(self.asserted - self.documented)

    @property
    def pattern(self) -> re.Pattern:
        parts = re.split(r"(\{[^}]+\})", self.template)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(f"^{regex}$")

    @property
    def literal_segments(self) -> int:
        return sum(1 for part in self.template.split("/") if part and not part.startswith("{"))


def routes_of(document: dict) -> Iterable[Route]:
    for path, operations in document.get("paths", {}).items():
        for method in METHODS:
            operation = operations.get(method)
            if operation is None:
                continue
            statuses = frozenset(int(s) for s in operation.get("responses", {}) if s.isdigit())
            yield Route(method.upper(), path, statuses)


def gateway_routes() -> Iterable[Route]:
    for (method, template), statuses in GATEWAY_ROUTES.items():
        yield Route(method, template, statuses)


def without_overridden(routes: list[Route]) -> list[Route]:
    """The gateway's entry wins over a document's for the same route: should a document list a
    route only nginx or another service reaches (the kit leaves `internal` prefixes out of the
    documents), what the gateway answers there is what counts."""
    first: dict[tuple[str, str], Route] = {}
    for route in routes:
        first.setdefault((route.method, route.template), route)
    return list(first.values())


def read_records(folder: Path) -> list[dict]:
    records = []
    for file in sorted(folder.glob("*.jsonl")):
        records.extend(json.loads(line) for line in file.read_text().splitlines() if line)
    return records


def match(routes: list[Route], method: str, path: str) -> Route | None:
    """The route `method path` belongs to; a literal segment beats a parameter
    (`/orders/reports/sales` is not `/orders/{order_id}` with a tail)."""
    candidates = [r for r in routes if r.method == method and r.pattern.match(path)]
    return max(candidates, key=lambda r: r.literal_segments, default=None)


def tally(routes: list[Route], records: Iterable[dict]) -> list[dict]:
    """Marks each route's asserted statuses; returns the records that match no route."""
    stray = []
    for record in records:
        route = match(routes, record["method"], record["path"])
        if route is None:
            stray.append(record)
            continue
        route.asserted.add(record["status"])
        route.scenarios.add(f"{record['suite']}: {record['test']}")
    return stray


API_MD_ROUTE = re.compile(
    r"`((?:GET|HEAD|POST|PUT|PATCH|DELETE)(?:\|(?:GET|HEAD|POST|PUT|PATCH|DELETE))*) (/[^`\s?]*)"
)


def api_md_routes(text: str) -> set[tuple[str, str]]:
    """The routes API.md names in code spans: `GET /clients/{id}`, `GET|PUT /categories/{id}`."""
    return {
        (method, path)
        for found in API_MD_ROUTE.finditer(text)
        for method in found.group(1).split("|")
        for path in [found.group(2)]
    }


def planned(method: str, path: str) -> str | None:
    """Which service to come brings an API.md route, or None for a route that should exist now."""
    if (method, path) in PLANNED:
        return PLANNED[(method, path)]
    first = path.strip("/").split("/")[0]
    if first and first not in SERVED_PREFIXES and first not in {"health", "docs", "media"}:
        return f"the {first} service, not in services/registry.py yet"
    return None


def undocumented_api_md_routes(routes: list[Route], named: set[tuple[str, str]]) -> list[str]:
    """API.md's routes that match no route: its `{id}` stands for any one segment, and its
    `/status/api/...` for any route below."""
    missing = []
    for method, path in sorted(named, key=lambda r: (r[1], r[0])):
        if path.endswith("/..."):
            prefix = path.removesuffix("...")
            known = any(r.method == method and r.template.startswith(prefix) for r in routes)
        else:
            known = match(routes, method, re.sub(r"\{[^}]+\}", "1", path)) is not None
        if not known:
            missing.append(f"{method} {path}")
    return missing


def render(routes: list[Route], stray: list[dict]) -> tuple[str, bool]:
    lines = [f"{'route':<58} {'documented':<28} {'missing':<14} scenarios"]
    for r in sorted(routes, key=lambda r: (r.template, METHODS.index(r.method.lower()))):
        documented = " ".join(str(s) for s in sorted(r.documented))
        missing = " ".join(str(s) for s in r.missing) or "-"
        lines.append(
            f"{r.method + ' ' + r.template:<58} {documented:<28} {missing:<14} {len(r.scenarios)}"
        )
    gaps = [r for r in routes if r.missing]
    undocumented = [r for r in routes if r.undocumented]
    pairs = sum(len(r.documented) for r in routes)
    covered = pairs - sum(len(r.missing) for r in gaps)
    lines.append("")
    lines.append(
        f"{len(routes)} routes, {covered}/{pairs} documented statuses asserted by a scenario; "
        f"{len(gaps)} routes with a gap"
    )
    for r in undocumented:
        lines.append(
            f"UNDOCUMENTED: {r.method} {r.template} answered "
            f"{' '.join(map(str, r.undocumented))} in a scenario, but its document does not "
            "list it"
        )
    unmatched = sorted({f"{s['method']} {s['path']}" for s in stray})
    if unmatched:
        lines.append(f"{len(unmatched)} asserted requests match no documented route (not counted):")
        lines.extend(f"  {u}" for u in unmatched[:40])
    return "\n".join(lines), not gaps and not undocumented


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="the gateway (default: the stack's, FEIRA_ENV_FILE)")
    parser.add_argument("--records", type=Path, default=here.parent / "results" / "routes")
    parser.add_argument("--report", type=Path, default=here.parent / "results" / "coverage.txt")
    parser.add_argument("--api-md", type=Path, default=here.parents[2] / "shared" / "API.md")
    args = parser.parse_args(argv)

    base_url = args.base_url
    if base_url is None:
        from stack.config import StackConfig

        base_url = StackConfig.load().gateway_url
    routes = list(gateway_routes())
    for path in DOCUMENTS:
        answer = requests.get(base_url.rstrip("/") + path, timeout=10)
        answer.raise_for_status()
        routes.extend(routes_of(answer.json()))
    routes = without_overridden(routes)

    records = read_records(args.records)
    if not records:
        print(f"no records in {args.records}: run the Robot suites first", file=sys.stderr)
        return 2
    stray = tally(routes, records)
    text, ok = render(routes, stray)
    if args.api_md.exists():
        named = api_md_routes(args.api_md.read_text())
        absent = undocumented_api_md_routes(routes, named)
        later = {route: planned(*route.split(" ", 1)) for route in absent}
        unknown = [route for route in absent if later[route] is None]
        text += f"\n{len(named)} routes named in {args.api_md.name}; {len(unknown)} in no document"
        text += "".join(f"\nNOT IN ANY DOCUMENT: {route} (named in API.md)" for route in unknown)
        text += "".join(
            f"\nPLANNED: {route} (named in API.md; comes with {later[route]})"
            for route in absent
            if later[route] is not None
        )
        ok = ok and not unknown
    else:
        text += f"\n{args.api_md} not found: the check of API.md's routes was skipped"
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text + "\n")
    print(text)
    print(f"==> route coverage in {args.report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
