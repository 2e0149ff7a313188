*** Settings ***
Documentation       The sales KPIs through the gateway, as API.md specifies `GET
...                 /orders/reports/kpis` under "Orders" and "Who may do what": an order just placed
...                 and paid is counted for its client, product and day, and leads its category in
...                 the catalogue's popularity sort, and counted on the day it is in the time zone
...                 asked for (`tz`); a user is refused; a period or a zone that cannot be is a
...                 422 naming the field. The sales report's totals and a client's row count what
...                 went back of a refunded order (`refunded`, `net`). Every test makes its own client,
...                 product and order, and its teardown cancels and deletes them.
Resource            ../resources/refunds.resource
Resource            ../resources/reports.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           reports


*** Test Cases ***
Scenario: the KPIs count an order just placed and paid
    [Tags]    smoke
    Given a registered client
    And a product priced 900.00 with a stock of 60
    And an order for 50 units of the product
    And the admin has moved the order to "paid"
    When I request today's KPIs
    Then the answer is 200
    And the KPIs rank the client with the order's total in 1 order
    And the KPIs count the product's units and revenue
    And today's GMV is at least the order's total and the sum of the days is the GMV

Scenario: the KPIs of today in a shop's time zone count an order just placed and paid
    Given a registered client
    And a product priced 900.00 with a stock of 60
    And an order for 3 units of the product
    And the admin has moved the order to "paid"
    When I request today's KPIs in "America/Sao_Paulo"
    Then the answer is 200
    And the KPIs say they counted the days of "America/Sao_Paulo"
    And the KPIs count the product's units and revenue
    And today's GMV is at least the order's total and the sum of the days is the GMV

Scenario: the sales report's totals count what went back of a refunded order
    Given a registered client
    And a product with a stock of 5
    And an order for 1 units of the product
    And the order has been paid by card
    And the admin refunds half of the payment
    And the order shows half its payment refunded within ${PAYMENT_WAIT}
    When I request today's sales report by client
    Then the answer is 200
    And the client's row shows what went back of the order, and its net
    And the report's totals sum its rows, what went back and the net included

Scenario: a time zone the zone database does not hold is a 422 naming "tz"
    When I request today's KPIs in "America/Atlantis"
    Then the answer is 422 naming "tz"
    And the problem says "tz" is not a time zone

Scenario: a product just sold leads its category by popularity
    Given a registered client
    And a product with a stock of 5
    And another product with a stock of 5
    And an order for 2 units of the product
    And the admin has moved the order to "paid"
    When I list the test's category by popularity within 15s
    Then the answer is 200
    And the unsold product comes after it

Scenario: the KPIs are the admin's
    Given a signed-in user
    When I request today's KPIs
    Then the answer is a 403 problem

Scenario: without a token nobody reads the KPIs
    When I request the KPIs without a token
    Then the answer is a 401 problem

Scenario: a period that ends before it starts is a 422 naming "to"
    When I request the KPIs from 2026-02-01 to 2026-01-31
    Then the answer is 422 naming "to"

Scenario: a period longer than 366 days is a 422 naming "from"
    When I request the KPIs from 2024-01-01 to 2025-01-01
    Then the answer is 422 naming "from"
