"""`running_smtp_sink()`: the SMTP sink and its read-back over real loopback sockets, for pytest.

with running_smtp_sink() as sink:
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.send_message(message)
    sink.messages(to="ana@example.com")  # newest first, as GET /_standin/messages lists
    requests.get(f"{sink.http_url}/_standin/messages")
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from werkzeug.serving import make_server

from . import Sink, controller, create_http_app


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


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def running_smtp_sink(host: str = "127.0.0.1") -> Iterator[RunningSink]:
    sink = Sink()
    # aiosmtpd's controller checks it is up by connecting to its port: a port 0 will not do.
    for attempt in range(5):
        smtp = controller(sink, host, _free_port(host))
        try:
            smtp.start()
            break
        except (OSError, RuntimeError):
            if attempt == 4:
                raise
    http = make_server(host, 0, create_http_app(sink), threaded=True)
    thread = threading.Thread(
        target=http.serve_forever, args=(0.05,), name="smtp-http", daemon=True
    )
    thread.start()
    try:
        yield RunningSink(host, smtp.port, f"http://{host}:{http.server_port}", sink)
    finally:
        http.shutdown()
        thread.join(timeout=5)
        http.server_close()
        smtp.stop()
