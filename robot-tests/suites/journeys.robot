*** Settings ***
Documentation       Journeys through the gateway that string several services together, as an API
...                 client lives them (API.md): a client's whole life, a purchase from the catalogue to
...                 the client's holdings, a catalogue import, and a user who loses access when the
...                 admin deactivates them. The domain suites pin each rule alone; these show the
...                 rules hold together, events included. Every test makes its own data and its
...                 teardown removes it: orders first, then clients, the catalogue and the accounts.
Resource            ../resources/journeys.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           journeys


*** Test Cases ***
Scenario: a client with addresses, a favorite and a holding is deleted with all it had
    [Tags]    clients    products    inventory
    Given a product
    And a signed-in user
    And a client I registered with two addresses
    And I have made the product the client's favorite and renamed the client
    And the admin has recorded that the client holds 1 of the product
    And the client has its addresses, the product as a favorite and the holding
    When the admin deletes the client
    Then the answer is 204
    And the client, its addresses and its favorites are gone
    And the client's holding vanishes within 15s

Scenario: a product goes from the catalogue to a client's holdings, paid, shipped and delivered
    [Tags]    products    inventory    clients    orders
    Given a product named "Cafeteira" that the admin put in a new category with a stock of 5
    And a signed-in user who finds the product in the catalogue
    And a client I registered with two addresses
    When I order 2 units of the product for delivery to the address, with an Idempotency-Key
    Then the answer is the pending order of 2 units at the product's price, to the address
    And the stock is 5 on hand, 2 reserved and 3 available
    When the admin has moved the order to "paid" and then "shipped"
    Then the stock is 3 on hand with nothing reserved for the order
    When the admin has moved the order to "delivered"
    Then the client holds 2 of the product within 15s

Scenario: a catalogue is imported, listed, and imported again without duplicates
    [Tags]    products
    Given a product named "Teclado"
    When I import "Mouse", "Webcam", a new price for the product and a bad barcode
    Then the answer is 200
    And the import created 2, updated 1 and rejected row 3 naming "barcode"
    And the category holds, by name, only the products named    Mouse    Teclado    Webcam
    When I import the same rows again
    Then the answer is 200
    And the import created 0, updated 3 and rejected row 3 naming "barcode"
    And the category holds, by name, only the products named    Mouse    Teclado    Webcam
    And the imported products are stored as their rows say

Scenario: a deactivated user loses access within 5 seconds and regains it when reactivated
    [Tags]    auth    clients
    Given a signed-in user who has registered a client
    And a signed-in admin
    When the admin deactivates the user
    Then the answer is 200
    And the user's access token stops opening the client within 5 seconds
    And the user's refresh token stops working within 5 seconds
    And the user cannot log in
    When the admin reactivates the user
    Then the answer is 200
    And the user can log in again and read the client
