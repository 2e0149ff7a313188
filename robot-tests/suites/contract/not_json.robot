*** Settings ***
Documentation       A body that is not JSON: every route whose document lists a 400 answers a 400 problem
...                 to a truncated object labelled `application/json` (API.md, "Conventions"). A route
...                 with an id gets an unknown one: the body is read before the id is looked up.
Resource            ../../resources/contract.resource

Test Template       A body that is not JSON is refused


*** Test Cases ***    CALLER    METHOD    PATH
POST /auth/login with a body that is not JSON is a 400
    [Tags]    auth
    nobody    POST    /auth/login

PATCH /auth/me with a body that is not JSON is a 400
    [Tags]    auth
    the plain user    PATCH    /auth/me

POST /auth/refresh with a body that is not JSON is a 400
    [Tags]    auth
    nobody    POST    /auth/refresh

POST /auth/register with a body that is not JSON is a 400
    [Tags]    auth
    nobody    POST    /auth/register

PATCH /auth/users/{user_id} with a body that is not JSON is a 400
    [Tags]    auth
    the admin    PATCH    /auth/users/${UNKNOWN_ID}

POST /categories with a body that is not JSON is a 400
    [Tags]    products    categories
    the admin    POST    /categories

PUT /categories/{category_id} with a body that is not JSON is a 400
    [Tags]    products    categories
    the admin    PUT    /categories/${UNKNOWN_ID}

PATCH /categories/{category_id} with a body that is not JSON is a 400
    [Tags]    products    categories
    the admin    PATCH    /categories/${UNKNOWN_ID}

POST /clients with a body that is not JSON is a 400
    [Tags]    clients
    the admin    POST    /clients

PUT /clients/{client_id} with a body that is not JSON is a 400
    [Tags]    clients
    the admin    PUT    /clients/${UNKNOWN_ID}

PATCH /clients/{client_id} with a body that is not JSON is a 400
    [Tags]    clients
    the admin    PATCH    /clients/${UNKNOWN_ID}

POST /clients/{client_id}/addresses with a body that is not JSON is a 400
    [Tags]    clients    addresses
    the admin    POST    /clients/${UNKNOWN_ID}/addresses

PUT /clients/{client_id}/addresses/{address_id} with a body that is not JSON is a 400
    [Tags]    clients    addresses
    the admin    PUT    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

PATCH /clients/{client_id}/addresses/{address_id} with a body that is not JSON is a 400
    [Tags]    clients    addresses
    the admin    PATCH    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}

POST /inventory/clients/{client_id}/holdings with a body that is not JSON is a 400
    [Tags]    inventory
    the admin    POST    /inventory/clients/${UNKNOWN_ID}/holdings

PATCH /inventory/stock/{product_id} with a body that is not JSON is a 400
    [Tags]    inventory
    the admin    PATCH    /inventory/stock/${UNKNOWN_ID}

POST /inventory/stock/{product_id}/movements with a body that is not JSON is a 400
    [Tags]    inventory
    the admin    POST    /inventory/stock/${UNKNOWN_ID}/movements

POST /orders with a body that is not JSON is a 400
    [Tags]    orders
    the admin    POST    /orders

PATCH /orders/{order_id} with a body that is not JSON is a 400
    [Tags]    orders
    the admin    PATCH    /orders/${UNKNOWN_ID}

POST /orders/{order_id}/status with a body that is not JSON is a 400
    [Tags]    orders
    the admin    POST    /orders/${UNKNOWN_ID}/status

POST /products with a body that is not JSON is a 400
    [Tags]    products
    the admin    POST    /products

POST /products/import with a body that is not JSON is a 400
    [Tags]    products
    the admin    POST    /products/import

PUT /products/{product_id} with a body that is not JSON is a 400
    [Tags]    products
    the admin    PUT    /products/${UNKNOWN_ID}

PATCH /products/{product_id} with a body that is not JSON is a 400
    [Tags]    products
    the admin    PATCH    /products/${UNKNOWN_ID}

POST /collector/sources with a body that is not JSON is a 400
    [Tags]    collector
    the admin    POST    /collector/sources

PATCH /collector/sources/{source_id} with a body that is not JSON is a 400
    [Tags]    collector
    the admin    PATCH    /collector/sources/${UNKNOWN_ID}

POST /payments with a body that is not JSON is a 400
    [Tags]    payments
    the plain user    POST    /payments

POST /payments/{payment_id}/refund with a body that is not JSON is a 400
    [Tags]    payments
    the admin    POST    /payments/${UNKNOWN_ID}/refund

POST /payments/{payment_id}/reviewed with a body that is not JSON is a 400
    [Tags]    payments
    the admin    POST    /payments/${UNKNOWN_ID}/reviewed
