*** Settings ***
Documentation       Inventory's reservations, through the gateway: the internal API the orders service
...                 calls (tag `internal` in inventory's OpenAPI document). An order's lines are
...                 reserved all or none (a 409 names what is short), its lines can change while it is
...                 reserved, and it ends released (cancelled: the units are available again) or
...                 committed (shipped: the units leave on hand as a sale), never both. Every test makes
...                 its own products with their stock and reserves for order ids no real order uses;
...                 its teardown releases what is still reserved, takes the stock off hand and has the
...                 admin delete the products and their category.
Resource            ../resources/reservations.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Release the reservations made by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           inventory    reservations


*** Test Cases ***
# --- reserving -------------------------------------------------------------------------------

Scenario: every line of an order is reserved, and what is available drops
    [Tags]    smoke
    Given a product with a stock of 5
    And another product with a stock of 3
    When I reserve 2 of the product and 3 of the other product for a new order
    Then the answer is 201
    And the answer is the reserved reservation of 2 of the product and 3 of the other product
    And the stock is 5 on hand, 2 reserved and 3 available
    And the other product has 3 on hand, 3 reserved and 0 available

Scenario: a reservation beyond the stock is a 409 naming the short product, and nothing is reserved
    Given a product with a stock of 5
    And another product with a stock of 2
    When I reserve 2 of the product and 3 of the other product for a new order
    Then the answer is a 409 problem
    And the answer names the other product as short: 3 requested, 2 available
    And the stock is 5 on hand, 0 reserved and 5 available
    And the other product has 2 on hand, 0 reserved and 2 available
    And the order has no reservation

# --- reading ---------------------------------------------------------------------------------

Scenario: an order's reservation is read by the order's id
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    When I read the order's reservation
    Then the answer is 200
    And the answer is the reserved reservation of 2 of the product

Scenario: an order that was refused its stock has no reservation
    Given a product with a stock of 2
    And an order was refused 3 units of the product
    When I read the order's reservation
    Then the answer is a 404 problem

# --- changing --------------------------------------------------------------------------------

Scenario: a reservation's lines are changed and the stock follows
    Given a product with a stock of 5
    And another product with a stock of 4
    And an order has reserved 2 units of the product for itself
    When I change the reservation to 1 of the product and 4 of the other product
    Then the answer is 200
    And the answer is the reserved reservation of 1 of the product and 4 of the other product
    And the stock is 5 on hand, 1 reserved and 4 available
    And the other product has 4 on hand, 4 reserved and 0 available

Scenario: changing a reservation beyond the stock is a 409 naming the short product, and changes nothing
    Given a product with a stock of 3
    And an order has reserved 2 units of the product for itself
    When I change the reservation to 4 of the product
    Then the answer is a 409 problem
    And the answer names the product as short: 4 requested, 3 available
    And the order's reservation still holds 2 of the product
    And the stock is 3 on hand, 2 reserved and 1 available

Scenario: a released reservation cannot be changed
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    And the reservation has been released
    When I change the reservation to 1 of the product
    Then the answer is a 409 problem
    And the problem detail mentions "released"
    And the stock is 5 on hand, 0 reserved and 5 available

# --- releasing -------------------------------------------------------------------------------

Scenario: releasing a reservation makes its units available again
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    When I release the order's reservation
    Then the answer is 200
    And the answer is the released reservation of 2 of the product
    And the stock is 5 on hand, 0 reserved and 5 available

Scenario: releasing a reservation twice gives nothing back twice
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    And the reservation has been released
    When I release the order's reservation
    Then the answer is 200
    And the answer is the released reservation of 2 of the product
    And the stock is 5 on hand, 0 reserved and 5 available

Scenario: a committed reservation cannot be released
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    And the reservation has been committed
    When I release the order's reservation
    Then the answer is a 409 problem
    And the problem detail mentions "committed"
    And the stock is 3 on hand, 0 reserved and 3 available

# --- committing ------------------------------------------------------------------------------

Scenario: committing a reservation takes its units off hand as a sale
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    When I commit the order's reservation
    Then the answer is 200
    And the answer is the committed reservation of 2 of the product
    And the stock is 3 on hand, 0 reserved and 3 available
    And the product's ledger is, newest first    sale -2    receipt 5

Scenario: a released reservation cannot be committed
    Given a product with a stock of 5
    And an order has reserved 2 units of the product for itself
    And the reservation has been released
    When I commit the order's reservation
    Then the answer is a 409 problem
    And the problem detail mentions "released"
    And the stock is 5 on hand, 0 reserved and 5 available
