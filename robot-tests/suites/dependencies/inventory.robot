*** Settings ***
Documentation       With inventory down: orders can neither reserve, change nor ship stock, so no
...                 order is placed, changed or shipped; a pending order can still be deleted or
...                 cancelled (its release waits in orders' outbox and reaches inventory once it is
...                 back); and products cannot check a product's stock before deleting it. The Suite
...                 Setup's product has 10 units on hand, 6 of them reserved by four orders (1, 2
...                 and 2 units pending, 1 unit paid).
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client
...                     A product with a stock of 10
...                     Orders of the product kept to be changed, deleted, cancelled and shipped
...                     A product nobody ordered, whose stock inventory knows
...                     AND    The "inventory" service has been stopped
Suite Teardown      Run Keywords    The "inventory" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    inventory    orders


*** Variables ***
# The orders relay retries inventory with a backoff of up to 60 s.
${RELEASED_WITHIN}      75s


*** Test Cases ***
Scenario: with inventory down an order cannot be placed, and nothing is kept
    Given the "inventory" service is down
    When I place an order for 2 units of the product
    Then the answer is a 503 problem asking to retry later, at once
    And the client has 4 orders

Scenario: with inventory down an order's items cannot change
    Given the "inventory" service is down
    And the pending order kept to be changed
    When I change the order's items to 2 of the product
    Then the answer is a 503 problem asking to retry later, at once
    And the order still has 1 units of the product

Scenario: with inventory down a paid order cannot be shipped
    Given the "inventory" service is down
    And the paid order kept to be shipped
    When the admin ships the order
    Then the answer is a 503 problem asking to retry later, at once
    And the order is "paid"

Scenario: with inventory down a product cannot be deleted
    [Tags]    products
    Given the "inventory" service is down
    And the product nobody ordered
    When I delete the product
    Then the answer is a 503 problem asking to retry later, at once
    And the product still exists

Scenario: with inventory down a pending order can still be deleted
    Given the "inventory" service is down
    And the pending order kept to be deleted
    When the admin deletes the order
    Then the answer is 204
    And the order no longer exists

Scenario: with inventory down a pending order can still be cancelled
    Given the "inventory" service is down
    And the pending order kept to be cancelled
    When I move the order to "cancelled"
    Then the answer is 200
    And the order is "cancelled"

Scenario: once inventory is back the deleted and cancelled orders' stock is released, and every request goes through
    [Tags]    products
    When the "inventory" service is started again
    Then within ${RELEASED_WITHIN} the stock is 10 on hand, 2 reserved and 8 available
    And an order for 2 units of the product can be placed now
    And the order kept to be changed can hold 2 units now, and 5 of 10 units are reserved
    And the order kept to be shipped can be shipped now, and 4 of 9 units are reserved
    And the product nobody ordered can be deleted now
