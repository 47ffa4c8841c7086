"""gunicorn settings for OC Pizza (``gunicorn -c deploy/gunicorn.conf.py ocpizzapp.wsgi``).

Each value can be overridden from the environment so that one file serves a
2-core VPS, a bigger box and the benchmark (bench/run.py).
"""

import hashlib
import multiprocessing
import os
from pathlib import Path
from typing import Any

# gunicorn must never face the internet: slow clients hold its workers (50 are
# enough to take the site down) and it cannot tell a forged X-Forwarded-For
# from nginx's. On a server it listens on a unix socket that only nginx
# reaches; Heroku's router gives a port in PORT and is the proxy there.
bind = [f"0.0.0.0:{os.environ['PORT']}"] if "PORT" in os.environ else ["unix:/run/gunicorn.sock"]

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
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 500))

# Logs go to stdout/stderr, collected by systemd or supervisord.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"


def _control_socket(binds: list[str]) -> str:
    """A control socket (``gunicornc``) of this instance's own, named after its listening addresses.

    gunicorn's default, ``$XDG_RUNTIME_DIR`` or ``~/.gunicorn/gunicorn.ctl``, is one
    path for every instance run by a user: the second instance on a host takes
    it over and ``gunicornc`` then drives the wrong site.
    """
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or Path.home() / ".gunicorn")
    digest = hashlib.sha256(" ".join(sorted(binds)).encode()).hexdigest()[:12]
    return str(folder / f"gunicorn-{digest}.ctl")


def on_starting(server: Any) -> None:
    """Give this instance its own control socket unless one was given (GUNICORN_CONTROL_SOCKET, --control-socket)."""
    chosen = os.environ.get("GUNICORN_CONTROL_SOCKET")
    if chosen is None and server.cfg.control_socket == server.cfg.settings["control_socket"].default:
        chosen = _control_socket(server.cfg.bind)
    if chosen is not None:
        Path(chosen).parent.mkdir(parents=True, exist_ok=True)
        server.cfg.set("control_socket", chosen)
    server.log.info("Control socket: %s (gunicornc -s %s)", server.cfg.control_socket, server.cfg.control_socket)
