*** Settings ***
Documentation       An unknown query parameter: a 422 problem naming it, on every list (and query) whose
...                 document lists a 422 (API.md, "Conventions": unknown query parameters are a 422).
Resource            ../../resources/contract.resource

Test Template       An unknown query parameter is named


*** Test Cases ***    CALLER    METHOD    PATH    REQUIRED QUERY
GET /auth/users with an unknown query parameter is a 422 naming it
    [Tags]    auth
    the admin    GET    /auth/users

GET /categories with an unknown query parameter is a 422 naming it
    [Tags]    products    categories
    the admin    GET    /categories

GET /clients with an unknown query parameter is a 422 naming it
    [Tags]    clients
    the admin    GET    /clients

GET /clients/{client_id}/addresses with an unknown query parameter is a 422 naming it
    [Tags]    clients    addresses
    the admin    GET    /clients/${UNKNOWN_ID}/addresses

GET /clients/{client_id}/favorites with an unknown query parameter is a 422 naming it
    [Tags]    clients    favorites
    the admin    GET    /clients/${UNKNOWN_ID}/favorites

GET /inventory/clients/{client_id}/holdings with an unknown query parameter is a 422 naming it
    [Tags]    inventory
    the admin    GET    /inventory/clients/${UNKNOWN_ID}/holdings

GET /inventory/stock with an unknown query parameter is a 422 naming it
    [Tags]    inventory
    the admin    GET    /inventory/stock

GET /inventory/stock/{product_id}/movements with an unknown query parameter is a 422 naming it
    [Tags]    inventory
    the admin    GET    /inventory/stock/${UNKNOWN_ID}/movements

GET /orders with an unknown query parameter is a 422 naming it
    [Tags]    orders
    the admin    GET    /orders

GET /orders/reports/sales with an unknown query parameter is a 422 naming it
    [Tags]    orders
    the admin    GET    /orders/reports/sales    group_by=day

GET /products with an unknown query parameter is a 422 naming it
    [Tags]    products
    the admin    GET    /products

GET /status/api/incidents with an unknown query parameter is a 422 naming it
    [Tags]    monitoring
    nobody    GET    /status/api/incidents

GET /status/api/summary with an unknown query parameter is a 422 naming it
    [Tags]    monitoring
    nobody    GET    /status/api/summary

GET /status/api/targets/{name} with an unknown query parameter is a 422 naming it
    [Tags]    monitoring
    nobody    GET    /status/api/targets/auth

GET /collector/sources with an unknown query parameter is a 422 naming it
    [Tags]    collector
    the admin    GET    /collector/sources

GET /collector/runs with an unknown query parameter is a 422 naming it
    [Tags]    collector
    the admin    GET    /collector/runs
