"""Alembic entry point for clients' migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
