"""gunicorn settings shared by every service (supervisord and docker-compose both use them)."""

import os

from gunicorn import glogging, util

from services.kit.observability import ServiceFilter, json_formatter

bind = f"{os.environ.get('SERVICE_HOST', '127.0.0.1')}:{os.environ['PORT']}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# Keep-alive lets nginx reuse upstream connections instead of opening one per request.
keepalive = 30
# gunicorn's largest request line (its default is 4094): as long as the longest the gateway
# passes on (nginx's large_client_header_buffers, 8k), so a URL nginx accepts is never refused
# here with gunicorn's own text/html 414. Anything longer is the gateway's problem+json 414.
limit_request_line = 8190
# nginx passes as many headers as fit its buffers (large_client_header_buffers 4 8k): thousands of
# tiny ones. gunicorn would refuse more than 100 with its own text/html 431; take what nginx took.
limit_request_fields = 32768
# gunicorn counts a header line with its CRLF, and nginx takes one of up to 8k with it (8192), plus
# what it sets itself (X-Forwarded-For...): twice that, so what nginx took is never gunicorn's own
# text/html 431; still a bound for a service reached without the gateway.
limit_request_field_size = 16384
timeout = 30
# How long a stopping worker may finish what it is serving; the test stack, whose fault tests
# stop services, shortens it (stack/test.env).
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
accesslog = None
# gunicorn 23+ opens a control socket at one path per user (~/.gunicorn/gunicorn.ctl): every
# service's master would fight over it, and nothing here uses it.
control_socket_disable = True
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


class JsonLines(glogging.Logger):
    """gunicorn's own lines (its start, its workers, a signal, a request it refused) as JSON, in
    the shape of the service's own (services/kit/observability.py), so every line of a service's
    log is one JSON object. The service is the package its command line serves:
    `services.auth:create_app()` is auth, `monitoring:create_app()` monitoring. (Not a
    `logconfig_dict`: with one, gunicorn builds an access line for every request, logged or not.)"""

    def setup(self, cfg):
        super().setup(cfg)
        app = cfg.wsgi_app or cfg.default_proc_name or "gunicorn"
        service = app.partition(":")[0].rpartition(".")[2]
        for handler in self.error_log.handlers:
            handler.setFormatter(json_formatter())
            handler.addFilter(ServiceFilter(service))


logger_class = JsonLines


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)


def _refused_by_the_gateway(sock, status_int, reason, mesg, _write_error=util.write_error):
    """gunicorn refuses some requests nginx passes on: a control character in a header value
    (nginx forbids only NUL there, and cannot look at every header). Its answer is a text/html
    page the gateway could not tell from a service's own 400 problem (both are 400s; nginx cannot
    intercept by Content-Type). So a 400 gunicorn writes itself carries X-Accel-Redirect: the
    gateway then answers its own 400 problem (or page) instead (errors.conf.j2, /_refused/400).
    Its message stays for a caller that reaches a service without the gateway."""
    if status_int != 400:
        return _write_error(sock, status_int, reason, mesg)
    page = mesg.encode("latin-1", "replace")
    util.write_nonblock(
        sock,
        (
            f"HTTP/1.1 400 {reason}\r\nConnection: close\r\nX-Accel-Redirect: /_refused/400\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(page)}\r\n\r\n"
        ).encode("latin-1")
        + page,
    )


util.write_error = _refused_by_the_gateway
