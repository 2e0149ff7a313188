"""`python -m standins.smtp`: the SMTP sink on SMTP_STANDIN_PORT and its HTTP read-back on
SMTP_STANDIN_HTTP_PORT (127.0.0.1, or SERVICE_HOST), until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import threading

from werkzeug.serving import make_server

from . import Sink, controller, create_http_app

log = logging.getLogger("standins.smtp")


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper())
    host = os.environ.get("SERVICE_HOST", "127.0.0.1")
    smtp_port = int(os.environ.get("SMTP_STANDIN_PORT", "5025"))
    http_port = int(os.environ.get("SMTP_STANDIN_HTTP_PORT", "5026"))
    sink = Sink()
    smtp = controller(sink, host, smtp_port)
    http = make_server(host, http_port, create_http_app(sink), threaded=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    smtp.start()
    serving = threading.Thread(target=http.serve_forever, args=(0.2,), name="http", daemon=True)
    serving.start()
    log.info("SMTP sink on %s:%d, read-back on %s:%d", host, smtp_port, host, http_port)
    stop.wait()
    http.shutdown()
    smtp.stop()


if __name__ == "__main__":
    main()
