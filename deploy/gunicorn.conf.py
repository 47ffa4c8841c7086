"""gunicorn settings for OC Pizza (``gunicorn -c deploy/gunicorn.conf.py ocpizzapp.wsgi``).

Each value can be overridden from the environment so that one file serves a
2-core VPS, a bigger box and the benchmark (bench/run.py).
"""

import multiprocessing
import os

# Requests spend much of their time waiting on PostgreSQL: two processes per
# core keep the CPUs busy while others wait, and each process stays small.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))

# Threads let one process answer the htmx polls (short, mostly waiting on the
# database) while another request renders; "gthread" is also the worker that
# keeps HTTP connections alive, which the sync worker cannot.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))

# A polling page (order status every 5 s, kitchen display) reuses its
# connection instead of opening one per poll; nginx in front keeps its own
# upstream connections alive the same way.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))

# A request that takes longer than this is stuck: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20

# Workers are recycled now and then (jittered so they do not all restart
# together), which bounds any slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = 500

# Logs go to stdout/stderr, collected by systemd or supervisord.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
