"""The Postgres connection budget: each process's pool holds what its threads can use, and each
overlay's database admits every connection its pods can hold at once (autoscalers at their
maximum, a rollout's surge, every pool full)."""

from __future__ import annotations

from pathlib import Path

from deploy.kubernetes import manifests
from deploy.kubernetes.budget import connection_budget
from services.registry import BY_NAME
from stack.config import parse_env_file, present_services

BASE = Path(manifests.__file__).parent / "base"
PRESENT = present_services()


def settings(process: str) -> dict[str, str]:
    return parse_env_file(BASE / "config" / f"{process}.env")


def pool(process: str) -> int:
    config = settings(process)
    return int(config["DB_POOL_SIZE"]) + int(config["DB_POOL_OVERFLOW"])


def test_each_process_pool_holds_what_its_threads_can_use_at_once():
    for name in PRESENT:
        service = BY_NAME[name]
        threads = int(settings(name)["GUNICORN_THREADS"])
        # A request's session, and a keyed POST's advisory lock on a connection of its own.
        assert pool(name) == threads * manifests.connections_per_request(service), name
        if service.has_relay:
            assert pool(f"{name}-relay") == manifests.RELAY_CONNECTIONS
        for worker in service.workers:
            process = f"{name}-{worker.name}"
            assert pool(process) == manifests.WORKER_CONNECTIONS[process](settings(process))
    # The services that keep Idempotency-Keys take the lock's connection besides the session's.
    for keeper in ("orders", "payments", "clients", "inventory", "products"):
        assert manifests.connections_per_request(BY_NAME[keeper]) == 2, keeper


def test_every_overlays_database_admits_every_connection_its_pods_can_hold(overlays):
    for name, objects in overlays.items():
        budget = connection_budget(objects)
        assert budget.worst_case <= budget.max_connections - budget.reserved, (
            f"{name}:\n{budget.report()}"
        )
    production = connection_budget(overlays["production"])
    # A web app at its autoscaler's maximum and one pod of surge, two gunicorn workers, a pool of
    # four threads' sessions and four keyed POSTs' locks.
    ceiling = next(
        doc["spec"]["maxReplicas"]
        for doc in overlays["production"]
        if doc["kind"] == "HorizontalPodAutoscaler" and doc["metadata"]["name"] == "orders"
    )
    assert production.clients["orders"] == (ceiling + 1, 2, 8)
    assert production.clients["orders-relay"] == (3, 1, manifests.RELAY_CONNECTIONS)
    assert production.reserved == 3


def test_an_overlay_whose_pools_outgrow_its_database_is_over_budget(overlays):
    objects = [dict(doc) for doc in overlays["production"]]
    for doc in objects:
        if doc["kind"] == "ConfigMap" and "DB_POOL_SIZE" in doc.get("data", {}):
            # The kit's default pool, as before the budget: 5 and 5 more in overflow.
            doc["data"] = {**doc["data"], "DB_POOL_SIZE": "5", "DB_POOL_OVERFLOW": "5"}
    budget = connection_budget(objects)
    assert budget.worst_case > budget.available
