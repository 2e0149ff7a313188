*** Settings ***
Documentation       No token: every protected route answers a 401 problem with `WWW-Authenticate: Bearer`
...                 (API.md, "Conventions": no or invalid or expired token). A HEAD gets the
...                 status and the media type, without a body.
Resource            ../../resources/contract.resource

Test Template       A request without a token is refused


*** Test Cases ***    METHOD    PATH
POST /auth/logout without a token is refused
    [Tags]    auth
    POST    /auth/logout

GET /auth/me without a token is refused
    [Tags]    auth
    GET    /auth/me

PATCH /auth/me without a token is refused
    [Tags]    auth
    PATCH    /auth/me

DELETE /auth/me without a token is refused
    [Tags]    auth
    DELETE    /auth/me

GET /auth/users without a token is refused
    [Tags]    auth
    GET    /auth/users

GET /auth/users/{user_id} without a token is refused
    [Tags]    auth
    GET    /auth/users/${UNKNOWN_ID}

PATCH /auth/users/{user_id} without a token is refused
    [Tags]    auth
    PATCH    /auth/users/${UNKNOWN_ID}

GET /categories without a token is refused
    [Tags]    products    categories
    GET    /categories

POST /categories without a token is refused
    [Tags]    products    categories
    POST    /categories

GET /categories/{category_id} without a token is refused
    [Tags]    products    categories
    GET    /categories/${UNKNOWN_ID}

PUT /categories/{category_id} without a token is refused
    [Tags]    products    categories
    PUT    /categories/${UNKNOWN_ID}

PATCH /categories/{category_id} without a token is refused
    [Tags]    products    categories
    PATCH    /categories/${UNKNOWN_ID}

DELETE /categories/{category_id} without a token is refused
    [Tags]    products    categories
    DELETE    /categories/${UNKNOWN_ID}

GET /clients without a token is refused
    [Tags]    clients
    GET    /clients

POST /clients without a token is refused
    [Tags]    clients
    POST    /clients

GET /clients/{client_id} without a token is refused
    [Tags]    clients
    GET    /clients/${UNKNOWN_ID}

HEAD /clients/{client_id} without a token is refused
    [Tags]    clients
    HEAD    /clients/${UNKNOWN_ID}

PUT /clients/{client_id} without a token is refused
    [Tags]    clients
    PUT    /clients/${UNKNOWN_ID}

PATCH /clients/{client_id} without a token is refused
    [Tags]    clients
    PATCH    /clients/${UNKNOWN_ID}

DELETE /clients/{client_id} without a token is refused
    [Tags]    clients
    DELETE    /clients/${UNKNOWN_ID}

GET /clients/{client_id}/addresses without a token is refused
    [Tags]    clients    addresses
    GET    /clients/${UNKNOWN_ID}/addresses

POST /clients/{client_id}/addresses without a token is refused
    [Tags]    clients    addresses
    POST    /clients/${UNKNOWN_ID}/addresses

GET /clients/{client_id}/addresses/{address_id} without a token is refused
    [Tags]    clients    addresses
    GET    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

PUT /clients/{client_id}/addresses/{address_id} without a token is refused
    [Tags]    clients    addresses
    PUT    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

PATCH /clients/{client_id}/addresses/{address_id} without a token is refused
    [Tags]    clients    addresses
    PATCH    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

DELETE /clients/{client_id}/addresses/{address_id} without a token is refused
    [Tags]    clients    addresses
    DELETE    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

GET /clients/{client_id}/favorites without a token is refused
    [Tags]    clients    favorites
    GET    /clients/${UNKNOWN_ID}/favorites

GET /clients/{client_id}/favorites/{product_id} without a token is refused
    [Tags]    clients    favorites
    GET    /clients/${UNKNOWN_ID}/favorites/${UNKNOWN_ID}

PUT /clients/{client_id}/favorites/{product_id} without a token is refused
    [Tags]    clients    favorites
    PUT    /clients/${UNKNOWN_ID}/favorites/${UNKNOWN_ID}

DELETE /clients/{client_id}/favorites/{product_id} without a token is refused
    [Tags]    clients    favorites
    DELETE    /clients/${UNKNOWN_ID}/favorites/${UNKNOWN_ID}

GET /inventory/clients/{client_id}/holdings without a token is refused
    [Tags]    inventory
    GET    /inventory/clients/${UNKNOWN_ID}/holdings

POST /inventory/clients/{client_id}/holdings without a token is refused
    [Tags]    inventory
    POST    /inventory/clients/${UNKNOWN_ID}/holdings

GET /inventory/holdings/{holding_id} without a token is refused
    [Tags]    inventory
    GET    /inventory/holdings/${UNKNOWN_ID}

DELETE /inventory/holdings/{holding_id} without a token is refused
    [Tags]    inventory
    DELETE    /inventory/holdings/${UNKNOWN_ID}

GET /inventory/stock without a token is refused
    [Tags]    inventory
    GET    /inventory/stock

GET /inventory/stock/{product_id} without a token is refused
    [Tags]    inventory
    GET    /inventory/stock/${UNKNOWN_ID}

PATCH /inventory/stock/{product_id} without a token is refused
    [Tags]    inventory
    PATCH    /inventory/stock/${UNKNOWN_ID}

GET /inventory/stock/{product_id}/movements without a token is refused
    [Tags]    inventory
    GET    /inventory/stock/${UNKNOWN_ID}/movements

POST /inventory/stock/{product_id}/movements without a token is refused
    [Tags]    inventory
    POST    /inventory/stock/${UNKNOWN_ID}/movements

GET /inventory/stock/{product_id}/movements/{movement_id} without a token is refused
    [Tags]    inventory
    GET    /inventory/stock/${UNKNOWN_ID}/movements/${UNKNOWN_ID}

GET /orders without a token is refused
    [Tags]    orders
    GET    /orders

POST /orders without a token is refused
    [Tags]    orders
    POST    /orders

GET /orders/reports/sales without a token is refused
    [Tags]    orders
    GET    /orders/reports/sales

GET /orders/{order_id} without a token is refused
    [Tags]    orders
    GET    /orders/${UNKNOWN_ID}

PATCH /orders/{order_id} without a token is refused
    [Tags]    orders
    PATCH    /orders/${UNKNOWN_ID}

DELETE /orders/{order_id} without a token is refused
    [Tags]    orders
    DELETE    /orders/${UNKNOWN_ID}

POST /orders/{order_id}/status without a token is refused
    [Tags]    orders
    POST    /orders/${UNKNOWN_ID}/status

GET /products without a token is refused
    [Tags]    products
    GET    /products

POST /products without a token is refused
    [Tags]    products
    POST    /products

POST /products/import without a token is refused
    [Tags]    products
    POST    /products/import

GET /products/{product_id} without a token is refused
    [Tags]    products
    GET    /products/${UNKNOWN_ID}

HEAD /products/{product_id} without a token is refused
    [Tags]    products
    HEAD    /products/${UNKNOWN_ID}

PUT /products/{product_id} without a token is refused
    [Tags]    products
    PUT    /products/${UNKNOWN_ID}

PATCH /products/{product_id} without a token is refused
    [Tags]    products
    PATCH    /products/${UNKNOWN_ID}

DELETE /products/{product_id} without a token is refused
    [Tags]    products
    DELETE    /products/${UNKNOWN_ID}

POST /products/{product_id}/images without a token is refused
    [Tags]    products    images
    POST    /products/${UNKNOWN_ID}/images

DELETE /products/{product_id}/images/{image_id} without a token is refused
    [Tags]    products    images
    DELETE    /products/${UNKNOWN_ID}/images/${UNKNOWN_ID}

GET /collector/runs without a token is refused
    [Tags]    collector
    GET    /collector/runs

GET /collector/runs/{run_id} without a token is refused
    [Tags]    collector
    GET    /collector/runs/${UNKNOWN_ID}

POST /collector/runs/{run_id}/cancel without a token is refused
    [Tags]    collector
    POST    /collector/runs/${UNKNOWN_ID}/cancel

GET /collector/sources without a token is refused
    [Tags]    collector
    GET    /collector/sources

POST /collector/sources without a token is refused
    [Tags]    collector
    POST    /collector/sources

GET /collector/sources/{source_id} without a token is refused
    [Tags]    collector
    GET    /collector/sources/${UNKNOWN_ID}

PATCH /collector/sources/{source_id} without a token is refused
    [Tags]    collector
    PATCH    /collector/sources/${UNKNOWN_ID}

DELETE /collector/sources/{source_id} without a token is refused
    [Tags]    collector
    DELETE    /collector/sources/${UNKNOWN_ID}

POST /collector/sources/{source_id}/runs without a token is refused
    [Tags]    collector
    POST    /collector/sources/${UNKNOWN_ID}/runs
