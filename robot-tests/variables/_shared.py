"""What every environment's variable file sets the same way: the stack's limits the suites
probe, and the browser for the dashboard suite. `get(name, default)` reads a setting."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

try:
    from monitoring.config import parse_duration
except ImportError:  # the project is not pip-installed: import it from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from monitoring.config import parse_duration


def limits(get: Callable[[str, str], str]) -> dict:
    # A stopped service is down within two check intervals plus the failure threshold (two
    # checks); MONITOR_INTERVAL shortens every interval (the test stack's is 2s, a stack that
    # leaves it unset checks every 15s). 10 s of slack. The dashboard, monitoring and
    # notifications scenarios wait that long for a state, on every stack.
    interval = parse_duration(get("MONITOR_INTERVAL", "15s") or "15s")
    return {
        "DOWN_WITHIN": f"{(2 + 2) * interval + 10:g}s",
        # The gateway's per-address burst on /auth/login and auth's per-account failure limit.
        "LOGIN_BURST": int(get("FEIRA_LOGIN_BURST", "20")),
        "LOGIN_MAX_FAILURES": int(get("LOGIN_MAX_FAILURES", "5")),
        # auth's registrations per source address in its window (127.0.0.1 is left unthrottled).
        "REGISTER_MAX_ATTEMPTS": int(get("REGISTER_MAX_ATTEMPTS", "20")),
        # The largest picture upload the gateway and products accept (a larger one is a 413).
        "IMAGE_MAX_BYTES": int(get("IMAGE_MAX_BYTES", "5242880")),
        "IMAGE_MAX_PER_PRODUCT": int(get("IMAGE_MAX_PER_PRODUCT", "10")),
        # Payments' clocks (the test stack shortens them): an unpaid PIX is expired after
        # PIX_EXPIRES_S, and a payment left without a webhook for PAYMENTS_RECONCILE_AFTER_S is
        # asked about at the provider every PAYMENTS_RECONCILE_INTERVAL_S. The scenarios that wait
        # for them skip when they are minutes long.
        "PIX_EXPIRES_S": int(get("PIX_EXPIRES_S", "900")),
        "PAYMENTS_RECONCILE_INTERVAL_S": int(get("PAYMENTS_RECONCILE_INTERVAL_S", "30")),
        "PAYMENTS_RECONCILE_AFTER_S": int(get("PAYMENTS_RECONCILE_AFTER_S", "120")),
        # Debian's chromium and chromium-driver (.ci/run installs them) for the dashboard suite.
        "CHROMIUM": shutil.which("chromium") or "/usr/bin/chromium",
        "CHROMEDRIVER": shutil.which("chromedriver") or "/usr/bin/chromedriver",
    }
