"""Why payments flags a payment for an admin to look at (its `review_reason`), in one place:
each a `str.format` template with named fields, filled by the flagger (`payments._flag`). The
console says each in Portuguese (services/console/messages.py), and its tests format every
template here, so a new reason, or new words, fail there until they are translated."""

UNANSWERED = (
    "Sent to the provider after {sent_at} and never answered; not asked again, as the provider "
    "may have forgotten its idempotency key: see at the provider whether a PaymentIntent with "
    "metadata payment_id {payment_id} was made, and paid"
)
OTHER_AMOUNT = (
    "The provider reports {received} centavos received; the payment is {cents}: the order was "
    "not marked paid"
)
ASK_UNANSWERED = (
    "A refund of {amount} asked at {asked_at} was never answered: see the provider's refunds of "
    "this payment"
)
NOT_RETURNED = (
    "The refund {refund_ref} of {amount} {refund_status} at the provider ({code}): the money was "
    "not returned to the customer; refund it again or settle it with them"
)
# NOT_RETURNED's `code` when the provider gave no failure reason.
NO_CODE = "no reason given"
INTENT_LOST = (
    "The provider no longer knows PaymentIntent {intent_ref}: see in its dashboard whether it "
    "was paid"
)
REFUND_LOST = (
    "The provider no longer knows refund {refund_ref} of {amount}: see in its dashboard whether "
    "the money went back to the customer (it is still counted as refunded)"
)
# A payment let go of (refunded in full) whose refund the provider refused: `why` one of LET_GO,
# `refused` the provider's words, or REFUND_FAILED_AT_ONCE.
REFUND_REFUSED = "{why}; the refund was refused: {refused}"
REFUND_FAILED_AT_ONCE = "The refund {refund_status} at the provider: nothing was returned"

# Why a payment is let go of (also kept in its `let_go` while it waits for its refund).
ORDER_CANCELLED = "Its order was cancelled"
ORDER_TOTAL_CHANGED = "Its order's total changed"
ORDER_PAID_OTHERWISE = "Its order was paid another way"
SUCCEEDED_AFTER_FAILING = (
    "It succeeded after it had failed, while another payment of its order was open"
)
LET_GO = (ORDER_CANCELLED, ORDER_TOTAL_CHANGED, ORDER_PAID_OTHERWISE, SUCCEEDED_AFTER_FAILING)

# The whole causes a payment is flagged with (`payments._flag` takes no other); the rest above
# are parts of them.
TEMPLATES = frozenset(
    {
        UNANSWERED,
        OTHER_AMOUNT,
        ASK_UNANSWERED,
        NOT_RETURNED,
        INTENT_LOST,
        REFUND_LOST,
        REFUND_REFUSED,
    }
)
# Their fixed parts. Every other text here is one of TEMPLATES: the console's tests hold the two
# together, so a reason written here and left out of TEMPLATES (which `_flag` would refuse, in
# production) fails there.
PARTS = frozenset({NO_CODE, REFUND_FAILED_AT_ONCE, *LET_GO})
