*** Settings ***
Documentation       An invalid field: a 422 problem whose `errors` names it, on every route with a body
...                 whose document lists a 422 (API.md, "Conventions"). A route with an id gets an
...                 unknown one: the body is judged before the id is looked up, and nothing can change.
Resource            ../../resources/contract.resource

Test Template       An invalid field is named


*** Test Cases ***    CALLER    METHOD    PATH    FIELD    BODY
POST /auth/login with an invalid "email" is a 422 naming it
    [Tags]    auth
    nobody    POST    /auth/login    email    ${CREDENTIALS_WITHOUT_AN_EMAIL}

PATCH /auth/me with an invalid "name" is a 422 naming it
    [Tags]    auth
    the plain user    PATCH    /auth/me    name    ${AN_EMPTY_NAME}

POST /auth/refresh with an invalid "refresh_token" is a 422 naming it
    [Tags]    auth
    nobody    POST    /auth/refresh    refresh_token    ${AN_EMPTY_REFRESH_TOKEN}

POST /auth/register with an invalid "password" is a 422 naming it
    [Tags]    auth
    nobody    POST    /auth/register    password    ${A_REGISTRATION_WITH_A_SHORT_PASSWORD}

PATCH /auth/users/{user_id} with an invalid "role" is a 422 naming it
    [Tags]    auth
    the admin    PATCH    /auth/users/${UNKNOWN_ID}    role    ${AN_UNKNOWN_ROLE}

POST /categories with an invalid "name" is a 422 naming it
    [Tags]    products    categories
    the admin    POST    /categories    name    ${A_CATEGORY_WITHOUT_A_NAME}

PUT /categories/{category_id} with an invalid "name" is a 422 naming it
    [Tags]    products    categories
    the admin    PUT    /categories/${UNKNOWN_ID}    name    ${A_CATEGORY_WITHOUT_A_NAME}

PATCH /categories/{category_id} with an invalid "name" is a 422 naming it
    [Tags]    products    categories
    the admin    PATCH    /categories/${UNKNOWN_ID}    name    ${A_CATEGORY_WITHOUT_A_NAME}

POST /clients with an invalid "cpf" is a 422 naming it
    [Tags]    clients
    the admin    POST    /clients    cpf    ${A_CLIENT_WITH_AN_INVALID_CPF}

PUT /clients/{client_id} with an invalid "cpf" is a 422 naming it
    [Tags]    clients
    the admin    PUT    /clients/${UNKNOWN_ID}    cpf    ${A_CLIENT_WITH_AN_INVALID_CPF}

PATCH /clients/{client_id} with an invalid "cpf" is a 422 naming it
    [Tags]    clients
    the admin    PATCH    /clients/${UNKNOWN_ID}    cpf    ${AN_INVALID_CPF}

POST /clients/{client_id}/addresses with an invalid "state" is a 422 naming it
    [Tags]    clients    addresses
    the admin    POST    /clients/${UNKNOWN_ID}/addresses    state    ${AN_ADDRESS_IN_AN_UNKNOWN_STATE}

PUT /clients/{client_id}/addresses/{address_id} with an invalid "state" is a 422 naming it
    [Tags]    clients    addresses
    the admin    PUT    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}    state    ${AN_ADDRESS_IN_AN_UNKNOWN_STATE}

PATCH /clients/{client_id}/addresses/{address_id} with an invalid "state" is a 422 naming it
    [Tags]    clients    addresses
    the admin    PATCH    /clients/${UNKNOWN_ID}/addresses/${UNKNOWN_ID}    state    ${AN_UNKNOWN_STATE}

POST /inventory/clients/{client_id}/holdings with an invalid "quantity" is a 422 naming it
    [Tags]    inventory
    the admin    POST    /inventory/clients/${UNKNOWN_ID}/holdings    quantity    ${A_HOLDING_OF_ZERO}

PATCH /inventory/stock/{product_id} with an invalid "reorder_level" is a 422 naming it
    [Tags]    inventory
    the admin    PATCH    /inventory/stock/${UNKNOWN_ID}    reorder_level    ${A_NEGATIVE_REORDER_LEVEL}

POST /inventory/stock/{product_id}/movements with an invalid "quantity" is a 422 naming it
    [Tags]    inventory
    the admin    POST    /inventory/stock/${UNKNOWN_ID}/movements    quantity    ${A_MOVEMENT_OF_ZERO}

POST /orders with an invalid "client_id" is a 422 naming it
    [Tags]    orders
    the admin    POST    /orders    client_id    ${AN_ORDER_FOR_CLIENT_ZERO}

PATCH /orders/{order_id} with an invalid "payment_method" is a 422 naming it
    [Tags]    orders
    the admin    PATCH    /orders/${UNKNOWN_ID}    payment_method    ${AN_UNKNOWN_PAYMENT_METHOD}

POST /orders/{order_id}/status with an invalid "status" is a 422 naming it
    [Tags]    orders
    the admin    POST    /orders/${UNKNOWN_ID}/status    status    ${AN_UNKNOWN_STATUS}

POST /products with an invalid "barcode" is a 422 naming it
    [Tags]    products
    the admin    POST    /products    barcode    ${A_PRODUCT_WITH_AN_INVALID_BARCODE}

POST /products/import with an object instead of an array is a 422
    [Tags]    products
    the admin    POST    /products/import    _body    ${AN_OBJECT_INSTEAD_OF_AN_ARRAY}

PUT /products/{product_id} with an invalid "barcode" is a 422 naming it
    [Tags]    products
    the admin    PUT    /products/${UNKNOWN_ID}    barcode    ${A_PRODUCT_WITH_AN_INVALID_BARCODE}

PATCH /products/{product_id} with an invalid "barcode" is a 422 naming it
    [Tags]    products
    the admin    PATCH    /products/${UNKNOWN_ID}    barcode    ${AN_INVALID_BARCODE}

POST /products/{product_id}/images with an invalid "file" is a 422 naming it
    [Tags]    products    images
    [Template]    An upload without its field is named
    the admin    POST    /products/${UNKNOWN_ID}/images    file

POST /collector/sources with an invalid "max_pages" is a 422 naming it
    [Tags]    collector
    the admin    POST    /collector/sources    max_pages    ${A_SOURCE_WITH_NO_PAGES}

PATCH /collector/sources/{source_id} with an invalid "max_pages" is a 422 naming it
    [Tags]    collector
    the admin    PATCH    /collector/sources/${UNKNOWN_ID}    max_pages    ${A_SOURCE_WITH_NO_PAGES}
