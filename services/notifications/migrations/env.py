"""Alembic entry point for notifications' migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
