*** Settings ***
Documentation       What a service answers while a service it depends on is down (API.md: "a
...                 dependency is down: 503 problem"): every 503 the OpenAPI documents list, each
...                 with the dependency its service calls. The answer is a problem with Retry-After,
...                 at once (never a 500, never a hang), nothing is changed, and the same request
...                 works once the dependency is back. The gateway's /health/{service} answers 503
...                 for a stopped service.
...
...                 These suites stop processes of the stack under test (`python -m stack stop|start`,
...                 which honours `FEIRA_ENV_FILE`): they are tagged `fault` and run alone on a stack
...                 of their own. One suite per dependency, each stopped once (a stop and a start
...                 take seconds): its Suite Setup makes the data with every service up, then stops
...                 the dependency; its scenarios each judge one 503; its last scenario starts the
...                 dependency again; its Suite Teardown always starts it again before removing the
...                 data (see `dependencies.resource`). This Suite Setup starts whatever an
...                 interrupted run left stopped.
Resource            ../../resources/dependencies.resource

Suite Setup         Run Keywords    Open the gateway session    AND    Every service is up
Suite Teardown      Close the gateway session

Test Tags           dependencies    fault    local-only
