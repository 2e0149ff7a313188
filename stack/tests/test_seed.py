"""What `make seed` takes from the rest of the system without importing it."""

from monitoring.journey import PROBE_EMAIL
from stack.seed import JOURNEY_PROBE_EMAIL


def test_the_seed_leaves_out_the_client_the_monitoring_journey_probes():
    """Its address lives a moment every run: an order naming it would be refused."""
    assert JOURNEY_PROBE_EMAIL == PROBE_EMAIL
