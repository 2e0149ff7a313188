"""The runner's arguments and session config, without a stack."""

import tomllib
from pathlib import Path

from fuzz.runner import BUDGETS, CHECKS, EXCLUDED, config_toml, schemathesis_command


def test_the_config_takes_the_token_from_the_environment_and_binds_seeded_ids():
    config = tomllib.loads(config_toml(BUDGETS["quick"], {"product_id": [7], "name": ["auth"]}))
    assert config["auth"]["openapi"]["bearerAuth"]["bearer"] == "${FEIRA_FUZZ_TOKEN}"
    assert config["output"]["sanitization"]["enabled"] is True
    assert config["dictionaries"]["product_id"]["values"] == [7]
    assert config["parameters"]["path.product_id"]["dictionary"] == "product_id"


def test_the_command_excludes_what_would_end_the_fuzzers_own_session():
    command = schemathesis_command(
        "http://gw", "auth", BUDGETS["quick"], Path("c.toml"), Path("r/auth-user.xml")
    )
    excluded = {command[i + 1] for i, arg in enumerate(command) if arg == "--exclude-name"}
    assert excluded == set(EXCLUDED) and "POST /auth/logout" in excluded
    assert command[command.index("--checks") + 1] == ",".join(CHECKS)
    assert "http://gw/auth/openapi.json" in command and "r/auth-user.xml" in command
    assert "--max-time" not in command and not any("Bearer" in arg for arg in command)


def test_the_long_budget_adds_the_stateful_phase_and_a_time_limit():
    command = schemathesis_command(
        "http://gw", "orders", BUDGETS["long"], Path("c.toml"), Path("o.xml")
    )
    assert "stateful" in command[command.index("--phases") + 1]
    assert command[command.index("--max-time") + 1] == str(BUDGETS["long"].max_time)
