*** Settings ***
Documentation       With products down: clients cannot name nor check the products of a client's
...                 favorites, and inventory cannot name the product of a holding.
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Make the suite's data    A registered client    A product
...                     Another product    The client has the product as a favorite
...                     AND    The "products" service has been stopped
Suite Teardown      Run Keywords    The "products" service is up again    AND    Remove the suite's data
...                     AND    Sign out the admin    AND    Close the gateway session
Test Teardown       Keep what this test made for the suite teardown

Test Tags           dependencies    fault    local-only    products    clients


*** Test Cases ***
Scenario: with products down a client's favorites cannot be listed
    Given the "products" service is down
    When I list the client's favorites
    Then the answer is a 503 problem asking to retry later, at once

Scenario: with products down a product cannot become a favorite
    Given the "products" service is down
    When I make the other product a favorite of the client
    Then the answer is a 503 problem asking to retry later, at once
    And the other product is not a favorite of the client

Scenario: with products down a holding cannot be recorded
    [Tags]    inventory
    Given the "products" service is down
    When I add 2 of the product to the client's holdings
    Then the answer is a 503 problem asking to retry later, at once
    And the client's holdings are empty

Scenario: once products is back the favorites are listed and added, and the holding is recorded
    [Tags]    inventory
    When the "products" service is started again
    Then the client's favorites can be listed now
    And the other product can become a favorite now
    And a holding of 2 of the product can be recorded now
