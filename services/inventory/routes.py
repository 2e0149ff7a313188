"""The inventory API: stock and its ledger, clients' holdings, and the reservations orders make."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from services.kit import Blueprint, ShortageProblemSchema, page_schema, paginate
from services.kit.idempotency import IdempotentCommand, key_parameter

from . import holdings, reservations, stock
from .models import IdempotencyKey, Movement, Stock, db
from .schemas import (
    HoldingListArgs,
    HoldingSchema,
    MovementListArgs,
    MovementSchema,
    NewMovementSchema,
    NewReservationSchema,
    ReservationLinesSchema,
    ReservationSchema,
    StockListArgs,
    StockSchema,
)

blp = Blueprint(
    "inventory",
    __name__,
    url_prefix="/inventory",
    description="Stock per product, its ledger, and what clients hold",
)
# Named `internal`, the tag its routes carry in OpenAPI: orders calls them, API clients do not.
reservations_blp = Blueprint(
    "internal",
    __name__,
    url_prefix="/inventory/reservations",
    description="Internal: the stock reservations the orders service makes for its orders",
)

recording_movement = IdempotentCommand(
    db,
    IdempotencyKey,
    schema=MovementSchema,
    endpoint="inventory.MovementResource",
    id_arg="movement_id",
)
# Shares the movements' key table: a key's request names its path's arguments (`client_id`, not
# `product_id`), so the same key sent to the other route is a 409, never the other's answer.
recording_holding = IdempotentCommand(
    db,
    IdempotencyKey,
    schema=HoldingSchema,
    endpoint="inventory.HoldingResource",
    id_arg="holding_id",
)


# --- stock ---


@blp.route("/stock")
class StockList(MethodView):
    @blp.login_required()
    @blp.arguments(StockListArgs, location="query")
    @blp.response(200, page_schema(StockSchema))
    def get(self, args):
        """List stock; `low=true` is what is at or below its reorder level."""
        sortable = {
            "product_id": Stock.product_id,
            "available": Stock.available,
            "updated_at": Stock.updated_at,
        }
        return paginate(db, stock.search(args), args, sortable, Stock.product_id)


@blp.route("/stock/<int:product_id>")
class StockResource(MethodView):
    @blp.login_required()
    @blp.response(200, StockSchema)
    @blp.problem(404, "The product has no stock (it never had, or it was deleted)")
    def get(self, product_id):
        """A product's stock."""
        return stock.get_stock(product_id)

    @blp.login_required("admin")
    @blp.arguments(StockSchema)
    @blp.response(200, StockSchema)
    @blp.problem(404, "The product has no stock")
    def patch(self, data, product_id):
        """Set the reorder level (admin): at or below it, `low=true` lists the product."""
        return stock.set_reorder_level(product_id, data["reorder_level"])


@blp.route("/stock/<int:product_id>/movements")
class Movements(MethodView):
    @blp.login_required()
    @blp.arguments(MovementListArgs, location="query")
    @blp.response(200, page_schema(MovementSchema))
    @blp.problem(404, "Inventory never knew the product (no stock, ledger or deletion of it)")
    def get(self, args, product_id):
        """The product's ledger, newest first; still listed once the product is deleted, its
        closing `adjustment` included."""
        stmt = stock.ledger(product_id)
        return paginate(db, stmt, args, {"created_at": Movement.created_at}, Movement.id)

    @blp.login_required("admin")
    @blp.arguments(NewMovementSchema)
    @blp.response(201, MovementSchema)
    @blp.doc(parameters=[key_parameter("product")])
    @blp.problem(404, "The product has no stock")
    @blp.problem(
        409,
        "The movement would take on_hand below what is reserved, or the Idempotency-Key was "
        "used with another body or product",
    )
    @recording_movement
    def post(self, data, product_id, key):
        """Record a movement (admin): a signed quantity and its reason. With an
        `Idempotency-Key`, a repeat answers the first movement again instead of recording
        another."""
        movement = stock.move_stock(product_id, data, key)
        location = url_for(
            "inventory.MovementResource", product_id=product_id, movement_id=movement.id
        )
        return movement, 201, {"Location": location}


@blp.route("/stock/<int:product_id>/movements/<int:movement_id>")
class MovementResource(MethodView):
    @blp.login_required()
    @blp.response(200, MovementSchema)
    @blp.problem(404, "No such movement of this product")
    def get(self, product_id, movement_id):
        """One movement of the ledger."""
        return stock.get_movement(product_id, movement_id)


# --- holdings ---


@blp.route("/clients/<int:client_id>/holdings")
class Holdings(MethodView):
    @blp.login_required()
    @blp.arguments(HoldingListArgs, location="query")
    @blp.response(200, page_schema(HoldingSchema))
    def get(self, args, client_id):
        """What the client has acquired, newest first."""
        return holdings.list_holdings(client_id, args)

    @blp.login_required("admin")
    @blp.arguments(HoldingSchema)
    @blp.response(201, HoldingSchema)
    @blp.doc(parameters=[key_parameter("client")])
    @blp.problem(404, "No such client or product: `errors` names which (client_id, product_id)")
    @blp.problem(409, "The Idempotency-Key was used with another body or client")
    @blp.problem(503, "The clients or the products service cannot answer")
    @recording_holding
    def post(self, data, client_id, key):
        """Record that the client acquired a product (admin; delivered orders add holdings by
        themselves); the product's name is copied now. With an `Idempotency-Key`, a repeat
        answers the first holding again instead of recording another."""
        holding = holdings.add_holding(client_id, data, key)
        location = url_for("inventory.HoldingResource", holding_id=holding.id)
        return holding, 201, {"Location": location}


@blp.route("/holdings/<int:holding_id>")
class HoldingResource(MethodView):
    @blp.login_required()
    @blp.response(200, HoldingSchema)
    @blp.problem(404, "No such holding")
    def get(self, holding_id):
        """One holding."""
        return holdings.get_holding(holding_id)

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such holding")
    def delete(self, holding_id):
        """Remove a holding (admin)."""
        holdings.remove_holding(holdings.get_holding(holding_id))


# --- reservations (internal: for orders) ---


@reservations_blp.route("")
class Reservations(MethodView):
    # orders' credential alone: orders checked the user's token, and a reservation records no
    # user (release and commit do, for the movements they write). No second RS256 check and
    # session lookup on every order placed.
    @reservations_blp.internal()
    @reservations_blp.arguments(NewReservationSchema)
    @reservations_blp.response(201, ReservationSchema)
    @reservations_blp.problem(
        409,
        "Not enough stock: `short` lists {product_id, requested, available} per "
        "short line (and `errors.items` says the same in words); nothing was reserved",
        schema=ShortageProblemSchema,
    )
    def post(self, data):
        """Reserve every line of an order, or none. Idempotent by `order_id`: a repeated call
        answers the reservation the first one made (201, the same body), whatever its state. An
        order whose `order.abandoned` inventory heard first is answered `released`, with no
        lines, and nothing is reserved."""
        reservation, _ = reservations.reserve(data["order_id"], data["items"])
        location = url_for("internal.ReservationResource", order_id=data["order_id"])
        return reservation, 201, {"Location": location}


@reservations_blp.route("/<int:order_id>")
class ReservationResource(MethodView):
    @reservations_blp.internal()
    @reservations_blp.login_required()
    @reservations_blp.response(200, ReservationSchema)
    @reservations_blp.problem(404, "The order has no reservation")
    def get(self, order_id):
        """An order's reservation and its state: reserved, released or committed."""
        return reservations.read_reservation(order_id)

    # orders' credential alone, as for placing: the new lines record no user, and orders'
    # sweeper settles an edit that never finished with no user at hand.
    @reservations_blp.internal()
    @reservations_blp.arguments(ReservationLinesSchema)
    @reservations_blp.response(200, ReservationSchema)
    @reservations_blp.problem(404, "The order has no reservation")
    @reservations_blp.problem(
        409,
        "Not enough stock for the new lines (`short`), or the reservation is no "
        "longer `reserved`; nothing changed",
        schema=ShortageProblemSchema,
    )
    def put(self, data, order_id):
        """An edited order: the reservation's lines become these, atomically (all or none)."""
        return reservations.adjust(order_id, data["items"])


@reservations_blp.route("/<int:order_id>/release")
class ReservationRelease(MethodView):
    @reservations_blp.internal()
    @reservations_blp.login_required()
    @reservations_blp.response(200, ReservationSchema)
    @reservations_blp.problem(404, "The order has no reservation")
    @reservations_blp.problem(409, "The reservation was committed (the order shipped)")
    def post(self, order_id):
        """Cancel: the reserved units are available again. A second release changes nothing."""
        return reservations.release(order_id)


@reservations_blp.route("/<int:order_id>/commit")
class ReservationCommit(MethodView):
    @reservations_blp.internal()
    @reservations_blp.login_required()
    @reservations_blp.response(200, ReservationSchema)
    @reservations_blp.problem(404, "The order has no reservation")
    @reservations_blp.problem(409, "The reservation was released (the order was cancelled)")
    def post(self, order_id):
        """Ship: on_hand and reserved both decrease and the ledger records a `sale` per line.
        A second commit changes nothing."""
        return reservations.commit(order_id)
