"""Prints each failed Robot test of a run with its message, last: a CI log that keeps only the
tail of a run still says which scenario failed and why.

    python robot-tests/tools/failures.py robot-tests/results/output.xml
"""

from __future__ import annotations

import sys

from robot.api import ExecutionResult, ResultVisitor

MESSAGE_CHARS = 600


class _Failures(ResultVisitor):
    def __init__(self) -> None:
        self.lines: list[str] = []

    def visit_test(self, test) -> None:
        if test.failed:
            message = " ".join(test.message.split())[:MESSAGE_CHARS]
            self.lines.append(f"FAILED {test.longname}\n    {message}")


def failures(output: str) -> list[str]:
    visitor = _Failures()
    ExecutionResult(output).visit(visitor)
    return visitor.lines


def main(argv: list[str]) -> int:
    lines = failures(argv[1])
    if lines:
        print(f"==> {len(lines)} failed Robot test(s):")
        print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
