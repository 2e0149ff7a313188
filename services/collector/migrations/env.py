"""Alembic entry point for collector' migrations (the logic is shared in services/kit)."""

from services.kit.migrations import run

run()
