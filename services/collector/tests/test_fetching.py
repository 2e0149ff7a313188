"""Politeness and safety of every request: robots.txt, pacing, the User-Agent, timeouts, size
limits, conditional requests, and the SSRF guard (after DNS and at every redirect)."""

import itertools
import threading
import time

import pytest
from flask import Flask, Response, redirect

from services.collector.fetching import (
    Answer,
    Fetcher,
    FetchFailed,
    Pacer,
    Refused,
    Settings,
    check_address,
    user_agent,
)
from services.kit.testing import LiveServer

LOOPBACK = frozenset({"127.0.0.1"})


def fetcher(delay_s=0.0, allowed=LOOPBACK, **settings):
    return Fetcher(
        Settings(
            user_agent=user_agent("https://feira.test/coletor"),
            allowed_private_hosts=allowed,
            read_timeout=settings.pop("read_timeout", 0.5),
            **settings,
        ),
        delay_s,
        pacer=Pacer(),
    )


@pytest.fixture
def served(shops):
    shops.forget()
    return shops


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


def test_requests_to_one_site_are_delay_s_apart(served):
    polite = fetcher(delay_s=0.3)
    for _ in range(3):
        polite.get(served.url + "/loja-json/")
    times = [entry["at"] for entry in served.requests("/loja-json/")]
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(times))


def test_a_slow_page_times_out(served):
    with pytest.raises(FetchFailed, match="timed out"):
        fetcher(read_timeout=0.3).get(served.url + "/loja-instavel/produto/lento")


def test_a_server_error_is_a_failed_fetch(served):
    with pytest.raises(FetchFailed, match="HTTP 500"):
        fetcher().get(served.url + "/loja-instavel/produto/erro")


def test_a_body_over_the_limit_is_not_read_whole(served):
    with pytest.raises(FetchFailed, match="larger than"):
        fetcher(max_bytes=200).get(served.url + "/loja-json/")


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


def test_two_workers_take_turns_at_a_site_through_the_database(app, served):
    from services.collector.collecting import SharedPacer

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


@pytest.mark.parametrize("asked", ["1e9", "1e20"])
def test_a_crawl_delay_longer_than_the_cap_is_the_cap(own_shop, asked):
    own_shop.pages["/robots.txt"] = f"User-agent: *\nCrawl-delay: {asked}\n"
    own_shop.pages["/"] = "<h1>oi</h1>"
    polite = fetcher(max_crawl_delay=0.2)
    started = time.monotonic()
    assert polite.allowed(own_shop.url + "/")  # robots.txt read
    assert polite.delay_for(own_shop.url) == 0.2
    for _ in range(2):
        assert polite.get(own_shop.url + "/").status == 200
    assert 0.4 <= time.monotonic() - started < 2


def test_the_workers_pacer_waits_delay_s_once_between_two_requests(app, served):
    from services.collector.collecting import SharedPacer

    with app.app_context():
        polite = Fetcher(
            Settings(user_agent="FeiraCollector/1.0", allowed_private_hosts=LOOPBACK),
            0.3,
            pacer=SharedPacer(),
        )
        for _ in range(3):
            polite.get(served.url + "/loja-micro/")
    times = [entry["at"] for entry in served.requests("/loja-micro/")]
    assert all(0.29 <= later - earlier < 0.5 for earlier, later in itertools.pairwise(times))


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
