"""Fixtures of the Kubernetes tests: the overlays as kustomize builds them (what a cluster gets)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.kubernetes.check import OVERLAYS, kubectl


@pytest.fixture(scope="session")
def overlays() -> dict[str, list[dict]]:
    """Every overlay's objects, built by `kubectl kustomize` (skipped without kubectl: `make
    k8s-check` installs it and runs the same checks)."""
    tool = kubectl()
    if tool is None:
        pytest.skip("kubectl is not installed (make k8s-check installs it)")
    built = {}
    for overlay in sorted(p for p in Path(OVERLAYS).iterdir() if p.is_dir()):
        output = subprocess.run(
            [tool, "kustomize", str(overlay)], capture_output=True, text=True, check=True
        ).stdout
        built[overlay.name] = [doc for doc in yaml.safe_load_all(output) if doc]
    return built
