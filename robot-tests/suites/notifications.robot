*** Settings ***
Documentation     Notifications, through the gateway, as API.md specifies them under
...               "Notifications": an order paid sends one `order_paid` message, on WhatsApp to a
...               client with a phone who opted in (tracked by the provider's status webhooks to
...               `delivered`, `to` masked) and by e-mail to one who did not (`sent`, as e-mail has
...               no receipts); a forged status webhook is refused and changes nothing, a status
...               delivered again counts once; the provider's 429 is retried (one message, two
...               attempts), a number it rejects is `failed` with its error, and the admin retries
...               a failed one; only the admin reads notifications, also as a client's history.
...               The phone is masked for a plain user in client lists. With a service stopped,
...               monitoring's incident e-mail reaches the SRE mailbox.
...
...               The provider is the WhatsApp stand-in and the mail server the SMTP sink of a
...               stack on this machine: scenarios that read what they received, make the provider
...               fail or sign a webhook with the app secret are `local-only`. Every test makes
...               its own client (with a phone of its own) and product; its teardown cancels and
...               deletes the orders (a cancelled order is one more message) before the client and
...               the catalogue go. Notifications are records of what was said and stay.

Resource          ../resources/channels.resource

Suite Setup       Run Keywords    Open the gateway session    AND    Open the stand-in sessions
Suite Teardown    Run Keywords    Sign out the admin    AND    Close the gateway session
Test Setup        A product with a stock of 5
Test Teardown     Run Keywords    Start the stopped processes
...                   AND    Remove the orders created by this test
...                   AND    Remove the clients created by this test
...                   AND    Remove the catalogue created by this test
...                   AND    Remove the users created by this test

Test Tags         notifications


*** Test Cases ***
# --- WhatsApp --------------------------------------------------------------------------------

Scenario: a client who opted in pays by card and one WhatsApp message reaches delivered
    [Tags]    local-only    smoke
    Given a client with a phone who opted in to WhatsApp
    When the client's order has been paid by card
    Then the order's "order_paid" notification becomes "delivered"
    And the order's "order_paid" notification is sent by whatsapp to the masked phone
    And the provider has accepted 1 "order_paid" message to the phone
    And the provider's message carries the client's name and the order

Scenario: a client who did not opt in is told by e-mail, and the e-mail stays sent
    [Tags]    local-only
    Given a client with a phone and an e-mail who did not opt in to WhatsApp
    When the client's order has been paid by card
    Then the order's "order_paid" notification becomes "sent"
    And the order's "order_paid" notification is sent by email to the masked e-mail
    And the mail server has received 1 mail for the client
    And the provider has accepted 0 "order_paid" message to the phone

Scenario: a number the provider rejects makes the notification failed with its error
    [Tags]    local-only
    Given a client who opted in to WhatsApp with a number the provider rejects
    When the client's order has been paid by card
    Then the order's "order_paid" notification becomes "failed"
    And the notification failed with the provider's error

Scenario: the admin retries a failed notification and, the phone corrected, it reaches delivered
    [Tags]    local-only
    Given a client who opted in to WhatsApp with a number the provider rejects
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "failed"
    And the admin gives the client a phone the provider delivers to, with the client's consent for it
    When I retry the notification
    Then the answer is the notification queued again
    And the order's "order_paid" notification becomes "delivered"
    And the provider has accepted 1 "order_paid" message to the phone

Scenario: only a failed notification is retried, and one nobody made is a 404
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "delivered"
    When I retry the notification
    Then the answer is a 409 problem
    When I retry a notification nobody made
    Then the answer is a 404 problem

# --- the provider's errors -------------------------------------------------------------------

Scenario: the provider answering 429 once is retried: one message, two attempts
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the provider answers 429 to the next 1 sends to the phone
    When the client's order has been paid by card
    Then the order's "order_paid" notification becomes "delivered"
    And the notification took 2 attempts
    And the provider has accepted 1 "order_paid" message to the phone

# --- webhooks --------------------------------------------------------------------------------

Scenario: a forged status webhook is a 401 problem and changes nothing
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "read"
    And the notification as it is now
    When someone sends a forged webhook saying the message failed
    Then the answer is a 401 problem
    And the notification is unchanged

Scenario: a late status webhook posted twice never moves the message back
    [Documentation]    "delivered" comes after "read", twice: the forward-only rule holds both.
    ...    Only a status that moved the message could show the (message id, status) dedupe, and
    ...    none does: a repeat is never forward of the status it set.
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "read"
    And the notification as it is now
    When the provider's "delivered" status of the message is posted to Feira twice
    Then both answers are 200
    And the notification is unchanged
    And the provider has accepted 1 "order_paid" message to the phone

Scenario: a status the provider delivers again still leaves one message, read
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "read"
    And the notification as it is now
    When the provider resends the "read" status of the message 2 times
    Then the order's "order_paid" notification is "read"
    And the notification is unchanged
    And the provider has accepted 1 "order_paid" message to the phone

Scenario: the webhook handshake answers the challenge to the right verify token
    [Tags]    local-only
    When Meta verifies the webhook with the right token
    Then the answer is the challenge as plain text

Scenario: the webhook handshake with a wrong verify token is a 403 problem
    When Meta verifies the webhook with a wrong token
    Then the answer is a 403 problem

Scenario: the webhook handshake without a challenge is a 400 problem
    [Tags]    local-only
    When Meta verifies the webhook with the right token and no challenge
    Then the answer is a 400 problem

Scenario: a signed webhook that is not a JSON object is a 400 problem
    [Tags]    local-only
    When a webhook signed with the app secret carries a JSON list
    Then the answer is a 400 problem

# --- reading ---------------------------------------------------------------------------------

Scenario: the admin lists the order's notifications by channel and template, and reads one
    [Tags]    local-only
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order's "order_paid" notification becomes "delivered"
    When I list the notifications with    order_id=${ORDER}[id]    channel=whatsapp
    Then the notifications listed are the order's    order_paid
    When I list the notifications with    order_id=${ORDER}[id]    template=order_cancelled
    Then the notifications listed are the order's
    When I read the notification
    Then the answer is the notification

Scenario: the admin lists a client's notifications
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order gets an "order_paid" notification
    When I list the client's notifications
    Then the answer is 200
    And the notifications listed are the client's

Scenario: a plain user may not list, read or retry notifications
    Given a client with a phone who opted in to WhatsApp
    And the client's order has been paid by card
    And the order gets an "order_paid" notification
    And a signed-in user
    When I list the notifications with    order_id=${ORDER}[id]
    Then the answer is a 403 problem
    When I read the notification
    Then the answer is a 403 problem
    When I retry the notification
    Then the answer is a 403 problem

Scenario: a plain user may not list a client's notifications
    Given a client with a phone who opted in to WhatsApp
    And a signed-in user
    When I list the client's notifications
    Then the answer is a 403 problem

Scenario: without a token nobody lists, reads or retries notifications, nor a client's
    Given a registered client
    When I list the notifications without a token
    Then the answer is a 401 problem
    When I read a notification without a token
    Then the answer is a 401 problem
    When I retry a notification without a token
    Then the answer is a 401 problem
    When I list the client's notifications without a token
    Then the answer is a 401 problem

Scenario: a filter must be known, and unknown ids are 404 problems
    When I list the notifications with    status=lost
    Then the answer is 422 naming "status"
    When I list the notifications with    channel=pigeon
    Then the answer is 422 naming "channel"
    When I read a notification nobody made
    Then the answer is a 404 problem
    When I list the notifications of a client nobody registered
    Then the answer is a 404 problem

Scenario: a client's notifications are filtered as notifications are
    Given a registered client
    When I list the client's notifications with    status=lost
    Then the answer is 422 naming "status"

# --- the phone in clients --------------------------------------------------------------------

Scenario: a plain user sees a client's phone masked, the admin sees it whole
    Given a client with a phone who opted in to WhatsApp
    And a signed-in user
    When I list this test's clients
    Then the answer is 200
    And the client's phone is masked in the list
    When the admin lists this test's clients
    Then the answer is 200
    And the client's phone is shown whole in the list

# --- a service stopped (fault: runs alone, after the others) ---------------------------------

Scenario: with a service stopped monitoring e-mails the incident, and its end, to the SRE mailbox
    [Tags]    fault    local-only
    Given monitoring e-mails incidents
    And the worker has checked every target
    And target "clients" is up
    When I stop the "clients" process
    Then within the expected time an e-mail says "clients" is down to sre@feira.local
    When I start the "clients" process
    Then within the expected time an e-mail says "clients" is up again to sre@feira.local

Scenario: with notifications stopped a client's notifications are a 503 problem
    [Tags]    fault    local-only
    Given a registered client
    When I stop the "notifications" process
    And I list the client's notifications
    Then the answer is a 503 problem
    When I start the "notifications" process
    Then the client's notifications are listed again
