"""`running_smtp_sink()`: the SMTP sink and its read-back over real loopback sockets, for pytest.

with running_smtp_sink() as sink:
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.send_message(message)
    sink.messages(to="ana@example.com")  # newest first, as GET /_standin/messages lists
    requests.get(f"{sink.http_url}/_standin/messages")
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.kit.testing import LiveServer, free_port

from . import Sink, controller, create_http_app

HOST = "127.0.0.1"


@dataclass
class RunningSink:
    host: str
    port: int
    http_url: str
    sink: Sink

    def messages(self, to: str | None = None) -> list[dict]:
        return self.sink.listed(to)

    def clear(self) -> None:
        self.sink.clear()


@contextmanager
def running_smtp_sink() -> Iterator[RunningSink]:
    sink = Sink()
    # aiosmtpd's controller checks it is up by connecting to its port: a port 0 will not do.
    for attempt in range(5):
        smtp = controller(sink, HOST, free_port())
        try:
            smtp.start()
            break
        except (OSError, RuntimeError):
            if attempt == 4:
                raise
    http = LiveServer(create_http_app(sink)).start()
    try:
        yield RunningSink(HOST, smtp.port, http.base_url, sink)
    finally:
        http.stop()
        smtp.stop()
