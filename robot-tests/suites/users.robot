*** Settings ***
Documentation       Accounts as the admin administers them, and tokens as the gateway checks
...                 them, through the gateway, as API.md specifies them under "Auth" and "Who may
...                 do what". Every test registers its own accounts and its teardown removes them.
...                 The last-admin scenarios never remove the admin: each first checks that it is
...                 the only active admin and expects a refusal. Tests tagged `local-only` read the
...                 stack's key files and so run only where the stack runs.
Resource            ../resources/auth.resource
Resource            ../resources/account_tags.resource
Resource            ../resources/tokens.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Remove the users created by this test

Test Tags           auth


*** Test Cases ***
Scenario: a user may not list the accounts
    Given a signed-in user
    When the user lists the accounts
    Then the answer is a 403 problem

Scenario: an admin lists the accounts a page at a time
    [Tags]    smoke
    Given a signed-in admin
    When the admin lists the accounts
    Then the answer is 200
    And the answer is a page of accounts

Scenario: an admin finds an account by its email, whatever its case
    Given a registered user
    And a signed-in admin
    When the admin looks for the user's email in capitals
    Then the answer is 200
    And the page holds only the user

Scenario: an admin reads an account by its id
    Given a registered user
    And a signed-in admin
    When the admin looks up the user
    Then the answer is 200
    And the answer is the user's own account

Scenario: an admin's read of an account with its current ETag is not sent again
    Given a registered user
    And a signed-in admin
    And the admin has looked up the user
    When the admin looks up the user again with its ETag
    Then the answer is 304
    And the answer has no body

Scenario: an admin's change with a stale If-Match is refused and changes nothing
    Given a signed-in user
    And a signed-in admin
    When the admin deactivates the user with a stale If-Match
    Then the answer is a 412 problem
    And the account is still active

Scenario: an unknown query parameter is refused
    Given a signed-in admin
    When the admin lists the accounts with "colour=blue"
    Then the answer is 422 naming "colour"

Scenario: a deactivated user is shut out within 5 seconds
    Given a signed-in user
    And the user has just used their access token
    And a signed-in admin
    When the admin deactivates the user
    Then the answer is 200
    And the user's access token stops working within 5 seconds
    And the user cannot log in

Scenario: an unknown user id is a 404
    Given a user who has deleted their account
    And a signed-in admin
    When the admin looks up the user
    Then the answer is a 404 problem

Scenario: a user id beyond any stored one is a 404
    [Documentation]    The id does not fit the database's integer column: still an unknown id.
    Given a signed-in admin
    When the admin looks up the user id 99999999999
    Then the answer is a 404 problem

Scenario: an account that no longer exists cannot be deactivated
    Given a user who has deleted their account
    And a signed-in admin
    When the admin deactivates the user
    Then the answer is a 404 problem

Scenario: the last active admin cannot delete itself
    [Documentation]    Run only while the stack has one active admin: the first step checks it, so
    ...    the admin is never really removed.
    Given the admin is the only active admin
    When the admin deletes their own account
    Then the answer is a 409 problem
    And the problem detail mentions "last active admin"
    And the admin is still an active admin

Scenario: the last active admin cannot demote itself
    [Documentation]    As above: guarded, so the admin is never left a user.
    Given the admin is the only active admin
    When the admin demotes themselves
    Then the answer is a 409 problem
    And the problem detail mentions "last active admin"
    And the admin is still an active admin

Scenario: the last active admin cannot deactivate itself
    [Documentation]    As above: guarded, so the admin is never left inactive.
    Given the admin is the only active admin
    When the admin deactivates themselves
    Then the answer is a 409 problem
    And the problem detail mentions "last active admin"
    And the admin is still an active admin

Scenario: a user who claims the admin's identity in headers is still a user
    Given a signed-in user
    When the user lists the accounts claiming to be the admin
    Then the answer is a 403 problem

Scenario: a user who claims the admin's identity in headers still gets their own account
    Given a signed-in user
    When the user reads their account claiming to be the admin
    Then the answer is 200
    And the answer is the user's own account

Scenario: a request without a token is refused with a Bearer challenge
    When I ask for my account without a token
    Then the answer is a 401 problem
    And the answer has the header "WWW-Authenticate" starting with "Bearer"

Scenario: a malformed token is refused
    When I ask for my account with the token "not-a.jwt"
    Then the answer is a 401 problem
    And the answer has the header "WWW-Authenticate" starting with "Bearer"

Scenario: a token signed with the stack's key is accepted
    [Documentation]    The control for the tokens below: minting itself is right.
    [Tags]    local-only
    Given a signed-in user
    When the user reads their account with their claims signed by the stack's key
    Then the answer is 200
    And the answer is the user's own account

Scenario: an expired token is refused
    [Tags]    local-only
    Given a signed-in user
    When the user reads their account with a token that expired a minute ago
    Then the answer is a 401 problem
    And the problem detail mentions "expired"

Scenario: a token signed with another RSA key is refused
    Given a signed-in user
    When the user reads their account with their claims signed by another RSA key
    Then the answer is a 401 problem

Scenario: an unsigned token is refused
    Given a signed-in user
    When the user reads their account with their claims left unsigned
    Then the answer is a 401 problem

Scenario: a token signed with HS256 using the public key is refused
    [Tags]    local-only
    Given a signed-in user
    When the user reads their account with their claims signed with HS256 using the public key
    Then the answer is a 401 problem


*** Keywords ***
The admin is the only active admin
    [Documentation]    A guard, not only a Given: the scenarios after it try to remove the last
    ...    admin and expect a refusal. Were another admin active, the stack would rightly obey,
    ...    so the test stops here instead.
    A signed-in admin
    VAR    &{query}    role=admin    active=true
    ${response}    Call the gateway    GET    /auth/users    token=${ADMIN_TOKEN}    params=${query}
    Answer should have the status    ${response}    200
    ${ids}    Evaluate    [account['id'] for account in $response.json()['items']]
    Should Be Equal    ${ids}    ${{ [$ADMIN_ID] }}
    ...    msg=Active admins ${ids}: the admin is not the last one, so it would really be removed

The admin deletes their own account
    [Documentation]    DELETE /auth/me with the admin's token.
    Send a request    DELETE    /auth/me    token=${ADMIN_TOKEN}

The admin ${change:demotes|deactivates} themselves
    [Documentation]    PATCH /auth/users/{id} of the admin's own account: `{"role": "user"}` or
    ...    `{"active": false}`.
    IF    $change == 'demotes'
        VAR    &{body}    role=user
    ELSE
        VAR    &{body}    active=${False}
    END
    Send a request    PATCH    /auth/users/${ADMIN_ID}    token=${ADMIN_TOKEN}    json=${body}

The admin is still an active admin
    [Documentation]    Their token still works, and their account is an active admin's.
    ${response}    Call the gateway    GET    /auth/users/${ADMIN_ID}    token=${ADMIN_TOKEN}
    Answer should have the status    ${response}    200
    Should Be Equal    ${response.json()}[role]    admin
    Should Be True    $response.json()['active'] is True
