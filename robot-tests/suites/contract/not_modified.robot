*** Settings ***
Documentation       A current ETag answers 304 (README, "HTTP caching"): on every read of one resource
...                 that carries an ETag and whose document lists the 304, as the admin, a GET and then
...                 the same GET with `If-None-Match` its ETag, answered without a body. The resources
...                 are the suite's real ones: its client, address, collector source and pending order.
Resource            ../../resources/contract.resource

Test Template       A current ETag is not sent again


*** Test Cases ***    PATH
GET /clients/{client_id} with its current ETag is a 304
    [Tags]    clients
    /clients/${CLIENT_ID}

GET /clients/{client_id}/addresses/{address_id} with its current ETag is a 304
    [Tags]    clients    addresses
    /clients/${CLIENT_ID}/addresses/${ADDRESS_ID}

GET /collector/sources/{source_id} with its current ETag is a 304
    [Tags]    collector
    /collector/sources/${SOURCE_ID}

GET /orders/{order_id} with its current ETag is a 304
    [Tags]    orders
    /orders/${ORDER_ID}
