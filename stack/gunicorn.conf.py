"""gunicorn settings shared by every service (supervisord and docker-compose both use them)."""

import os

bind = f"{os.environ.get('SERVICE_HOST', '127.0.0.1')}:{os.environ['PORT']}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# Keep-alive lets nginx reuse upstream connections instead of opening one per request.
keepalive = 30
timeout = 30
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

        GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
