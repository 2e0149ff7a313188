*** Settings ***
Documentation       With clients down: orders still places an order for a client it has heard of
...                 (its read model, fed by clients' events), but cannot check a client it has not:
...                 that order is a 503 and no stock is reserved.
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client    A product with a stock of 5
...                     AND    The "clients" service has been stopped
Suite Teardown      Run Keywords    The "clients" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    clients    orders


*** Test Cases ***
Scenario: with clients down an order for a client orders has heard of is placed
    Given the "clients" service is down
    # client.created reaches orders through clients' relay, which runs on: within a second.
    Then Wait Until Keyword Succeeds    5s    0.5s
    ...    An order for 2 units of the product can be placed now
    And the stock is 5 on hand, 2 reserved and 3 available

Scenario: with clients down an order for a client orders has not heard of cannot be placed
    Given the "clients" service is down
    When I place an order for an unknown client
    Then the answer is a 503 problem asking to retry later, at once
    And the stock is 5 on hand, 2 reserved and 3 available

Scenario: once clients is back the unknown client is refused by name
    When the "clients" service is started again
    And I place an order for an unknown client
    Then the answer is 422 naming "client_id"
    And the stock is 5 on hand, 2 reserved and 3 available
