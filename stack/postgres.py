"""The stack's PostgreSQL: the cluster and the layout (a schema and a role per registry service).

The code is the kit's (`services.kit.postgres`), shared with the pytest fixtures so that `make up`
and the tests lay the database out the same way; the kit never imports the stack.
"""

from __future__ import annotations

from services.kit.postgres import (
    EXTENSIONS,
    SERVICES,
    Cluster,
    as_server_user,
    pg_bin,
    provision,
    reachable_by,
    server_user,
    socket_fits,
)

__all__ = [
    "EXTENSIONS",
    "SERVICES",
    "Cluster",
    "as_server_user",
    "pg_bin",
    "provision",
    "reachable_by",
    "server_user",
    "socket_fits",
]
