"""Idempotency-Key for POST /orders: the kit's wrapper over orders' own key table. Per user, for
24 h, the first answer to a key answers every repeat with the same body (its Location too); a
repeat with another body is a 409. `place_order` binds the key to the order in the transaction
that stores it and answers it in the one that makes it pending."""

from __future__ import annotations

from services.kit.idempotency import IdempotentCommand

from .models import IdempotencyKey, db
from .schemas import OrderSchema

placing = IdempotentCommand(
    db, IdempotencyKey, schema=OrderSchema, endpoint="orders.OrderResource", id_arg="order_id"
)
