*** Settings ***
Documentation     The collector, through the gateway, as API.md specifies it under "Catalogue
...               collector": an admin adds a fixture shop as a source and runs it; its products
...               land in the catalogue with their prices and pictures, and a second run finds them
...               unchanged; the section robots.txt disallows is never fetched (the shop's own
...               request log says so); bad pages make a run partial, each with its reason; a
...               second run while one is going is a 409; a plain user is refused; an admin stops
...               a run of a big shop, which ends cancelled before its next page.
...
...               The shops are the stack's fixture shops: scenarios that collect are `local-only`.
...               Each test collects its own copy of a shop; its teardown deletes the products and
...               the sources it made.

Resource          ../resources/collector.resource

Suite Setup       Run Keywords    Open the gateway session    AND    Open the shops session
Suite Teardown    Run Keywords    Sign out the admin    AND    Close the gateway session
Test Teardown     Run Keywords    Remove what the collector made for this test
...                   AND    Remove the users created by this test

Test Tags         collector


*** Test Cases ***
Scenario: an admin collects a JSON-LD shop: its products, prices and pictures
    [Tags]    local-only    smoke
    Given a signed-in admin
    When I add the shop "loja-json" as a source
    Then the answer is the new source
    When I run the source
    Then the answer is 202
    And the run ends "succeeded"
    And the run created 10 products
    And the catalogue has 10 products of the shop, each with a price and a picture
    And the product "Panela de Ferro Fundido 24 cm" costs "1299.90"

Scenario: a second run finds every product unchanged, and the disallowed section stays unfetched
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-json" as a source
    And I run the source
    When I run the source again
    Then the run ends "succeeded"
    And the run found 10 products unchanged
    And the source's last run is the run
    And the shop's "/loja-json/ofertas/" section was never fetched
    And the shop's "/loja-json/produto/" pages were fetched

Scenario: a shop without structured data is read with the source's selectors
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-simples" as a source read with selectors
    When I run the source
    Then the run ends "succeeded"
    And the product "Furadeira de Impacto 650 W" costs "1349.00"

Scenario: bad pages make the run partial, each with its reason
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-instavel" as a source
    When I run the source
    Then the run ends "partial"
    And the run rejected "/produto/erro" because "HTTP 500"
    And the run rejected "/produto/sem-preco" because "no price"
    And the run rejected "/produto/lento" because "timed out"

Scenario: a second run of a source while one is queued is a 409
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-micro" as a source
    When I run the source twice at once
    Then the answer is a 409 problem

Scenario: a start URL that is not a web address is a 422 naming it
    Given a signed-in admin
    When I add a source whose start URL is not a web address
    Then the answer is 422 naming "start_urls.0"

Scenario: a plain user may not read the collector's sources
    Given a signed-in user
    When I list the sources
    Then the answer is a 403 problem

Scenario: an admin lists and renames sources, and a name belongs to one source only
    [Tags]    local-only
    Given a signed-in admin
    And I add the source "catalogo-a" at "http://127.0.0.1:9/catalogo-a/"
    And I add the source "catalogo-b" at "http://127.0.0.1:9/catalogo-b/"
    When I list the sources
    Then the answer is 200
    When I give the source the name of "catalogo-a"
    Then the answer is a 409 problem
    When I rename the source to "catalogo-c"
    Then the answer is 200

Scenario: a source's name is taken once, and an admin lists its runs and deletes it
    [Tags]    local-only
    Given a signed-in admin
    And I add the source "catalogo-d" at "http://127.0.0.1:9/catalogo-d/"
    When I add a second source named "catalogo-d"
    Then the answer is a 409 problem
    When I list the source's runs
    Then the answer is 200
    When I delete the source
    Then the answer is 204

Scenario: a source cannot be deleted while a run of it is going
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-instavel" as a source
    And I run the source
    When I delete the source
    Then the answer is a 409 problem

Scenario: an admin stops a run of a big shop: it ends cancelled, keeping what it made
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-grande" as a source of 40 pages, half a second apart
    And I run the source
    And the run has taken a page
    When I stop the run
    Then the answer is 202
    And the answer is the run asked to stop
    And the run ends "cancelled"
    And the run was stopped by the admin before its 40 pages, with what it made counted

Scenario: a stopped run cannot be stopped again, and its source may run again
    [Tags]    local-only
    Given a signed-in admin
    And I add the shop "loja-grande" as a source of 40 pages, half a second apart
    And I run the source
    And I stop the run
    And the run ends "cancelled"
    When I stop the run
    Then the answer is a 409 problem saying the run is "cancelled"
    When I run the source
    Then the answer is 202
    And I stop the run
