"""`make robot-rerun` reruns against the environment of the run it reruns.

`make -n` prints the commands a target would run without running them: no stack is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")


def planned(target: str, *settings: str, environment: dict[str, str] | None = None) -> str:
    """What `make -n target settings` would run, in a make started afresh (not one that
    inherited an outer `make test ROBOT_ENV=...`)."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    env.pop("ROBOT_ENV", None)
    env.update(environment or {})
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target, *settings],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_make_robot_records_the_environment_it_runs_against(tmp_path: Path):
    commands = planned("robot", f"ROBOT_OUT={tmp_path}", "ROBOT_ENV=remote")
    assert f"echo remote > {tmp_path}/robot-env" in commands


def test_a_rerun_uses_the_recorded_environment(tmp_path: Path):
    (tmp_path / "robot-env").write_text("remote\n")
    commands = planned("robot-rerun", f"ROBOT_OUT={tmp_path}")
    assert "--variablefile robot-tests/variables/remote.py" in commands
    assert "--exclude local-only" in commands
    assert "variables/local.py" not in commands


def test_a_rerun_given_an_environment_uses_that_one(tmp_path: Path):
    (tmp_path / "robot-env").write_text("remote\n")
    on_the_command_line = planned("robot-rerun", f"ROBOT_OUT={tmp_path}", "ROBOT_ENV=compose")
    in_the_environment = planned(
        "robot-rerun", f"ROBOT_OUT={tmp_path}", environment={"ROBOT_ENV": "compose"}
    )
    for commands in (on_the_command_line, in_the_environment):
        assert "--variablefile robot-tests/variables/compose.py" in commands


def test_a_rerun_of_results_that_recorded_no_environment_runs_against_local(tmp_path: Path):
    commands = planned("robot-rerun", f"ROBOT_OUT={tmp_path}")
    assert "--variablefile robot-tests/variables/local.py" in commands


def test_make_robot_cleans_up_after_each_test_unless_told_not_to(tmp_path: Path):
    assert "--variable CLEAN_UP:yes" in planned("robot", f"ROBOT_OUT={tmp_path}")
    commands = planned("robot", f"ROBOT_OUT={tmp_path}", "ROBOT_CLEAN_UP=no")
    assert "--variable CLEAN_UP:no" in commands


def test_make_test_stack_runs_the_suites_without_their_clean_up():
    # Read, not `make -n`: its recipe's $(MAKE) line would bring the test stack up.
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest-stack:") :].split("\n\n")[0]
    assert "ROBOT_CLEAN_UP=no" in recipe


def test_the_merged_report_keeps_the_steps_of_failed_tests_only_unless_told(tmp_path: Path):
    assert "--removekeywords passed" in planned("robot", f"ROBOT_OUT={tmp_path}")
    commands = planned("robot", f"ROBOT_OUT={tmp_path}", "ROBOT_LOG_PASSED=yes")
    assert "--removekeywords" not in commands


def test_pabot_starts_the_longest_suites_first(tmp_path: Path):
    assert "--ordering robot-tests/pabot-order.txt" in planned("robot", f"ROBOT_OUT={tmp_path}")
