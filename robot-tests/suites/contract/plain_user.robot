*** Settings ***
Documentation       A plain user on a route only the admin may call (API.md, "Who may do what"): a 403
...                 problem, whatever the id (an unknown one here, so nothing can change).
Resource            ../../resources/contract.resource

Test Template       A plain user is forbidden


*** Test Cases ***    METHOD    PATH
GET /auth/users is forbidden to a plain user
    [Tags]    auth
    GET    /auth/users

GET /auth/users/{user_id} is forbidden to a plain user
    [Tags]    auth
    GET    /auth/users/${UNKNOWN_ID}

PATCH /auth/users/{user_id} is forbidden to a plain user
    [Tags]    auth
    PATCH    /auth/users/${UNKNOWN_ID}

POST /categories is forbidden to a plain user
    [Tags]    products    categories
    POST    /categories

PUT /categories/{category_id} is forbidden to a plain user
    [Tags]    products    categories
    PUT    /categories/${UNKNOWN_ID}

PATCH /categories/{category_id} is forbidden to a plain user
    [Tags]    products    categories
    PATCH    /categories/${UNKNOWN_ID}

DELETE /categories/{category_id} is forbidden to a plain user
    [Tags]    products    categories
    DELETE    /categories/${UNKNOWN_ID}

DELETE /clients/{client_id} is forbidden to a plain user
    [Tags]    clients
    DELETE    /clients/${UNKNOWN_ID}

POST /inventory/clients/{client_id}/holdings is forbidden to a plain user
    [Tags]    inventory
    POST    /inventory/clients/${UNKNOWN_ID}/holdings

DELETE /inventory/holdings/{holding_id} is forbidden to a plain user
    [Tags]    inventory
    DELETE    /inventory/holdings/${UNKNOWN_ID}

PATCH /inventory/stock/{product_id} is forbidden to a plain user
    [Tags]    inventory
    PATCH    /inventory/stock/${UNKNOWN_ID}

POST /inventory/stock/{product_id}/movements is forbidden to a plain user
    [Tags]    inventory
    POST    /inventory/stock/${UNKNOWN_ID}/movements

GET /orders/reports/sales is forbidden to a plain user
    [Tags]    orders
    GET    /orders/reports/sales

DELETE /orders/{order_id} is forbidden to a plain user
    [Tags]    orders
    DELETE    /orders/${UNKNOWN_ID}

POST /products is forbidden to a plain user
    [Tags]    products
    POST    /products

POST /products/import is forbidden to a plain user
    [Tags]    products
    POST    /products/import

PUT /products/{product_id} is forbidden to a plain user
    [Tags]    products
    PUT    /products/${UNKNOWN_ID}

PATCH /products/{product_id} is forbidden to a plain user
    [Tags]    products
    PATCH    /products/${UNKNOWN_ID}

DELETE /products/{product_id} is forbidden to a plain user
    [Tags]    products
    DELETE    /products/${UNKNOWN_ID}

POST /products/{product_id}/images is forbidden to a plain user
    [Tags]    products    images
    POST    /products/${UNKNOWN_ID}/images

DELETE /products/{product_id}/images/{image_id} is forbidden to a plain user
    [Tags]    products    images
    DELETE    /products/${UNKNOWN_ID}/images/${UNKNOWN_ID}

GET /collector/runs is forbidden to a plain user
    [Tags]    collector
    GET    /collector/runs

GET /collector/runs/{run_id} is forbidden to a plain user
    [Tags]    collector
    GET    /collector/runs/${UNKNOWN_ID}

POST /collector/runs/{run_id}/cancel is forbidden to a plain user
    [Tags]    collector
    POST    /collector/runs/${UNKNOWN_ID}/cancel

GET /collector/sources is forbidden to a plain user
    [Tags]    collector
    GET    /collector/sources

POST /collector/sources is forbidden to a plain user
    [Tags]    collector
    POST    /collector/sources

GET /collector/sources/{source_id} is forbidden to a plain user
    [Tags]    collector
    GET    /collector/sources/${UNKNOWN_ID}

PATCH /collector/sources/{source_id} is forbidden to a plain user
    [Tags]    collector
    PATCH    /collector/sources/${UNKNOWN_ID}

DELETE /collector/sources/{source_id} is forbidden to a plain user
    [Tags]    collector
    DELETE    /collector/sources/${UNKNOWN_ID}

POST /collector/sources/{source_id}/runs is forbidden to a plain user
    [Tags]    collector
    POST    /collector/sources/${UNKNOWN_ID}/runs
