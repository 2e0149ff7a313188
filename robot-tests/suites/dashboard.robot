*** Settings ***
Documentation       The availability dashboard at /status in headless Chromium, as an SRE sees it:
...                 every target with its state and figures, and a stopped service shown as down
...                 (tagged `fault`: it stops a process of the stack, see monitoring.robot).
Resource            ../resources/dashboard.resource

Suite Setup         Run Keywords    Open the gateway session
...                     AND    Open the status page in headless Chromium
Suite Teardown      Run Keywords    Close All Browsers    AND    Close the gateway session
Test Teardown       Start the stopped processes

Test Tags           monitoring    dashboard


*** Test Cases ***
Scenario: the page lists every target and its state
    [Tags]    smoke
    Given the worker has checked every target
    When I open the status page
    Then the page lists every target of the summary with its state
    And the page lists the target "clients"
    And the page lists the target "journey"
    And every row shows its uptime, latency and last check
    And the chart library is loaded from the dashboard itself

Scenario: a stopped service is shown as down
    [Tags]    fault    local-only
    Given the worker has checked every target
    And target "clients" is up
    When I stop the "clients" process
    Then the page shows "clients" as down
    And the page shows an open incident for "clients"
    When I start the "clients" process
    Then the page shows "clients" as up
