"""Plain-text e-mail over SMTP (the standard library's smtplib), for the services and workers that
tell people things: notifications' order messages, monitoring's incidents.

Settings (read from the environment at each send; the stack gives them only to the processes that
mail, see stack/config.py `mail()`):
    SMTP_HOST      default 127.0.0.1
    SMTP_PORT      default 25 (the stack sets the SMTP sink's port when it runs and this is empty)
    SMTP_USER      when set, LOGIN/PLAIN authentication with SMTP_PASSWORD after the greeting
    SMTP_PASSWORD
    SMTP_STARTTLS  true: upgrade to TLS (the server's certificate verified) before anything else;
                   a server that does not offer it is a MailError, never a plain-text fallback
    MAIL_FROM      default `Feira <no-reply@feira.local>`

A failure is a MailError saying what went wrong (the SMTP reply code, never the server's text,
which may repeat an address), whether trying again later can help (`permanent`) and for whom
(`retry_to`: a server that took the message for some recipients is not asked to send it to them
again). Nothing here logs a body, a subject or an address's local part: only how many recipients
and their domains.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr

from .settings import env

log = logging.getLogger("feira.mail")

DEFAULT_FROM = "Feira <no-reply@feira.local>"
# Seconds for the connection and for each reply of the server.
DEFAULT_TIMEOUT = 10.0


class MailError(Exception):
    """An e-mail the SMTP server did not take, for some recipients or all. `permanent`: a 5xx
    reply (a login refused with one among them), or STARTTLS or AUTH asked of a server that does
    not offer it; trying again will not help. Otherwise (the server unreachable, slow, or a 4xx
    reply, such as a login refused with 454, for now) it may work later, for `retry_to`: every
    recipient when the server did not take the message, only those it refused with a 4xx when it
    took it for the others (`sent_to`, who have it). `code` is the SMTP reply code, if any."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        code: int | None = None,
        retry_to: list[str] | None = None,
        sent_to: list[str] | None = None,
    ):
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.retry_to = [] if permanent else list(retry_to or [])
        self.sent_to = list(sent_to or [])


@dataclass(frozen=True)
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = DEFAULT_FROM
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls) -> MailSettings:
        return cls(
            host=env("SMTP_HOST", "127.0.0.1"),
            port=env("SMTP_PORT", 25, int),
            user=env("SMTP_USER"),
            password=env("SMTP_PASSWORD"),
            starttls=env("SMTP_STARTTLS", False, bool),
            sender=env("MAIL_FROM", DEFAULT_FROM),
        )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower() or "?"


def domains(addresses: list[str]) -> list[str]:
    """What a log line may say of recipients: their domains, never who."""
    return sorted({_domain(address) for address in addresses})


def build_message(
    to: list[str], subject: str, text: str, sender: str, message_id: str | None = None
) -> EmailMessage:
    """The message; `message_id` (letters, digits, `.`, `-`) makes its Message-ID
    `<message_id@sender's domain>`, the same at every sending: a message sent again (a crash
    after the server took it, before the sender recorded so) is then one a mail client can
    tell it has, rather than a new one."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    # One line: a line break in a subject would start a header of the caller's making.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = _domain(parseaddr(sender)[1])
    if message_id is not None:
        if not message_id or not all(
            c.isascii() and (c.isalnum() or c in ".-") for c in message_id
        ):
            raise ValueError("a Message-ID's left part is letters, digits, '.' and '-'")
        message["Message-ID"] = f"<{message_id}@{domain}>"
    else:
        message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    return message


def _checked_recipients(to: list[str]) -> list[str]:
    if isinstance(to, str) or not to:
        raise ValueError("send_mail needs a list of one or more addresses")
    checked = []
    for address in to:
        address = address.strip()
        parsed = getaddresses([address])
        bare = parsed[0][1] if len(parsed) == 1 else ""
        if not bare or "@" not in bare or any(c in address for c in "\r\n\0"):
            raise ValueError("send_mail was given something that is not an e-mail address")
        checked.append(bare)
    return checked


def send_mail(
    to: list[str],
    subject: str,
    text: str,
    *,
    settings: MailSettings | None = None,
    message_id: str | None = None,
) -> None:
    """Send one plain-text (UTF-8) message to `to` through the SMTP server, or raise MailError.

    A server that accepts some recipients and refuses others has sent it to those it accepted:
    that is a MailError too (permanent if every refusal was), naming how many were refused, whose
    `retry_to` are only those refused with a 4xx. Once the server has taken the message, its
    answer to QUIT (a 4xx, a timeout, a dropped connection) changes nothing: it is not an error,
    which would have the message sent again."""
    recipients = _checked_recipients(to)
    settings = settings or MailSettings.from_env()
    message = build_message(recipients, subject, text, settings.sender, message_id)
    envelope_from = parseaddr(settings.sender)[1] or None
    step = "connect"
    smtp = None
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        smtp.ehlo()
        if settings.starttls:
            step = "STARTTLS"
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.user:
            step = "AUTH"
            smtp.login(settings.user, settings.password or "")
        step = "send"
        refused = smtp.send_message(message, from_addr=envelope_from, to_addrs=recipients)
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(
            f"The SMTP server at {settings.where} does not offer {step}", permanent=True
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        # smtplib raises this for any final AUTH reply but 235 and 503: a 535 is wrong
        # credentials, but a 454 (RFC 4954's temporary failure, a provider's "too many logins,
        # try later") is one to wait out.
        raise MailError(
            f"The SMTP server at {settings.where} refused SMTP_USER's login ({exc.smtp_code})",
            permanent=exc.smtp_code >= 500,
            code=exc.smtp_code,
            retry_to=recipients,
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise MailError(
            f"The SMTP server at {settings.where} refused every recipient "
            f"({', '.join(map(str, sorted(set(codes))))})",
            permanent=all(code >= 500 for code in codes),
            code=max(codes) if codes else None,
            retry_to=_refused_for_now(recipients, exc.recipients),
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # The sender refused, the data refused, or a reply out of place.
        raise MailError(
            f"The SMTP server at {settings.where} answered {exc.smtp_code}",
            permanent=exc.smtp_code >= 500,
            code=exc.smtp_code,
            retry_to=recipients,
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Unreachable, a timeout, a TLS handshake that failed, the connection dropped.
        raise MailError(
            f"The SMTP server at {settings.where} could not be reached or went away "
            f"({step}: {type(exc).__name__})",
            retry_to=recipients,
        ) from exc
    finally:
        if smtp is not None:
            _quit(smtp)
    if refused:
        codes = [code for code, _ in refused.values()]
        log.warning(
            "mail partly refused",
            extra={"refused": len(refused), "recipients": len(recipients), "codes": codes},
        )
        raise MailError(
            f"The SMTP server at {settings.where} refused {len(refused)} of "
            f"{len(recipients)} recipients; the others have the message",
            permanent=all(code >= 500 for code in codes),
            code=max(codes),
            retry_to=_refused_for_now(recipients, refused),
            sent_to=[address for address in recipients if address not in refused],
        )
    log.info("mail sent", extra={"recipients": len(recipients), "domains": domains(recipients)})


def _refused_for_now(recipients: list[str], refused: dict[str, tuple[int, bytes]]) -> list[str]:
    """Those of `recipients` the server refused with a 4xx: a later try may reach them."""
    return [address for address in recipients if 400 <= refused.get(address, (0, b""))[0] < 500]


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session politely. Whatever the server makes of QUIT, the message's fate was
    settled before it (taken or not), so no answer to it is an error."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError) as exc:
        log.info("the SMTP server did not answer QUIT", extra={"error": type(exc).__name__})
    finally:
        smtp.close()


__all__ = ["MailError", "MailSettings", "build_message", "domains", "send_mail"]
