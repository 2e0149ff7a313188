"""A rebot modifier: the reports keep no token and no password.

RequestsLibrary logs every request's headers and body and every answer, and the suites log the
credentials they build, so a raw output.xml holds the admin's password and live tokens: harmless
on a throwaway stack, not against a shared one (`ROBOT_ENV=remote`). `make robot` merges its runs
with `rebot --prerebotmodifier robot-tests/libraries/Redact.py` and deletes the raw outputs.
"""

from __future__ import annotations

import contextlib
import re

from robot.api import ResultVisitor
from robot.result import For, ForIteration, Keyword

JWT = re.compile(r"eyJ[\w-]+\.[\w-]*\.[\w-]*")
# password=…, "password": "…", 'current_password': '…' (a log line, JSON, a Python dict).
PASSWORD = re.compile(r"""(password["']?\s*[:=]\s*["']?)[^"',}\s]+""")


def redact(text: str) -> str:
    return PASSWORD.sub(r"\1<redacted>", JWT.sub("<token>", text))


class Redact(ResultVisitor):
    """Every text a report shows: messages, test and suite messages, and each step's name,
    documentation, arguments and variable values (embedded arguments and FOR items are logged
    resolved)."""

    def visit_message(self, message):
        message.message = redact(message.message)

    def start_test(self, test):
        test.message = redact(test.message)

    def start_suite(self, suite):
        suite.message = redact(suite.message)

    def start_body_item(self, item):
        # A keyword's name (with its embedded arguments), documentation and arguments; a VAR's
        # value; a FOR's and a FOR iteration's items. Robot deprecates these members on the
        # other steps (reading one warns).
        names = ("message", "value")
        if isinstance(item, (Keyword, For, ForIteration)):
            names += ("assign",)
        if isinstance(item, Keyword):
            names += ("name", "doc", "args")
        for name in names:
            value = getattr(item, name, None)
            if isinstance(value, str) and value:
                value = redact(value)
            elif isinstance(value, tuple) and value:
                value = tuple(redact(str(v)) for v in value)
            elif isinstance(value, dict) and value:
                value = {key: redact(str(v)) for key, v in value.items()}
            else:
                continue
            # Some are derived from other members (an IF branch's name is its condition).
            with contextlib.suppress(AttributeError):
                setattr(item, name, value)
