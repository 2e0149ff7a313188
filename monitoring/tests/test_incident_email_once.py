"""An incident e-mail reaches each of MONITOR_EMAIL_TO once: a try after a partial refusal goes
only to those the SMTP server refused for now, a server that took the message and then fails
QUIT is not asked again, and every sending of one incident's event carries the same Message-ID.
Against the SMTP sink over a real socket, its handler refusing what each test says."""

import functools
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from monitoring.notify import DELIVERED, GIVEN_UP, Notifier
from services.kit.mail import MailSettings, send_mail
from services.kit.testing import free_port
from standins.smtp import Handler, Sink

SRE, ONCALL = "sre@a.example", "oncall@b.example"
INCIDENT = {
    "key": "0b5e8c9e-2f4d-4a51-9d0e-3c1f8e0c7a11",
    "target": "orders",
    "started_at": "2026-03-02T10:00:00+00:00",
    "first_failing_step": "request",
    "error": "connection refused",
}


class Refusing(Handler):
    """The sink's handler, refusing the recipients of `refuse` with their reply the first `times`
    times they are asked for (a mailbox full, then emptied), and answering QUIT with
    `quit_reply`."""

    def __init__(self, sink: Sink, refuse: dict[str, str], times: int, quit_reply: str):
        super().__init__(sink)
        self.refuse, self.left, self.quit_reply = refuse, dict.fromkeys(refuse, times), quit_reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.left.get(address):
            self.left[address] -= 1
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        return self.quit_reply


@dataclass
class Mailing:
    notifier: Notifier
    received: Sink
    outcomes: list[str] = field(default_factory=list)

    def announce(self, event: str, incident: dict) -> None:
        """Notify `event` and wait until the e-mail channel has reported what it made of it."""
        self.notifier.incident(
            event, incident, notify=True, report=lambda _, outcome: self.outcomes.append(outcome)
        )
        self.notifier.drain(timeout=10)


@contextmanager
def mailing(refuse=None, times=1, quit_reply="221 Bye"):
    """A Notifier mailing SRE and ONCALL through a sink that refuses as told."""
    received = Sink()
    server = Controller(
        Refusing(received, refuse or {}, times, quit_reply), hostname="127.0.0.1", port=free_port()
    )
    server.start()
    settings = MailSettings(
        port=server.port, timeout=2, sender="Feira monitoring <monitoring@feira.local>"
    )
    notifier = Notifier(
        None,
        email_to=[SRE, ONCALL],
        backoff=0.01,
        mailer=functools.partial(send_mail, settings=settings),
    )
    try:
        yield Mailing(notifier, received)
    finally:
        notifier.close()
        server.stop()


def test_a_recipient_whose_mailbox_is_full_is_tried_again_alone_and_each_has_it_once():
    with mailing(refuse={ONCALL: "452 4.2.2 Mailbox full"}, times=2) as sent:
        sent.announce("incident.opened", INCIDENT)
    assert [message["to"] for message in reversed(sent.received.listed())] == [[SRE], [ONCALL]]
    assert {message["message_id"] for message in sent.received.listed()} == {
        f"<feira-incident-{INCIDENT['key']}-opened@feira.local>"
    }
    assert sent.outcomes == [DELIVERED]


def test_a_server_that_took_the_e_mail_and_then_failed_quit_is_not_sent_it_again():
    with mailing(quit_reply="421 4.3.2 Shutting down") as sent:
        sent.announce("incident.opened", INCIDENT)
    assert [message["to"] for message in sent.received.listed()] == [[SRE, ONCALL]]
    assert sent.outcomes == [DELIVERED]


def test_a_recipient_refused_for_good_is_given_up_at_once_and_the_others_have_it_once(caplog):
    with (
        mailing(refuse={ONCALL: "550 5.1.1 No such user"}, times=5) as sent,
        caplog.at_level(logging.INFO, logger="feira.monitoring.incidents"),
    ):
        sent.announce("incident.opened", INCIDENT)
    assert [message["to"] for message in sent.received.listed()] == [[SRE]]
    assert sent.outcomes == [GIVEN_UP]
    [failed] = [r for r in caplog.records if r.getMessage() == "incident e-mail not sent"]
    assert failed.attempts == 1 and failed.not_sent_to == 1 and failed.recipients == 2
    for record in caplog.records:
        assert "oncall@" not in f"{record.getMessage()} {record.__dict__}"


def test_the_opening_and_the_closing_of_an_incident_have_a_message_id_each():
    with mailing() as sent:
        sent.announce("incident.opened", INCIDENT)
        closed = {**INCIDENT, "ended_at": "2026-03-02T10:01:04+00:00", "duration_s": 64}
        sent.announce("incident.closed", closed)
    assert [message["message_id"] for message in reversed(sent.received.listed())] == [
        f"<feira-incident-{INCIDENT['key']}-opened@feira.local>",
        f"<feira-incident-{INCIDENT['key']}-closed@feira.local>",
    ]
