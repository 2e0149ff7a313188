*** Settings ***
Documentation     The console (/console) in headless Chromium, as its users meet it: signing up and
...               in, an admin adding a product with a picture, a user renaming a client whose
...               phone they read masked, a user placing an order that an admin ships, the
...               dashboard's GMV against the KPI API, and the refusals (a user on the users
...               page, a form posted without its CSRF token). One browser for the suite; a
...               screenshot of where each scenario ended is in the log.

Resource          ../resources/console.resource
Resource          ../resources/console_products.resource

Suite Setup       Run Keywords    Open the gateway session
...                   AND    Open the console in headless Chromium
Suite Teardown    Run Keywords    Close All Browsers    AND    Sign out the admin
...                   AND    Close the gateway session
Test Teardown     Run Keywords    Leave the console
...                   AND    Remove the orders created by this test
...                   AND    Remove the clients created by this test
...                   AND    Remove the catalogue created by this test
...                   AND    Remove the users created by this test
...                   AND    Remove the collector sources created by this test

Test Tags         console


*** Test Cases ***
Scenario: a new user signs up, signs out and signs in again
    [Tags]    smoke
    When I sign up in the console with fresh details
    Then the console shows the dashboard
    And the console greets "${CONSOLE_ACCOUNT}[name]"
    And the browser holds no token
    When I sign out of the console
    And I sign in to the console with those details
    Then the console shows the dashboard
    And the console greets "${CONSOLE_ACCOUNT}[name]"

Scenario: wrong passwords in one browser do not lock the account out of the console in another
    Given a registered user
    When someone in a browser of their own signs in to the console with wrong passwords until told to wait
    Then their console refused ${LOGIN_MAX_FAILURES} times and then asked them to wait
    When the user signs in to the console in a browser of their own
    Then the console signed them in

Scenario: the gateway throttles a burst of console sign-ins from one address
    When I send more console sign-ins than the burst allows from an address of my own
    Then at least one answer is a 429 page in Portuguese asking to retry later

Scenario: an admin creates a product with a picture and sees it listed
    Given a signed-in admin in the console
    When I create a product with a picture in the console
    Then the product is listed with its picture

Scenario: a user places an order and an admin ships it
    Given a client and a product with stock for the user
    And a signed-in user in the console
    When I place an order for 2 units of the product in the console
    Then the order page shows it "pending"
    When I sign out of the console
    And a signed-in admin in the console
    And I take the order's action "paid"
    And I take the order's action "shipped"
    Then the order page shows it "shipped"
    And the API has the order "shipped"

Scenario: a user renames a client without touching the phone they read masked
    Given a client with a phone, registered by the admin
    And a signed-in user in the console
    When I rename the client in the console, leaving its phone field as it is
    Then the console shows the client renamed
    And the API has the client renamed with its phone unchanged

Scenario: the orders list filtered to today, the shop's day, shows the order placed now
    Given a client and a product with stock for the user
    And a signed-in user in the console
    When I place an order for 1 units of the product in the console
    And I list the orders created from today to today, the shop's day
    Then the order is in the list

Scenario: a product chosen by name on the new-order form is the one ordered
    Given a client and a product with stock for the user
    And a signed-in user in the console
    When I search the new-order form's products for the product's name
    Then each line offers the product by name and price
    When I place the order with the product chosen on line 1
    Then the order page shows it "pending"
    And the order page lists the product by name

Scenario: an order line the API refuses is named on that line
    Given a client and a product with stock for the user
    And a signed-in user in the console
    When I send a new order whose line 2 asks for 2000000 units
    Then the console names the refusal on line 2's quantity, in Portuguese
    And the new-order form is shown again with line 1 as typed

Scenario: the stock ledger names who made each movement
    Given a product with a stock of 10
    And a signed-in admin in the console
    When I record a receipt of 3 units on the product's stock page
    Then the ledger's newest movement is by the admin, by name
    And the ledger's initial stock is by the system

Scenario: a category past the first hundred is offered on the product form
    Given 101 categories
    And a signed-in admin in the console
    When I open the new product form
    Then its category select offers each of those categories

Scenario: the collector page pages its sources
    Given 51 collector sources
    And a signed-in admin in the console
    When I open the collector page
    Then its sources pager leads to a second page of other sources

Scenario: the dashboard's GMV is the KPI API's for the same period
    Given a signed-in admin in the console
    When I open the dashboard for the last 30 days
    Then the dashboard's GMV is the KPI API's for the same period

Scenario: a user is refused the users page
    Given a signed-in user in the console
    When I open the users page
    Then the console refuses with its 403 page

Scenario: a form posted without its CSRF token is refused
    Given a signed-in admin in the console
    When I send the category form without its CSRF token
    Then the console refuses with its 400 page
