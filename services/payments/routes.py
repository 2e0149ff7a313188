"""The payments API: paying an order by card or PIX, reading payments, refunds, and the
provider's webhooks (public: the signature on the raw body is their only credential)."""

from __future__ import annotations

from flask import request, url_for
from flask.views import MethodView

from services.kit import BadRequest, Blueprint, Forbidden, current_caller, page_schema, paginate
from services.kit.idempotency import IdempotentCommand, key_parameter

from . import payments, provider
from .models import REVIEW_REASON_MAX, IdempotencyKey, Payment, RefundIdempotencyKey, db
from .schemas import PaymentListArgs, PaymentSchema, RefundSchema, ReviewedSchema

blp = Blueprint(
    "payments",
    __name__,
    url_prefix="/payments",
    description="Payments of orders by card or PIX through the provider; refunds; its webhooks",
)

paying = IdempotentCommand(
    db,
    IdempotencyKey,
    schema=PaymentSchema,
    endpoint="payments.PaymentResource",
    id_arg="payment_id",
)


# Answered at the payment's own path (a 200): a replay carries no Location.
refunding = IdempotentCommand(
    db, RefundIdempotencyKey, schema=PaymentSchema, endpoint=None, id_arg=None, status=200
)


@blp.route("")
class PaymentList(MethodView):
    @blp.login_required()
    @blp.arguments(PaymentListArgs, location="query")
    @blp.response(200, page_schema(PaymentSchema))
    @blp.problem(403, "`needs_review` is for admins")
    def get(self, args):
        """List payments; filters `order_id`, `status`, `method` and (admins) `needs_review`."""
        if "needs_review" in args and current_caller().role != "admin":
            raise Forbidden("Only an admin may filter by needs_review")
        sortable = {"created_at": Payment.created_at}
        return paginate(db, payments.search(args), args, sortable, Payment.id)

    @blp.login_required()
    @blp.arguments(PaymentSchema)
    @blp.response(201, PaymentSchema)
    @blp.doc(parameters=[key_parameter()])
    @blp.problem(
        409,
        "The order is not pending, or already has an open payment (one that succeeded, or is "
        "still waiting for the provider), or the key was used with another body",
    )
    @blp.problem(
        422,
        "Invalid fields (a card number instead of a payment-method id among them), an unknown "
        "order, or a payment method the provider does not know (no payment is kept)",
    )
    @blp.problem(503, "Orders or the payment provider cannot answer")
    @paying
    def post(self, data, key):
        """Pay an order (its total, read from orders): a card is charged at once (`succeeded`,
        or `failed` with the provider's reason: the order can be paid again); a PIX answers
        `requires_action` with its BR Code and expiry, and succeeds when the provider says so."""
        payment = payments.create_payment(data, current_caller().id, key)
        location = url_for("payments.PaymentResource", payment_id=payment.id)
        return payment, 201, {"Location": location}


@blp.route("/<int:payment_id>")
class PaymentResource(MethodView):
    @blp.login_required()
    @blp.response(200, PaymentSchema)
    @blp.problem(404, "No such payment")
    def get(self, payment_id):
        """One payment."""
        return payments.get_payment(payment_id)


@blp.route("/<int:payment_id>/refund")
class PaymentRefund(MethodView):
    @blp.login_required("admin")
    @blp.arguments(RefundSchema)
    @blp.response(200, PaymentSchema)
    @blp.doc(parameters=[key_parameter("payment")])
    @blp.problem(404, "No such payment")
    @blp.problem(
        409,
        "The payment has not succeeded, or the provider refused the refund, or the key was used "
        "with another body or payment",
    )
    @blp.problem(422, "More than is left to refund")
    @blp.problem(
        503,
        "The payment provider did not answer: the refund may have been made, and is asked "
        "again (same amount, made once) by a retry with the same key, the next refund or "
        "reconciliation",
    )
    @refunding
    def post(self, data, payment_id, key):
        """Refund a succeeded payment (admin): `amount`, or all that is left
        (`partially_refunded`, then `refunded`). With an `Idempotency-Key`, a repeat answers
        the first answer again, and a repeat after a 503 finishes that refund: never a second
        one. After a 503 without a key, ask again with the same amount (or none, for all that
        is left); another amount is a 409 once the earlier refund is made."""
        return payments.refund(payment_id, data.get("amount"), key)


@blp.route("/<int:payment_id>/reviewed")
class PaymentReviewed(MethodView):
    @blp.login_required("admin")
    @blp.arguments(ReviewedSchema)
    @blp.response(200, PaymentSchema)
    @blp.problem(404, "No such payment")
    @blp.problem(
        409,
        "The payment is not flagged for review, or its `review_reason` is no longer the one sent "
        "(flagged again meanwhile: read it again)",
    )
    @blp.problem(422, f"No `review_reason`, or one longer than {REVIEW_REASON_MAX} characters")
    def post(self, data, payment_id):
        """Mark a flagged payment reviewed (admin), sending its `review_reason` as read: the flag
        is cleared (`needs_review` false, out of `?needs_review=true`), `reviewed_by` and
        `reviewed_at` recorded, the reason kept. A new cause flags it again."""
        return payments.mark_reviewed(payment_id, data["review_reason"], current_caller().id)


WEBHOOK_BODY = {
    "required": True,
    "description": "The provider's event, exactly as it signed it",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
SIGNATURE_HEADER = {
    "in": "header",
    "name": "Stripe-Signature",
    "required": True,
    "schema": {"type": "string", "maxLength": 1000},
    "description": "t=<unix time>,v1=<HMAC-SHA256 of t.body with the webhook secret>",
}


@blp.route("/webhooks/stripe")
class StripeWebhook(MethodView):
    @blp.response(200, description="Handled, or a redelivery of an event already handled")
    @blp.doc(parameters=[SIGNATURE_HEADER], requestBody=WEBHOOK_BODY, security=[])
    @blp.problem(
        400,
        "A missing or bad signature, one made over 300 s before or after now, or a body that is "
        "not an event (not a JSON object, nested too deep); nothing changed",
    )
    def post(self):
        """The provider's events (public: authenticated only by `Stripe-Signature` over the
        raw body, dated within 300 s of now either way). Each event id is handled once."""
        try:
            event = provider.verified_event(
                request.get_data(cache=False), request.headers.get("Stripe-Signature")
            )
        except ValueError as refused:
            raise BadRequest(str(refused)) from refused
        return {"status": payments.handle_event(event)}
