"""The Postgres connection budget of a built overlay: the most connections Feira's pods can hold at
once, against what its database admits (`max_connections` less `superuser_reserved_connections`).

Read from the objects kustomize builds, so an overlay's autoscaler bounds, replicas, surge and
pools are the ones counted. The worst case is every copy at once: a Deployment's pods at its
autoscaler's maximum (else its replicas) plus its rolling update's surge, each holding its whole
pool, in each of its processes (gunicorn's workers for a web app; one for a relay or a worker),
with the migrate Job besides. A pod's init container (`flask db current`, one connection) runs
before its process, so it is within the pod's share. `make k8s-check` fails an overlay over budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# The migrate Job: the superuser's provisioning connection and one migration's at a time.
MIGRATE_CONNECTIONS = 2
# Postgres' own default.
SUPERUSER_RESERVED = 3


@dataclass
class Budget:
    # Each Deployment or Job: (pods, processes per pod, connections per process).
    clients: dict[str, tuple[int, int, int]]
    max_connections: int
    reserved: int

    @property
    def worst_case(self) -> int:
        return sum(pods * processes * pool for pods, processes, pool in self.clients.values())

    @property
    def available(self) -> int:
        return self.max_connections - self.reserved

    def report(self) -> str:
        lines = [
            f"{name}: {pods} pods x {processes} x {pool} = {pods * processes * pool}"
            for name, (pods, processes, pool) in sorted(self.clients.items())
        ]
        lines.append(
            f"worst case {self.worst_case} of {self.available} "
            f"(max_connections {self.max_connections} - {self.reserved} reserved)"
        )
        return "\n".join(lines)


def connection_budget(objects: list[dict]) -> Budget:
    config = {
        doc["metadata"]["name"]: doc.get("data", {})
        for doc in objects
        if doc["kind"] == "ConfigMap"
    }
    ceilings = {
        doc["spec"]["scaleTargetRef"]["name"]: doc["spec"]["maxReplicas"]
        for doc in objects
        if doc["kind"] == "HorizontalPodAutoscaler"
    }
    clients: dict[str, tuple[int, int, int]] = {}
    for doc in objects:
        if doc["kind"] == "Job" and doc["metadata"]["name"] == "migrate":
            clients["migrate"] = (1, 1, MIGRATE_CONNECTIONS)
        if doc["kind"] != "Deployment":
            continue
        [container] = doc["spec"]["template"]["spec"]["containers"]
        if not any(entry["name"] == "DATABASE_URL" for entry in container.get("env", [])):
            continue
        name = doc["metadata"]["name"]
        settings: dict[str, str] = {}
        for source in container.get("envFrom", []):
            settings.update(config.get(source.get("configMapRef", {}).get("name"), {}))
        missing = {"DB_POOL_SIZE", "DB_POOL_OVERFLOW"} - set(settings)
        if missing:
            raise ValueError(f"{name}: no {', '.join(sorted(missing))}: its pool is unbudgeted")
        pool = int(settings["DB_POOL_SIZE"]) + int(settings["DB_POOL_OVERFLOW"])
        web = container["command"][0] == "gunicorn"
        processes = int(settings["GUNICORN_WORKERS"]) if web else 1
        replicas = ceilings.get(name, doc["spec"].get("replicas", 1))
        clients[name] = (replicas + surge(doc, replicas), processes, pool)
    max_connections, reserved = database_limits(objects)
    return Budget(clients, max_connections, reserved)


def surge(deployment: dict, replicas: int) -> int:
    """The extra pods a rolling update may start (an integer, or a percentage rounded up)."""
    strategy = deployment["spec"].get("strategy", {})
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0
    value = strategy.get("rollingUpdate", {}).get("maxSurge", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(replicas * int(value[:-1]) / 100)
    return int(value)


def database_limits(objects: list[dict]) -> tuple[int, int]:
    """max_connections and superuser_reserved_connections of the overlay's database: a
    CloudNativePG Cluster's parameters, or a StatefulSet's `-c name=value` arguments."""
    for doc in objects:
        if doc["kind"] == "Cluster":
            parameters = doc["spec"].get("postgresql", {}).get("parameters", {})
            return (
                int(parameters.get("max_connections", 100)),
                int(parameters.get("superuser_reserved_connections", SUPERUSER_RESERVED)),
            )
        if doc["kind"] == "StatefulSet" and (
            doc["spec"]["template"]["metadata"].get("labels", {}).get("feira.dev/database")
        ):
            args = " ".join(doc["spec"]["template"]["spec"]["containers"][0].get("args", []))
            found = dict(re.findall(r"-c (\w+)=(\S+)", args))
            return (
                int(found.get("max_connections", 100)),
                int(found.get("superuser_reserved_connections", SUPERUSER_RESERVED)),
            )
    raise ValueError("the overlay has no database (a Cluster or a StatefulSet labelled for it)")
