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
    # The system's python3: the one first on this PATH may be a venv nobody cannot enter.
    (bin_dir / "python3").symlink_to("/usr/bin/python3")
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")

    def run(*purposes: str, **env: str) -> subprocess.CompletedProcess:
        settings = [f"{key}={value}" for key, value in {"PATH": str(bin_dir), **env}.items()]
        nobody = ["runuser", "-u", "nobody", "--", "/usr/bin/env", "-i", *settings]
        return subprocess.run(
            [*nobody, "/bin/bash", str(script), *purposes],
            capture_output=True,
            text=True,
            check=False,
        )

    run.place = place
    run.bin_dir = bin_dir
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


def test_on_ubuntu_make_test_asks_for_ubuntus_chromium_and_driver(ensure_as_nobody):
    os_release = ensure_as_nobody.place / "os-release"
    os_release.write_text('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n')
    os_release.chmod(0o644)

    result = ensure_as_nobody("test", FEIRA_OS_RELEASE=str(os_release))

    packages = suggested_packages(result.stderr)
    assert {"chromium-browser", "chromium-chromedriver"} <= set(packages)
    assert "chromium" not in packages and "chromium-driver" not in packages


def test_a_python_older_than_3_11_is_named_before_anything_is_installed(ensure_as_nobody):
    old = ensure_as_nobody.bin_dir / "python3"
    old.unlink()
    old.write_text(
        '#!/bin/sh\ncase "$*" in *--version*) echo "Python 3.10.12";; *) exit 1;; esac\n'
    )
    old.chmod(0o755)

    result = ensure_as_nobody("up")

    assert result.returncode == 1
    assert "needs Python 3.11 or newer" in result.stderr and "3.10.12" in result.stderr
    assert "apt-get" not in result.stderr
