*** Settings ***
Documentation       With clients down: orders cannot check the client an order is for, so no order
...                 is placed and no stock is reserved.
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client    A product with a stock of 5
...                     AND    The "clients" service has been stopped
Suite Teardown      Run Keywords    The "clients" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    clients    orders


*** Test Cases ***
Scenario: with clients down an order cannot be placed, and nothing is reserved
    Given the "clients" service is down
    When I place an order for 2 units of the product
    Then the answer is a 503 problem asking to retry later, at once
    And the stock is 5 on hand, 0 reserved and 5 available
    And the client has 0 orders

Scenario: once clients is back the order is placed
    When the "clients" service is started again
    Then an order for 2 units of the product can be placed now
    And the stock is 5 on hand, 2 reserved and 3 available
