"""Alembic entry point for orders's migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
