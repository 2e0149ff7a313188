*** Settings ***
Documentation       Orders, through the gateway, as API.md specifies them under "Orders" and "Who may
...                 do what": an order checks its client and products, copies their prices and
...                 reserves the stock; the Idempotency-Key answers a retry with the first answer; the
...                 status workflow releases, commits and gives holdings; users cancel their own
...                 pending orders and the admin does the rest; the lists filter; an address an open
...                 order ships to cannot be deleted, and a shipped order keeps the address it shipped
...                 to (`shipped_to`) when the client edits it; lines of one product add up to at most
...                 1,000,000 units; an external reference (`external_ref`) places one order only.
...                 Every test makes its own clients (and their addresses), products and orders, and
...                 its teardown cancels and deletes the orders before the clients and the catalogue
...                 go.
Resource            ../resources/orders.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           orders


*** Test Cases ***
# --- the purchase journey ----------------------------------------------------------------------

Scenario: a client buys a product, it is paid, shipped and delivered, and the client holds it
    [Tags]    smoke
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    When I place an order for 2 units of the product
    Then the answer is the pending order of 2 units at the product's price
    And the stock is 5 on hand, 2 reserved and 3 available
    When the admin has moved the order to "paid" and then "shipped"
    Then the stock is 3 on hand, 0 reserved and 3 available
    When the admin has moved the order to "delivered"
    Then the client holds 2 of the product within 15s

Scenario: the history records every step with who made it
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 1 units of the product
    When the admin has moved the order to "paid" and then "shipped"
    Then the history is    pending by the user    paid by the admin    shipped by the admin

# --- refusals ----------------------------------------------------------------------------------

Scenario: an order for more than the stock is a 409 naming the short product
    Given a registered client
    And a product with a stock of 2
    And a signed-in user
    When I place an order for 3 units of the product
    Then the answer is a 409 problem
    And the answer names the product as short
    And the stock is 2 on hand, 0 reserved and 2 available
    And the client has 0 orders

Scenario: lines of one product adding up past 1,000,000 units are a 422 naming the items
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    When I place an order for the product in two lines of 600000 units
    Then the answer is 422 naming "items"
    And the client has 0 orders

Scenario: an order for an unknown product is a 422 naming the items
    Given a registered client
    And a signed-in user
    When I place an order for an unknown product
    Then the answer is 422 naming "items"

Scenario: an order for an unknown client is a 422 naming the client
    Given a product with a stock of 2
    And a signed-in user
    When I place an order for an unknown client
    Then the answer is 422 naming "client_id"

Scenario: a delivered order cannot be cancelled
    Given a registered client
    And a product with a stock of 5
    And an order for 1 units of the product
    And the admin has moved the order to "paid" and then "shipped"
    And the admin has moved the order to "delivered"
    When I move the order to "cancelled"
    Then the answer is a 409 problem
    And the order is "delivered"

Scenario: a pending order cannot be shipped
    Given a registered client
    And a product with a stock of 5
    And an order for 1 units of the product
    When I move the order to "shipped"
    Then the answer is a 409 problem
    And the order is "pending"

# --- rights ------------------------------------------------------------------------------------

Scenario: a user may not mark an order as paid
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 1 units of the product
    When I move the order to "paid"
    Then the answer is a 403 problem
    And the order is "pending"

Scenario: a user cancels their own pending order and the stock comes back
    [Tags]    smoke
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 3 units of the product
    When I move the order to "cancelled"
    Then the answer is 200
    And the order is "cancelled"
    And the stock is 5 on hand, 0 reserved and 5 available

Scenario: a user may not delete an order, the admin may delete a pending one
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 2 units of the product
    When I delete the order
    Then the answer is a 403 problem
    When the admin deletes the order
    Then the answer is 204
    And the stock is 5 on hand, 0 reserved and 5 available

Scenario: a paid order cannot be deleted
    Given a registered client
    And a product with a stock of 5
    And an order for 2 units of the product
    And the admin has moved the order to "paid"
    When the admin deletes the order
    Then the answer is a 409 problem
    And the problem detail mentions "paid"
    And the order is "paid"
    And the stock is 5 on hand, 2 reserved and 3 available

Scenario: a product that an order references cannot be deleted, even with no stock on hand
    Given a registered client
    And a product with a stock of 2
    And an order for 2 units of the product
    And the admin has moved the order to "cancelled"
    And the product's stock has been taken off hand
    When I delete the product
    Then the answer is a 409 problem
    And the problem detail mentions "orders reference it"
    And the product is still in the catalogue

Scenario: an address a pending order ships to cannot be deleted
    [Tags]    clients
    Given a registered client
    And the client has an address
    And a product with a stock of 5
    And an order for 1 units of the product, shipped to the address
    When I remove the address
    Then the answer is 409 naming "address_id"
    And the problem names the address and 1 open orders shipping to it
    And the address is unchanged under its client

Scenario: once that order is cancelled its address can be deleted
    [Tags]    clients
    Given a registered client
    And the client has an address
    And a product with a stock of 5
    And an order for 1 units of the product, shipped to the address
    And the admin has moved the order to "cancelled"
    When I remove the address
    Then the answer is 204
    And the address no longer exists

Scenario: a shipped order keeps the address it shipped to when the client edits it
    [Tags]    clients
    Given a registered client
    And the client has an address
    And a product with a stock of 5
    And an order for 1 units of the product, shipped to the address
    And the admin has moved the order to "paid" and then "shipped"
    When I replace the address with new details
    Then the answer is 200
    And the order shipped to the address as it was when it shipped

Scenario: the admin sees a paid order in the sales report by client
    Given a registered client
    And a product with a stock of 5
    And an order for 3 units of the product
    And the admin has moved the order to "paid"
    When I request today's sales report by client
    Then the answer is 200
    And the report counts the client's order: 3 units and its total

Scenario: the sales report is the admin's
    Given a signed-in user
    When I request the sales report by product
    Then the answer is a 403 problem

# --- editing -----------------------------------------------------------------------------------

Scenario: a pending order's items are changed and the reservation follows
    Given a registered client
    And a product with a stock of 5
    And another product with a stock of 4
    And a signed-in user
    And an order for 2 units of the product
    When I change the order's items to 1 of the product and 4 of the other product
    Then the answer is 200
    And the stock is 5 on hand, 1 reserved and 4 available
    And the other product has 4 on hand, 4 reserved and 0 available

Scenario: changing the items beyond the stock is a 409 and changes nothing
    Given a registered client
    And a product with a stock of 3
    And a signed-in user
    And an order for 2 units of the product
    When I change the order's items to 4 of the product
    Then the answer is a 409 problem
    And the answer names the product as short
    And the stock is 3 on hand, 2 reserved and 1 available

Scenario: a user may not change an order another user placed
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 2 units of the product
    And another user has signed in
    When I change the order's items to 1 of the product
    Then the answer is a 403 problem
    And the order still has 2 units of the product
    And the stock is 5 on hand, 2 reserved and 3 available

Scenario: a paid order's items cannot be changed
    Given a registered client
    And a product with a stock of 5
    And an order for 2 units of the product
    And the admin has moved the order to "paid"
    When I change the order's items to 1 of the product
    Then the answer is a 409 problem
    And the problem detail mentions "pending"
    And the order still has 2 units of the product
    And the stock is 5 on hand, 2 reserved and 3 available

# --- idempotency -------------------------------------------------------------------------------

Scenario: a retry with the same Idempotency-Key answers the first order and reserves once
    [Tags]    smoke
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And I place an order for 2 units of the product with the key "retry"
    When I place the same order again with the same key
    Then the answer is 201
    And the answer is the first order again
    And the stock is 5 on hand, 2 reserved and 3 available
    And the client has 1 orders

Scenario: the same Idempotency-Key with another body is a 409
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And I place an order for 2 units of the product with the key "other"
    When I place an order for 3 units with the same key
    Then the answer is a 409 problem
    And the problem says the Idempotency-Key was used with another body
    And the client has 1 orders

# --- the external reference --------------------------------------------------------------------

Scenario: an order with an external reference another order has is a 409 naming that order
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 1 units of the product with an external reference
    When I place an order for 2 units of the product with the same external reference
    Then the answer is a 409 problem
    And the problem names the order that has the external reference
    And the stock is 5 on hand, 1 reserved and 4 available
    And the client has 1 orders

Scenario: the list finds the order with an external reference
    Given a registered client
    And a product with a stock of 5
    And a signed-in user
    And an order for 1 units of the product with an external reference
    And an order for 1 units of the product
    When I list the orders with    external_ref=${EXTERNAL_REF}
    Then the orders listed are the one with the external reference

# --- finding -----------------------------------------------------------------------------------

Scenario: orders are filtered by client, status and category
    Given a registered client
    And a product with a stock of 5
    And a paid order and then a pending order of the product
    When I list the orders with    client_id=${CLIENT}[id]    sort=created_at
    Then the orders listed are    paid    pending
    When I list the orders with    category_id=${PRODUCT}[category_id]    sort=-created_at
    Then the orders listed are    pending    paid
    When I list the orders with    product_id=${PRODUCT}[id]    status=pending
    Then the orders listed are    pending
