"""Alembic entry point for auth's migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
