*** Settings ***
Documentation       The "Conventions" of API.md, pinned on every route of every OpenAPI document
...                 exactly where its document lists the status: one file per convention, one row
...                 (a test) per route, named by method and path.
...
...                 The admin signs in once and one plain user is registered once, here, for every
...                 file; so are the client and the product whose unknown children the nested rows
...                 ask for, and the category, address, collector source and pending order the
...                 conditional rows (a stale If-Match, a current ETag) read and write. The rows
...                 themselves make nothing: should a bug let one through, the Test Teardown removes
...                 what it made.
Resource            ../../resources/contract.resource

Suite Setup         Run Keywords    Open the gateway session    AND    The contract's parties are ready
Suite Teardown      Run Keywords    Remove the contract's parties    AND    Sign out the admin
...                     AND    Close the gateway session
Test Teardown       Run Keywords    Remove what this test created
...                     AND    Remove the users created by this test

Test Tags           contract
