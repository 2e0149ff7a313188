"""The orders API: placing, reading, editing and deleting orders, their status, and the sales
report."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from services.kit import (
    Blueprint,
    ShortageProblemSchema,
    conditional,
    current_caller,
    page_schema,
)
from services.kit.idempotency import key_parameter

from . import idempotency, orders, reports, workflow
from .schemas import (
    KpiArgs,
    KpiSchema,
    OrderListArgs,
    OrderPatchSchema,
    OrderSchema,
    PlacingConflictProblemSchema,
    SalesArgs,
    SalesReportSchema,
    StatusConflictProblemSchema,
    StatusSchema,
)

blp = Blueprint(
    "orders",
    __name__,
    url_prefix="/orders",
    description="Orders: stock reserved when placed, a status workflow, and sales reports",
)


def _shortage(description: str):
    return blp.problem(409, description, schema=ShortageProblemSchema)


@blp.route("")
class OrderList(MethodView):
    @blp.login_required()
    @blp.arguments(OrderListArgs, location="query")
    @blp.response(200, page_schema(OrderSchema))
    def get(self, args):
        """List orders; `category_id` and `product_id` match any line, `external_ref` the
        one order with it."""
        return orders.find_orders(args)

    @blp.login_required()
    @blp.arguments(OrderSchema)
    @blp.response(201, OrderSchema)
    @blp.doc(parameters=[key_parameter()])
    @blp.problem(422, "Invalid fields, or an unknown client, address or (inactive) product")
    @blp.problem(
        409,
        "Not enough stock (`short` names the lines), the key was used with another body "
        "(`key_reused`), or another order has the external reference (`existing_order_id`); "
        "nothing was kept",
        schema=PlacingConflictProblemSchema,
    )
    @blp.problem(
        503,
        "Clients, products or inventory cannot answer, or another order under the external "
        "reference is still being placed; nothing was kept",
    )
    @idempotency.placing
    def post(self, data, key):
        """Place an order: prices and names are copied and the stock is reserved (`pending`).
        An `external_ref` (the placing system's own id for it) is the order's alone: sent again,
        after the key's 24 h too, it is a 409 naming the order that has it."""
        order = orders.place_order(data, current_caller().id, key)
        return order, 201, {"Location": url_for("orders.OrderResource", order_id=order.id)}


@blp.route("/<int:order_id>")
class OrderResource(MethodView):
    @blp.login_required()
    @blp.response(200, OrderSchema)
    @blp.problem(404, "No such order")
    @conditional
    def get(self, order_id):
        """One order, its lines and its history."""
        return orders.read_order(order_id)

    @blp.login_required()
    @blp.arguments(OrderPatchSchema)
    @blp.response(200, OrderSchema)
    @blp.problem(403, "Neither the user who placed it nor an admin")
    @blp.problem(404, "No such order")
    @_shortage(
        "The order is not pending, there is not enough stock for the new lines (`short`), or "
        "inventory refused to change its reservation (no longer reserved, or none); nothing "
        "changed"
    )
    @blp.problem(503, "A service the change needs cannot answer; nothing changed")
    @blp.if_match()
    def patch(self, data, order_id):
        """Change the lines, address or payment method of a pending order; the reservation
        follows the lines atomically."""
        return orders.edit_order(order_id, data, current_caller())

    @blp.login_required("admin")
    @blp.response(204)
    @blp.problem(404, "No such order")
    @blp.problem(
        409,
        "Only pending or cancelled orders can be deleted, or inventory says a pending one's "
        "stock already left (its reservation was committed); nothing was deleted",
    )
    @blp.if_match()
    def delete(self, order_id):
        """Delete a pending (its stock released through the outbox, in the deletion's
        transaction; inventory is asked at once too, and need not answer) or cancelled order
        (admin)."""
        orders.delete_order(order_id)


@blp.route("/<int:order_id>/status")
class OrderStatus(MethodView):
    @blp.login_required()
    @blp.arguments(StatusSchema)
    @blp.response(200, OrderSchema)
    @blp.problem(403, "Users may only cancel their own pending orders")
    @blp.problem(404, "No such order")
    @blp.problem(
        409,
        "Not a transition of pending → paid → shipped → delivered, or → cancelled; or inventory "
        "refused its part (the reservation is settled otherwise, or there is none to ship, or "
        "the stock cannot cover the order's lines where an edit left it holding others); "
        "`current_status` says the order's status",
        schema=StatusConflictProblemSchema,
    )
    @blp.problem(
        503,
        "Inventory cannot answer a ship, or a paid order's cancel (its stock may have left in a "
        "ship whose answer was lost); the status did not change (a pending order's cancel never "
        "waits for inventory: its stock goes back through the outbox)",
    )
    def post(self, data, order_id):
        """Move the order on: cancelling releases its stock (through the outbox, in the
        cancel's transaction; inventory is asked at once too, and need not answer), shipping
        takes it from on hand, delivering gives the client holdings."""
        return workflow.transition(order_id, data["status"], current_caller(), data["note"])


@blp.route("/reports/sales")
class SalesReport(MethodView):
    @blp.login_required("admin")
    @blp.arguments(SalesArgs, location="query")
    @blp.response(200, SalesReportSchema)
    def get(self, args):
        """Units, revenue and orders of paid, shipped and delivered orders, per day, product,
        client or category (admin)."""
        return reports.sales(args)


@blp.route("/reports/kpis")
class KpiReport(MethodView):
    @blp.login_required("admin")
    @blp.arguments(KpiArgs, location="query")
    @blp.response(200, KpiSchema)
    @blp.problem(
        422, "An invalid day, `to` before `from`, or a period longer than 366 days (`from`)"
    )
    def get(self, args):
        """The sales KPIs of a period (admin; default the last 30 days): GMV, orders, average
        order value and units of its paid, shipped and delivered orders, its cancellation rate,
        new and repeat clients, and series by day, product, category, client and state."""
        return reports.kpis(args)
