"""Quick bursts of requests from a random 127.0.x.y, for the gateway's per-address throttles.

nginx keys `limit_req` on the client address, so a burst sent from an address of its own
empties only that address's bucket: 127.0.0.1, where every other test runs, is not throttled.
Linux routes all of 127.0.0.0/8 to loopback, so any such source reaches nginx on 127.0.0.1.
"""

from __future__ import annotations

import random
import re
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.adapters import HTTPAdapter
from robot.api import logger
from robot.api.deco import keyword, library


class SourceAddressAdapter(HTTPAdapter):
    """Binds every connection of the pool to one local address."""

    def __init__(self, source_address: str, **kwargs):
        self._source_address = source_address
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["source_address"] = (self._source_address, 0)
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)


def _bound_session(source_address: str) -> requests.Session:
    """A session whose every connection leaves from `source_address`, never retried."""
    session = requests.Session()
    adapter = SourceAddressAdapter(source_address, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@library(scope="GLOBAL", auto_keywords=False)
class LoopbackBurst:
    @keyword("Random loopback address")
    def random_loopback_address(self) -> str:
        """An address in 127.0.1.1 - 127.0.254.254: never 127.0.0.1, rarely one used before."""
        return f"127.0.{random.randint(1, 254)}.{random.randint(1, 254)}"  # noqa: S311

    @keyword("Sign in to the console repeatedly from")
    def sign_in_to_the_console_repeatedly_from(
        self, source_address: str, base_url: str, count: int, email: str, password: str
    ) -> list[int]:
        """Fills and sends the console's sign-in form ``count`` times from ``source_address``, as
        a browser there would (its page, its CSRF token, its cookie), and returns each answer's
        status: 303 signed in, 401 refused, 429 told to wait."""
        statuses = []
        for _ in range(int(count)):
            with _bound_session(source_address) as browser:
                page = browser.get(f"{base_url}/console/login", timeout=20)
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                if token is None:
                    raise AssertionError(f"the sign-in page has no CSRF token: {page.status_code}")
                answer = browser.post(
                    f"{base_url}/console/login",
                    data={"email": email, "password": password, "csrf_token": token.group(1)},
                    allow_redirects=False,
                    timeout=20,
                )
                statuses.append(answer.status_code)
        logger.info(f"{count} console sign-ins from {source_address}: {statuses}")
        return statuses

    @keyword("Post repeatedly from")
    def post_repeatedly_from(
        self,
        source_address: str,
        url: str,
        count: int,
        body: str,
        content_type: str = "application/json",
    ) -> list[requests.Response]:
        """POSTs ``body`` to ``url`` ``count`` times, back to back on one keep-alive connection
        from ``source_address``, and returns every answer in order."""
        with _bound_session(source_address) as session:
            # The same 20 s as the suites' session: each wrong password is an argon2 check,
            # seconds long on a loaded 2-core machine.
            answers = [
                session.post(url, data=body, headers={"Content-Type": content_type}, timeout=20)
                for _ in range(count)
            ]
        statuses = [answer.status_code for answer in answers]
        logger.info(f"{count} POSTs to {url} from {source_address}: {statuses}")
        return answers

    @keyword("Post at once from")
    def post_at_once_from(
        self,
        source_address: str,
        url: str,
        count: int,
        body: str,
        content_type: str = "application/json",
    ) -> list[requests.Response]:
        """POSTs ``body`` to ``url`` ``count`` times from ``source_address``, all at once (a
        connection each), and returns every answer. Sent one after another, a burst reaches
        nginx only as fast as each answer comes back, which on a loaded machine can be slower
        than the rate it allows; sent at once it is a burst however loaded the machine is."""

        def post(_) -> requests.Response:
            with _bound_session(source_address) as session:
                return session.post(
                    url, data=body, headers={"Content-Type": content_type}, timeout=20
                )

        with ThreadPoolExecutor(max_workers=int(count)) as pool:
            answers = list(pool.map(post, range(int(count))))
        statuses = [answer.status_code for answer in answers]
        logger.info(f"{count} POSTs at once to {url} from {source_address}: {statuses}")
        return answers
