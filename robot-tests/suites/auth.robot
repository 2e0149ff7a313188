*** Settings ***
Documentation       Accounts, tokens and sessions, through the gateway, as API.md specifies them
...                 under "Public routes" and "Auth". Every test registers its own accounts and
...                 its teardown removes them. Tests tagged `local-only` read the stack's key files
...                 and so run only where the stack runs.
Resource            ../resources/auth.resource
Resource            ../resources/account_tags.resource
Resource            ../resources/tokens.resource
Resource            ../resources/throttling.resource

Suite Setup         Open the gateway session
Suite Teardown      Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown       Remove the users created by this test

Test Tags           auth


*** Test Cases ***
Scenario: a new account is created with the role user
    [Tags]    smoke
    When I register a new account
    Then the answer is 201
    And the answer is the new account with the role "user"
    And the answer has a Location header for the new account

Scenario: a role sent at registration is ignored
    When I register a new account asking for the role "admin"
    Then the answer is 201
    And the answer is the new account with the role "user"

Scenario: an email is registered only once, whatever its case
    Given a registered user with a capitalised email
    When I register another account with the same email in lower case
    Then the answer is a 409 problem

Scenario: a password shorter than 8 characters is refused
    When I register a new account with the password "curta12"
    Then the answer is 422 naming "password"

Scenario: registering with a common password is refused
    When I register a new account with the password "Password123!"
    Then the answer is 422 naming "password"

Scenario: an invalid email is refused
    When I register a new account with the email "ana.example.com"
    Then the answer is 422 naming "email"

Scenario: a registration body that is not JSON is refused
    When I send a registration body that is not JSON
    Then the answer is a 400 problem

Scenario: a registration with another content type is refused
    When I send a valid registration as "text/plain"
    Then the answer is a 400 problem

Scenario: a user logs in and gets a Bearer token pair
    [Tags]    smoke
    Given a registered user
    When I log in as the user
    Then the answer is 200
    And the answer is a token pair that expires in 900 seconds

Scenario: a wrong password and an unknown email get the same answer
    Given a registered user
    When I log in as the user with a wrong password
    And I log in with an email nobody registered
    Then both answers are a 401 problem with the same detail

Scenario: a login without a password is refused
    Given a registered user
    When I log in as the user without a password
    Then the answer is 422 naming "password"

Scenario: an address is throttled after repeated wrong passwords for an account
    Given a signed-in user
    When I log in as the user with a wrong password ${LOGIN_MAX_FAILURES} times
    And I log in as the user
    Then the answer is a 429 problem
    And the answer asks to retry after some seconds

Scenario: wrong passwords from another address do not lock the owner out
    Given a signed-in user
    When someone at an address of their own sends wrong passwords for the user until throttled
    Then their first ${LOGIN_MAX_FAILURES} answers were 401 problems and the next a 429 problem
    When I log in as the user
    Then the answer is a token pair that expires in 900 seconds

Scenario: registration probes from one address are throttled
    Given a registered user
    When someone at an address of their own registers the user's email until throttled
    Then their first ${REGISTER_MAX_ATTEMPTS} registrations were 409 problems and the next a 429 problem

Scenario: the gateway throttles a burst of logins from one address
    When I send more logins than the burst allows from an address of my own
    Then at least one answer is a 429 problem asking to retry later
    And the others are 400 problems from auth

Scenario: a refresh token buys a new pair
    [Tags]    smoke
    Given a signed-in user
    When I refresh the user's tokens
    Then the answer is 200
    And the answer is a new token pair

Scenario: a spent refresh token is refused once the token it bought was used
    Given a signed-in user
    And the user has refreshed their tokens
    And the refresh token the spent one bought has been used
    When I refresh with the spent refresh token
    Then the answer is a 401 problem

Scenario: reusing a spent refresh token revokes the whole family
    Given a signed-in user
    And the user has refreshed their tokens
    And the refresh token the spent one bought has been used
    And the spent refresh token has been used again
    When I refresh the user's tokens
    Then the answer is a 401 problem

Scenario: a retried refresh within the grace keeps the session
    Given a signed-in user
    And the user has refreshed their tokens
    When I retry the refresh with the spent refresh token
    Then the answer is 200
    And the answer is a new token pair
    And the user has refreshed their tokens

Scenario: a refresh without a refresh token is refused
    When I refresh without a refresh token
    Then the answer is 422 naming "refresh_token"

Scenario: logging out ends the session
    Given a signed-in user
    When the user logs out
    Then the answer is 204
    And the user's refresh token is refused at once
    And the user's access token stops working within 5 seconds

Scenario: a session that has ended cannot be logged out of again
    Given a signed-in user
    And the user has logged out
    And the user's access token has stopped working
    When the user logs out again
    Then the answer is a 401 problem
    And the answer has the header "WWW-Authenticate" starting with "Bearer"

Scenario: a user reads their own account
    [Tags]    smoke
    Given a signed-in user
    When the user reads their account
    Then the answer is 200
    And the answer is the user's own account

Scenario: a user reads their own account by its id, the Location registering answered
    Given a signed-in user
    When the user reads their account by its id
    Then the answer is 200
    And the answer is the user's own account

Scenario: a user may not read another user's account by its id
    Given another registered user
    And a signed-in user
    When the user reads the other user's account by its id
    Then the answer is a 403 problem

Scenario: a user's account read with its current ETag is not sent again
    Given a signed-in user
    And the user has read their account
    When the user reads their account again with its ETag
    Then the answer is 304
    And the answer has no body

Scenario: a rename with a stale If-Match is refused and renames nothing
    Given a signed-in user
    And the user has read their account
    When the user renames themselves with a stale If-Match
    Then the answer is a 412 problem
    And the account is as the user read it

Scenario: a deletion with a stale If-Match is refused and deletes nothing
    Given a signed-in user
    And the user has read their account
    When the user deletes their account with a stale If-Match
    Then the answer is a 412 problem
    And the account is as the user read it

Scenario: a user whose email is beyond latin-1 reads their own account
    Given a signed-in user whose email is beyond latin-1
    When the user reads their account
    Then the answer is 200
    And the answer is the user's own account

Scenario: a user renames themselves with their current password
    Given a signed-in user
    When the user renames themselves with their current password
    Then the answer is 200
    And the answer shows the new name
    And the account keeps the new name

Scenario: a change with a wrong current password is refused
    Given a signed-in user
    When the user renames themselves with a wrong current password
    Then the answer is 422 naming "current_password"

Scenario: wrong current passwords are throttled like sign-ins, so a token cannot guess on
    Given a signed-in user
    When the user renames themselves with a wrong current password ${LOGIN_MAX_FAILURES} times
    And the user renames themselves with their current password
    Then the answer is a 429 problem
    And the answer asks to retry after some seconds

Scenario: a user changes their password and only the new one opens a session
    Given a signed-in user
    When the user changes their password
    Then the answer is 200
    And the answer is the user's own account
    And the old password no longer opens a session
    And the new password opens a session

Scenario: a user who deletes their account can no longer log in
    Given a signed-in user
    When the user deletes their account
    Then the answer is 204
    And the user cannot log in

Scenario: the public keys are published without a token
    [Tags]    smoke
    Given a signed-in user
    When I fetch the public keys
    Then the answer is 200
    And the public keys hold RSA signing keys with kids
    And a key's kid is the one in the user's access token
