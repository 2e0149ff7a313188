*** Settings ***
Documentation       With orders down: clients cannot tell whether a client has orders or whether
...                 open orders ship to an address, nor products whether a product is on one, so none
...                 of them is deleted; the gateway's health of orders is a 503 problem.
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client
...                     The client has an address    A product
...                     AND    The "orders" service has been stopped
Suite Teardown      Run Keywords    The "orders" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    orders


*** Test Cases ***
Scenario: the health of a stopped service is a 503 problem
    When I request "/health/orders"
    Then the answer is a 503 problem asking to retry later, at once

Scenario: a service the stack does not run has no health
    When I request "/health/no-such-service"
    Then the answer is a 404 problem

Scenario: with orders down a client cannot be deleted
    [Tags]    clients
    Given the "orders" service is down
    When the admin deletes the client
    Then the answer is a 503 problem asking to retry later, at once
    And the client still exists

Scenario: with orders down an address cannot be deleted
    [Tags]    clients
    Given the "orders" service is down
    When I remove the address
    Then the answer is a 503 problem asking to retry later, at once
    And the address is unchanged under its client

Scenario: with orders down a product cannot be deleted
    [Tags]    products
    Given the "orders" service is down
    When I delete the product
    Then the answer is a 503 problem asking to retry later, at once
    And the product still exists

Scenario: once orders is back it is healthy, and the address, the client and the product can be deleted
    [Tags]    clients    products
    When the "orders" service is started again
    And I request "/health/orders"
    Then the answer is 200
    And the health answer is "ok"
    And the address has been removed
    And the client can be deleted now
    And the product can be deleted now
