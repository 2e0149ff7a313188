*** Settings ***
Documentation       Payments, through the gateway, as API.md specifies them under "Payments": a
...                 pending order is paid by card (at once, or declined and paid again) or by PIX
...                 (a BR Code, paid when the provider's webhook says so, cancelled with its stock
...                 released when it expires unpaid); the order becomes `paid` by "payments"; the
...                 admin refunds in full or in part, and a paid order cancelled is refunded by
...                 itself; orders hears the refund: the order shows what went back of the payment
...                 that paid it, one refunded in full does not ship (cancelled, nothing more goes
...                 back), one refunded in part ships, and the KPIs' `refunded` and `net` count it.
...                 Webhooks: a forged or stale signature is a 400 problem and changes
...                 nothing, a replayed or late event changes nothing, a lost one is made good by
...                 reconciliation. One open payment per order, only a pending order, one payment
...                 per Idempotency-Key, one refund per Idempotency-Key.
...
...                 The provider is the Stripe stand-in of a stack on this machine: scenarios that
...                 play the payer or the provider through its test-only routes, or sign an event
...                 with the webhook secret, are `local-only`. The PIX expiry and reconciliation
...                 scenarios wait for the stack's clocks and skip where they are minutes long (run
...                 them on the test stack: PIX_EXPIRES_S=6, reconciliation every 2 s after 4 s).
...                 Every test makes its own client, product and order; its teardown cancels (a paid
...                 order's payment is refunded by itself) and deletes the order before the client
...                 and the catalogue go. Payments are records of money and stay.
Resource            ../resources/provider.resource
Resource            ../resources/refunds.resource
Resource            ../resources/reports.resource

Suite Setup         Run Keywords    Open the gateway session    AND    Open the stand-in session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Setup          Run Keywords    A registered client    AND    A product with a stock of 5
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           payments


*** Test Cases ***
# --- card ------------------------------------------------------------------------------------

Scenario: an order paid by card succeeds at once and the order becomes paid by payments
    [Tags]    smoke
    Given an order for 1 units of the product
    When I pay the order by card
    Then the answer is a succeeded card payment of the order's total
    And the order becomes "paid" by payments within ${PAYMENT_WAIT}
    And the stock is 5 on hand, 1 reserved and 4 available

Scenario: a declined card fails with the provider's reason, the order stays pending and is paid again
    Given an order for 1 units of the product
    When I pay the order with a card that is declined
    Then the answer is a failed card payment with the provider's decline reason
    And the payment's failure code is "generic_decline"
    And the order is "pending"
    When I pay the order by card
    Then the answer is a succeeded card payment of the order's total
    And the order becomes "paid" by payments within ${PAYMENT_WAIT}
    And the order has 2 payments

# --- PIX -------------------------------------------------------------------------------------

Scenario: a PIX payment shows a BR Code, the payer pays it and the order becomes paid
    [Tags]    local-only    smoke
    Given an order for 1 units of the product
    When I pay the order by PIX
    Then the answer is a PIX payment awaiting the payer with a BR Code
    And the order is "pending"
    When the payer pays the PIX at the provider
    Then the order becomes "paid" by payments within ${PAYMENT_WAIT}
    And the payment is "succeeded"

Scenario: a PIX left unpaid expires, the order is cancelled by payments and its stock released
    Given the payment reaches its PIX expiry unpaid
    And an order for 1 units of the product
    And the stock is 5 on hand, 1 reserved and 4 available
    When the order awaits a PIX payment
    Then the order becomes "cancelled" by payments once the PIX has expired
    And the order's history notes "PIX expired"
    And the payment is "canceled"
    And the stock is released within ${PAYMENT_WAIT}

Scenario: an admin deleting a pending order cancels its open PIX, which can then no longer be paid
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order awaits a PIX payment
    When the admin deletes the order
    Then the answer is 204
    And the payment becomes "canceled" within ${PAYMENT_WAIT}
    And the payer can no longer pay the PIX at the provider

Scenario: changing an order's items cancels its PIX for the old total, and the order is paid at the new one
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order awaits a PIX payment
    When I change the order's items to 2 of the product
    Then the answer is 200
    And the payment becomes "canceled" within ${PAYMENT_WAIT}
    And the payer can no longer pay the PIX at the provider
    When the order's new total awaits a PIX payment
    And the payer pays the PIX at the provider
    Then the order becomes "paid" by payments within ${PAYMENT_WAIT}

# --- refunds ---------------------------------------------------------------------------------

Scenario: the admin refunds a card payment in full
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin refunds the payment in full
    Then the answer is the payment refunded in full
    And the payment is "refunded"

Scenario: the admin refunds part of a card payment
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin refunds half of the payment
    Then the answer is the payment refunded by half
    And the payment is "partially_refunded"

Scenario: a user may not refund a payment
    Given an order for 1 units of the product
    And the order has been paid by card
    And a signed-in user
    When I refund the payment
    Then the answer is a 403 problem
    And the payment is "succeeded"

Scenario: cancelling a paid order refunds its payment by itself
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin has moved the order to "cancelled"
    Then the payment is refunded in full within ${PAYMENT_WAIT}

Scenario: the provider refunds a cancelled paid order once, in full
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin has moved the order to "cancelled"
    Then the payment is refunded in full within ${PAYMENT_WAIT}
    And the provider refunded the payment once

Scenario: an order whose card payment was refunded in full does not ship, and cancelling it refunds nothing more
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order has been paid by card
    And the admin refunds the payment in full
    And the order shows its payment refunded in full within ${PAYMENT_WAIT}
    When I move the order to "shipped"
    Then the answer is a 409 problem
    And the problem says the order's payment was refunded in full
    When the admin has moved the order to "cancelled"
    Then the payment has been refunded in full
    And the provider refunded the payment once

Scenario: an order refunded in part ships, and shows what went back
    Given an order for 1 units of the product
    And the order has been paid by card
    And the admin refunds half of the payment
    And the order shows half its payment refunded within ${PAYMENT_WAIT}
    When I move the order to "shipped"
    Then the order is "shipped"
    And the order shows half its payment refunded within ${PAYMENT_WAIT}

Scenario: what went back of a sold order's payment is the KPIs' refunded, and net is the GMV less it
    Given an order for 1 units of the product
    And today's KPIs as they are now
    And the order has been paid by card
    And the admin refunds half of the payment
    And the order shows half its payment refunded within ${PAYMENT_WAIT}
    When I request today's KPIs
    Then the answer is 200
    And the KPIs' refunded grew by what went back of the order
    And today's net is the GMV less refunded

Scenario: a refund of more than was paid is a 422 and refunds nothing
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin refunds more than the payment
    Then the answer is a 422 problem
    And the payment is "succeeded"

Scenario: a failed payment cannot be refunded
    Given an order for 1 units of the product
    And I pay the order with a card that is declined
    When the admin refunds the payment in full
    Then the answer is a 409 problem
    And the payment is "failed"

Scenario: refunding a payment nobody made is a 404 problem
    When the admin refunds a payment nobody made
    Then the answer is a 404 problem

# --- webhooks --------------------------------------------------------------------------------
# The refused events claim a failed card payment succeeded: nothing else moves such a payment (no
# reconciliation, no PIX expiry), so what is read after is what only an accepted event would change.

Scenario: a forged webhook is a 400 problem and changes nothing
    Given an order for 1 units of the product
    And I pay the order with a card that is declined
    When someone sends a forged event saying the payment succeeded
    Then the answer is a 400 problem
    And the payment is "failed"
    And the order is "pending"

Scenario: a webhook with a stale signature is a 400 and changes nothing
    [Tags]    local-only
    Given an order for 1 units of the product
    And I pay the order with a card that is declined
    When a success event for the payment comes signed with the webhook secret 600 seconds ago
    Then the answer is a 400 problem
    And the payment is "failed"
    And the order is "pending"

Scenario: a replayed webhook answers 200 and changes nothing
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order has been paid by PIX at the provider
    And the payment as it is now
    When the provider's success event is delivered to Feira again
    Then the answer is 200
    And the payment is unchanged
    And the order was paid once

Scenario: an event the provider delivers again changes nothing
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order has been paid by PIX at the provider
    And the payment as it is now
    When the provider resends its success event signed 0 seconds ago
    Then the webhook route answered the provider 200
    And the payment is unchanged
    And the order was paid once

Scenario: a late processing event after the success leaves the payment succeeded
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order has been paid by card
    When the provider sends a late "payment_intent.processing" event for the payment
    Then the webhook route answered the provider 200
    And the payment is "succeeded"
    And the order was paid once

# --- refusals --------------------------------------------------------------------------------

Scenario: an order with an open payment cannot be paid again
    Given an order for 1 units of the product
    And the order awaits a PIX payment
    When I pay the order by card
    Then the answer is a 409 problem
    And the order has 1 payments

Scenario: only a pending order can be paid
    Given an order for 1 units of the product
    And the admin has moved the order to "paid"
    When I pay the order by card
    Then the answer is a 409 problem
    And the order has 0 payments

Scenario: a payment by a method nobody offers is a 422 naming the method
    Given an order for 1 units of the product
    When I pay the order by "cash"
    Then the answer is 422 naming "method"
    And the order has 0 payments

# --- lost and stale webhooks -----------------------------------------------------------------
# The stand-in drops the next event it makes, whoever's: each comes after scenarios that leave no
# payment behind (a cancelled paid order's refund makes an event).

Scenario: a lost webhook is made good by reconciliation and the order becomes paid
    [Tags]    local-only
    Given reconciliation runs within a minute
    And an order for 1 units of the product
    And the order awaits a PIX payment
    And the provider loses its next webhook
    When the payer pays the PIX at the provider
    Then the provider's success event never reached Feira
    And the order becomes "paid" by payments once reconciliation has run
    And the payment is "succeeded"

Scenario: without a token nobody pays, lists, reads or refunds payments
    Given an order for 1 units of the product
    When I pay without a token
    Then the answer is a 401 problem
    When I list without a token
    Then the answer is a 401 problem
    When I read without a token
    Then the answer is a 401 problem
    When I refund without a token
    Then the answer is a 401 problem
    And the order has 0 payments

# --- idempotency -----------------------------------------------------------------------------

Scenario: a retry with the same Idempotency-Key answers the first payment and charges once
    Given an order for 1 units of the product
    And I pay the order by card with the key "retry"
    When I pay again with the same key
    Then the answer is 201
    And the answer is the first payment again
    And the order has 1 payments

Scenario: a refund retried with the same Idempotency-Key refunds once
    Given an order for 1 units of the product
    And the order has been paid by card
    And the admin refunds half of the payment with the key "refund"
    When the admin refunds half of the payment with the same key
    Then the answer is 200
    And the answer is the first payment again
    And the payment has been refunded by half

Scenario: the same Idempotency-Key with another refund amount is a 409
    Given an order for 1 units of the product
    And the order has been paid by card
    And the admin refunds half of the payment with the key "refund"
    When the admin refunds 0.01 of the payment with the same key
    Then the answer is a 409 problem
    And the problem says the Idempotency-Key was used with another body
    And the payment has been refunded by half

# --- finding ---------------------------------------------------------------------------------

Scenario: the payments of an order are listed and read by id
    Given an order for 1 units of the product
    And I pay the order with a card that is declined
    And I pay the order by card
    When I list the payments with    order_id=${ORDER}[id]
    Then the payments listed are the order's    failed    succeeded
    When I list the payments with    order_id=${ORDER}[id]    status=failed    method=card
    Then the payments listed are the order's    failed
    When I read the payment
    Then the answer is the payment

Scenario: only the admin lists the payments that need review, and a filter must be known
    Given a signed-in user
    When I list the payments needing review
    Then the answer is a 403 problem
    When I list the payments with    status=lost
    Then the answer is 422 naming "status"

Scenario: a payment nobody made is a 404 problem
    When I read a payment nobody made
    Then the answer is a 404 problem

# --- review ----------------------------------------------------------------------------------
# A PIX paid another amount than the payment's is flagged: the order is not paid.

Scenario: the admin marks a flagged payment reviewed, and it leaves the review queue
    [Tags]    local-only
    Given an order for 1 units of the product
    And the order awaits a PIX payment
    And the payer pays the PIX at the provider 1 centavos over its amount
    And the payment is flagged for review within ${PAYMENT_WAIT}
    And the payments needing review hold the payment
    When the admin marks the payment reviewed
    Then the answer is the payment reviewed by the admin
    And the payments needing review leave out the payment
    When the admin marks the payment reviewed
    Then the answer is a 409 problem

Scenario: a payment that is not flagged cannot be marked reviewed
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin marks the payment reviewed with the reason "Looked at"
    Then the answer is a 409 problem
    And the payments needing review leave out the payment

Scenario: a user may not mark a payment reviewed
    Given an order for 1 units of the product
    And the order has been paid by card
    And a signed-in user
    When I mark the payment reviewed with the reason "Looked at"
    Then the answer is a 403 problem

Scenario: marking reviewed needs the reason as read, a token and a payment
    Given an order for 1 units of the product
    And the order has been paid by card
    When the admin marks the payment reviewed without a reason
    Then the answer is 422 naming "review_reason"
    When I review without a token
    Then the answer is a 401 problem
    When the admin marks a payment nobody made reviewed
    Then the answer is a 404 problem

# --- the provider down (fault: runs alone, after the others) ---------------------------------

Scenario: with the provider down a refund and a card payment are 503 problems and nothing is paid
    [Tags]    fault    local-only
    Given an order for 1 units of the product
    And the order has been paid by card
    And the provider is down
    When the admin refunds the payment in full
    Then the answer is a 503 problem
    And the payment is "succeeded"
    Given an order for 1 units of the product
    When I pay the order by card
    Then the answer is a 503 problem
    And the order is "pending"
    [Teardown]    Run Keywords    The provider is up again
    ...    AND    Remove the orders created by this test
    ...    AND    Remove the clients created by this test
    ...    AND    Remove the catalogue created by this test
