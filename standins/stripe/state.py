"""The stand-in's Stripe account: PaymentIntents, Charges, Refunds and Events, in memory.

Every change happens under one lock (`Store.lock`), the API holds it for a whole request, so
two requests never interleave; webhooks are sent afterwards, outside it."""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .brcode import br_code

API_VERSION = "2025-09-30.clover"
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
)
CANCELLATION_REASONS = ("duplicate", "fraudulent", "requested_by_customer", "abandoned")
# A card whose bank asks the customer to authenticate (3-D Secure): the intent waits for it
# (requires_action), or, confirmed with `error_on_requires_action`, the attempt is declined.
AUTHENTICATE = "authenticate"
AUTHENTICATION_DECLINE = (
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
)
# Stripe's test payment methods: what a confirmation with each one does.
CARDS = {
    "pm_card_authenticationRequired": AUTHENTICATE,
    "pm_card_visa": None,
    "pm_card_mastercard": None,
    "pm_card_amex": None,
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
    # Charged at once; its refunds are made `pending`, then fail (`fail_refund`).
    "pm_card_refundFail": None,
}
# Stripe's test card whose refunds fail after they were made (its account closed meanwhile).
REFUND_FAILS = "pm_card_refundFail"
# What an out-of-order event of each type says the PaymentIntent's status is.
STATUS_OF_EVENT = {
    "payment_intent.processing": "processing",
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "requires_payment_method",
    "payment_intent.canceled": "canceled",
    "payment_intent.requires_action": "requires_action",
    "payment_intent.created": "requires_payment_method",
}
# Stripe's bounds are 10 s to 14 days; the stand-in allows from 1 s, for the test stack's short
# PIX_EXPIRES_S (6).
PIX_MIN_EXPIRY, PIX_MAX_EXPIRY, PIX_DEFAULT_EXPIRY = 1, 1_209_600, 86_400


class StripeError(Exception):
    """An answer in Stripe's error format: {"error": {type, code, message, param, ...}}."""

    def __init__(
        self, status: int, message: str, *, type: str = "invalid_request_error", **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type, "message": message, **extra}}


def missing(kind: str, ident: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{ident}'", code="resource_missing", param=param)


def new_id(prefix: str) -> str:
    return f"{prefix}_3{secrets.token_urlsafe(18).replace('-', 'a').replace('_', 'b')}"


@dataclass
class EventRecord:
    event: dict
    payload: bytes
    payment_intent: str | None
    delivered: bool = False
    attempts: int = 0
    last_status: int | None = None

    def view(self) -> dict:
        return {
            "id": self.event["id"],
            "type": self.event["type"],
            "delivered": self.delivered,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "event": self.event,
        }


@dataclass
class Store:
    pix_key: str
    base_url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    charges: dict[str, dict] = field(default_factory=dict)
    refunds: dict[str, dict] = field(default_factory=dict)
    events: dict[str, EventRecord] = field(default_factory=dict)
    # Idempotency-Key -> (request fingerprint, status, body).
    idempotent: dict[str, tuple[tuple, int, bytes]] = field(default_factory=dict)
    drop_next: int = 0
    # Charges paid with REFUND_FAILS: their refunds are made pending and fail later.
    refunds_fail: set[str] = field(default_factory=set)
    # The next refunds made (any charge's): answered `failed` at once, nothing given back.
    fail_next_refunds: int = 0

    # --- events ---

    def make_event(self, type: str, obj: dict, request: dict | None = None) -> EventRecord:
        """A new event carrying a copy of `obj` as it is now; recorded, delivered by the caller
        (after the lock) unless it is one of the `drop_next` to lose."""
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": request or {"id": None, "idempotency_key": None},
            "type": type,
        }
        intent = obj["id"] if obj["object"] == "payment_intent" else obj.get("payment_intent")
        record = EventRecord(event, json.dumps(event, indent=2).encode(), intent)
        self.events[event["id"]] = record
        return record

    def take_drop(self) -> bool:
        with self.lock:
            if self.drop_next > 0:
                self.drop_next -= 1
                return True
            return False

    def attempted(self, event_id: str, status: int | None) -> None:
        with self.lock:
            record = self.events[event_id]
            record.attempts += 1
            record.last_status = status
            record.delivered = record.delivered or (status is not None and 200 <= status < 300)

    def events_of(self, payment_intent: str | None) -> list[dict]:
        with self.lock:
            listed = [
                record.view()
                for record in self.events.values()
                if payment_intent is None or record.payment_intent == payment_intent
            ]
        return listed[::-1]

    # --- objects ---

    def payment_intent(self, intent_id: str) -> dict:
        if intent_id not in self.payment_intents:
            raise missing("payment_intent", intent_id)
        return self.payment_intents[intent_id]

    def new_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        types: list[str],
        metadata: dict,
        description: str | None,
        pix_expiry: int,
    ) -> dict:
        intent_id = new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{secrets.token_urlsafe(18)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": description,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": metadata,
            "next_action": None,
            "payment_method": None,
            "payment_method_options": (
                {"pix": {"expires_after_seconds": pix_expiry}} if "pix" in types else {}
            ),
            "payment_method_types": types,
            "status": "requires_payment_method",
        }
        self.payment_intents[intent_id] = intent
        return intent

    def new_charge(self, intent: dict, amount: int, status: str, method_type: str) -> dict:
        charge = {
            "id": new_id("ch"),
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if status == "succeeded" else 0,
            "amount_refunded": 0,
            "captured": status == "succeeded",
            "created": int(time.time()),
            "currency": intent["currency"],
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": status == "succeeded",
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "payment_method_details": {"type": method_type},
            "refunded": False,
            "status": status,
        }
        self.charges[charge["id"]] = charge
        intent["latest_charge"] = charge["id"]
        return charge

    def confirm_card(
        self, intent: dict, method: str, error_on_requires_action: bool = False
    ) -> str:
        """Charge the card; the event type it makes (payment_intent.succeeded, .payment_failed or
        .requires_action: its bank asks for authentication, unless `error_on_requires_action`
        makes that a decline). The caller raises the 402 card_error of a declined card."""
        if method not in CARDS:
            raise StripeError(
                400,
                f"No such PaymentMethod: '{method}'",
                code="resource_missing",
                param="payment_method",
            )
        intent["payment_method"] = "pm_" + secrets.token_hex(12)
        decline = CARDS[method]
        if decline == AUTHENTICATE and not error_on_requires_action:
            intent.update(
                status="requires_action",
                next_action={
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect"},
                },
            )
            return "payment_intent.requires_action"
        if decline == AUTHENTICATE:
            decline = AUTHENTICATION_DECLINE
        if decline is None:
            charge = self.new_charge(intent, intent["amount"], "succeeded", "card")
            if method == REFUND_FAILS:
                self.refunds_fail.add(charge["id"])
            intent.update(status="succeeded", amount_received=charge["amount"])
            return "payment_intent.succeeded"
        code, decline_code, message = decline
        charge = self.new_charge(intent, intent["amount"], "failed", "card")
        charge.update(failure_code=code, failure_message=message)
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge["id"],
        }
        intent.update(
            status="requires_payment_method",
            last_payment_error={
                **error,
                "payment_method": {"id": intent["payment_method"], "type": "card"},
            },
            payment_method=None,
        )
        return "payment_intent.payment_failed"

    def confirm_pix(self, intent: dict) -> None:
        expiry = intent["payment_method_options"]["pix"]["expires_after_seconds"]
        intent["payment_method"] = "pm_" + secrets.token_hex(12)
        instructions = f"{self.base_url}/_standin/payment_intents/{intent['id']}/pix"
        intent.update(
            status="requires_action",
            next_action={
                "type": "pix_display_qr_code",
                "pix_display_qr_code": {
                    "data": br_code(
                        key=self.pix_key,
                        amount_cents=intent["amount"],
                        txid=intent["id"].removeprefix("pi_"),
                        name="Feira",
                        city="Sao Paulo",
                    ),
                    "expires_at": int(time.time()) + expiry,
                    "hosted_instructions_url": instructions,
                    "image_url_png": f"{instructions}.png",
                    "image_url_svg": f"{instructions}.svg",
                },
            },
        )

    def pay_pix(self, intent: dict, amount_received: int) -> None:
        if intent["status"] != "requires_action":
            raise StripeError(
                400,
                f"This PaymentIntent's status is {intent['status']}: there is no PIX code to pay.",
                code="payment_intent_unexpected_state",
            )
        qr = intent["next_action"]["pix_display_qr_code"]
        if time.time() > qr["expires_at"]:
            raise StripeError(
                400,
                "This PIX code has expired: the bank refuses the payment.",
                code="payment_intent_unexpected_state",
            )
        self.new_charge(intent, amount_received, "succeeded", "pix")
        intent.update(status="succeeded", amount_received=amount_received, next_action=None)

    def cancel(self, intent: dict, reason: str | None) -> None:
        if intent["status"] not in CANCELABLE:
            raise StripeError(
                400,
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(CANCELABLE)}.",
                code="payment_intent_unexpected_state",
                payment_intent=copy.deepcopy(intent),
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=reason,
            next_action=None,
        )

    def refund(self, charge: dict, amount: int | None, reason: str | None, metadata: dict) -> dict:
        left = charge["amount"] - charge["amount_refunded"]
        if charge["refunded"] or left <= 0:
            raise StripeError(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = left if amount is None else amount
        if amount > left:
            raise StripeError(
                400,
                f"Refund amount ({money(amount)}) is greater than unrefunded amount on charge "
                f"({money(left)})",
                code="amount_too_large",
                param="amount",
            )
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "failure_reason": None,
            "reason": reason,
            "status": "pending" if charge["id"] in self.refunds_fail else "succeeded",
        }
        self.refunds[refund["id"]] = refund
        if self.fail_next_refunds > 0:
            # Made and failed before it answers: the charge keeps its money.
            self.fail_next_refunds -= 1
            refund.update(status="failed", failure_reason="expired_or_canceled_card")
            return refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        return refund

    def fail_refund(self, refund_id: str) -> dict:
        """A pending refund of a REFUND_FAILS charge fails, as Stripe's does some time after it
        was made: the money stays with the merchant, so the charge's `amount_refunded` goes back
        down. The caller sends its events (`charge.refund.updated`, `refund.updated`,
        `refund.failed`)."""
        if refund_id not in self.refunds:
            raise missing("refund", refund_id)
        refund = self.refunds[refund_id]
        if refund["status"] != "pending":
            raise StripeError(
                400,
                f"Refund {refund_id} is {refund['status']}: only a pending refund (of a charge "
                f"paid with {REFUND_FAILS}) can fail.",
                code="refund_unexpected_state",
            )
        refund.update(status="failed", failure_reason="expired_or_canceled_card")
        charge = self.charges[refund["charge"]]
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        return refund


def money(cents: int) -> str:
    return f"R${cents // 100}.{cents % 100:02d}"
