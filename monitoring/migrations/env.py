"""Alembic entry point for monitoring's migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
