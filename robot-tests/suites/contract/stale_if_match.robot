*** Settings ***
Documentation       A stale If-Match is a 412 and changes nothing (README, "HTTP caching"): on every
...                 PUT, PATCH and DELETE that checks one, as the admin, with a tag the resource never
...                 had and a valid body (bodies are checked before the tag: an invalid one would be a
...                 422); a fresh read then finds the resource still there, holding what it held. The
...                 resources are the suite's real ones: its category, client, address, collector
...                 source, pending order and product.
Resource            ../../resources/contract.resource

Test Template       A stale If-Match changes nothing


*** Test Cases ***    METHOD    PATH    SENDING
PUT /categories/{category_id} with a stale If-Match is a 412
    [Tags]    products    categories
    PUT    /categories/${CATEGORY_ID}    json=${A_CATEGORY}

PATCH /categories/{category_id} with a stale If-Match is a 412
    [Tags]    products    categories
    PATCH    /categories/${CATEGORY_ID}    json=${A_NEW_NAME}

DELETE /categories/{category_id} with a stale If-Match is a 412
    [Tags]    products    categories
    DELETE    /categories/${CATEGORY_ID}

PUT /clients/{client_id} with a stale If-Match is a 412
    [Tags]    clients
    PUT    /clients/${CLIENT_ID}    json=${A_CLIENT}

PATCH /clients/{client_id} with a stale If-Match is a 412
    [Tags]    clients
    PATCH    /clients/${CLIENT_ID}    json=${A_NEW_NAME}

DELETE /clients/{client_id} with a stale If-Match is a 412
    [Tags]    clients
    DELETE    /clients/${CLIENT_ID}

PUT /clients/{client_id}/addresses/{address_id} with a stale If-Match is a 412
    [Tags]    clients    addresses
    PUT    /clients/${CLIENT_ID}/addresses/${ADDRESS_ID}    json=${AN_ADDRESS}

PATCH /clients/{client_id}/addresses/{address_id} with a stale If-Match is a 412
    [Tags]    clients    addresses
    PATCH    /clients/${CLIENT_ID}/addresses/${ADDRESS_ID}    json=${A_NEW_CITY}

DELETE /clients/{client_id}/addresses/{address_id} with a stale If-Match is a 412
    [Tags]    clients    addresses
    DELETE    /clients/${CLIENT_ID}/addresses/${ADDRESS_ID}

PATCH /collector/sources/{source_id} with a stale If-Match is a 412
    [Tags]    collector
    PATCH    /collector/sources/${SOURCE_ID}    json=${A_SOURCE_RENAMED}

DELETE /collector/sources/{source_id} with a stale If-Match is a 412
    [Tags]    collector
    DELETE    /collector/sources/${SOURCE_ID}

PATCH /orders/{order_id} with a stale If-Match is a 412
    [Tags]    orders
    PATCH    /orders/${ORDER_ID}    json=${A_PAYMENT_METHOD}

DELETE /orders/{order_id} with a stale If-Match is a 412
    [Tags]    orders
    DELETE    /orders/${ORDER_ID}

PUT /products/{product_id} with a stale If-Match is a 412
    [Tags]    products
    PUT    /products/${PRODUCT_ID}    json=${A_PRODUCT}

PATCH /products/{product_id} with a stale If-Match is a 412
    [Tags]    products
    PATCH    /products/${PRODUCT_ID}    json=${A_NEW_NAME}

DELETE /products/{product_id} with a stale If-Match is a 412
    [Tags]    products
    DELETE    /products/${PRODUCT_ID}
