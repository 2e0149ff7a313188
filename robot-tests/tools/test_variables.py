"""Every variable the suites take from a variable file is set for every ROBOT_ENV.

A dry run does not resolve the variables a keyword's arguments name, so a variable only
`variables/local.py` sets fails `make robot ROBOT_ENV=remote` at run time, as "Variable not
found". An environment without the thing a variable names sets it to None, and the scenarios
that need it are tagged `local-only`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from robot.api import get_resource_model
from robot.api.parsing import ModelVisitor, Token
from robot.variables import Variables, search_variable

ROBOT_TESTS = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("local", "compose", "remote")
# Robot's own (its user guide, "Built-in variables") and what the Makefile sets on the
# command line.
BUILT_IN = {"CURDIR", "EMPTY", "SPACE", "TRUE", "FALSE", "NONE", "NULL", "OUTPUT_DIR"}
BUILT_IN |= {"TEMPDIR", "EXECDIR", "TEST_NAME", "SUITE_NAME", "OPTIONS", "ROUTE_LOG_DIR"}
SETTERS = {"settestvariable", "setsuitevariable", "setglobalvariable", "settaskvariable"}
# `$NAME` in an expression (Evaluate, Skip If, IF) names a variable too.
BARE = re.compile(r"(?<![\w\\$])\$([A-Z][A-Z0-9_]*)\b(?!\{)")
NAME = re.compile(r"[A-Za-z_][\w ]*")


def _normal(name: str) -> str:
    return name.lower().replace(" ", "").replace("_", "")


def _names(text: str) -> set[str]:
    """The variables `text` names: the base of `${ANSWER.json()}`, `${ROW}[name]` or
    `${BURST * 3}`, and the `$NAME`s of `${{ expression }}`; not numbers (`${1}`)."""
    names = set(BARE.findall(text))
    while True:
        match = search_variable(text, ignore_errors=True)
        if not match:
            return names
        base = NAME.match(match.base)
        names |= ({base.group().strip()} if base else set()) | _names(match.base)
        text = match.after


def _used_and_set() -> tuple[dict[str, str], set[str]]:
    """The upper-case variables the Robot files use (a normal name to the spelling seen) and
    those they set themselves: the Variables sections, assignments, VAR, `Set ... Variable`,
    arguments (embedded ones too) and loop variables. Lower-case ones are a keyword's own."""
    used: dict[str, str] = {}
    own: set[str] = set()
    files = [*ROBOT_TESTS.glob("resources/*.resource"), *ROBOT_TESTS.glob("suites/**/*.robot")]
    for path in files:
        for statement in _statements(get_resource_model(path)):
            keyword = statement.get_value(Token.KEYWORD)
            arguments = statement.get_values(Token.ARGUMENT)
            for token in statement.tokens:
                if token.type in (Token.VARIABLE, Token.ASSIGN, Token.KEYWORD_NAME):
                    own |= {_normal(name) for name in _names(token.value)}
                elif token.type == Token.ARGUMENT and statement.type == Token.ARGUMENTS:
                    own |= {_normal(name) for name in _names(token.value.split("=")[0])}
                elif token.type not in (Token.COMMENT, Token.SEPARATOR, Token.EOL):
                    used |= {_normal(n): n for n in _names(token.value) if n == n.upper()}
            if keyword and _normal(keyword) in SETTERS and arguments:
                own |= {_normal(name) for name in _names(arguments[0].replace("\\", ""))}
    return used, own


class _Statements(ModelVisitor):
    def __init__(self):
        self.seen = []

    def visit_Statement(self, statement):  # Robot calls it for every statement
        self.seen.append(statement)


def _statements(model):
    visitor = _Statements()
    visitor.visit(model)
    return visitor.seen


def _set_by(environment: str) -> set[str]:
    variables = Variables()
    variables.set_from_file(str(ROBOT_TESTS / "variables" / f"{environment}.py"), args=())
    return {_normal(name[2:-1]) for name in variables.as_dict(decoration=True)}


@pytest.fixture
def a_stack_nowhere(tmp_path, monkeypatch):
    """Each variable file reads its settings without writing to the stack's run dir, and
    remote.py finds what its README asks for."""
    monkeypatch.delenv("FEIRA_ENV_FILE", raising=False)
    monkeypatch.setenv("FEIRA_RUN_DIR", str(tmp_path))
    monkeypatch.setenv("FEIRA_BASE_URL", "https://feira.example.com")
    monkeypatch.setenv("FEIRA_ADMIN_EMAIL", "admin@feira.example.com")
    monkeypatch.setenv("FEIRA_ADMIN_PASSWORD", "not-a-real-one")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_variable_the_suites_take_from_a_variable_file_is_set_for_each_environment(
    environment, a_stack_nowhere
):
    used, own = _used_and_set()
    expected = {name for name in used if name not in own | {_normal(b) for b in BUILT_IN}}
    missing = sorted(used[name] for name in expected - _set_by(environment))
    assert not missing, f"variables/{environment}.py (or _shared.py) does not set {missing}"


def test_the_scan_sees_a_variable_a_keyword_argument_names_and_what_a_keyword_sets():
    used, own = _used_and_set()
    # dashboard.resource waits for a state change within ${DOWN_WITHIN}; orders set ${ORDER}.
    assert "DOWN_WITHIN" in used.values()
    assert _normal("ORDER") in own
    assert _normal("DOWN_WITHIN") not in own
