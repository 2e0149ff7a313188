"""The kit's SMTP client against the SMTP sink over real loopback sockets: what arrives, the
settings it reads, and its failures: each a MailError that says whether to try again, and none
that logs who was written to or what."""

import asyncio
import logging
import socket
import threading
import time
from contextlib import contextmanager

import pytest
from aiosmtpd.controller import Controller

from services.kit.mail import MailError, MailSettings, send_mail
from services.kit.testing import free_port
from standins.smtp import Handler, Sink
from standins.smtp.testing import running_smtp_sink


@pytest.fixture(scope="module")
def sink():
    with running_smtp_sink() as running:
        yield running


@pytest.fixture(autouse=True)
def empty(sink):
    sink.clear()


def settings_for(sink, **overrides) -> MailSettings:
    return MailSettings(host=sink.host, port=sink.port, **overrides)


def test_a_message_arrives_with_its_sender_recipients_subject_and_text(sink):
    send_mail(
        ["ana@example.com", "Bruno <bruno@example.org>"],
        "Pedido 42 pago",
        "Olá, Ana!\nSeu pedido 42 (R$ 30,25) foi pago.",
        settings=settings_for(sink, sender="Feira <no-reply@feira.local>"),
    )
    [received] = sink.messages(to="bruno@example.org")
    assert received["to"] == ["ana@example.com", "bruno@example.org"]
    assert received["from"] == "Feira <no-reply@feira.local>"
    assert received["subject"] == "Pedido 42 pago"
    assert received["text"].rstrip("\n") == "Olá, Ana!\nSeu pedido 42 (R$ 30,25) foi pago."


def test_a_message_id_given_is_the_same_at_every_sending_and_one_not_given_is_new_each_time(sink):
    settings = settings_for(sink, sender="Feira <no-reply@feira.local>")
    for _ in range(2):
        send_mail(["ana@example.com"], "Pedido 7", "Olá", settings=settings, message_id="n-7")
        send_mail(["bia@example.com"], "Pedido 8", "Olá", settings=settings)
    ids = [m["message_id"] for m in sink.messages(to="ana@example.com")]
    assert ids == ["<n-7@feira.local>", "<n-7@feira.local>"]
    fresh = {m["message_id"] for m in sink.messages(to="bia@example.com")}
    assert len(fresh) == 2 and all(i.endswith("@feira.local>") for i in fresh)


@pytest.mark.parametrize("message_id", ["", "a b", "a>b", "x\r\nBcc: eve@example.com"])
def test_a_message_id_that_could_break_its_header_is_a_value_error(sink, message_id):
    with pytest.raises(ValueError, match="Message-ID"):
        send_mail(["ana@example.com"], "s", "t", settings=settings_for(sink), message_id=message_id)
    assert sink.messages() == []


def test_the_settings_come_from_the_smtp_and_mail_from_environment(sink, monkeypatch):
    monkeypatch.setenv("SMTP_HOST", sink.host)
    monkeypatch.setenv("SMTP_PORT", str(sink.port))
    monkeypatch.setenv("MAIL_FROM", "Ops <ops@feira.local>")
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    send_mail(["sre@feira.local"], "hello", "from the environment")
    [received] = sink.messages(to="sre@feira.local")
    assert received["from"] == "Ops <ops@feira.local>"


def test_it_logs_in_when_a_user_is_set(sink):
    send_mail(
        ["ana@example.com"],
        "with a login",
        "text",
        settings=settings_for(sink, user="feira", password="not-a-real-one"),
    )
    assert len(sink.messages(to="ana@example.com")) == 1


def test_a_line_break_in_the_subject_cannot_add_a_header(sink):
    send_mail(
        ["ana@example.com"], "Pedido\r\nBcc: eve@evil.example", "text", settings=settings_for(sink)
    )
    [received] = sink.messages()
    assert received["to"] == ["ana@example.com"]
    assert received["subject"] == "Pedido Bcc: eve@evil.example"


@pytest.mark.parametrize(
    "to", [[], "ana@example.com", ["not an address"], ["ana@example.com\r\nBcc: x@y.z"]]
)
def test_no_recipient_or_something_that_is_not_an_address_is_a_value_error(sink, to):
    with pytest.raises(ValueError):
        send_mail(to, "s", "t", settings=settings_for(sink))
    assert sink.messages() == []


def test_starttls_asked_of_a_server_without_it_fails_and_sends_nothing_in_clear(sink):
    with pytest.raises(MailError) as caught:
        send_mail(["ana@example.com"], "s", "t", settings=settings_for(sink, starttls=True))
    assert caught.value.permanent
    assert "STARTTLS" in str(caught.value)
    assert sink.messages() == []


def test_a_server_that_is_down_is_a_mail_error_to_try_again_later():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(MailError) as caught:
        send_mail(["ana@example.com"], "s", "t", settings=MailSettings(port=port, timeout=2))
    assert not caught.value.permanent
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_is_given_up_after_the_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(MailError) as caught:
            send_mail(
                ["ana@example.com"],
                "s",
                "t",
                settings=MailSettings(port=listener.getsockname()[1], timeout=0.5),
            )
        assert time.monotonic() - started < 3
        assert not caught.value.permanent
    finally:
        for connection, _ in accepted:
            connection.close()
        listener.close()


class Refusing:
    """A tiny SMTP server that refuses recipients with a chosen code, and repeats the address in
    its reply text, as real servers do; or, `at="AUTH"`, offers PLAIN and LOGIN and refuses every
    login with that code."""

    def __init__(self, code: int, at: str = "RCPT"):
        self.code = code
        self.at = at
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        connection, _ = self.listener.accept()
        with connection, connection.makefile("rwb") as stream:

            def reply(line: str):
                stream.write(line.encode() + b"\r\n")
                stream.flush()

            reply("220 refusing ESMTP")
            for raw in stream:
                line = raw.decode().strip()
                verb = line[:4].upper()
                if verb in ("EHLO", "HELO") and self.at == "AUTH":
                    reply("250-refusing")
                    reply("250 AUTH PLAIN LOGIN")
                elif verb in ("EHLO", "HELO"):
                    reply("250 refusing")
                elif verb == "AUTH":
                    reply(f"{self.code} authentication failed")
                elif verb == "MAIL":
                    reply("250 ok")
                elif verb == "RCPT":
                    who = line.partition(":")[2]
                    reply(f"{self.code} 5.1.1 {who}: no such user here")
                elif verb == "RSET":
                    reply("250 ok")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("502 no")


@pytest.mark.parametrize(("code", "permanent"), [(550, True), (451, False)])
def test_a_refused_recipient_is_a_mail_error_that_never_repeats_the_address(
    code, permanent, caplog
):
    server = Refusing(code)
    with caplog.at_level(logging.DEBUG), pytest.raises(MailError) as caught:
        send_mail(
            ["ana.secret@example.com"],
            "s",
            "t",
            settings=MailSettings(port=server.port, timeout=2),
        )
    assert caught.value.permanent is permanent and caught.value.code == code
    assert "ana.secret" not in str(caught.value)
    assert all("ana.secret" not in f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


@pytest.mark.parametrize(("code", "permanent"), [(454, False), (535, True)])
def test_a_login_refused_for_now_is_tried_again_for_everyone_and_one_refused_for_good_is_not(
    code, permanent
):
    server = Refusing(code, at="AUTH")
    to = ["sre@a.example", "oncall@b.example"]
    settings = MailSettings(port=server.port, user="feira", password="not-a-real-one", timeout=2)
    with pytest.raises(MailError) as caught:
        send_mail(to, "orders is DOWN", "t", settings=settings)
    assert caught.value.permanent is permanent and caught.value.code == code
    assert caught.value.retry_to == ([] if permanent else to)
    assert caught.value.sent_to == []


def test_nothing_personal_is_logged_when_a_message_is_sent(sink, caplog):
    with caplog.at_level(logging.DEBUG):
        send_mail(
            ["ana.secret@example.com"],
            "Subject that is private",
            "Body that is private",
            settings=settings_for(sink),
        )
    # aiosmtpd, the sink in this process, logs the whole dialogue at DEBUG (its logger is
    # "mail.log"); what is checked is the client's side, what a service's process writes.
    ours = [record for record in caplog.records if record.name != "mail.log"]
    assert ours, "the send was logged"
    for record in ours:
        logged = f"{record.getMessage()} {record.__dict__}"
        assert "ana.secret" not in logged
        assert "private" not in logged
    assert next(r for r in ours if r.name == "feira.mail").domains == ["example.com"]


class Picky(Handler):
    """The sink's handler, refusing the recipients of `refuse` with their reply (a full mailbox,
    an unknown user) and answering QUIT with `quit_reply`, or not at all (None)."""

    def __init__(self, sink: Sink, refuse: dict[str, str] | None = None, quit_reply="221 Bye"):
        super().__init__(sink)
        self.refuse = refuse or {}
        self.quit_reply = quit_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.quit_reply is None:
            await asyncio.sleep(30)
        return self.quit_reply


@contextmanager
def picky_sink(**behaviour):
    received = Sink()
    server = Controller(Picky(received, **behaviour), hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        yield MailSettings(port=server.port, timeout=1), received
    finally:
        server.stop()


def test_a_retry_is_only_for_the_recipients_refused_for_now_not_those_who_have_it():
    refuse = {
        "oncall@b.example": "452 4.2.2 Mailbox full",
        "gone@c.example": "550 5.1.1 No such user",
    }
    with picky_sink(refuse=refuse) as (settings, received), pytest.raises(MailError) as caught:
        send_mail(
            ["sre@a.example", "oncall@b.example", "gone@c.example"],
            "orders is DOWN",
            "t",
            settings=settings,
        )
    assert not caught.value.permanent and caught.value.code == 550
    assert caught.value.retry_to == ["oncall@b.example"]
    assert caught.value.sent_to == ["sre@a.example"]
    assert [message["to"] for message in received.listed()] == [["sre@a.example"]]


def test_every_recipient_refused_for_now_is_to_be_tried_again_and_none_refused_for_good():
    refuse = {"sre@a.example": "452 4.2.2 Mailbox full", "gone@c.example": "550 5.1.1 No"}
    with picky_sink(refuse=refuse) as (settings, received), pytest.raises(MailError) as caught:
        send_mail(["sre@a.example", "gone@c.example"], "s", "t", settings=settings)
    assert caught.value.retry_to == ["sre@a.example"] and caught.value.sent_to == []
    assert received.listed() == []


@pytest.mark.parametrize("quit_reply", ["421 4.3.2 Shutting down", None])
def test_a_server_that_took_the_message_then_fails_quit_has_sent_it(quit_reply, caplog):
    with (
        picky_sink(quit_reply=quit_reply) as (settings, received),
        caplog.at_level(logging.INFO, logger="feira.mail"),
    ):
        send_mail(["sre@a.example"], "orders is DOWN", "t", settings=settings)
    assert [message["to"] for message in received.listed()] == [["sre@a.example"]]
    assert any(r.getMessage() == "mail sent" for r in caplog.records)
