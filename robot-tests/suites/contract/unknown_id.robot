*** Settings ***
Documentation       An unknown id: a 404 problem on every route with an id (or a name) whose document
...                 lists a 404, and on the gateway's own routes that take one. A route that validates
...                 a body is sent a valid one, so the id is what answers; on a nested route the part
...                 the scenario names is the unknown one, under the suite's real client or product.
...                 The gateway keeps `/auth/verify` to itself: a 404 there too.
Resource            ../../resources/contract.resource

Test Template       An unknown id is not found


*** Test Cases ***    METHOD    PATH    SENDING
GET /auth/users/{user_id} of an unknown user is a 404
    [Tags]    auth
    GET    /auth/users/${UNKNOWN_ID}

PATCH /auth/users/{user_id} of an unknown user is a 404
    [Tags]    auth
    PATCH    /auth/users/${UNKNOWN_ID}    json=${AN_ACTIVATION}

GET /categories/{category_id} of an unknown category is a 404
    [Tags]    products    categories
    GET    /categories/${UNKNOWN_ID}

PUT /categories/{category_id} of an unknown category is a 404
    [Tags]    products    categories
    PUT    /categories/${UNKNOWN_ID}    json=${A_CATEGORY}

PATCH /categories/{category_id} of an unknown category is a 404
    [Tags]    products    categories
    PATCH    /categories/${UNKNOWN_ID}    json=${A_NEW_NAME}

DELETE /categories/{category_id} of an unknown category is a 404
    [Tags]    products    categories
    DELETE    /categories/${UNKNOWN_ID}

GET /clients/{client_id} of an unknown client is a 404
    [Tags]    clients
    GET    /clients/${UNKNOWN_ID}

HEAD /clients/{client_id} of an unknown client is a 404
    [Tags]    clients
    HEAD    /clients/${UNKNOWN_ID}

PUT /clients/{client_id} of an unknown client is a 404
    [Tags]    clients
    PUT    /clients/${UNKNOWN_ID}    json=${A_CLIENT}

PATCH /clients/{client_id} of an unknown client is a 404
    [Tags]    clients
    PATCH    /clients/${UNKNOWN_ID}    json=${A_NEW_NAME}

DELETE /clients/{client_id} of an unknown client is a 404
    [Tags]    clients
    DELETE    /clients/${UNKNOWN_ID}

GET /clients/{client_id}/addresses of an unknown client is a 404
    [Tags]    clients    addresses
    GET    /clients/${UNKNOWN_ID}/addresses

POST /clients/{client_id}/addresses of an unknown client is a 404
    [Tags]    clients    addresses
    POST    /clients/${UNKNOWN_ID}/addresses    json=${AN_ADDRESS}

GET /clients/{client_id}/addresses/{address_id} of an unknown address is a 404
    [Tags]    clients    addresses
    GET    /clients/${CLIENT_ID}/addresses/${UNKNOWN_ID}

PUT /clients/{client_id}/addresses/{address_id} of an unknown address is a 404
    [Tags]    clients    addresses
    PUT    /clients/${CLIENT_ID}/addresses/${UNKNOWN_ID}    json=${AN_ADDRESS}

PATCH /clients/{client_id}/addresses/{address_id} of an unknown address is a 404
    [Tags]    clients    addresses
    PATCH    /clients/${CLIENT_ID}/addresses/${UNKNOWN_ID}    json=${A_NEW_CITY}

DELETE /clients/{client_id}/addresses/{address_id} of an unknown address is a 404
    [Tags]    clients    addresses
    DELETE    /clients/${CLIENT_ID}/addresses/${UNKNOWN_ID}

GET /clients/{client_id}/favorites of an unknown client is a 404
    [Tags]    clients    favorites
    GET    /clients/${UNKNOWN_ID}/favorites

GET /clients/{client_id}/favorites/{product_id} of an unknown product is a 404
    [Tags]    clients    favorites
    GET    /clients/${CLIENT_ID}/favorites/${UNKNOWN_ID}

PUT /clients/{client_id}/favorites/{product_id} of an unknown product is a 404
    [Tags]    clients    favorites
    PUT    /clients/${CLIENT_ID}/favorites/${UNKNOWN_ID}

DELETE /clients/{client_id}/favorites/{product_id} of an unknown product is a 404
    [Tags]    clients    favorites
    DELETE    /clients/${CLIENT_ID}/favorites/${UNKNOWN_ID}

GET /health/{service} of an unknown service is a 404
    [Tags]    gateway
    GET    /health/no-such-service

POST /inventory/clients/{client_id}/holdings of an unknown product is a 404
    [Tags]    inventory
    POST    /inventory/clients/${CLIENT_ID}/holdings    json=${A_HOLDING_OF_AN_UNKNOWN_PRODUCT}

GET /inventory/holdings/{holding_id} of an unknown holding is a 404
    [Tags]    inventory
    GET    /inventory/holdings/${UNKNOWN_ID}

DELETE /inventory/holdings/{holding_id} of an unknown holding is a 404
    [Tags]    inventory
    DELETE    /inventory/holdings/${UNKNOWN_ID}

GET /inventory/stock/{product_id} of an unknown product is a 404
    [Tags]    inventory
    GET    /inventory/stock/${UNKNOWN_ID}

PATCH /inventory/stock/{product_id} of an unknown product is a 404
    [Tags]    inventory
    PATCH    /inventory/stock/${UNKNOWN_ID}    json=${A_REORDER_LEVEL}

GET /inventory/stock/{product_id}/movements of an unknown product is a 404
    [Tags]    inventory
    GET    /inventory/stock/${UNKNOWN_ID}/movements

POST /inventory/stock/{product_id}/movements of an unknown product is a 404
    [Tags]    inventory
    POST    /inventory/stock/${UNKNOWN_ID}/movements    json=${A_RECEIPT}

GET /inventory/stock/{product_id}/movements/{movement_id} of an unknown movement is a 404
    [Tags]    inventory
    GET    /inventory/stock/${PRODUCT_ID}/movements/${UNKNOWN_ID}

GET /media/products/{product_id}/{file} of an unknown picture is a 404
    [Tags]    gateway    products    images
    GET    /media/products/${PRODUCT_ID}/no-such-picture.jpg

GET /orders/{order_id} of an unknown order is a 404
    [Tags]    orders
    GET    /orders/${UNKNOWN_ID}

PATCH /orders/{order_id} of an unknown order is a 404
    [Tags]    orders
    PATCH    /orders/${UNKNOWN_ID}    json=${A_PAYMENT_METHOD}

DELETE /orders/{order_id} of an unknown order is a 404
    [Tags]    orders
    DELETE    /orders/${UNKNOWN_ID}

POST /orders/{order_id}/status of an unknown order is a 404
    [Tags]    orders
    POST    /orders/${UNKNOWN_ID}/status    json=${A_CANCELLATION}

GET /products/{product_id} of an unknown product is a 404
    [Tags]    products
    GET    /products/${UNKNOWN_ID}

HEAD /products/{product_id} of an unknown product is a 404
    [Tags]    products
    HEAD    /products/${UNKNOWN_ID}

PUT /products/{product_id} of an unknown product is a 404
    [Tags]    products
    PUT    /products/${UNKNOWN_ID}    json=${A_PRODUCT}

PATCH /products/{product_id} of an unknown product is a 404
    [Tags]    products
    PATCH    /products/${UNKNOWN_ID}    json=${A_NEW_NAME}

DELETE /products/{product_id} of an unknown product is a 404
    [Tags]    products
    DELETE    /products/${UNKNOWN_ID}

POST /products/{product_id}/images of an unknown product is a 404
    [Tags]    products    images
    POST    /products/${UNKNOWN_ID}/images    files=${A_PICTURE}

DELETE /products/{product_id}/images/{image_id} of an unknown image is a 404
    [Tags]    products    images
    DELETE    /products/${PRODUCT_ID}/images/${UNKNOWN_ID}

GET /status/api/targets/{name} of an unknown target is a 404
    [Tags]    monitoring
    GET    /status/api/targets/no-such-target

GET /status/badge/{name} of an unknown target is a 404
    [Tags]    monitoring
    GET    /status/badge/no-such-target.svg

GET /auth/verify is the gateway's own: a 404
    [Tags]    gateway    auth
    [Template]    NONE
    Given the caller is nobody
    When the caller sends    GET    /auth/verify
    Then the answer is a 404 problem

GET /collector/runs/{run_id} of an unknown run is a 404
    [Tags]    collector
    GET    /collector/runs/${UNKNOWN_ID}

POST /collector/runs/{run_id}/cancel of an unknown run is a 404
    [Tags]    collector
    POST    /collector/runs/${UNKNOWN_ID}/cancel

GET /collector/sources/{source_id} of an unknown source is a 404
    [Tags]    collector
    GET    /collector/sources/${UNKNOWN_ID}

PATCH /collector/sources/{source_id} of an unknown source is a 404
    [Tags]    collector
    PATCH    /collector/sources/${UNKNOWN_ID}    json=${A_SOURCE_RENAMED}

DELETE /collector/sources/{source_id} of an unknown source is a 404
    [Tags]    collector
    DELETE    /collector/sources/${UNKNOWN_ID}

POST /collector/sources/{source_id}/runs of an unknown source is a 404
    [Tags]    collector
    POST    /collector/sources/${UNKNOWN_ID}/runs
