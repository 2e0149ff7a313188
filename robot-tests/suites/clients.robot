*** Settings ***
Documentation       Clients, through the gateway, as API.md specifies them under "Clients" and
...                 "Who may do what". Every test registers its own clients (Faker pt_BR data, unique
...                 per run) and its teardown has the admin delete them; the orders and products a
...                 test made to keep a client are removed first.
Resource            ../resources/client_phones.resource
Resource            ../resources/clients.resource
Resource            ../resources/orders.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           clients


*** Test Cases ***
# --- creating ------------------------------------------------------------------------------

Scenario: a client is registered with its CPF formatted and its email lower-cased
    [Tags]    smoke
    Given a signed-in admin
    When I create a client with a bare CPF and a capitalised email
    Then the answer is 201
    And the answer is the new client as sent
    And the answer has a Location header for the new client

Scenario: a user may register a client
    Given a signed-in user
    When I create a client
    Then the answer is 201
    And the answer is the new client as sent

Scenario: a CPF whose check digits are wrong is refused
    Given a signed-in admin
    When I create a client with an invalid CPF
    Then the answer is 422 naming "cpf"

Scenario: a CPF of one repeated digit is refused
    Given a signed-in admin
    When I create a client with a CPF of one repeated digit
    Then the answer is 422 naming "cpf"

Scenario: an invalid email is refused
    Given a signed-in admin
    When I create a client with the email "ana.example.com"
    Then the answer is 422 naming "email"

Scenario: a negative balance is refused
    Given a signed-in admin
    When I create a client with the balance "-0.01"
    Then the answer is 422 naming "balance"

Scenario: a client without a name is refused
    Given a signed-in admin
    When I create a client without a name
    Then the answer is 422 naming "name"

Scenario: an email is registered only once
    Given a registered client
    When I create a client with the client's email
    Then the answer is a 409 problem

Scenario: an email is registered only once, whatever its case
    Given a registered client
    When I create a client with the client's email in capitals
    Then the answer is a 409 problem

Scenario: a CPF is registered only once
    Given a registered client
    When I create a client with the client's CPF formatted
    Then the answer is a 409 problem

Scenario: a CPF is registered only once, whatever its form
    Given a registered client
    When I create a client with the client's CPF bare
    Then the answer is a 409 problem

# --- reading and finding ---------------------------------------------------------------------

Scenario: a client is read by its id
    [Tags]    smoke
    Given a registered client
    When I read the client
    Then the answer is 200
    And the answer is the client

Scenario: clients are listed a page at a time
    [Tags]    smoke
    Given a registered client
    When I list clients
    Then the answer is 200
    And the answer is a page of clients

Scenario: clients are found by any part of their name, whatever its case
    Given a registered client named "Ana Clara"
    And a registered client named "Bruno"
    When I list clients named "CLARA"
    Then the answer is 200
    And the page holds only the client named "Ana Clara"

Scenario: clients are found by their name without its accents, every word in any order
    Given a registered client named "Maria da Conceição Araújo"
    And a registered client named "Maria Araújo"
    When I list clients named "araujo CONCEICAO maria"
    Then the answer is 200
    And the page holds only the client named "Maria da Conceição Araújo"

Scenario: the admin finds a client by its mobile in any writing
    Given a registered client with a mobile of its own
    And a signed-in admin
    When I list clients with the client's mobile written as "(11) 9xxxx-xxxx"
    Then the answer is 200
    And the page holds only the client

Scenario: a user may not find clients by phone, which would unmask a phone's hidden digits
    Given a registered client with a mobile of its own
    And a signed-in user
    When I list clients with the client's mobile written as "(11) 9xxxx-xxxx"
    Then the answer is a 403 problem

Scenario: a new phone number withdraws the client's WhatsApp consent, given for the old one
    Given a client with the phone "+5511912345678" who opted in to WhatsApp
    When I change the client's phone to another number
    Then the client's WhatsApp consent is withdrawn

Scenario: the same phone number written otherwise keeps the client's WhatsApp consent
    Given a client with the phone "+5511912345678" who opted in to WhatsApp
    When I change the client's phone to the same number written otherwise
    Then the client's WhatsApp consent is kept

Scenario: a phone that is not a Brazilian mobile is refused as a filter
    Given a signed-in admin
    When I list clients with "phone=1134567890"
    Then the answer is 422 naming "phone"

Scenario: a client is found by its email, whatever its case
    Given a registered client
    When I list clients with the client's email in capitals
    Then the answer is 200
    And the page holds only the client

Scenario: a client is found by its CPF formatted
    Given a registered client
    When I list clients with the client's CPF formatted
    Then the answer is 200
    And the page holds only the client

Scenario: a client is found by its CPF bare
    Given a registered client
    When I list clients with the client's CPF bare
    Then the answer is 200
    And the page holds only the client

Scenario: a later page holds the clients after the earlier ones
    Given a registered client named "Carla"
    And a registered client named "Ana"
    And a registered client named "Bruno"
    When I list this test's clients 1 per page, page 2
    Then the answer is page 2 of the list, 1 per page
    And the page holds, in order, the clients named    Bruno
    And the total is 3

Scenario: clients are sorted by name
    Given a registered client named "Carla"
    And a registered client named "Ana"
    And a registered client named "Bruno"
    When I list this test's clients sorted by "name"
    Then the answer is 200
    And the page holds, in order, the clients named    Ana    Bruno    Carla

Scenario: clients are sorted by creation, newest first
    Given a registered client named "Ana"
    And a registered client named "Bruno"
    And a registered client named "Carla"
    When I list this test's clients sorted by "-created_at"
    Then the answer is 200
    And the page holds, in order, the clients named    Carla    Bruno    Ana

Scenario: an unknown query parameter is refused
    Given a signed-in admin
    When I list clients with "colour=blue"
    Then the answer is 422 naming "colour"

Scenario: an unknown sort field is refused
    Given a signed-in admin
    When I list clients with "sort=balance"
    Then the answer is 422 naming "sort"

Scenario: asking whether an existing client exists is a 200
    Given a registered client
    When I ask whether the client exists
    Then the answer is 200

Scenario: asking whether an unknown client exists is a 404
    Given a client that has been deleted
    When I ask whether the client exists
    Then the answer is 404

Scenario: an unknown client is a 404
    Given a client that has been deleted
    When I read the client
    Then the answer is a 404 problem

Scenario: a request without a token is refused
    When I list clients without a token
    Then the answer is a 401 problem
    And the answer has the header "WWW-Authenticate" starting with "Bearer"

# --- changing --------------------------------------------------------------------------------

Scenario: a client is replaced with PUT
    Given a registered client
    When I replace the client with new details
    Then the answer is 200
    And the answer is the client with the new details
    And the client is stored with the new details

Scenario: a client's name is changed with PATCH
    Given a registered client
    When I change the client's name
    Then the answer is 200
    And the answer is the client with the new details
    And the client is stored with the new details

Scenario: a user may change a client
    Given a registered client
    And a signed-in user
    When I change the client's name
    Then the answer is 200
    And the answer is the client with the new details

Scenario: another client's email is refused with PUT
    Given a registered client
    And another registered client
    When I give the other client the client's email with PUT
    Then the answer is a 409 problem

Scenario: another client's email is refused with PATCH
    Given a registered client
    And another registered client
    When I give the other client the client's email with PATCH
    Then the answer is a 409 problem

Scenario: another client's CPF is refused with PUT
    Given a registered client
    And another registered client
    When I give the other client the client's CPF with PUT
    Then the answer is a 409 problem

Scenario: another client's CPF is refused with PATCH
    Given a registered client
    And another registered client
    When I give the other client the client's CPF with PATCH
    Then the answer is a 409 problem

Scenario: replacing an unknown client is a 404
    Given a client that has been deleted
    When I replace the client with new details
    Then the answer is a 404 problem

Scenario: changing an unknown client is a 404
    Given a client that has been deleted
    When I change the client's name
    Then the answer is a 404 problem

# --- deleting --------------------------------------------------------------------------------

Scenario: an admin deletes a client
    [Tags]    smoke
    Given a registered client
    When the admin deletes the client
    Then the answer is 204
    And the client no longer exists

Scenario: a client with an open order cannot be deleted
    Given a registered client
    And a product with a stock of 5
    And an order for 1 units of the product
    When the admin deletes the client
    Then the answer is a 409 problem
    And the client still exists

Scenario: a client whose only order was cancelled can be deleted
    Given a registered client
    And a product with a stock of 5
    And an order for 1 units of the product
    And the admin has moved the order to "cancelled"
    When the admin deletes the client
    Then the answer is 204
    And the client no longer exists

Scenario: a user may not delete a client
    Given a registered client
    And a signed-in user
    When the user deletes the client
    Then the answer is a 403 problem
    And the client still exists

Scenario: deleting an unknown client is a 404
    Given a client that has been deleted
    When the admin deletes the client
    Then the answer is a 404 problem
