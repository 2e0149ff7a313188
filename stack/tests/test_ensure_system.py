"""stack/ensure-system.sh asks for what each make target needs: Chromium and its driver for the
tests, wrk for the benchmark, and prints the exact apt-get line when it cannot install them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from stack.config import ROOT

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not Path("/usr/bin/python3").exists(),
    reason="runs the script as an account without sudo (needs root), with the system python3",
)


@pytest.fixture
def ensure_as_nobody():
    """The script run by `nobody` (no sudo) on a PATH without chromium, chromedriver and wrk."""
    place = Path(tempfile.mkdtemp(prefix="feira-ensure-"))
    place.chmod(0o755)
    script = place / "ensure-system.sh"
    shutil.copy(ROOT / "stack" / "ensure-system.sh", script)
    script.chmod(0o755)
    bin_dir = place / "bin"
    bin_dir.mkdir()
    for tool in ("python3", "id"):
        (bin_dir / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")

    def run(*purposes: str) -> subprocess.CompletedProcess:
        nobody = ["runuser", "-u", "nobody", "--", "/usr/bin/env", "-i", f"PATH={bin_dir}"]
        return subprocess.run(
            [*nobody, "/bin/bash", str(script), *purposes],
            capture_output=True,
            text=True,
            check=False,
        )

    yield run
    shutil.rmtree(place)


def suggested_packages(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if line.startswith("Run:"))
    assert line.startswith("Run:  sudo apt-get update && sudo apt-get install -y ")
    return line.split("install -y ", 1)[1].split()


def test_make_test_asks_for_chromium_its_driver_and_promtool(ensure_as_nobody):
    result = ensure_as_nobody("test")

    assert result.returncode == 1
    packages = suggested_packages(result.stderr)
    assert {"chromium", "chromium-driver", "prometheus"} <= set(packages)
    assert "wrk" not in packages


def test_make_bench_asks_for_wrk(ensure_as_nobody):
    result = ensure_as_nobody("bench")

    assert result.returncode == 1
    packages = suggested_packages(result.stderr)
    assert "wrk" in packages and "chromium" not in packages


def test_make_up_asks_for_neither_a_browser_nor_wrk(ensure_as_nobody):
    result = ensure_as_nobody("up")

    assert "chromium" not in result.stderr and "wrk" not in result.stderr
    assert "prometheus" not in result.stderr


def test_an_unknown_purpose_is_a_usage_error(ensure_as_nobody):
    result = ensure_as_nobody("deploy")

    assert result.returncode == 2 and "usage:" in result.stderr
