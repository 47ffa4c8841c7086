"""The stream server's command (uvicorn serving ``ocpizzapp.asgi``) for ``manage.py rundev``, the tests and the
benchmark; on a server, systemd, supervisord and the Procfile start it with the same options."""

import sys

APPLICATION = "ocpizzapp.asgi:application"
# Two processes, each with its own LISTEN connection (every change reaches both): a kitchen's change is an event
# for each of its screens, work for both cores rather than one (issue 21: 11 000 streams, p99 halved).
# A stream never ends by itself: stopping waits this long for them, then closes them (the browsers reconnect).
OPTIONS = ["--workers", "2", "--timeout-graceful-shutdown", "5", "--no-access-log"]


def stream_server_command(*, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "--host", host, "--port", str(port), *OPTIONS, APPLICATION]
