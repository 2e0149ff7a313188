"""The reports keep no token and no password."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "libraries"))

from Redact import redact

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"  # noqa: S105 (a sample)


def test_a_bearer_token_in_request_headers_is_redacted():
    logged = f"headers={{'Authorization': 'Bearer {TOKEN}'}}"
    assert redact(logged) == "headers={'Authorization': 'Bearer <token>'}"


def test_passwords_are_redacted_in_every_form_the_suites_log():
    assert redact("&{credentials} = { email=a@b.c | password=feira-admin-dev }") == (
        "&{credentials} = { email=a@b.c | password=<redacted> }"
    )
    assert redact('body={"email": "a@b.c", "password": "s3cr3t-Pw"}') == (
        'body={"email": "a@b.c", "password": "<redacted>"}'
    )
    assert redact("{'current_password': 'old-one', 'name': 'Ana'}") == (
        "{'current_password': '<redacted>', 'name': 'Ana'}"
    )


def test_what_is_neither_stays_as_it_is():
    assert redact("GET /clients/42 answered 404") == "GET /clients/42 answered 404"


def test_the_modifier_redacts_steps_loop_items_and_messages():
    from Redact import Redact
    from robot.result import TestSuite

    suite = TestSuite(name="S")
    test = suite.tests.create(name="T", message=f"login answered {TOKEN}")
    step = test.body.create_keyword(name=f"I sign in with {TOKEN}", args=("password=pw1",))
    step.body.create_message(f"Authorization: Bearer {TOKEN}")
    loop = test.body.create_for(assign=("${user}",), values=("@{USERS}",))
    loop.body.create_iteration(assign={"${user}": f"{{'password': 'pw2', 't': '{TOKEN}'}}"})
    suite.visit(Redact())
    assert test.message == "login answered <token>"
    assert (step.name, step.args) == ("I sign in with <token>", ("password=<redacted>",))
    assert step.body[0].message == "Authorization: Bearer <token>"
    assert loop.body[0].assign == {"${user}": "{'password': '<redacted>', 't': '<token>'}"}


def test_the_modifier_touches_no_member_robot_deprecated_on_control_steps():
    """An IF, TRY, VAR, RETURN or BREAK has no `assign` of its own: reading it warned once per
    kind of step at every `make robot` (Robot 8 removes it)."""
    import warnings

    from Redact import Redact
    from robot.result import TestSuite

    suite = TestSuite(name="S")
    test = suite.tests.create(name="T")
    test.body.create_if().body.create_branch(condition="True").body.create_break()
    test.body.create_try().body.create_branch().body.create_return(values=(TOKEN,))
    test.body.create_var(name="${token}", value=(TOKEN,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        suite.visit(Redact())
    assert test.body[2].value == ("<token>",)
