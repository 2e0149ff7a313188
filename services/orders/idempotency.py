"""Idempotency-Key for POST /orders: per user, for 24 h, the first answer to a key is the answer
to every repeat with the same body, and a repeat with another body is a 409.

The key's row is inserted on a connection of its own before any work starts and committed with
the answer, so a second request with the same key blocks on that row's insert until the first
finishes, then reads its answer. If the first fails, its row goes with its transaction, and the
waiting request does the work itself."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import Response, jsonify
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from services.kit import Conflict, Unprocessable, utcnow

from .models import IdempotencyKey, db

KEPT = timedelta(hours=24)
MAX_KEY = 255


def fingerprint(body: dict) -> str:
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()


class Claim:
    """A key this request holds (`replay` is None) or one answered before (`replay` is it)."""

    def __init__(self, user_id: int, key: str, body: dict):
        if not key.strip() or len(key) > MAX_KEY:
            raise Unprocessable({"Idempotency-Key": [f"Between 1 and {MAX_KEY} characters."]})
        self.user_id, self.key, self.digest = user_id, key, fingerprint(body)
        self.replay: Response | None = None
        self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        try:
            self._claim()
        except Exception:
            self.close()
            raise

    def _mine(self):
        return (IdempotencyKey.user_id == self.user_id) & (IdempotencyKey.key == self.key)

    def _claim(self) -> None:
        self.connection.execute(
            delete(IdempotencyKey).where(self._mine(), IdempotencyKey.created_at < utcnow() - KEPT)
        )
        claimed = self.connection.execute(
            insert(IdempotencyKey)
            .values(user_id=self.user_id, key=self.key, request_hash=self.digest)
            .on_conflict_do_nothing()
            .returning(IdempotencyKey.key)
        ).first()
        if claimed is not None:
            return
        stored = self.connection.execute(select(IdempotencyKey).where(self._mine())).one()
        self.close()
        if stored.request_hash != self.digest:
            raise Conflict("This Idempotency-Key was used with another body")
        self.replay = jsonify(stored.response)
        self.replay.status_code = stored.status_code
        if stored.order_id is not None:
            self.replay.headers["Location"] = f"/orders/{stored.order_id}"
        self.replay.headers["Idempotent-Replayed"] = "true"

    def finish(self, status: int, body: dict, order_id: int) -> None:
        self.connection.execute(
            update(IdempotencyKey)
            .where(self._mine())
            .values(status_code=status, response=body, order_id=order_id)
        )
        self.transaction.commit()
        self.close()

    def close(self) -> None:
        """Without an answer, the key is let go (rolled back): a retry does the work again."""
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()


def claim(user_id: int, key: str | None, body: dict) -> Claim | None:
    return None if key is None else Claim(user_id, key, body)
