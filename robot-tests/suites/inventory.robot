*** Settings ***
Documentation       Inventory, through the gateway, as API.md specifies it under "Inventory" and "Who
...                 may do what": a product's stock arrives from its creation by an event, admins move
...                 it through an append-only ledger that never takes it below what orders reserved,
...                 the catalogue shows what is available, low stock is listed, and clients' holdings
...                 are checked with clients and products and vanish with the client. A movement or
...                 a holding retried with its Idempotency-Key is recorded once. Stock is
...                 reserved as a client reserves it, by placing an order. Every test makes its own
...                 products, clients and orders; its teardown cancels and deletes the orders (which
...                 gives their units back), takes the stock off hand and has the admin delete the
...                 products, their category and the clients (holdings go with them).
Resource            ../resources/inventory.resource
Resource            ../resources/orders.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           inventory


*** Test Cases ***
# --- stock -----------------------------------------------------------------------------------

Scenario: a product created with an initial stock has it in inventory and the catalogue
    [Tags]    smoke
    When I create a product with an initial stock of 12
    Then the answer is 201
    And the product's stock appears in inventory with 12 on hand
    And the catalogue shows 12 available within 15s

Scenario: a product's stock is read by its product id
    Given a product with a stock of 7
    And a signed-in user
    When I read the product's stock
    Then the answer is 200
    And the answer is the stock: 7 on hand, 0 reserved, 7 available

Scenario: a product with stock on hand cannot be deleted
    Given a product with a stock of 3
    When I delete the product
    Then the answer is a 409 problem
    And the problem detail mentions "on hand"
    And the product is still in the catalogue
    And the stock is 3 on hand, 0 reserved and 3 available

Scenario: the stock of a product inventory does not know is a 404
    Given a product that has been deleted
    When I read the product's stock once inventory has heard of the deletion
    Then the answer is a 404 problem

# --- movements -------------------------------------------------------------------------------

Scenario: a receipt adds to what is on hand and the catalogue follows
    [Tags]    smoke
    Given a product with a stock of 10
    When I record a receipt of 5 units
    Then the answer is 201
    And the answer is the movement, leaving 15 on hand
    And the stock is 15 on hand, 0 reserved and 15 available
    And the catalogue shows 15 available within 15s

Scenario: an adjustment takes units off hand
    Given a product with a stock of 10
    When I record an adjustment of -4 units
    Then the answer is 201
    And the answer is the movement, leaving 6 on hand
    And the stock is 6 on hand, 0 reserved and 6 available

Scenario: the ledger lists every movement, newest first
    Given a product with a stock of 10
    And I record a receipt of 5 units
    And I record a damage of -2 units
    When I read the product's ledger
    Then the answer is 200
    And the ledger holds, newest first    damage -2    receipt 5    receipt 10

Scenario: a movement is read by its id, where its creation said it is
    Given a product with a stock of 10
    And I have recorded a return of 2 units
    And a signed-in user
    When I read the movement
    Then the answer is 200
    And the answer is the movement, where its Location said

Scenario: a movement is not found under another product's stock
    Given a product with a stock of 10
    And another product with a stock of 4
    And I have recorded a return of 2 units
    When I read the movement under the other product
    Then the answer is a 404 problem

Scenario: a movement cannot take the stock below what orders reserved
    Given a product with a stock of 5
    And an order has reserved 4 units of the product
    When I record a damage of -2 units
    Then the answer is a 409 problem
    And the problem detail mentions "reserved"
    And the stock is 5 on hand, 4 reserved and 1 available

Scenario: a movement retried with the same Idempotency-Key is recorded once
    Given a product with a stock of 10
    And I record a receipt of 5 units with the key "nf-4471"
    When I record a receipt of 5 units with the same key
    Then the answer is 201
    And the answer is the first movement again
    And the stock is 15 on hand, 0 reserved and 15 available

Scenario: the same Idempotency-Key with another movement is a 409
    Given a product with a stock of 10
    And I record a receipt of 5 units with the key "nf-4472"
    When I record a receipt of 6 units with the same key
    Then the answer is a 409 problem
    And the problem says the Idempotency-Key was used with another body
    And the stock is 15 on hand, 0 reserved and 15 available

Scenario: a reason that is not documented is refused
    Given a product with a stock of 5
    When I record a theft of -1 units
    Then the answer is 422 naming "reason"

Scenario: a movement of zero units is refused
    Given a product with a stock of 5
    When I record a receipt of 0 units
    Then the answer is 422 naming "quantity"

Scenario: a user may not move stock
    Given a product with a stock of 5
    And a signed-in user
    When I record a receipt of 5 units
    Then the answer is a 403 problem
    And the stock is 5 on hand, 0 reserved and 5 available

# --- low stock -------------------------------------------------------------------------------

Scenario: low stock lists what is at or below its reorder level, and only that
    Given a product with a stock of 3
    And another product with a stock of 10
    And the reorder level of the product is 5
    And the reorder level of the other product is 5
    When I list the low stock of the product
    Then the answer is 200
    And the low stock holds the product
    When I list the low stock of the other product
    Then the low stock does not hold the other product

Scenario: the admin sets a product's reorder level
    Given a product with a stock of 4
    When I set the reorder level of the product to 6
    Then the answer is 200
    And the answer is the stock: 4 on hand, 0 reserved, 4 available
    And the answer has the reorder level 6
    And the stock keeps the reorder level 6

# --- holdings --------------------------------------------------------------------------------

Scenario: a product is added to a client's holdings with its name
    [Tags]    smoke
    Given a registered client
    And a product
    When I add 2 of the product to the client's holdings
    Then the answer is 201
    And the answer is the holding of 2, with the product's name

Scenario: a client's holdings are listed
    Given a registered client
    And a product
    And the client holds 1 of the product
    When I list the client's holdings
    Then the answer is 200
    And the holdings are the one holding

Scenario: a holding is read by its id
    Given a registered client
    And a product
    And the client holds 2 of the product
    And a signed-in user
    When I read the holding
    Then the answer is 200
    And the answer is the holding

Scenario: a holding is removed
    Given a registered client
    And a product
    And the client holds 1 of the product
    When I remove the holding
    Then the answer is 204
    And the client's holdings are empty

Scenario: a deleted client's holdings vanish
    Given a registered client
    And a product
    And the client holds 3 of the product
    When the admin deletes the client
    Then the answer is 204
    And the client's holdings vanish within 15s

Scenario: a holding for an unknown client is a 404 naming the client
    Given a client that has been deleted
    And a product
    When I add 1 of the product to the client's holdings
    Then the answer is 404 naming "client_id"

Scenario: a holding of an unknown product is a 404 naming the product
    Given a registered client
    And a product that has been deleted
    When I add 1 of the product to the client's holdings
    Then the answer is 404 naming "product_id"

Scenario: a holding of zero units is refused
    Given a registered client
    And a product
    When I add 0 of the product to the client's holdings
    Then the answer is 422 naming "quantity"

Scenario: a holding retried with the same Idempotency-Key is added once
    Given a registered client
    And a product
    And I add 2 of the product to the client's holdings with the key "hold"
    When I add 2 of the product to the client's holdings with the same key
    Then the answer is 201
    And the answer is the first holding again
    And the client has 1 holdings

Scenario: the same Idempotency-Key with another holding is a 409
    Given a registered client
    And a product
    And I add 2 of the product to the client's holdings with the key "hold"
    When I add 3 of the product to the client's holdings with the same key
    Then the answer is a 409 problem
    And the problem says the Idempotency-Key was used with another body
    And the client has 1 holdings
