"""The SSRF guard refuses what `is_private` alone would let through: multicast (which Python
calls global) and the carrier-grade NAT range (neither private nor global)."""

import pytest

from services.collector.fetching import Refused, check_address


@pytest.mark.parametrize(
    "url",
    [
        "http://224.0.0.1/",
        "http://239.255.255.250:1900/",
        "http://[ff02::1]/",
        "http://100.64.0.1/",
    ],
)
def test_multicast_and_shared_address_space_are_refused(url):
    with pytest.raises(Refused, match="private, loopback"):
        check_address(url, frozenset())
