"""Fetching shop pages politely and safely.

- SSRF: before every request, and again at every redirect (followed here, never by requests),
  the host is resolved and each of its addresses must be public (an IPv4 address inside an IPv6
  one, NAT64 or 6to4 or mapped, is judged as that IPv4 address) or itself listed in
  COLLECTOR_ALLOWED_PRIVATE_HOSTS: private, loopback, link-local, multicast, reserved and
  unspecified addresses are refused, and so is a URL or a redirect's Location that cannot be
  parsed (`http://[`). A host name listed there is trusted with whatever it resolves to. The
  request then connects to one of the addresses checked, never resolving the name again (DNS
  rebinding); https still sends the name (SNI) and verifies the certificate against it. Only
  http and https.
- robots.txt is read once per site and run (protego); a page it disallows for our User-Agent is
  never requested. A robots.txt that answers 4xx allows everything; one that cannot be read
  (5xx, 429, no answer) disallows the site for the run, as Google does.
- One request at a time per site, `delay_s` (or the site's Crawl-delay, when longer, but never
  more than COLLECTOR_MAX_CRAWL_DELAY_S) apart, robots.txt and the first page too: the pause
  after a request is waited before the next one, and a stop (the run's `stopping`) ends it at
  once with Stopped, no request cut off.
- A page, picture or robots.txt answered 429 Too Many Requests slows its site down for SLOWED_FOR_S
  from that answer, for every run (another source on the site, the source's next run): the pause
  after that answer, and until then between the site's requests, is the one its Retry-After asks for
  (seconds or an HTTP-date), else twice the site's delay (the slowed one, when it is slowed already)
  and at least 1 s, never more than COLLECTOR_MAX_CRAWL_DELAY_S (nor less than the delay it had).
  The pacer keeps it (see Pacer). The page is asked once more after that pause, in a turn of its own
  like any request; a second 429 is the answer. robots.txt is not asked again: the site is
  disallowed for the run, and the next run's robots.txt waits the pause out.
- A clear User-Agent with a contact URL, connect and read timeouts, a deadline for the whole
  exchange, from the connection to the body's last byte (headers or a body dripping a byte at a
  time cannot outlast it), a size limit on every body.
- Pages are decoded as browsers do: the charset of the Content-Type, a BOM, the page's own
  `<meta charset>`, else UTF-8 (w3lib).
- Conditional requests: a known ETag / Last-Modified is sent back; a 304 is "unchanged".
"""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
import threading
import time
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from protego import Protego
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from w3lib.encoding import html_to_unicode

log = logging.getLogger("feira.collector")

MAX_REDIRECTS = 5
# How long a site that answered 429 stays slowed, from its last 429: a week, so that a source run
# every day (or several sources on the site) does not come back at its old pace and lose a page
# to the 429 again. A constant: as a setting it would be named in five places (the app,
# .env.example, compose, the registry, Kubernetes) for a length no one has had to change.
SLOWED_FOR_S = 7 * 24 * 3600.0


class Refused(Exception):
    """A URL the collector will not fetch (the reason, safe to show an admin)."""


class FetchFailed(Exception):
    """The request was made but gave no usable answer: a timeout, a 5xx, a body too large."""


class Stopped(Exception):
    """The worker is stopping (a rollout): no request is made any more, and the run goes back."""


@dataclass
class Settings:
    user_agent: str
    allowed_private_hosts: frozenset[str]
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    # The whole exchange, from the connection to the body's last byte (status line and headers
    # too): `read_timeout` bounds each wait, this their sum.
    total_timeout: float = 30.0
    max_bytes: int = 2 * 1024 * 1024
    # A robots.txt may ask for any Crawl-delay; a longer one (or one that is not a number) is this.
    max_crawl_delay: float = 60.0


@dataclass
class Answer:
    url: str
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        try:
            return html_to_unicode(self.headers.get("content-type"), self.body)[1]
        except (LookupError, UnicodeError):  # a charset that is no text encoding (zlib, idna)
            return self.body.decode("utf-8", errors="replace")


def user_agent(contact_url: str) -> str:
    return f"FeiraCollector/1.0 (+{contact_url})"


# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, IPv4-compatible):
# Python calls them global whatever that address is.
NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# The local-use NAT64 prefix (RFC 8215) may embed the IPv4 address anywhere: refused whole.
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")


def public(address: str) -> bool:
    """A global unicast address, judged as the IPv4 address inside when it is an IPv6 one that
    carries one (`::ffff:10.0.0.5`, `::10.0.0.5`, `64:ff9b::a00:5`, `2002:a00:5::`)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in LOCAL_NAT64:
            return False
        if ip in NAT64 or ip in IPV4_COMPATIBLE:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        else:
            ip = ip.ipv4_mapped or ip.sixtofour or ip
    return ip.is_global and not ip.is_multicast


def check_address(url: str, allowed: frozenset[str]) -> list[str]:
    """The addresses of the URL's host, to connect to (no other: the name may answer otherwise
    the next time). Refused unless the URL is http(s) and each address is public or allowed,
    or the host name itself is allowed."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # `http://[`, `http://[zz]/`
        raise Refused("an invalid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise Refused(f"only http and https are fetched, not {parts.scheme or 'no scheme'}")
    host = parts.hostname
    if not host:
        raise Refused("a URL without a host")
    if parts.username or parts.password:
        raise Refused("a URL with credentials in it")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise Refused("a URL with an invalid port") from exc
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused(f"the host {host} does not resolve") from exc
    return check_addresses(host, _addresses(infos), allowed)


def check_addresses(host: str, addresses: list[str], allowed: frozenset[str]) -> list[str]:
    """`addresses`, those of `host`, unless one is neither public nor allowed and the host name
    itself is not allowed either (then Refused)."""
    if host.lower() in allowed:
        return addresses
    for address in addresses:
        if address not in allowed and not public(address):
            named = host if address == host else f"{host} ({address})"
            raise Refused(
                f"{named} is a private, loopback, link-local or reserved address "
                "(not in COLLECTOR_ALLOWED_PRIVATE_HOSTS)"
            )
    return addresses


def check_literal_address(host: str, allowed: frozenset[str]) -> None:
    """Refused now when `host` is an IP address (in any spelling getaddrinfo reads as one:
    `127.1`, `[::ffff:10.0.0.1]`) that check_address would refuse when fetched. A host name is
    left to that check: what it resolves to can change between now and the run."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        return
    check_addresses(host, _addresses(infos), allowed)


def _addresses(infos: list) -> list[str]:
    """getaddrinfo's addresses, once each, in its order, without an IPv6 zone (`%eth0`)."""
    return list(dict.fromkeys(info[4][0].split("%", 1)[0] for info in infos))


def redirected(url: str, location: str) -> str:
    """Where a redirect from `url` leads; Refused when its Location is no URL (`http://[`), as
    is one to where the collector may not go: the page is rejected, not the run."""
    try:
        return urljoin(url, location)
    except ValueError as exc:
        raise Refused(f"a redirect to an invalid URL ({location[:200]})") from exc


def retry_after(value: str | None) -> float | None:
    """The seconds a Retry-After asks us to wait: a number of seconds, or an HTTP-date (from
    now). None, no hint, when it is missing, negative (a date past) or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:  # `-0000`: UTC, its zone not said
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - time.time()
    return seconds if seconds >= 0 else None  # NaN is not >= 0 either


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Deadline:
    """One timer for a whole exchange: at `seconds` it shuts the socket of the connection in
    use for reading, which ends a read blocked in http.client (the status line, a header, the
    body) at once. The socket is that of the connection this thread's request connects or sends
    on (see WatchedConnection), recorded as it does (http.client may hand it to the response
    and forget it); one that connects after the deadline is shut then. `stop()` before the
    connection goes back to the pool: the timer never touches it after."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.late = False
        self._guard = threading.Lock()
        self._stopped = False
        self._sock: socket.socket | None = None
        self._timer = threading.Timer(seconds, self._cut_off)
        self._timer.daemon = True
        self._outer: Deadline | None = None

    def __enter__(self) -> Deadline:
        self._outer = getattr(WATCHING, "deadline", None)
        WATCHING.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
        WATCHING.deadline = self._outer

    def stop(self) -> None:
        with self._guard:
            self._stopped = True
        self._timer.cancel()

    def watch(self, connection: HTTPConnection) -> None:
        with self._guard:
            if self._stopped:
                return
            if connection.sock is not None:
                self._sock = connection.sock
            if self.late:
                self._shut()

    def _cut_off(self) -> None:
        with self._guard:
            if self._stopped:
                return
            self.late = True
            self._shut()

    def _shut(self) -> None:
        if self._sock is not None:
            with suppress(OSError, ValueError):  # it may have just ended
                self._sock.shutdown(socket.SHUT_RD)


# The Deadline of the request this thread is making, if any.
WATCHING = threading.local()


class WatchedConnection(HTTPConnection):
    """Tells this thread's Deadline which connection it uses: when it connects (a new one) and
    when it sends the request (a kept-alive one too)."""

    def connect(self) -> None:
        super().connect()
        self._watched()

    def request(self, *args, **kwargs) -> None:
        self._watched()
        super().request(*args, **kwargs)

    def _watched(self) -> None:
        deadline = getattr(WATCHING, "deadline", None)
        if deadline is not None:
            deadline.watch(self)


class WatchedHTTPSConnection(WatchedConnection, HTTPSConnection):
    pass


class WatchedPool(HTTPConnectionPool):
    ConnectionCls = WatchedConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """Connects to the address written in the request's URL; the host it is for is the Host
    header, and for https the name sent (SNI) and the one the certificate must match. Its
    connections are watched by the request's Deadline."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": WatchedPool, "https": WatchedHTTPSPool}

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            name = urlsplit("//" + request.headers["Host"]).hostname
            pool_kwargs.update(server_hostname=name, assert_hostname=name)
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)


def never_connected(exc: requests.ConnectionError) -> bool:
    """No connection was made (refused, unreachable, timed out connecting): nothing was sent."""
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ConnectTimeoutError)  # urllib3's NewConnectionError is one too


class OwnRedirects(requests.Session):
    """A session that leaves redirects to Fetcher.get, each hop checked. requests, even told not
    to follow one, looks ahead to offer `response.next`: it reads the redirect's body whole (past
    the size limit) and parses its Location, raising ValueError for `http://[`."""

    def get_redirect_target(self, resp) -> None:
        return None


def wait_out(seconds: float, stopping: threading.Event) -> None:
    """Wait `seconds` (none when not positive); Stopped as soon as `stopping` is set, before or
    meanwhile."""
    if stopping.wait(max(seconds, 0.0)):
        raise Stopped


@dataclass
class Turn:
    """A site's turn, held for one request: `pause` is the one to wait after it, which the
    answer may lengthen (a 429's Retry-After); `slowed` the gap the site's requests keep since a
    429 to any run, while it lasts (0: none)."""

    pause: float
    slowed: float = 0.0
    # Answered 429 in this turn: the site is slowed by `slowed` for SLOWED_FOR_S from its end.
    answered_429: bool = False

    def slow(self, gap: float) -> None:
        """A 429: its pause, and the site's gap from now on, is `gap`."""
        self.pause = self.slowed = gap
        self.answered_429 = True


class Pacer(ABC):
    """One request at a time per site, paced: a request waits until the pause the last request
    to the site asked for is over, and until its own `delay` has passed since that one ended (the
    first page after robots.txt takes robots.txt's Crawl-delay, not known when robots.txt was
    asked). The pause is waited before the next request, not after the last one: a stop during
    it makes no request and waits for nothing. A site whose turn was answered 429 (`Turn.slow`)
    keeps that gap between its requests, every run's, for SLOWED_FOR_S after the 429 (a longer
    one, another 429's, stays); the turn tells it to the fetcher (`Turn.slowed`), whose next 429
    doubles it."""

    @abstractmethod
    def turn(
        self, site: str, delay: float, stopping: threading.Event
    ) -> AbstractContextManager[Turn]:
        """The site's turn, held while one request is made, its pause after it `delay` unless
        the request lengthens it; Stopped, and no request, when `stopping` is set before it
        starts (during the pause too)."""


class Fetcher:
    """Fetches for one run: its robots.txt answers, its delay, one session."""

    def __init__(
        self,
        settings: Settings,
        delay_s: float,
        pacer: Pacer,
        stopping: threading.Event | None = None,
    ):
        self.settings = settings
        self.delay_s = delay_s
        self.pacer = pacer
        # Set when the worker stops: a request not begun is not made (Stopped).
        self.stopping = stopping or threading.Event()
        self.robots: dict[str, Protego | None] = {}
        self.session = OwnRedirects()
        # Shop pages are reached directly: no proxy or .netrc from the environment.
        self.session.trust_env = False
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, PinnedAdapter())
        self.session.headers.update(
            {
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                "Accept-Language": "pt-BR,pt;q=0.9",
            }
        )

    def close(self) -> None:
        self.session.close()

    def check(self, url: str) -> None:
        """Refused when the URL points where the collector may not go (the SSRF guard)."""
        check_address(url, self.settings.allowed_private_hosts)

    def robots_unreadable(self, url: str) -> bool:
        return self.robots.get(origin(url), False) is None

    def allowed(self, url: str) -> bool:
        """robots.txt lets our User-Agent fetch it."""
        site = origin(url)
        if site not in self.robots:
            self.robots[site] = self._robots(site)
        rules = self.robots[site]
        return rules is not None and rules.can_fetch(url, self.settings.user_agent)

    def _robots(self, site: str) -> Protego | None:
        try:
            answer = self.get(site + "/robots.txt", robots=True)
        except (Refused, FetchFailed) as exc:
            log.info("robots.txt of %s unreadable: %s", site, exc)
            return None
        if answer.status == 429:
            # A site throttling us (a WAF) has not said it has no rules: like a 5xx, it cannot
            # be read now, and a 4xx's "everything allowed" would ignore its Disallow lines.
            log.info("robots.txt of %s unreadable: HTTP 429", site)
            return None
        if answer.status >= 400:
            return Protego.parse("")
        return Protego.parse(answer.text)

    def delay_for(self, site: str) -> float:
        """`delay_s`, or the site's Crawl-delay when longer, up to the cap (`1e20` is the cap).
        A 429's longer gap is the pacer's to keep: it binds other runs too."""
        rules = self.robots.get(site)
        crawl_delay = float((rules.crawl_delay(self.settings.user_agent) if rules else None) or 0)
        cap = self.settings.max_crawl_delay
        if not math.isfinite(crawl_delay) or crawl_delay > cap:
            crawl_delay = cap
        return max(self.delay_s, crawl_delay)

    def slow_down(self, site: str, asked: str | None, slowed: float = 0.0) -> float:
        """The site's delay from now on, after a 429 whose Retry-After is `asked`, when it was
        `slowed` already (0: not)."""
        delay = max(self.delay_for(site), slowed)
        hint = retry_after(asked)
        wanted = max(2 * delay, 1.0) if hint is None else hint
        gap = max(delay, min(wanted, self.settings.max_crawl_delay))
        log.info(
            "%s asked to slow down (HTTP 429): its requests %g s apart for %g h",
            site,
            gap,
            SLOWED_FOR_S / 3600,
        )
        return gap

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = False,
        max_bytes: int | None = None,
    ) -> Answer:
        """GET with our own redirect handling (each hop checked), paced per site. A 304 comes
        back as it is; 5xx, timeouts and bodies over the limit are FetchFailed. A 429 is asked
        once more, after the pause it set (robots.txt's is not: see `_robots`)."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        retried = False
        for _hop in range(MAX_REDIRECTS + 1):
            answer = self._ask(url, headers, max_bytes or self.settings.max_bytes, robots)
            if answer.status == 429 and not robots and not retried:
                retried = True
                answer = self._ask(url, headers, max_bytes or self.settings.max_bytes, robots)
            if answer.status in (301, 302, 303, 307, 308) and "location" in answer.headers:
                url = redirected(url, answer.headers["location"])
                continue
            if answer.status >= 500:
                raise FetchFailed(f"HTTP {answer.status}")
            return answer
        raise FetchFailed(f"more than {MAX_REDIRECTS} redirects")

    def _ask(self, url: str, headers: dict, max_bytes: int, robots: bool) -> Answer:
        """One request, its address checked and (but for robots.txt) robots.txt obeyed."""
        addresses = check_address(url, self.settings.allowed_private_hosts)
        if not robots and not self.allowed(url):
            raise Refused("disallowed by robots.txt")
        return self._request(url, addresses, headers, max_bytes, robots)

    def _request(
        self, url: str, addresses: list[str], headers: dict, max_bytes: int, robots: bool
    ) -> Answer:
        site = origin(url)
        total = self.settings.total_timeout
        with (
            self.pacer.turn(site, self.delay_for(site), self.stopping) as turn,
            Deadline(total) as deadline,
        ):
            try:
                with self._send(
                    url, addresses, headers, min(self.settings.read_timeout, total), deadline
                ) as response:
                    try:
                        answer = Answer(
                            url=url,
                            status=response.status_code,
                            body=self._read(response, max_bytes),
                            headers={k.lower(): v for k, v in response.headers.items()},
                        )
                    finally:
                        deadline.stop()  # before the connection goes back to the pool
            except requests.RequestException as exc:
                if deadline.late:
                    raise self._late() from exc
                if isinstance(exc, requests.Timeout):
                    raise FetchFailed("timed out") from exc
                raise FetchFailed(f"no answer ({type(exc).__name__})") from exc
            if deadline.late:
                # Cut off in the headers (their end taken for the end) or the body: the answer
                # is not whole. The socket, shut for reading, reads as dropped: the pool closes
                # the connection rather than use it again.
                raise self._late()
            if answer.status == 429:
                # Written as this turn's pause and the site's gap: the site's next requests,
                # whichever worker or run makes them, wait it (robots.txt's included: a throttled
                # site is disallowed for this run, and the next run's first request waits).
                turn.slow(self.slow_down(site, answer.headers.get("retry-after"), turn.slowed))
            return answer

    def _late(self) -> FetchFailed:
        return FetchFailed(f"no whole answer within {self.settings.total_timeout:g} s")

    def _send(
        self,
        url: str,
        addresses: list[str],
        headers: dict,
        read_timeout: float,
        deadline: Deadline,
    ) -> requests.Response:
        """GET `url` from the first of its checked `addresses` that takes the connection (the
        URL is written with the address, the Host header with the host: see PinnedAdapter),
        trying no other once `deadline` has passed."""
        request = self.session.prepare_request(requests.Request("GET", url, headers=headers))
        parts = urlsplit(request.url)  # the host as requests sends it (IDNA)
        request.headers["Host"] = parts.netloc
        port = parts.port or (443 if parts.scheme == "https" else 80)

        def send_to(address: str) -> requests.Response:
            literal = f"[{address}]" if ":" in address else address
            request.url = urlunsplit(parts._replace(netloc=f"{literal}:{port}"))
            return self.session.send(
                request,
                allow_redirects=False,
                stream=True,
                timeout=(self.settings.connect_timeout, read_timeout),
            )

        for address in addresses[:-1]:
            try:
                return send_to(address)
            except requests.ConnectionError as exc:
                if deadline.late or not never_connected(exc):
                    raise
        return send_to(addresses[-1])

    def _read(self, response: requests.Response, max_bytes: int) -> bytes:
        """The body, at most `max_bytes` of it. The read timeout bounds each wait, not their sum:
        the request's Deadline cuts off a page that drips a byte at a time (the read then ends
        early or fails, and the caller says so)."""
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > max_bytes:
                raise FetchFailed(f"larger than {max_bytes} bytes")
        return bytes(body)
