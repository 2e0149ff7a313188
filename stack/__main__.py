"""`python -m stack up|down|status|logs|start|stop|restart|clean|urls|rotate-keys|psql`: what the
Makefile calls."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from supervisor.xmlrpc import Faults, SupervisorTransport

from . import gateway
from .config import ROOT, StackConfig
from .keys import ensure_keypair, rotate_keypair
from .postgres import Cluster, pg_bin, provision
from .processes import (
    VENV_BIN,
    cluster,
    copies_of,
    metrics_name,
    pg_elsewhere,
    program_names,
    render_supervisor,
    standin_programs,
)


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def supervisorctl(cfg: StackConfig, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "supervisorctl"), "-c", str(cfg.run_dir / "supervisord.conf"), *args],
        check=check,
        text=True,
        capture_output=not check,
    )


def supervisor_running(cfg: StackConfig) -> bool:
    if not (cfg.run_dir / "supervisor.sock").exists():
        return False
    return supervisorctl(cfg, "pid", check=False).returncode == 0


def stack_ports(cfg: StackConfig) -> dict[int, str]:
    return {
        cfg.gateway_port: "gateway",
        cfg.pg_port: "postgres",
        **{port: name for name in cfg.apps for port in cfg.ports(name)},
        **{program.port: program.name for program in standin_programs(cfg)},
        # The SMTP sink's HTTP read-back.
        **{p.http_port: p.name for p in standin_programs(cfg) if p.http_port is not None},
    }


def port_free(host: str, port: int) -> bool:
    """Could a server bind it? SO_REUSEADDR, as nginx and gunicorn set it, so only a listener
    (not a connection in TIME_WAIT) makes it busy."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def listener_pid(port: int) -> int | None:
    """Who listens on `port`, from `ss` (iproute2); None when it cannot tell."""
    try:
        listing = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
    except FileNotFoundError:
        return None
    found = re.search(r"pid=(\d+)", listing)
    return int(found.group(1)) if found else None


def command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def parent_of(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # The command name, in parentheses, may hold spaces: the fields that follow are fixed.
    return int(stat.rsplit(")", 1)[1].split()[1])


def our_supervisord(cfg: StackConfig, pid: int) -> int | None:
    """The supervisord of this run directory that `pid` runs under (or is), if any."""
    conf = str(cfg.run_dir / "supervisord.conf")
    while pid > 1:
        command = command_of(pid)
        if "supervisord" in command and conf in command.split():
            return pid
        pid = parent_of(pid)
    return None


def clear_stale(cfg: StackConfig) -> None:
    """Before starting: a stack of this run directory left running by an earlier, failed run (its
    control socket gone) is stopped; anything else on one of our ports is named, and we stop."""
    for port in stack_ports(cfg):
        if port_free(cfg.host, port):
            continue
        pid = listener_pid(port)
        stale = our_supervisord(cfg, pid) if pid else None
        if stale:
            say(f"stopping a stale stack of {cfg.run_dir} (supervisord pid {stale}) on :{port}")
            os.kill(stale, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while Path(f"/proc/{stale}").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
    # Asked again: stopping one stale stack freed every port it held.
    foreign = []
    for port, name in stack_ports(cfg).items():
        if not port_free(cfg.host, port):
            pid = listener_pid(port)
            holder = f"pid {pid}: {command_of(pid)}" if pid else "a process ss cannot name"
            foreign.append(f"  port {port} ({name}) is held by {holder}")
    if foreign:
        sys.exit(
            "cannot start: ports of this stack are taken\n"
            + "\n".join(foreign)
            + "\nstop that (another checkout's stack: `make down` there), or set other ports"
            " in .env / FEIRA_ENV_FILE"
        )


def up(cfg: StackConfig) -> None:
    metrics = [
        cfg.run_dir / "metrics" / metrics_name(s, k)
        for s in cfg.apps
        for k in range(1, cfg.scale + 1)
    ]
    for path in (cfg.run_dir, cfg.logs_dir, *metrics):
        path.mkdir(parents=True, exist_ok=True)
    for path in metrics:
        for stale in path.glob("*.db"):
            stale.unlink()
    passwords = cfg.db_passwords()
    # A developer's .env for the real Stripe, Meta or mail server under test.env: say (names
    # only, never values) that the listed stand-ins are used instead.
    overridden = cfg.overridden_settings()
    if overridden:
        say(
            f"not using {', '.join(overridden)}: FEIRA_STANDINS lists their stand-in"
            " (drop it from FEIRA_STANDINS to reach the real party)"
        )
    if ensure_keypair(cfg.private_key_path, cfg.public_key_path):
        say(f"generated the token signing keys in {cfg.private_key_path.parent}")

    pg = cluster(cfg)
    if not pg.initialised():
        say(f"initialising a private PostgreSQL cluster in {pg.datadir}")
    # Every time: the directories are checked again, and the socket's made where it now goes.
    pg.init()

    gateway.render(cfg)
    render_supervisor(cfg, passwords)
    # What `stop`/`start`/`restart` read when FEIRA_SCALE is not given again.
    (cfg.run_dir / "scale").write_text(f"{cfg.scale}\n")
    if supervisor_running(cfg):
        say("supervisord is running; applying any configuration change")
        supervisorctl(cfg, "update")
        supervisorctl(cfg, "start", "all", check=False)
        # nginx re-reads its rendered configuration on HUP, without dropping connections.
        supervisorctl(cfg, "signal", "HUP", "gateway", check=False)
    else:
        clear_stale(cfg)
        say("starting supervisord")
        subprocess.run(
            [str(VENV_BIN / "supervisord"), "-c", str(cfg.run_dir / "supervisord.conf")],
            check=True,
            cwd=ROOT,
        )

    pg.wait(timeout=60)
    say("creating the database, the schemas and the roles")
    provision(pg.dsn, cfg.database, passwords)
    say("migrating every service")
    # One process for every service's migrations and auth's two accounts (stack/migrate.py).
    subprocess.run([sys.executable, "-m", "stack.migrate"], check=True, cwd=ROOT)

    wait_ready(cfg)
    print_urls(cfg)


def wait_ready(cfg: StackConfig, timeout: float = 90.0) -> None:
    urls = [
        f"{cfg.gateway_url}/health",
        *(f"{cfg.gateway_url}/health/{service}" for service in cfg.services),
        f"{cfg.gateway_url}/status/api/summary",
        # Every copy of every service, straight to its port (SCALE > 1: the gateway's answer
        # above may have come from any one of them).
        *(
            f"http://{cfg.host}:{port}/health/ready"
            for service in cfg.services
            for port in cfg.ports(service)[1:]
        ),
        # The stand-ins answer on their own port: the gateway never routes to them.
        *(
            f"http://{cfg.host}:{p.http_port or p.port}/_standin/health"
            for p in standin_programs(cfg)
        ),
    ]
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        url = pending[0]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    pending.pop(0)
                    continue
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            print(supervisorctl(cfg, "status", check=False).stdout, end="", file=sys.stderr)
            sys.exit(f"not ready after {timeout:.0f}s: {url} (see `make logs`)")
        time.sleep(0.3)
    say("every service is ready")


def print_urls(cfg: StackConfig) -> None:
    base, admin = cfg.gateway_url, cfg.get("FEIRA_ADMIN_EMAIL")
    print(
        f"""
  Feira is up.
    gateway     {base}
    API docs    {base}/docs
    health      {base}/health  ({", ".join(f"/health/{s}" for s in cfg.services)})
    status      {base}/status  (every service, the journey, uptime, incidents)
    admin       {admin} (password: FEIRA_ADMIN_PASSWORD of .env, else .env.example)
    logs        make logs       status: make status       stop: make down
"""
    )


def stop_by_priority(cfg: StackConfig) -> None:
    """Every process stopped in supervisord's shutdown order, the highest priority first (the
    gateway, then the workers, the services, the stand-ins, PostgreSQL last), but the processes
    of one priority together: supervisord's own shutdown waits for each program to exit before
    it signals the next (the 25 of `make up` took 16 s one at a time). Each is still killed
    after its own stopwaitsecs by supervisord."""
    rpc = xmlrpc.client.ServerProxy(
        "http://127.0.0.1", SupervisorTransport(None, None, f"unix://{cfg.run_dir}/supervisor.sock")
    ).supervisor
    tiers = defaultdict(list)
    for program in rpc.getAllConfigInfo():
        # One read but not yet added (`reread` without `update`) is not running.
        if program["inuse"]:
            tiers[program["group_prio"]].append(program)
    for priority in sorted(tiers, reverse=True):
        names = [f"{program['group']}:{program['name']}" for program in tiers[priority]]
        for name in names:
            try:
                rpc.stopProcess(name, False)
            except xmlrpc.client.Fault as fault:
                if fault.faultCode != Faults.NOT_RUNNING:
                    raise
        # supervisord kills what outlives its stopwaitsecs; one it cannot reap even then is left
        # to the shutdown below.
        deadline = time.monotonic() + max(p["stopwaitsecs"] for p in tiers[priority]) + 5
        while time.monotonic() < deadline and any(
            rpc.getProcessInfo(name)["statename"] == "STOPPING" for name in names
        ):
            time.sleep(0.1)


def down(cfg: StackConfig) -> None:
    if supervisor_running(cfg):
        say("stopping every process (data is kept)")
        try:
            stop_by_priority(cfg)
        except (OSError, xmlrpc.client.Error) as exc:
            say(f"stopping one at a time ({exc})")
        finally:
            # Whatever is left (an error, a Ctrl-C meanwhile), supervisord's own shutdown stops,
            # one at a time; a supervisord already gone leaves nothing to stop.
            supervisorctl(cfg, "shutdown", check=False)
        deadline = time.monotonic() + 30
        while (cfg.run_dir / "supervisord.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    else:
        say("nothing is running")
    # The gateway's verify answers, in memory (/dev/shm) under a name of the checkout's: of no
    # use once nginx is gone, and a checkout removed after `down` (a test clone) left them there.
    # rmtree never follows a link planted at the path.
    shutil.rmtree(gateway.verify_cache_dir(cfg), ignore_errors=True)


def clean(cfg: StackConfig) -> None:
    down(cfg)
    pg = cfg.run_dir / "pg"
    if pg.is_symlink():
        shutil.rmtree(pg.resolve(), ignore_errors=True)
    # The data (`.run/pg` links there) or the socket (a deep checkout) of this run directory.
    # rmtree never follows a link planted at the path.
    shutil.rmtree(pg_elsewhere(cfg), ignore_errors=True)
    if cfg.run_dir.exists():
        say(f"removing {cfg.run_dir}")
        shutil.rmtree(cfg.run_dir)


def rotate_keys(cfg: StackConfig) -> None:
    """A new token signing pair made current, the one it replaces kept in the public bundle (its
    tokens stay good until they expire), any older one dropped. The processes read the keys when
    they start: they use the new one once restarted."""
    current, kept = rotate_keypair(cfg.private_key_path, cfg.public_key_path)
    say(f"a new signing key is current: kid {current} ({cfg.private_key_path}, mode 600)")
    if kept:
        days = cfg.get("REFRESH_TOKEN_DAYS", "7")
        say(
            f"the previous key (kid {kept}) stays in {cfg.public_key_path}: tokens it signed stay"
            f" good until they expire (refresh tokens: REFRESH_TOKEN_DAYS, {days} days); the next"
            " rotation drops it"
        )
    if supervisor_running(cfg):
        say("next: restart every process so they load the keys: make restart")
    else:
        say("the stack is not running: `make up` starts it with the new key")


def status(cfg: StackConfig) -> int:
    """Print each program's state; 0 only when every one is RUNNING."""
    listing = supervisorctl(cfg, "status", check=False).stdout
    print(listing, end="")
    states = [line.split()[1] for line in listing.splitlines() if len(line.split()) > 1]
    return 0 if states and all(state == "RUNNING" for state in states) else 3


def psql_command(pg: Cluster, database: str, args: Sequence[str] = ()) -> list[str]:
    """psql on `database` of the cluster `pg`, as its superuser, through its socket (wherever the
    stack put it: `.run/pg/sock`, or /var/tmp when that path is too long) and on its port. It runs
    as the caller: the socket takes the superuser without a password (trust, guarded by its
    directory's mode), and root reaches that directory though it is the server account's.
    `pg_bin` finds psql whatever PostgreSQL version is installed."""
    return [
        pg_bin("psql"),
        "-h",
        str(pg.socket_dir),
        "-p",
        str(pg.port),
        "-U",
        pg.superuser,
        "-d",
        database,
        *args,
    ]


def psql(cfg: StackConfig, args: Sequence[str]) -> None:
    """This process becomes psql on the stack's database (`make psql`; `ARGS` are psql's)."""
    # Asked before the cluster is: working it out makes its directories, which `make up` does.
    if not (cfg.run_dir / "pg" / "data" / "PG_VERSION").exists():
        sys.exit(f"no stack database in {cfg.run_dir}: make up")
    command = psql_command(cluster(cfg), cfg.database, args)
    os.execvp(command[0], command)  # noqa: S606 (this process becomes psql)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "down", "status", "clean", "urls", "wait", "rotate-keys"):
        sub.add_parser(name)
    sub.add_parser("logs").add_argument("--follow", action="store_true")
    # psql's own options after `--`: `python -m stack psql -- -c "select 1"`.
    sub.add_parser("psql").add_argument("args", nargs="*")
    for name in ("start", "stop", "restart"):
        sub.add_parser(name).add_argument("service")
    args = parser.parse_args(argv)
    cfg = StackConfig.load()

    if args.command == "up":
        up(cfg)
    elif args.command == "down":
        down(cfg)
    elif args.command == "clean":
        clean(cfg)
    elif args.command == "urls":
        print_urls(cfg)
    elif args.command == "wait":
        wait_ready(cfg)
    elif args.command == "rotate-keys":
        rotate_keys(cfg)
    elif args.command == "psql":
        # Whether supervisord runs or not: a PostgreSQL that is down, psql says why.
        psql(cfg, args.args)
    elif not supervisor_running(cfg):
        sys.exit("the stack is not running: make up")
    elif args.command == "status":
        sys.exit(status(cfg))
    elif args.command == "logs":
        files = sorted(str(p) for p in cfg.logs_dir.glob("*.log"))
        tail = ["tail", "-n", "40", *(["-F"] if args.follow else []), *files]
        os.execvp("tail", tail)  # noqa: S606 (this process becomes tail)
    else:
        running = cfg.run_dir / "scale"
        if not cfg.get("FEIRA_SCALE") and running.exists():
            # The running stack's: `make up SCALE=2` then `make stop SERVICE=clients-2`.
            cfg.env["FEIRA_SCALE"] = running.read_text().strip()
        known = set(program_names(cfg))
        # With SCALE > 1, `stop clients` stops every copy (clients-1, clients-2); `stop
        # clients-2` that one only.
        chosen = copies_of(cfg, args.service)
        if args.service != "all" and not set(chosen) <= known:
            sys.exit(f"unknown service {args.service!r}; one of: {', '.join(sorted(known))}")
        supervisorctl(cfg, args.command, *chosen)


if __name__ == "__main__":
    main()
