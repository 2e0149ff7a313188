"""gunicorn settings shared by every service (supervisord and docker-compose both use them)."""

import os

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
limit_request_field_size = 8190
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


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
