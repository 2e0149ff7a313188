"""Alembic entry point for products' migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
