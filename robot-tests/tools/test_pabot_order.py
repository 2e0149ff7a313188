"""`make robot` hands pabot `robot-tests/pabot-order.txt`: the longest suites first. A suite it
names that no longer exists (renamed, moved) would be skipped by pabot with a note, and the run
fall back to name order unnoticed."""

from pathlib import Path

from robot import api as robot_api

ROBOT_TESTS = Path(__file__).resolve().parent.parent


def leaf_suites(suite, parent: str = "") -> set[str]:
    """The suites of files (a folder's would make pabot run the whole folder in one process)."""
    name = f"{parent}.{suite.name}" if parent else suite.name
    if not suite.suites:
        return {name}
    return set().union(*(leaf_suites(child, name) for child in suite.suites))


def test_every_suite_the_ordering_file_names_is_a_suite_of_the_run():
    built = robot_api.TestSuiteBuilder().build(str(ROBOT_TESTS / "suites"))
    built.name = "Feira"  # `--name Feira`, as make robot runs it
    lines = (ROBOT_TESTS / "pabot-order.txt").read_text().splitlines()
    assert lines and all(line.startswith("--suite ") for line in lines)
    named = [line.removeprefix("--suite ") for line in lines]
    assert set(named) <= leaf_suites(built)
    assert len(named) == len(set(named))
