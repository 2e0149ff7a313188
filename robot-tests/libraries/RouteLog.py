"""Keeps, for the coverage report, every answer whose status a scenario asserted.

`Answer should have the status` (common.resource) calls `Record the asserted answer` once the
status matched, so the record says what a test checked, never merely what it sent. Each Robot
process appends JSON lines to its own file under `${ROUTE_LOG_DIR}` (default: `routes/` in the
output directory), so pabot's parallel processes never share a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from robot.api.deco import keyword, library
from robot.libraries.BuiltIn import BuiltIn


@library(scope="GLOBAL", auto_keywords=False)
class RouteLog:
    def __init__(self) -> None:
        self._file: Path | None = None

    def _path(self) -> Path:
        if self._file is None:
            builtin = BuiltIn()
            default = Path(builtin.get_variable_value("${OUTPUT DIR}")) / "routes"
            folder = Path(builtin.get_variable_value("${ROUTE_LOG_DIR}", str(default)))
            folder.mkdir(parents=True, exist_ok=True)
            self._file = folder / f"{os.getpid()}.jsonl"
        return self._file

    @keyword("Record the asserted answer")
    def record_the_asserted_answer(self, response, status: int) -> None:
        """Appends `{method, path, status, suite, test}` for `response` (a requests Response):
        the path without its query string, the status the test asserted."""
        builtin = BuiltIn()
        record = {
            "method": response.request.method,
            "path": urlsplit(response.request.path_url).path,
            "status": int(status),
            "suite": builtin.get_variable_value("${SUITE NAME}"),
            "test": builtin.get_variable_value("${TEST NAME}", ""),
        }
        with self._path().open("a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
