"""The SMTP sink fed with smtplib over real sockets, read back over its HTTP routes."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage

import pytest
import requests

from standins.smtp import Sink
from standins.smtp.testing import running_smtp_sink

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def mail(to="ana@example.com", subject="Pedido 42 pago", text="Olá, Ana!\nSeu pedido foi pago."):
    message = EmailMessage()
    message["From"] = "Feira <no-reply@feira.local>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    return message


@pytest.fixture
def sink():
    with running_smtp_sink() as running:
        yield running


def test_a_message_sent_with_smtplib_is_read_back_over_http(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(mail())
    answer = requests.get(
        f"{sink.http_url}/_standin/messages", params={"to": "ana@example.com"}, timeout=5
    )
    assert answer.status_code == 200
    [item] = answer.json()["items"]
    assert item["from"] == "Feira <no-reply@feira.local>"
    assert item["to"] == ["ana@example.com"]
    assert item["subject"] == "Pedido 42 pago"
    assert item["text"].strip() == "Olá, Ana!\nSeu pedido foi pago."
    assert item["received_at"]


def test_a_long_subject_folded_by_the_sender_is_read_back_as_written(sink):
    from email import policy

    subject = "[Feira monitoring] inventory is UP again after 22 s (incident resolved)"
    message = mail(subject=subject)
    data = message.as_bytes(policy=policy.compat32.clone(max_line_length=78))
    data = data.replace(f"Subject: {subject}".encode(), f"Subject:\r\n {subject}".encode())
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.sendmail("no-reply@feira.local", ["ana@example.com"], data)
    assert sink.messages()[0]["subject"] == subject


def test_messages_are_listed_newest_first_and_filtered_by_recipient(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(mail(subject="first"))
        smtp.send_message(mail(to="bia@example.com", subject="other"))
        smtp.send_message(mail(subject="second"))
    items = requests.get(f"{sink.http_url}/_standin/messages", timeout=5).json()["items"]
    assert [item["subject"] for item in items] == ["second", "other", "first"]
    to_ana = sink.messages(to="ANA@example.com")
    assert [item["subject"] for item in to_ana] == ["second", "first"]
    assert sink.messages(to="nobody@example.com") == []


def test_every_envelope_recipient_is_listed(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(mail(to="ana@example.com"), to_addrs=["ana@example.com", "sre@x.org"])
    [item] = sink.messages(to="sre@x.org")
    assert item["to"] == ["ana@example.com", "sre@x.org"]


def test_a_multipart_message_is_read_back_as_its_plain_text(sink):
    message = mail(text="plain part")
    message.add_alternative("<p>html part</p>", subtype="html")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(message)
    assert sink.messages()[0]["text"].strip() == "plain part"


def test_a_login_is_accepted_without_tls(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.login("feira", "any-password")
        smtp.send_message(mail())
    assert len(sink.messages()) == 1


def test_delete_forgets_every_message(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(mail())
    assert requests.delete(f"{sink.http_url}/_standin/messages", timeout=5).status_code == 204
    assert requests.get(f"{sink.http_url}/_standin/messages", timeout=5).json() == {"items": []}


def test_health_answers(sink):
    assert requests.get(f"{sink.http_url}/_standin/health", timeout=5).status_code == 200


def test_the_sink_keeps_only_the_newest_messages():
    sink = Sink(keep=3)
    for number in range(5):
        sink.add("a@x.org", ["b@x.org"], mail(subject=str(number)).as_bytes())
    assert [item["subject"] for item in sink.listed()] == ["4", "3", "2"]


def test_python_m_standins_smtp_serves_both_ports_until_terminated():
    from services.kit.testing import free_port

    smtp_port, http_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SMTP_STANDIN_PORT": str(smtp_port),
        "SMTP_STANDIN_HTTP_PORT": str(http_port),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "standins.smtp"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{http_port}/_standin/health", timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the sink never answered")
                time.sleep(0.2)
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=5) as smtp:
            smtp.send_message(mail())
        answer = requests.get(f"http://127.0.0.1:{http_port}/_standin/messages", timeout=5)
        assert answer.json()["items"][0]["subject"] == "Pedido 42 pago"
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0
