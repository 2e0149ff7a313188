from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from failures import failures

SUITE = """*** Test Cases ***
A passing scenario
    No Operation

A failing scenario
    Fail    the order never became paid
"""


def test_the_failed_tests_are_listed_with_their_messages_and_the_passed_ones_are_not(
    tmp_path: Path,
):
    suite = tmp_path / "tiny.robot"
    suite.write_text(SUITE)
    output = tmp_path / "output.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "robot",
            "--output",
            str(output),
            "--log",
            "NONE",
            "--report",
            "NONE",
            "--console",
            "none",
            str(suite),
        ],
        check=False,
    )
    lines = failures(str(output))
    assert lines == ["FAILED Tiny.A failing scenario\n    the order never became paid"]
