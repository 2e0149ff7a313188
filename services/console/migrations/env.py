"""Alembic entry point for the console's migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
