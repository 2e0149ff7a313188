"""`python -m services.collector sources|run|runs|cancel`: the collector's API from a terminal,
through the gateway, signed in as the admin (FEIRA_ADMIN_EMAIL and FEIRA_ADMIN_PASSWORD, and
GATEWAY_URL or the gateway's port, from the environment or `.env` / FEIRA_ENV_FILE), exactly as
any API client: it holds no credential of its own. It signs out at the end, whatever the end
was, unless the end was that the gateway could not be reached, or a refresh that failed (no token
is left to sign out with: the session ends when its tokens expire).

    python -m services.collector sources                       # list them, all
    python -m services.collector sources add NAME URL [URL…] [--schedule CRON] [--delay S]
                                  [--max-pages N] [--category ID] [--selector FIELD=SELECTOR]
    python -m services.collector run SOURCE_ID [--wait]        # queue a run (and wait for it)
    python -m services.collector runs [--source ID] [--status S] [--limit N]  # the latest N (50)
    python -m services.collector runs RUN_ID                   # one run, with what was rejected
    python -m services.collector cancel RUN_ID                 # stop a queued or running run
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

# A run's ends: the API's ENDED (cancelled: stopped by an admin).
FINISHED = ("succeeded", "partial", "failed", "cancelled")
# How long one call waits for the gateway to connect, and then for each read of its answer.
TIMEOUT_S = 30
# The most items one page of a list holds (the kit's MAX_PER_PAGE).
PER_PAGE = 100
# How many runs `runs` shows unless --limit says otherwise: the latest.
RUNS_SHOWN = 50


def settings() -> dict[str, str]:
    values: dict[str, str] = {}
    path = Path(os.environ.get("FEIRA_ENV_FILE") or ".env")
    for candidate in (Path(".env.example"), path):
        if candidate.exists():
            for line in candidate.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep and not key.strip().startswith("#"):
                    values[key.strip()] = value.strip()
    values.update({k: v for k, v in os.environ.items() if v})
    return values


class Api:
    def __init__(self, values: dict[str, str]):
        port = values.get("FEIRA_GATEWAY_PORT", "8080")
        self.base = values.get("GATEWAY_URL") or f"http://127.0.0.1:{port}"
        self.token = self.refresh_token = None
        self.unreachable = False
        self.keep(
            self.call(
                "POST",
                "/auth/login",
                {
                    "email": values.get("FEIRA_ADMIN_EMAIL"),
                    "password": values.get("FEIRA_ADMIN_PASSWORD"),
                },
            )
        )

    def keep(self, pair: dict) -> None:
        self.token, self.refresh_token = pair["access_token"], pair["refresh_token"]

    def call(self, method: str, path: str, body: dict | None = None):
        try:
            return self.send(method, path, body)
        except urllib.error.HTTPError as error:
            if error.code != 401 or not self.refresh_token:
                raise refused(method, path, error) from error
        # An access token lives 15 minutes and `run --wait` outlasts that on a slow shop: the
        # session's refresh token buys a new one, once; a second 401 is an answer, not an expiry.
        self.renew()
        try:
            return self.send(method, path, body)
        except urllib.error.HTTPError as error:
            raise refused(method, path, error) from error

    def logout(self) -> None:
        """End the session it signed in with, rather than leave it open at auth until its refresh
        token expires. Best effort, and after the command's own end: a failure here is told on
        stderr, never raised, so it neither hides the command's error nor turns its success
        into one."""
        if not self.token:  # a refresh failed, its refresh token spent: nothing to sign out with
            return
        if self.unreachable:
            # The command just failed to reach the gateway: asking it again would most likely
            # only hold the terminal for another TIMEOUT_S to say so twice.
            print(
                "not signed out (the gateway could not be reached); the session ends when its "
                "tokens expire",
                file=sys.stderr,
            )
            return
        try:
            self.call("POST", "/auth/logout")
        except (SystemExit, Exception) as error:  # whatever it was, the command's end stands
            # SystemExit is our own one-line message; anything else (an http.client error that
            # is no OSError, an odd refresh body) is named by its type. Never a token: no
            # message here quotes one. KeyboardInterrupt is neither: Ctrl-C still stops it.
            why = (
                str(error) if isinstance(error, SystemExit) else f"{type(error).__name__}: {error}"
            )
            print(
                f"could not sign out ({' '.join(why.split())}); the session ends when its "
                "tokens expire",
                file=sys.stderr,
            )

    def renew(self) -> None:
        """Trade the refresh token for a new pair. Sent bare (no expired bearer beside it), and
        spent even if refused, so a 401 here exits instead of asking again."""
        refresh_token, self.token, self.refresh_token = self.refresh_token, None, None
        self.keep(self.call("POST", "/auth/refresh", {"refresh_token": refresh_token}))

    def send(self, method: str, path: str, body: dict | None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError as error:
            self.unreachable = True
            raise SystemExit(
                f"the gateway at {self.base} cannot be reached: {error.reason}"
            ) from error
        except ConnectionError as error:
            # Connected, then the connection closed or reset with no answer (a gateway
            # restarting): urllib wraps only a failed connect in URLError.
            self.unreachable = True
            raise SystemExit(
                f"the gateway at {self.base} cannot be reached: {type(error).__name__}"
            ) from error
        except http.client.HTTPException as error:
            # An answer begun and broken off (no OSError): said in one line, not a traceback.
            raise SystemExit(
                f"{method} {path}: the gateway's answer was cut short ({type(error).__name__})"
            ) from error
        except TimeoutError as error:
            # Connected, but no answer in time (urllib wraps only a failed connect in URLError).
            self.unreachable = True
            raise SystemExit(
                f"{method} {path}: the gateway at {self.base} did not answer in {TIMEOUT_S} s"
            ) from error
        try:
            return json.loads(raw) if raw else None
        except ValueError as error:
            raise SystemExit(f"{method} {path}: {status} with a body that is not JSON") from error


def refused(method: str, path: str, error: urllib.error.HTTPError) -> SystemExit:
    """The error answer as one line: its status, and the problem's `detail` and `errors` when the
    body is one. A proxy's HTML page or an empty body (a 502 before the gateway) is named as
    such rather than parsed."""
    raw = error.read()
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        body = f"{error.headers.get_content_type()}, not problem+json" if raw.strip() else "empty"
        return SystemExit(f"{method} {path}: {error.code} {error.reason} (its body is {body})")
    return SystemExit(
        f"{method} {path}: {error.code} {problem.get('detail', '')} "
        f"{json.dumps(problem.get('errors') or {}, ensure_ascii=False)}"
    )


def listed(api: Api, path: str, limit: int | None = None, **query) -> tuple[list[dict], int]:
    """The items of a list, page after page from the first, up to `limit` (all without one),
    and how many the list holds. One added or removed between two pages may shift another onto
    the page already read: none is shown twice."""
    items: dict[int, dict] = {}
    per_page = min(limit or PER_PAGE, PER_PAGE)
    for number in itertools.count(1):
        query.update(per_page=per_page, page=number)
        found = api.call("GET", f"{path}?{urlencode(query)}")
        for item in found["items"]:
            items.setdefault(item["id"], item)
        if not found["items"] or number * per_page >= found["total"]:
            break
        if limit and len(items) >= limit:
            break
    return list(items.values())[:limit], found["total"]


def selector(text: str) -> tuple[str, str]:
    """`--selector FIELD=SELECTOR`, as `name=h1.titulo`: a field and what selects it."""
    field, equals, expression = text.partition("=")
    if not equals or not field.strip() or not expression.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not FIELD=SELECTOR, as name=h1.titulo")
    return field.strip(), expression


def at_least_one(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return number


class Parser(argparse.ArgumentParser):
    """A command line it cannot take ends in one line on stderr, as an error answer does, not
    after argparse's usage (several lines); --help shows that."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message}; --help for its usage\n")


def show_run(run: dict) -> None:
    print(
        f"run {run['id']} of source {run['source_id']}: {run['status']}  "
        f"pages {run['pages_fetched']}  found {run['items_found']}  created {run['created']}  "
        f"updated {run['updated']}  unchanged {run['unchanged']}  "
        f"rejected {run['rejected_count']}"
    )
    if run.get("error"):
        print(f"  error: {run['error']}")
    for rejected in run["rejected"]:
        print(f"  rejected {rejected['url']}: {rejected['reason']}")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog="python -m services.collector", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sources = commands.add_parser("sources", help="list sources, or add one")
    sources.add_argument("action", nargs="?", choices=["add"])
    sources.add_argument("name", nargs="?")
    sources.add_argument("urls", nargs="*")
    sources.add_argument("--schedule")
    sources.add_argument("--delay", default="1")
    sources.add_argument("--max-pages", type=int, default=100)
    sources.add_argument("--category", type=int)
    sources.add_argument(
        "--selector", action="append", default=[], type=selector, metavar="FIELD=SELECTOR"
    )
    run = commands.add_parser("run", help="queue a run of a source")
    run.add_argument("source_id", type=int)
    run.add_argument("--wait", action="store_true", help="wait for it to end and show it")
    cancel = commands.add_parser("cancel", help="stop a queued or running run")
    cancel.add_argument("run_id", type=int)
    runs = commands.add_parser("runs", help="list runs, or show one")
    runs.add_argument("run_id", nargs="?", type=int)
    runs.add_argument("--source", type=int)
    runs.add_argument("--status", choices=["queued", "running", *FINISHED])
    runs.add_argument(
        "--limit", type=at_least_one, default=RUNS_SHOWN, help="how many of the latest"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    api = Api(settings())
    try:
        return carry_out(api, args)
    finally:
        api.logout()


def carry_out(api: Api, args: argparse.Namespace) -> int:
    if args.command == "sources" and args.action == "add":
        if not args.name or not args.urls:
            raise SystemExit("sources add NAME URL [URL…]")
        body = {
            "name": args.name,
            "start_urls": args.urls,
            "schedule": args.schedule,
            "delay_s": args.delay,
            "max_pages": args.max_pages,
            "category_id": args.category,
            "selectors": dict(args.selector),
        }
        source = api.call("POST", "/collector/sources", body)
        print(f"source {source['id']}: {source['name']}")
    elif args.command == "sources":
        for source in listed(api, "/collector/sources")[0]:
            last = source.get("last_run") or {}
            print(
                f"{source['id']:>4}  {source['name']:<30} schedule={source['schedule'] or '-'}  "
                f"active={source['active']}  last run: {last.get('status', '-')}"
            )
    elif args.command == "run":
        run = api.call("POST", f"/collector/sources/{args.source_id}/runs")
        print(f"run {run['id']} queued")
        while args.wait and run["status"] not in FINISHED:
            time.sleep(1)
            run = api.call("GET", f"/collector/runs/{run['id']}")
        if args.wait:
            show_run(run)
            return 0 if run["status"] == "succeeded" else 1
    elif args.command == "cancel":
        run = api.call("POST", f"/collector/runs/{args.run_id}/cancel")
        if run["status"] == "running":
            print(f"run {run['id']} asked to stop: it ends before its next page")
        else:
            show_run(run)
    elif args.run_id:
        show_run(api.call("GET", f"/collector/runs/{args.run_id}"))
    else:
        filters = {"source_id": args.source, "status": args.status}
        found, total = listed(
            api, "/collector/runs", args.limit, **{k: v for k, v in filters.items() if v}
        )
        for run in found:
            show_run(run)
        if len(found) < total:
            print(f"{len(found)} of {total} runs; --limit N for more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
