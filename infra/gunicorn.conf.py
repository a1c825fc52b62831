"""gunicorn settings for Portico's web process: `gunicorn core.wsgi --config infra/gunicorn.conf.py`.

Used by infra/systemd/portico-web.service, infra/Procfile and the container image. The
reverse proxy (infra/nginx) in front buffers request bodies and responses, so slow
clients never hold a worker and plain sync workers suffice. Read from the environment:

    PORTICO_BIND              address to listen on (default 127.0.0.1:8000; only the proxy should reach it)
    WEB_CONCURRENCY           worker processes (default 2 x CPUs + 1)
    PORTICO_TRUSTED_PROXIES   the proxy's addresses: gunicorn believes X-Forwarded-Proto only from them,
                              as Portico itself does (core.proxy)
"""

import multiprocessing
import os

bind = [os.environ.get("PORTICO_BIND", "127.0.0.1:8000")]
workers = int(os.environ.get("WEB_CONCURRENCY", str(multiprocessing.cpu_count() * 2 + 1)))
worker_class = "sync"
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: memory taken by large uploads and PDFs goes back to the system.
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("PORTICO_TRUSTED_PROXIES", "127.0.0.1,::1")
# Workers' heartbeat files, in memory as gunicorn's documentation advises for containers.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("PORTICO_GUNICORN_TMP", _SHM if os.path.isdir(_SHM) else None)
# The proxy writes the access log (with the request id); the app's own log lines go to stderr as JSON.
accesslog = None
errorlog = "-"
loglevel = "info"
control_socket_disable = True
proc_name = "portico-web"
