"""Politeness and safety of every request: robots.txt, pacing, the User-Agent, timeouts, size
limits, conditional requests, and the SSRF guard (after DNS and at every redirect)."""

import datetime
import email.utils
import itertools
import socket
import ssl
import threading
import time
from contextlib import contextmanager, suppress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask, Response, redirect
from werkzeug.serving import make_server

from services.collector.collecting import SharedPacer
from services.collector.fetching import (
    SLOWED_FOR_S,
    Answer,
    Fetcher,
    FetchFailed,
    Pacer,
    Refused,
    Settings,
    Stopped,
    Turn,
    check_address,
    user_agent,
    wait_out,
)
from services.collector.models import SiteTurn, db
from services.kit import utcnow
from services.kit.testing import LiveServer, truncate_all

LOOPBACK = frozenset({"127.0.0.1"})


class Unpaced(Pacer):
    """No pacing, and no database: for the tests not about pacing. Those that are take the
    worker's pacer (`paced`), the one rule there is."""

    @contextmanager
    def turn(self, site, delay, stopping):
        wait_out(0, stopping)
        yield Turn(pause=delay)


@pytest.fixture
def paced(app):
    """The worker's pacer, in the collector's app, every site's last request forgotten (other
    tests' pauses would hold)."""
    truncate_all(app)
    with app.app_context():
        yield SharedPacer()
        db.session.remove()


def fetcher(delay_s=0.0, allowed=LOOPBACK, pacer=None, stopping=None, **settings):
    return Fetcher(
        Settings(
            user_agent=user_agent("https://feira.test/coletor"),
            allowed_private_hosts=allowed,
            read_timeout=settings.pop("read_timeout", 0.5),
            **settings,
        ),
        delay_s,
        pacer=pacer or Unpaced(),
        stopping=stopping,
    )


@pytest.fixture
def served(shops):
    shops.forget()
    return shops


def resolving(monkeypatch, host, *answers):
    """`host` resolves to the addresses of `answers[0]`, at the next lookup to `answers[1]`, and
    so on, then always to the last (a TTL-0 name); other names as usual. Patched in `socket`,
    where urllib3 resolves too. The lookups made are returned, as they happen."""
    real = socket.getaddrinfo
    pending, lookups = list(answers), []

    def getaddrinfo(name, port, *args, **kwargs):
        if name != host:
            return real(name, port, *args, **kwargs)
        addresses = pending.pop(0) if len(pending) > 1 else pending[0]
        lookups.append(addresses)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


@contextmanager
def serving(app, address, port=0, ssl_context=None):
    """`app` on `address` (any of 127/8), in a thread; yields its port."""
    server = make_server(address, port, app, threaded=True, ssl_context=ssl_context)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()


def certificate_for(name, directory):
    """A self-signed certificate for `name` and its key (PEM files): the file is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://192.168.1.10/",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_refused(url):
    with pytest.raises(Refused, match="private, loopback"):
        check_address(url, LOOPBACK)


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1 (allowed only as itself)
        "http://[64:ff9b:1::a00:5]/",  # local-use NAT64
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
        "http://[::a00:5]/",  # IPv4-compatible 10.0.0.5
    ],
)
def test_an_ipv4_address_inside_an_ipv6_one_is_judged_as_that_address(url):
    with pytest.raises(Refused, match="private, loopback"):
        check_address(url, LOOPBACK)


def test_a_nat64_address_of_a_public_one_is_fetched():
    assert check_address("http://[64:ff9b::5db8:d822]/", frozenset()) == ["64:ff9b::5db8:d822"]


@pytest.mark.parametrize(
    ("addresses", "allowed"),
    [
        (["127.0.0.1", "169.254.169.254"], LOOPBACK),
        (["93.184.216.34", "10.0.0.1"], frozenset()),
    ],
)
def test_a_host_with_one_address_not_public_nor_allowed_is_refused(monkeypatch, addresses, allowed):
    resolving(monkeypatch, "misto.test", addresses)
    with pytest.raises(Refused, match=rf"misto\.test \({addresses[1]}\) is a private"):
        check_address("http://misto.test/", allowed)


def test_a_host_name_that_is_allowed_is_trusted_with_all_its_addresses(monkeypatch):
    resolving(monkeypatch, "loja.interna", ["10.0.0.5", "127.0.0.2"])
    allowed = frozenset({"loja.interna"})
    assert check_address("http://loja.interna/", allowed) == ["10.0.0.5", "127.0.0.2"]


def test_a_name_that_answers_otherwise_the_second_time_is_fetched_from_the_address_checked(
    monkeypatch, own_shop
):
    own_shop.pages["/pagina"] = "<h1>loja</h1>"
    port = int(own_shop.url.rsplit(":", 1)[1])
    inside = Flask(__name__)
    inside.add_url_rule("/<path:path>", "secret", lambda path: "SEGREDO")
    with serving(inside, "127.0.0.2", port):
        lookups = resolving(monkeypatch, "vira.test", ["127.0.0.1"], ["127.0.0.2"])
        # robots=True: no robots.txt read first, so the page's check is the first lookup.
        answer = fetcher().get(f"http://vira.test:{port}/pagina", robots=True)
    assert (answer.status, answer.body) == (200, b"<h1>loja</h1>")
    assert lookups == [["127.0.0.1"]]
    assert own_shop.asked[-1]["headers"]["Host"] == f"vira.test:{port}"


def test_a_site_refusing_the_connection_at_its_first_address_is_fetched_at_the_next(
    monkeypatch, own_shop
):
    own_shop.pages["/pagina"] = "<h1>loja</h1>"
    port = int(own_shop.url.rsplit(":", 1)[1])
    resolving(monkeypatch, "dupla.test", ["127.0.0.3", "127.0.0.1"])  # nothing on 127.0.0.3
    allowed = frozenset({"127.0.0.1", "127.0.0.3"})
    answer = fetcher(allowed=allowed).get(f"http://dupla.test:{port}/pagina", robots=True)
    assert answer.body == b"<h1>loja</h1>"


@pytest.mark.parametrize(("certified", "fetched"), [("loja.test", True), ("outra.test", False)])
def test_https_to_the_checked_address_verifies_the_certificate_against_the_name(
    monkeypatch, tmp_path, certified, fetched
):
    cert_file, key_file = certificate_for(certified, tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    shop = Flask(__name__)
    shop.add_url_rule("/", "home", lambda: "<h1>segura</h1>")
    with serving(shop, "127.0.0.1", ssl_context=context) as port:
        resolving(monkeypatch, "loja.test", ["127.0.0.1"])
        polite = fetcher()
        polite.session.verify = str(cert_file)
        if fetched:
            assert polite.get(f"https://loja.test:{port}/", robots=True).body == b"<h1>segura</h1>"
        else:
            with pytest.raises(FetchFailed, match="SSLError"):
                polite.get(f"https://loja.test:{port}/", robots=True)


def test_a_host_that_resolves_to_loopback_is_refused_unless_allowed():
    with pytest.raises(Refused):
        check_address("http://localhost/", frozenset())
    check_address("http://localhost/", LOOPBACK)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://127.0.0.1/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http://ana:segredo@127.0.0.1/", "credentials"),
        ("http://nao-existe.invalid/", "does not resolve"),
    ],
)
def test_other_schemes_credentials_and_unknown_hosts_are_refused(url, reason):
    with pytest.raises(Refused, match=reason):
        check_address(url, LOOPBACK)


def test_a_public_address_is_fetched_without_being_listed():
    check_address("http://93.184.216.34/", frozenset())


def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed():
    app = Flask(__name__)
    app.add_url_rule("/robots.txt", "robots", lambda: ("", 404))
    app.add_url_rule("/vai", "go", lambda: redirect("http://127.0.0.2:9/segredo"))
    server = LiveServer(app).start()
    try:
        with pytest.raises(Refused, match=r"127\.0\.0\.2"):
            fetcher().get(f"{server.base_url}/vai")
    finally:
        server.stop()


@pytest.mark.parametrize("url", ["http://[", "http://[::1/", "http://[zz]/"])
def test_a_url_that_cannot_be_parsed_is_refused(url):
    with pytest.raises(Refused, match="an invalid URL"):
        check_address(url, LOOPBACK)


def test_a_redirect_to_a_location_that_cannot_be_parsed_is_refused(own_shop):
    own_shop.pages["/vai"] = ("", 302, {"Location": "http://[::1"})
    with pytest.raises(Refused, match=r"a redirect to an invalid URL \(http://\[::1\)"):
        fetcher().get(f"{own_shop.url}/vai")


def test_robots_txt_is_obeyed_and_the_disallowed_page_never_requested(served):
    polite = fetcher()
    assert polite.allowed(served.url + "/loja-json/")
    assert not polite.allowed(served.url + "/loja-json/ofertas/")
    with pytest.raises(Refused, match=r"robots\.txt"):
        polite.get(served.url + "/loja-json/ofertas/")
    assert served.requests("/loja-json/ofertas/") == []
    assert len(served.requests("/robots.txt")) == 1


def test_every_request_names_the_collector_and_its_contact(served):
    fetcher().get(served.url + "/loja-json/")
    agents = {entry["user_agent"] for entry in served.requests()}
    assert agents == {"FeiraCollector/1.0 (+https://feira.test/coletor)"}


def test_a_slow_page_times_out(served):
    with pytest.raises(FetchFailed, match="timed out"):
        fetcher(read_timeout=0.3).get(served.url + "/loja-instavel/produto/lento")


def test_a_server_error_is_a_failed_fetch(served):
    with pytest.raises(FetchFailed, match="HTTP 500"):
        fetcher().get(served.url + "/loja-instavel/produto/erro")


def test_a_body_over_the_limit_is_not_read_whole(served):
    with pytest.raises(FetchFailed, match="larger than"):
        fetcher(max_bytes=200).get(served.url + "/loja-json/")


def test_a_redirects_body_over_the_limit_is_not_read_whole(own_shop):
    def endless():
        while True:
            yield b" " * 1024
            time.sleep(0.01)

    own_shop.pages["/vai"] = Response(endless(), 302, {"Location": "/boa"})
    with pytest.raises(FetchFailed, match="larger than 2000 bytes"):
        fetcher(max_bytes=2000, total_timeout=2).get(own_shop.url + "/vai")


def test_known_validators_are_sent_back_and_an_unchanged_page_is_a_304(served):
    polite = fetcher()
    first = polite.get(served.url + "/loja-json/produto/panela-ferro")
    again = polite.get(
        served.url + "/loja-json/produto/panela-ferro",
        etag=first.headers["etag"],
        last_modified=first.headers["last-modified"],
    )
    assert (first.status, again.status, again.body) == (200, 304, b"")
    assert served.requests("/loja-json/produto/")[-1]["if_none_match"] == first.headers["etag"]


def test_a_site_whose_robots_txt_cannot_be_read_is_not_crawled():
    app = Flask(__name__)
    app.add_url_rule("/robots.txt", "robots", lambda: ("quebrado", 503))
    app.add_url_rule("/", "home", lambda: "<h1>oi</h1>")
    server = LiveServer(app).start()
    try:
        assert not fetcher().allowed(server.base_url + "/")
    finally:
        server.stop()


def test_a_site_whose_robots_txt_answers_too_many_requests_is_not_crawled(own_shop):
    # A WAF throttling us: the rules it hides are unknown, as behind a 5xx, not absent.
    own_shop.pages["/robots.txt"] = ("Too Many Requests", 429, {"Retry-After": "60"})
    own_shop.pages["/"] = "<h1>oi</h1>"
    polite = fetcher()
    assert not polite.allowed(own_shop.url + "/")
    assert polite.robots_unreadable(own_shop.url + "/")
    with pytest.raises(Refused, match=r"robots\.txt"):
        polite.get(own_shop.url + "/")
    assert [asked["path"] for asked in own_shop.asked] == ["/robots.txt"]


@pytest.mark.usefixtures("paced")  # each thread makes a pacer of its own
def test_two_workers_take_turns_at_a_site_through_the_database(app, served):
    def fetch_three():
        with app.app_context():
            polite = Fetcher(
                Settings(user_agent="FeiraCollector/1.0", allowed_private_hosts=LOOPBACK),
                0.2,
                pacer=SharedPacer(),  # a pacer of its own: as in another process
            )
            for _ in range(3):
                polite.get(served.url + "/loja-micro/")

    workers = [threading.Thread(target=fetch_three) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    times = sorted(entry["at"] for entry in served.requests("/loja-micro/"))
    assert len(times) == 6
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))


def test_a_page_that_drips_is_cut_off_at_the_deadline_for_the_whole_answer(own_shop):
    def drip():
        for _ in range(30):
            yield b" "
            time.sleep(0.1)

    own_shop.pages["/pinga"] = Response(drip(), headers={"Content-Length": "30"})
    started = time.monotonic()
    # Each byte comes well within the read timeout; the whole would take 3 s.
    with pytest.raises(FetchFailed, match=r"no whole answer within 1 s"):
        fetcher(read_timeout=0.5, total_timeout=1).get(own_shop.url + "/pinga")
    assert time.monotonic() - started < 2


@contextmanager
def dripping_headers(every_s=0.2, for_s=10.0):
    """A raw HTTP server on 127.0.0.1 (yields its port): its first connection gets a status
    line and then an endless header, a byte every `every_s` (each well within a read timeout),
    until the client lets go or `for_s` passes; every later one a plain page. `connections`
    counts them."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    connections = []

    def answer(client, first):
        with client:
            client.settimeout(for_s)
            with suppress(OSError):
                client.recv(65536)  # the request (small, in one piece)
                if not first:
                    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n<p>oi</p>")
                    client.recv(65536)  # until the client closes
                    return
                client.sendall(b"HTTP/1.1 200 OK\r\nX-Pinga: ")
                until = time.monotonic() + for_s
                while not stop.is_set() and time.monotonic() < until:
                    client.sendall(b"a")
                    time.sleep(every_s)

    def serve():
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            connections.append(client)
            first = len(connections) == 1
            threading.Thread(target=answer, args=(client, first), daemon=True).start()

    server = threading.Thread(target=serve)
    server.start()
    try:
        yield listener.getsockname()[1], connections
    finally:
        stop.set()
        server.join()
        listener.close()


def test_headers_that_drip_are_cut_off_at_the_deadline_for_the_whole_answer():
    with dripping_headers() as (port, connections):
        polite = fetcher(read_timeout=1, total_timeout=1.5)
        started = time.monotonic()
        # Each header byte comes well within the read timeout; the header never ends.
        with pytest.raises(FetchFailed, match=r"no whole answer within 1\.5 s"):
            polite.get(f"http://127.0.0.1:{port}/pinga", robots=True)
        assert time.monotonic() - started < 2.2
        # The connection cut off is not used again: the next page comes on a new one.
        assert polite.get(f"http://127.0.0.1:{port}/", robots=True).body == b"<p>oi</p>"
        assert len(connections) == 2
        polite.close()


@pytest.mark.parametrize("asked", ["1e9", "1e20"])
def test_a_crawl_delay_longer_than_the_cap_is_the_cap(own_shop, paced, asked):
    own_shop.pages["/robots.txt"] = f"User-agent: *\nCrawl-delay: {asked}\n"
    own_shop.pages["/"] = "<h1>oi</h1>"
    polite = fetcher(max_crawl_delay=0.2, pacer=paced)
    started = time.monotonic()
    assert polite.allowed(own_shop.url + "/")  # robots.txt read
    assert polite.delay_for(own_shop.url) == 0.2
    for _ in range(2):
        assert polite.get(own_shop.url + "/").status == 200
    # robots.txt, then each page the capped Crawl-delay after the request before it: the first
    # page's pause is the Crawl-delay robots.txt gave, though it was not known before it.
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/", "/"]
    times = [entry["at"] for entry in own_shop.asked]
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))
    assert 0.4 <= time.monotonic() - started < 2


def test_the_pause_between_robots_txt_and_the_first_page_is_the_crawl_delay(own_shop, paced):
    own_shop.pages["/robots.txt"] = "User-agent: *\nCrawl-delay: 0.4\n"
    own_shop.pages["/"] = "<h1>oi</h1>"
    polite = fetcher(pacer=paced)
    for _ in range(2):
        assert polite.get(own_shop.url + "/").status == 200
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/", "/"]
    times = [entry["at"] for entry in own_shop.asked]
    assert all(later - earlier >= 0.39 for earlier, later in itertools.pairwise(times))


def test_a_stop_during_the_pause_makes_no_request_and_waits_for_nothing(own_shop, paced):
    own_shop.pages["/"] = "<h1>oi</h1>"
    stopping = threading.Event()
    polite = fetcher(delay_s=5.0, pacer=paced, stopping=stopping)
    assert polite.get(own_shop.url + "/", robots=True).status == 200
    threading.Timer(0.2, stopping.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        polite.get(own_shop.url + "/", robots=True)
    assert time.monotonic() - started < 1
    assert [entry["path"] for entry in own_shop.asked] == ["/"]


def test_the_pause_a_request_asked_for_holds_for_a_run_that_asks_for_less(own_shop, paced):
    own_shop.pages["/"] = "<h1>oi</h1>"
    fetcher(delay_s=0.5, pacer=paced).get(own_shop.url + "/", robots=True)
    # Another run, with a pacer of its own as in another process.
    fetcher(delay_s=0.0, pacer=SharedPacer()).get(own_shop.url + "/", robots=True)
    first, second = (entry["at"] for entry in own_shop.asked)
    assert second - first >= 0.49


def test_a_turns_pause_and_slowed_gap_start_at_the_instant_it_ended(paced):
    """One reading of the database's clock for the whole write: read once per use, ended_at and
    not_before could land a microsecond apart, and the pause would not be the one asked for."""
    for n in range(100):
        with paced.turn(f"https://loja-{n}.test", 0.25, threading.Event()) as held:
            if n % 2:
                held.slow(2.5)  # a 429: the gap too
    rows = db.session.execute(
        db.select(SiteTurn.ended_at, SiteTurn.not_before, SiteTurn.slowed_until)
    ).all()
    assert len(rows) == 100
    for ended_at, not_before, slowed_until in rows:
        assert not_before - ended_at in {
            datetime.timedelta(seconds=0.25),
            datetime.timedelta(seconds=2.5),
        }
        if slowed_until is not None:
            assert slowed_until - ended_at == datetime.timedelta(seconds=SLOWED_FOR_S)


def test_requests_to_one_site_are_delay_s_apart_waited_once(served, paced):
    polite = fetcher(delay_s=0.3, pacer=paced)
    for _ in range(3):
        polite.get(served.url + "/loja-micro/")
    times = [entry["at"] for entry in served.requests("/loja-micro/")]
    # The wait follows each answer, so a gap is 0.3 s and the request's own time, which a busy
    # machine stretches; waiting twice would be 0.6 s at the least.
    assert all(0.29 <= later - earlier < 0.59 for earlier, later in itertools.pairwise(times))


def test_a_page_answered_429_is_asked_again_after_the_pause_its_retry_after_asks(own_shop, paced):
    own_shop.pages["/"] = [("Too Many Requests", 429, {"Retry-After": "1"}), "<h1>oi</h1>"]
    answer = fetcher(pacer=paced).get(own_shop.url + "/")
    assert (answer.status, answer.text) == (200, "<h1>oi</h1>")
    first, again = (entry["at"] for entry in own_shop.asked if entry["path"] == "/")
    assert again - first >= 0.99


def test_after_a_429_the_sites_pages_are_asked_the_slowed_delay_apart(own_shop, paced):
    # No Retry-After: twice the delay and at least 1 s, here the cap.
    own_shop.pages["/"] = [("Too Many Requests", 429), "<h1>oi</h1>"]
    own_shop.pages["/outra"] = "<h1>outra</h1>"
    polite = fetcher(delay_s=0.1, max_crawl_delay=0.4, pacer=paced)
    assert polite.get(own_shop.url + "/").status == 200
    assert polite.get(own_shop.url + "/outra").status == 200
    asked = [entry for entry in own_shop.asked if entry["path"] != "/robots.txt"]
    assert [entry["path"] for entry in asked] == ["/", "/", "/outra"]
    times = [entry["at"] for entry in asked]
    assert all(later - earlier >= 0.39 for earlier, later in itertools.pairwise(times))


def slowed_by_another_run(own_shop, paced, cap=0.4):
    """A run whose page `/` answers 429 (no Retry-After: the cap, here under 1 s), then 200."""
    own_shop.pages["/"] = [("Too Many Requests", 429), "<h1>oi</h1>"]
    assert fetcher(delay_s=0.05, max_crawl_delay=cap, pacer=paced).get(own_shop.url + "/").status
    own_shop.pages["/a"] = own_shop.pages["/b"] = "<h1>oi</h1>"


def gaps(asked, paths=("/a", "/b")):
    times = [entry["at"] for entry in asked if entry["path"] in paths]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_a_site_that_answered_429_is_asked_the_slowed_delay_apart_by_the_next_run_too(
    own_shop, paced
):
    slowed_by_another_run(own_shop, paced)
    # The source's next run, or another source's on the site, with a pacer of its own as in
    # another process: its own delay is 0.05 s, the site's slowed one 0.4 s.
    later = fetcher(delay_s=0.05, max_crawl_delay=0.4, pacer=SharedPacer())
    for path in ("/a", "/b"):
        assert later.get(own_shop.url + path).status == 200
    assert [entry["path"] for entry in own_shop.asked][-2:] == ["/a", "/b"]
    assert gaps(own_shop.asked) >= [0.39]


def test_a_robots_txt_answered_429_slows_its_site_for_the_next_run(own_shop, paced):
    # No Retry-After: twice the delay and at least 1 s, here the cap (0.6 s).
    own_shop.pages["/robots.txt"] = [("Too Many Requests", 429), "User-agent: *\nAllow: /\n"]
    own_shop.pages["/a"] = own_shop.pages["/b"] = "<h1>oi</h1>"
    throttled = fetcher(delay_s=0.05, max_crawl_delay=0.6, pacer=paced)
    with pytest.raises(Refused, match=r"robots\.txt"):
        throttled.get(own_shop.url + "/a")
    # The source's next run, with a pacer of its own as in another process.
    later = fetcher(delay_s=0.05, max_crawl_delay=0.6, pacer=SharedPacer())
    for path in ("/a", "/b"):
        assert later.get(own_shop.url + path).status == 200
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/robots.txt", "/a", "/b"]
    between = gaps(own_shop.asked, paths=("/robots.txt", "/a", "/b"))
    assert len(between) == 3
    assert all(gap >= 0.59 for gap in between), between


def test_another_site_is_not_slowed_by_a_429_of_one(monkeypatch, own_shop, paced):
    slowed_by_another_run(own_shop, paced)
    resolving(monkeypatch, "outra.test", ["127.0.0.1"])
    other = own_shop.url.replace("127.0.0.1", "outra.test")
    later = fetcher(delay_s=0.05, max_crawl_delay=0.4, pacer=SharedPacer())
    for site in (other, own_shop.url):
        for path in ("/a", "/b"):
            assert later.get(site + path).status == 200
    hosts = [entry for entry in own_shop.asked if entry["path"] in ("/a", "/b")]
    slowed = [entry for entry in hosts if entry["headers"]["Host"].startswith("127.0.0.1")]
    not_slowed = [entry for entry in hosts if entry["headers"]["Host"].startswith("outra.test")]
    assert gaps(slowed) >= [0.39]
    assert gaps(not_slowed) < [0.3]


def test_once_its_slowing_is_over_a_site_is_asked_at_the_runs_own_delay_again(own_shop, paced):
    slowed_by_another_run(own_shop, paced, cap=0.6)
    later = fetcher(delay_s=0.05, max_crawl_delay=0.6, pacer=SharedPacer())
    for path in ("/a", "/b"):
        assert later.get(own_shop.url + path).status == 200
    assert gaps(own_shop.asked) >= [0.59]
    # SLOWED_FOR_S after the 429 (not waited here: set back).
    slowed_until = db.session.scalar(db.select(SiteTurn.slowed_until))
    assert slowed_until - utcnow() > datetime.timedelta(seconds=SLOWED_FOR_S - 60)
    db.session.execute(db.update(SiteTurn).values(slowed_until=utcnow()))
    db.session.commit()
    own_shop.asked.clear()
    for path in ("/a", "/b"):
        assert later.get(own_shop.url + path).status == 200
    assert gaps(own_shop.asked) < [0.5]


def test_a_429_to_a_slowed_site_doubles_its_gap_whatever_run_is_answered(own_shop, paced):
    own_shop.pages["/"] = [("Too Many Requests", 429, {"Retry-After": "0.6"}), "<h1>oi</h1>"]
    fetcher(delay_s=0.05, max_crawl_delay=3, pacer=paced).get(own_shop.url + "/")
    assert db.session.scalar(db.select(SiteTurn.slowed_s)) == 0.6
    # Another run, its own delay 0.05 s: without a Retry-After, twice the site's slowed 0.6 s.
    own_shop.pages["/"] = [("Too Many Requests", 429), "<h1>oi</h1>"]
    fetcher(delay_s=0.05, max_crawl_delay=3, pacer=SharedPacer()).get(own_shop.url + "/")
    assert db.session.scalar(db.select(SiteTurn.slowed_s)) == 1.2
    # 429, asked again, the second run's 429, asked again: the site's slowed 0.6 s before the
    # second run's first request, though its own delay is 0.05 s; then the doubled 1.2 s.
    waited = gaps(own_shop.asked, ("/",))
    assert all(gap >= least for gap, least in zip(waited, [0.59, 0.59, 1.19], strict=True)), waited


def test_a_page_answered_429_twice_is_that_answer_after_two_requests(own_shop, paced):
    own_shop.pages["/"] = ("Too Many Requests", 429, {"Retry-After": "0"})
    assert fetcher(pacer=paced).get(own_shop.url + "/").status == 429
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/", "/"]


def test_a_retry_after_longer_than_the_cap_waits_the_cap(own_shop, paced):
    own_shop.pages["/"] = [("Too Many Requests", 429, {"Retry-After": "3600"}), "<h1>oi</h1>"]
    assert fetcher(max_crawl_delay=0.3, pacer=paced).get(own_shop.url + "/").status == 200
    first, again = (entry["at"] for entry in own_shop.asked if entry["path"] == "/")
    assert 0.29 <= again - first < 1.5


def test_a_stop_during_a_429s_pause_asks_no_more_and_the_next_run_waits_the_pause_out(
    own_shop, paced
):
    own_shop.pages["/"] = [("Too Many Requests", 429, {"Retry-After": "1"}), "<h1>oi</h1>"]
    stopping = threading.Event()
    threading.Timer(0.3, stopping.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        fetcher(pacer=paced, stopping=stopping).get(own_shop.url + "/")
    assert time.monotonic() - started < 0.8
    assert [entry["path"] for entry in own_shop.asked] == ["/robots.txt", "/"]
    # Another run (a replica, after the rollout), with a pacer of its own, waits out the rest of
    # the pause the 429 asked for, though its own delay is none.
    assert fetcher(pacer=SharedPacer()).get(own_shop.url + "/").status == 200
    first, again = (entry["at"] for entry in own_shop.asked if entry["path"] == "/")
    assert again - first >= 0.99


@pytest.mark.parametrize(
    ("delay_s", "cap", "retry_after", "already", "slowed"),
    [
        (0.0, 60.0, "5", 0.0, 5.0),
        (0.0, 10.0, "3600", 0.0, 10.0),
        (2.0, 60.0, "1", 0.0, 2.0),  # never faster than the site was asked
        (0.0, 60.0, None, 0.0, 1.0),
        (0.7, 60.0, None, 0.0, 1.4),
        (0.7, 60.0, "-5", 0.0, 1.4),
        (0.7, 60.0, "soon", 0.0, 1.4),
        (0.7, 60.0, "Wed, 21 Oct 2015 07:28:00 GMT", 0.0, 1.4),  # a date past
        (40.0, 60.0, None, 0.0, 60.0),
        # A site slowed already (by any run): twice its slowed gap, never less than it.
        (0.7, 60.0, None, 3.0, 6.0),
        (0.7, 60.0, "1", 3.0, 3.0),
        (0.7, 5.0, None, 3.0, 5.0),
    ],
)
def test_the_delay_after_a_429_is_its_retry_after_else_twice_the_delay_within_the_cap(
    delay_s, cap, retry_after, already, slowed
):
    polite = fetcher(delay_s=delay_s, max_crawl_delay=cap)
    assert polite.slow_down("http://loja", retry_after, already) == slowed


def test_a_retry_after_that_is_an_http_date_is_the_time_until_then():
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert fetcher().slow_down("http://loja", when) == pytest.approx(30, abs=1.5)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><head><meta charset='iso-8859-1'></head><p>T\xe1bua</p></html>"),
        (
            "text/html",
            b'<meta http-equiv="Content-Type" content="text/html; charset=latin1"><p>T\xe1bua</p>',
        ),
        ("text/html; charset=iso-8859-1", b"<p>T\xe1bua</p>"),
        ("text/html", b"\xef\xbb\xbf<p>T\xc3\xa1bua</p>"),
        ("text/html", b"<p>T\xc3\xa1bua</p>"),
    ],
)
def test_a_page_is_decoded_by_its_declared_charset_as_browsers_do(content_type, body):
    answer = Answer(
        url="http://loja/", status=200, body=body, headers={"content-type": content_type}
    )
    assert "Tábua" in answer.text


@pytest.mark.parametrize("charset", ["zlib", "punycode", "idna", "nada"])
def test_a_charset_that_is_no_text_encoding_is_read_as_utf_8(charset):
    answer = Answer(
        url="http://loja/",
        status=200,
        body="<p>Tábua</p>".encode(),
        headers={"content-type": f"text/html; charset={charset}"},
    )
    assert answer.text == "<p>Tábua</p>"
