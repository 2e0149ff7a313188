*** Settings ***
Documentation       The status API through the gateway (public, read-only), and the fault test of
...                 issue 7: a stopped service is down with an open incident within two check
...                 intervals plus the failure threshold; started again, it is up and the incident
...                 is closed. Tests tagged `fault` stop a process of the stack: `make test-stack`
...                 runs them on its own stack, `make robot` leaves them out.
Resource            ../resources/monitoring.resource

Suite Setup         Open the gateway session
Suite Teardown      Close the gateway session
Test Teardown       Start the stopped processes

Test Tags           monitoring


*** Test Cases ***
Scenario: the summary lists every service, the gateway, Postgres and the journey
    [Tags]    smoke
    When I request "/status/api/summary"
    Then the answer is 200
    And the summary names the targets    auth    clients    gateway    postgres    journey
    And every target has a state, an uptime per window and latency percentiles

Scenario: the status page and its API need no token
    When I request "/status"
    Then the answer is 200
    And the answer is an HTML page

Scenario: the status API is read-only
    When I send "POST" to "/status/api/summary"
    Then the answer is a 405 problem

Scenario: a badge shows a target's state
    When I request "/status/badge/gateway.svg"
    Then the answer is 200
    And the answer is an SVG image
    And the badge reads "gateway" and a state

Scenario: an unknown target has no badge
    When I request "/status/badge/no-such-target.svg"
    Then the answer is a 404 problem

Scenario: a target's series covers the last 24 hours by default
    When I request "/status/api/targets/gateway"
    Then the answer is 200
    And the answer is the series of "gateway" over the last 24 hours, an hour a point

Scenario: a series that ends before it starts is refused
    When I ask for the series of "gateway" from "2026-01-02T00:00:00+00:00" to "2026-01-01T00:00:00+00:00"
    Then the answer is 422 naming "from"

Scenario: an unknown target is a 404 problem
    When I request "/status/api/targets/no-such-target"
    Then the answer is a 404 problem

Scenario: incidents are listed a page at a time, the latest first
    When I request "/status/api/incidents"
    Then the answer is 200
    And the answer is page 1 of the list, 20 per page
    And every incident has a target, a state and a start, the latest first

Scenario: incidents listed by state are all of that state, and the open and the closed add up to all
    [Documentation]    On a stack that has had no incident every check here holds whatever the
    ...    filter does: only a stack with incidents (a fault scenario below makes some) tells.
    When I request "/status/api/incidents?state=open"
    Then the answer is 200
    And every incident listed is open, with no end
    When I request "/status/api/incidents?state=closed"
    Then the answer is 200
    And every incident listed is closed, with its end
    And the open and the closed incidents add up to all of them

Scenario: an incident state other than open or closed is refused
    When I request "/status/api/incidents?state=resolved"
    Then the answer is 422 naming "state"

Scenario: a stopped service is down with an open incident, and up again when started
    [Tags]    fault    local-only
    Given the worker has checked every target
    And target "clients" is up
    When I stop the "clients" process
    Then within the expected time target "clients" is down with an open incident
    When I start the "clients" process
    Then target "clients" is up
    And the incident is closed with an end and a duration

Scenario: with Postgres stopped the status page still answers, and the outage joins the history
    [Documentation]    Issue 13: the dashboard answers from what the worker last knew (its
    ...    snapshot) while its own database is down, and the worker writes the incident, with its
    ...    real start, once the database is back.
    [Tags]    fault    local-only
    Given the worker has checked every target
    And target "postgres" is up
    When I stop the "postgres" process
    Then within the expected time the status API shows "postgres" and "clients" down from the worker's snapshot
    And the status page answers with the outage and says its database cannot be reached
    When I start the "postgres" process
    Then target "postgres" is up
    And the history has a closed incident of "postgres" that started after it was stopped


*** Keywords ***
The summary names the targets
    [Documentation]    The summary's targets include these names (a service the stack does not
    ...    run is not a target).
    [Arguments]    @{names}
    ${found}    Evaluate    [t['name'] for t in $ANSWER.json()['targets']]
    FOR    ${name}    IN    @{names}
        Should Contain    ${found}    ${name}
    END

Every target has a state, an uptime per window and latency percentiles
    [Documentation]    The shape of issue 7, for every target.
    FOR    ${target}    IN    @{ANSWER.json()}[targets]
        Should Contain    ${{ ['unknown', 'up', 'degraded', 'down'] }}    ${target}[state]
        Lists Should Be Equal    ${{ list($target['uptime']) }}    ${{ ['24h', '7d', '30d'] }}
        Lists Should Be Equal    ${{ list($target['latency_ms']) }}    ${{ ['p50', 'p95'] }}
    END
    Dictionary Should Contain Key    ${ANSWER.json()}[worker]    last_heartbeat_at

I send "${method}" to "${path}"
    [Documentation]    A request with that method and no token.
    Send a request    ${method}    ${path}

The answer is an SVG image
    [Documentation]    What an <img> shows.
    Answer should have the media type    ${ANSWER}    image/svg+xml

Within the expected time target "${name}" is down with an open incident
    [Documentation]    Two intervals plus the failure threshold (`${DOWN_WITHIN}`), polled each second.
    Wait Until Keyword Succeeds    ${DOWN_WITHIN}    1s    Target "${name}" is down with an open incident
