*** Settings ***
Documentation       A client's favorite products, through the gateway, as API.md specifies them under
...                 "Clients": PUT is idempotent, the list shows each product's name and price, and a
...                 deleted product leaves every list. Every test makes its own client and products;
...                 its teardown has the admin delete the client (its favorites with it), then the
...                 products and their category.
Resource            ../resources/favorites.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           clients    favorites


*** Test Cases ***
Scenario: a product becomes a favorite the first time with a 201
    [Tags]    smoke
    Given a registered client
    And a product
    When I make the product a favorite of the client
    Then the answer is 201
    And the answer is the favorite

Scenario: making a product a favorite again is a 200 and changes nothing
    Given a registered client
    And a product
    And the client has the product as a favorite
    When I make the product a favorite of the client
    Then the answer is 200
    And the answer is the favorite
    When I list the client's favorites
    Then the favorites are the product, with its name and price

Scenario: a user may make a product a favorite of a client
    Given a registered client
    And a product
    And a signed-in user
    When I make the product a favorite of the client
    Then the answer is 201
    And the answer is the favorite

Scenario: the favorites list each product with its name and price
    [Tags]    smoke
    Given a registered client
    And a product
    And the client has the product as a favorite
    When I list the client's favorites
    Then the answer is 200
    And the favorites are the product, with its name and price

Scenario: a product is removed from the favorites
    Given a registered client
    And a product
    And the client has the product as a favorite
    When I remove the product from the client's favorites
    Then the answer is 204
    When I list the client's favorites
    Then the favorites are empty

Scenario: a favorite is read on its own
    Given a registered client
    And a product
    And the client has the product as a favorite
    When I ask whether the product is a favorite of the client
    Then the answer is 200
    And the answer is the favorite as it was added

Scenario: a product the client does not like is not one of its favorites
    Given a registered client
    And a product
    When I ask whether the product is a favorite of the client
    Then the answer is a 404 problem

Scenario: removing a product that is not a favorite is a 404
    Given a registered client
    And a product
    When I remove the product from the client's favorites
    Then the answer is a 404 problem

Scenario: an unknown product cannot become a favorite
    Given a registered client
    And a product that has been deleted
    When I make the product a favorite of the client
    Then the answer is a 404 problem

Scenario: an unknown client cannot have favorites
    Given a client that has been deleted
    And a product
    When I make the product a favorite of the client
    Then the answer is a 404 problem

Scenario: the favorites of an unknown client are a 404
    Given a client that has been deleted
    When I list the client's favorites
    Then the answer is a 404 problem

Scenario: a deleted product vanishes from the favorites
    Given a registered client
    And a product
    And the client has the product as a favorite
    When I delete the product
    Then the answer is 204
    And the product vanishes from the client's favorites within 10s
