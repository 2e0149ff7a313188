"""Every problem `type` the code can send is in README's table ("The API documents"), with its
status, and the table names no type nothing sends: the kit's (`errors._SLUGS`, and `error` for
any other status), the gateway's own (`stack.gateway.PROBLEMS`), and any type URI written out
in a service, the gateway's templates or the stack."""

import re
from pathlib import Path

from flask import Flask

from services.kit import errors
from stack import gateway

ROOT = Path(__file__).resolve().parents[3]
ROW = re.compile(r"^\| `([a-z0-9-]+)` \| (\d{3}|any other) \|", re.MULTILINE)
WRITTEN = re.compile(r"/problems/([a-z0-9-]+)")
SOURCES = ("services/**/*.py", "monitoring/**/*.py", "stack/*.py", "gateway/templates/*.j2")


def readme_table() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### The API documents") :]
    section = section[: section.index("\n## ")]
    return {slug: status for slug, status in ROW.findall(section)}


def sent() -> dict[str, str]:
    types = {slug: str(status) for status, slug in errors._SLUGS.items()}
    types["error"] = "any other"
    for status, slug, *_ in gateway.PROBLEMS:
        types[slug] = str(status)
    return types


def written_out() -> set[str]:
    found = set()
    for pattern in SOURCES:
        for path in ROOT.glob(pattern):
            if "tests" not in path.parts:
                found |= set(WRITTEN.findall(path.read_text()))
    return found


def test_every_problem_type_sent_is_in_the_readme_with_its_status():
    table = readme_table()
    missing = {slug: status for slug, status in sent().items() if table.get(slug) != status}
    assert missing == {}


def test_the_readme_lists_no_problem_type_nothing_sends():
    assert set(readme_table()) - set(sent()) == set()


def test_every_type_uri_written_out_in_the_code_is_in_the_readme():
    found = written_out()
    assert "validation-error" in found  # the scan reads what it should
    assert found - set(readme_table()) == set()


def test_a_status_the_kit_names_no_type_for_is_sent_as_error():
    with Flask(__name__).app_context():
        assert errors.problem_type(418) == "https://feira.dev/problems/error"
        assert errors.problem_type(422) == "https://feira.dev/problems/validation-error"
