*** Settings ***
Documentation       The gateway's own routes, as API.md lists them under "Public routes": its health
...                 and each service's readiness, the API documentation, product pictures, and
...                 routes it keeps to itself or does not have: the token verifier, inventory's
...                 reservations, which orders makes at inventory directly (an outside caller, even
...                 the admin, could otherwise reserve, release or commit anyone's stock), and auth's
...                 door for the console's sign-in form (`/auth/vouched`). No OpenAPI
...                 document describes them as the gateway answers them; `tools/route_coverage.py`
...                 lists them as `GATEWAY_ROUTES`. A test that needs a reservation places a real
...                 order; its teardown cancels and deletes the orders, then removes the clients, the
...                 catalogue and the accounts it made.
Resource            ../resources/gateway.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Run Keywords    Remove the orders created by this test
...                     AND    Remove the clients created by this test
...                     AND    Remove the catalogue created by this test
...                     AND    Remove the users created by this test

Test Tags           gateway


*** Test Cases ***
# --- health ------------------------------------------------------------------------------------

Scenario: the gateway reports itself healthy
    [Tags]    smoke
    When I request "/health"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the gateway

Scenario: the gateway reports auth ready
    [Tags]    smoke
    When I request "/health/auth"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the service "auth" with its database ready

Scenario: the gateway reports clients ready
    When I request "/health/clients"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the service "clients" with its database ready

Scenario: the gateway reports products ready
    When I request "/health/products"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the service "products" with its database ready

Scenario: the gateway reports inventory ready
    When I request "/health/inventory"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the service "inventory" with its database ready

Scenario: the gateway reports orders ready
    When I request "/health/orders"
    Then the answer is 200
    And the health answer is "ok"
    And the health answer names the service "orders" with its database ready

Scenario: a service the stack does not have has no health
    When I request "/health/no-such-service"
    Then the answer is a 404 problem

# --- documentation -------------------------------------------------------------------------------

Scenario: the API documentation offers every service's OpenAPI document
    [Tags]    smoke
    When I request "/docs"
    Then the answer is 200
    And the answer is an HTML page
    And the page offers every service's OpenAPI document

Scenario: the console's sign-in page is public
    [Tags]    console
    When I request "/console/login"
    Then the answer is 200
    And the answer is an HTML page

# --- pictures and what the gateway keeps to itself -----------------------------------------------

Scenario: a picture nobody uploaded is a 404 problem
    When I fetch a picture nobody uploaded
    Then the answer is a 404 problem

Scenario: the token verifier cannot be reached from outside, even with a good token
    Given a signed-in user
    When the user asks the token verifier who they are
    Then the answer is a 404 problem
    And the answer says nothing about the caller

Scenario: the console's doors at auth cannot be reached from outside, whatever address is vouched for
    [Documentation]    Only the console may tell auth which browser a sign-in or a sign-up comes
    ...    from; through the gateway, naming an address of one's own would dodge the per-address
    ...    throttles.
    [Tags]    auth
    Given a registered user
    When the user signs in at auth's console door vouching for the address "198.51.100.7"
    Then the answer is a 404 problem
    When someone signs up at auth's console door vouching for the address "198.51.100.7"
    Then the answer is a 404 problem
    And nobody can sign in with that sign-up

Scenario: stock cannot be reserved through the gateway, even by the admin
    [Tags]    inventory
    Given a product with a stock of 5
    When the admin reserves 2 units of the product through the gateway
    Then the answer is a 404 problem
    And the stock is 5 on hand, 0 reserved and 5 available

Scenario: an order's reservation cannot be read through the gateway, even by the admin
    [Tags]    inventory    orders
    Given a product with a stock of 5
    And an order has reserved 2 units of the product
    When the admin reads the order's reservation
    Then the answer is a 404 problem
    And the answer says nothing of the reservation

Scenario: an order's reservation cannot be changed through the gateway, even by the admin
    [Tags]    inventory    orders
    Given a product with a stock of 5
    And an order has reserved 2 units of the product
    When the admin changes the order's reservation to 5 units of the product
    Then the answer is a 404 problem
    And the stock is 5 on hand, 2 reserved and 3 available
    And the order still has 2 units of the product

Scenario: an order's reservation cannot be released through the gateway, even by the admin
    [Tags]    inventory    orders
    Given a product with a stock of 5
    And an order has reserved 2 units of the product
    When the admin releases the order's reservation
    Then the answer is a 404 problem
    And the stock is 5 on hand, 2 reserved and 3 available
    And the order is "pending"

Scenario: an order's reservation cannot be committed through the gateway, even by the admin
    [Tags]    inventory    orders
    Given a product with a stock of 5
    And an order has reserved 2 units of the product
    When the admin commits the order's reservation
    Then the answer is a 404 problem
    And the stock is 5 on hand, 2 reserved and 3 available
    And the product's ledger records no sale
    And the order is "pending"

# --- connections to the services ---------------------------------------------------------------

Scenario: a large body a service refuses unread leaves the requests after it unharmed
    [Documentation]    The service answers the role before it reads the body; if it left most
    ...    of the body unread, the connection nginx keeps for the next request would be dead.
    [Tags]    products
    Given a signed-in user
    When I send 10 large imports, each followed by a small one
    Then every one of those answers is a 403 problem

Scenario: an unknown route is a 404 problem
    When I request "/no-such-route"
    Then the answer is a 404 problem

Scenario: a path that decodes to quotes is a 404 problem it cannot add members to
    When I request "/x%22,%22status%22:200,%22a%22:%22"
    Then the answer is a 404 problem

# --- input no service can store, through the gateway -------------------------------------------

Scenario: a body nested ten thousand levels deep is a 400 problem, even without a token
    When I log in with a body nested 10000 levels deep
    Then the answer is a 400 problem

Scenario: a login whose email holds a lone surrogate is a 422 naming the email
    When I log in with an email holding a lone surrogate
    Then the answer is 422 naming "email"

Scenario: a client search for a name holding a NUL character is a 422 naming the filter
    [Tags]    clients
    Given a signed-in user
    When I search the clients for a name holding a NUL character
    Then the answer is 422 naming "name"

Scenario: an import row holding a NUL character is rejected and the other rows stored
    [Tags]    products
    Given a signed-in admin
    When I import a new product and a product whose name holds a NUL character
    Then the answer is 200
    And the import created 1 product and rejected row 1 naming "name"
    And the test's category holds only the product named "Importado"

Scenario: the public API documents leave out the routes the gateway keeps to itself
    When I read every service's OpenAPI document
    Then no document lists a route the gateway keeps to itself
