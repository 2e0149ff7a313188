*** Settings ***
Documentation     axe-core (vendored, robot-tests/vendor/axe-core) on each main page of the console
...               in headless Chromium: no serious or critical violation. Signed in as the admin,
...               who sees every page.

Resource          ../resources/console.resource

Suite Setup       Run Keywords    Open the gateway session
...                   AND    Open the console in headless Chromium
Suite Teardown    Run Keywords    Close All Browsers    AND    Close the gateway session
Test Teardown     Leave the console

Test Tags         console    accessibility


*** Test Cases ***
Scenario: the sign-in and sign-up pages pass axe-core
    Axe finds no serious or critical violation on "/console/login"
    Axe finds no serious or critical violation on "/console/register"

Scenario: the dashboard and the sales pages pass axe-core for the admin
    [Setup]    A signed-in admin in the console
    [Template]    Axe finds no serious or critical violation on "${path}"
    /console/
    /console/orders
    /console/orders/new
    /console/clients
    /console/clients/new
    /console/account

Scenario: the catalogue pages pass axe-core for the admin
    [Setup]    A signed-in admin in the console
    [Template]    Axe finds no serious or critical violation on "${path}"
    /console/products
    /console/products/new
    /console/products/import
    /console/categories
    /console/stock

Scenario: the admin's own pages pass axe-core
    [Setup]    A signed-in admin in the console
    [Template]    Axe finds no serious or critical violation on "${path}"
    /console/users
    /console/collector
    /console/notifications
    /console/payments/review
