*** Settings ***
Documentation       Categories, through the gateway, as API.md specifies them under "Products and
...                 categories": everyone signed in reads them, the admin writes them, and a category
...                 that still has products stays. Every test makes its own categories (unique per
...                 run) and its teardown has the admin delete them and what is in them.
Resource            ../resources/products.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           categories


*** Test Cases ***
Scenario: the admin creates a category
    [Tags]    smoke
    Given a signed-in admin
    When I create a category
    Then the answer is 201
    And the answer is the new category as sent
    And the answer has a Location header for the new category

Scenario: a category is read by its id
    [Tags]    smoke
    Given a category
    When I read the category
    Then the answer is 200
    And the answer is the category

Scenario: a user may read a category
    Given a category
    And a signed-in user
    When I read the category
    Then the answer is 200
    And the answer is the category

Scenario: categories are listed a page at a time
    Given a category
    When I list the categories sorted by "-created_at", 100 per page
    Then the answer is 200
    And the answer is a page of categories holding the category

Scenario: an unchanged category is not sent again to a caller holding its ETag
    Given a category
    And I have read the category
    When I read the category again with the ETag I have
    Then the answer is 304
    And the answer has no body

Scenario: a renamed category is sent again despite the old ETag
    Given a category
    And I have read the category
    And the category has been renamed
    When I read the category again with the ETag I have
    Then the answer is 200
    And the answer has an ETag other than the one I have
    And the answer is the category

Scenario: an unchanged page of categories is not sent again to a caller holding its ETag
    Given a category
    And I have listed the categories
    When I list the categories again with the ETag I have
    Then the answer is 304
    And the answer has no body

Scenario: a name is used by one category only
    Given a category
    When I create a category with the category's name
    Then the answer is 409 naming "name"

Scenario: a category cannot take another category's name
    Given a category
    And another category
    When I give the other category the category's name
    Then the answer is 409 naming "name"

Scenario: a category cannot be replaced with another category's name
    Given a category
    And another category
    When I replace the other category with the category's name
    Then the answer is 409 naming "name"
    And the other category still has its own name

Scenario: an unknown category is a 404
    Given a category that has been deleted
    When I read the category
    Then the answer is a 404 problem

Scenario: the admin replaces a category with PUT
    Given a category
    When I replace the category with new details
    Then the answer is 200
    And the answer is the category with the new details
    And the category is stored with the new details

Scenario: the admin renames a category with PATCH
    Given a category
    When I rename the category
    Then the answer is 200
    And the answer is the category with the new details
    And the category is stored with the new details

Scenario: changing an unknown category is a 404
    Given a category that has been deleted
    When I rename the category
    Then the answer is a 404 problem

Scenario: the admin deletes a category
    [Tags]    smoke
    Given a category
    When I delete the category
    Then the answer is 204
    And the category no longer exists

Scenario: deleting an unknown category is a 404
    Given a category that has been deleted
    When I delete the category
    Then the answer is a 404 problem

Scenario: a category that still has products cannot be deleted
    Given a category
    And the category has a product
    When I delete the category
    Then the answer is a 409 problem
    And the category still exists

Scenario: a user may not create a category
    Given a signed-in user
    When I create a category
    Then the answer is a 403 problem

Scenario: a user may not change a category
    Given a category
    And a signed-in user
    When I rename the category
    Then the answer is a 403 problem
    And the category still exists

Scenario: a user may not delete a category
    Given a category
    And a signed-in user
    When I delete the category
    Then the answer is a 403 problem
    And the category still exists
