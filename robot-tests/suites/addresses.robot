*** Settings ***
Documentation       A client's addresses, through the gateway, as API.md specifies them under
...                 "Clients". Every test registers its own clients (Faker pt_BR data, unique per
...                 run); its teardown has the admin delete them, and their addresses with them.
Resource            ../resources/addresses.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the clients created by this test
...                     AND    Remove the users created by this test

Test Tags           clients    addresses


*** Test Cases ***
Scenario: an address is added with its CEP formatted and no number
    [Tags]    smoke
    Given a registered client
    When I add an address to the client with the cep "01310100" and the number "s/n"
    Then the answer is 201
    And the answer is the new address with the cep "01310-100" and the number "s/n"
    And the answer has a Location header for the new address

Scenario: a user may add an address
    Given a registered client
    And a signed-in user
    When I add an address to the client with the cep "01310-100" and the number "1578"
    Then the answer is 201
    And the answer is the new address with the cep "01310-100" and the number "1578"

Scenario: an address is read under its client
    [Tags]    smoke
    Given a registered client
    And the client has an address
    When I read the address
    Then the answer is 200
    And the answer is the address

Scenario: a client's addresses are listed
    Given a registered client
    And the client has an address
    When I list the client's addresses
    Then the answer is 200
    And the answer is a page holding only the address

Scenario: an address is replaced with PUT
    Given a registered client
    And the client has an address
    When I replace the address with new details
    Then the answer is 200
    And the answer is the address with the new details
    And the address is stored with the new details

Scenario: an address's complement is changed with PATCH
    Given a registered client
    And the client has an address
    When I change the address's complement
    Then the answer is 200
    And the answer is the address with the new details
    And the address is stored with the new details

Scenario: an address is removed
    Given a registered client
    And the client has an address
    When I remove the address
    Then the answer is 204
    And the address no longer exists

Scenario: a user may remove an address
    Given a registered client
    And the client has an address
    And a signed-in user
    When I remove the address
    Then the answer is 204
    And the address no longer exists

Scenario: an address's state is taken in any case and stored upper-case
    Given a registered client
    When I add an address to the client with the state "rj"
    Then the answer is 201
    And the answer is the new address with the state "RJ"
    And the new address is stored as answered

Scenario: a state that is not a UF is refused
    Given a registered client
    When I add an address to the client with the state "XX"
    Then the answer is 422 naming "state"

Scenario: a CEP that is not 8 digits is refused
    Given a registered client
    When I add an address to the client with the cep "1310-100"
    Then the answer is 422 naming "cep"

Scenario: an address is not reached through another client
    Given a registered client
    And the client has an address
    And another registered client
    When I read the address through the other client
    Then the answer is a 404 problem

Scenario: an address is not replaced through another client
    Given a registered client
    And the client has an address
    And another registered client
    When I replace the address through the other client
    Then the answer is a 404 problem
    And the address is unchanged under its client

Scenario: an address is not changed through another client
    Given a registered client
    And the client has an address
    And another registered client
    When I change the address through the other client
    Then the answer is a 404 problem
    And the address is unchanged under its client

Scenario: an address is not removed through another client
    Given a registered client
    And the client has an address
    And another registered client
    When I remove the address through the other client
    Then the answer is a 404 problem
    And the address is unchanged under its client

Scenario: a removed address cannot be removed again
    Given a registered client
    And the client has an address
    And the address has been removed
    When I remove the address
    Then the answer is a 404 problem

Scenario: an address retried with the same Idempotency-Key is added once
    Given a registered client
    And I add an address to the client with the key "form"
    When I add the same address again with the same key
    Then the answer is 201
    And the answer is the first address again
    And the client has 1 addresses

Scenario: the same Idempotency-Key for another client's address is a 409
    Given a registered client
    And another registered client
    And I add an address to the client with the key "form"
    When I add the same address to the other client with the same key
    Then the answer is a 409 problem
    And the problem says the Idempotency-Key was used with another body
    And the other client has 0 addresses

Scenario: an address cannot be added to an unknown client
    Given a client that has been deleted
    When I add an address to the client
    Then the answer is a 404 problem

Scenario: the addresses of an unknown client are a 404
    Given a client that has been deleted
    When I list the client's addresses
    Then the answer is a 404 problem

Scenario: deleting a client deletes its addresses
    Given a registered client
    And the client has an address
    When the admin deletes the client
    Then the answer is 204
    And the address no longer exists
