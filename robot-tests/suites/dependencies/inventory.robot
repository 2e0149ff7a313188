*** Settings ***
Documentation       With inventory down: orders can neither reserve, change nor release stock, so no
...                 order is placed, changed, deleted or cancelled; and products cannot check a
...                 product's stock before deleting it. The Suite Setup's product has 10 units on
...                 hand, 5 of them reserved by three pending orders (1, 2 and 2 units).
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client
...                     A product with a stock of 10
...                     Pending orders of the product kept to be changed, deleted and cancelled
...                     A product nobody ordered, whose stock inventory knows
...                     AND    The "inventory" service has been stopped
Suite Teardown      Run Keywords    The "inventory" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    inventory    orders


*** Test Cases ***
Scenario: with inventory down an order cannot be placed, and nothing is kept
    Given the "inventory" service is down
    When I place an order for 2 units of the product
    Then the answer is a 503 problem asking to retry later, at once
    And the client has 3 orders

Scenario: with inventory down an order's items cannot change
    Given the "inventory" service is down
    And the pending order kept to be changed
    When I change the order's items to 2 of the product
    Then the answer is a 503 problem asking to retry later, at once
    And the order still has 1 units of the product

Scenario: with inventory down a pending order cannot be deleted
    Given the "inventory" service is down
    And the pending order kept to be deleted
    When the admin deletes the order
    Then the answer is a 503 problem asking to retry later, at once
    And the order is "pending"

Scenario: with inventory down an order cannot be cancelled
    Given the "inventory" service is down
    And the pending order kept to be cancelled
    When I move the order to "cancelled"
    Then the answer is a 503 problem asking to retry later, at once
    And the order is "pending"

Scenario: with inventory down a product cannot be deleted
    [Tags]    products
    Given the "inventory" service is down
    And the product nobody ordered
    When I delete the product
    Then the answer is a 503 problem asking to retry later, at once
    And the product still exists

Scenario: once inventory is back nothing had changed, and every request goes through
    [Tags]    products
    When the "inventory" service is started again
    Then the stock is 10 on hand, 5 reserved and 5 available
    And an order for 2 units of the product can be placed now
    And the order kept to be changed can hold 2 units now, and 8 of 10 units are reserved
    And the order kept to be deleted can be deleted now, and 6 of 10 units are reserved
    And the order kept to be cancelled can be cancelled now, and 4 of 10 units are reserved
    And the product nobody ordered can be deleted now
