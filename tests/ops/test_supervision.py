"""supervisord starts, stops and restarts gunicorn, and runs the task worker, through watchdog.sh."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import manage
from tests.ops.servers import DEPLOY, ROOT, UnixHTTPConnection, get, wait_until

WATCHDOG = DEPLOY / "supervision" / "watchdog.sh"

pytestmark = pytest.mark.skipif(shutil.which("supervisord") is None, reason="needs supervisor")


def _pid(status_line: str) -> int | None:
    match = re.search(r"RUNNING\s+pid (\d+)", status_line)
    return int(match.group(1)) if match else None


def test_watchdog_starts_stops_restarts_gunicorn(site_env, tmp_path):
    socket_path = tmp_path / "g.sock"
    env = {
        **site_env,
        "OCPIZZA_APP": str(ROOT),
        "OCPIZZA_VENV": str(Path(sys.executable).parent.parent),
        "GUNICORN_BIND": f"unix:{socket_path}",
        "SUPERVISOR_RUN": str(tmp_path / "run"),
        "SUPERVISOR_LOG": str(tmp_path / "log"),
    }
    manage("migrate", "--noinput", env=site_env, check=True)

    def watchdog(*args):
        return subprocess.run([str(WATCHDOG), *args], env=env, capture_output=True, text=True, timeout=60)

    def healthy():
        return get(UnixHTTPConnection(str(socket_path)), "/healthz", {"Host": "localhost"})[0] == 200

    def running_pid():
        return _pid(watchdog("status", "gunicorn").stdout)

    assert watchdog("boot").returncode == 0
    try:
        first = wait_until(running_pid, what="gunicorn under supervisord")
        wait_until(healthy, what="gunicorn socket")
        # The task worker runs beside it, and stays up while gunicorn is stopped and started.
        worker = wait_until(lambda: _pid(watchdog("status", "worker").stdout), what="the task worker")

        assert watchdog("stop", "gunicorn").returncode == 0
        assert "STOPPED" in watchdog("status", "gunicorn").stdout
        with pytest.raises(OSError):
            get(UnixHTTPConnection(str(socket_path)), "/healthz", {"Host": "localhost"})

        assert watchdog("start", "gunicorn").returncode == 0
        second = wait_until(running_pid, what="gunicorn started again")
        wait_until(healthy, what="gunicorn socket")

        assert watchdog("restart", "gunicorn").returncode == 0
        third = wait_until(running_pid, what="gunicorn restarted")
        assert len({first, second, third}) == 3
        assert _pid(watchdog("status", "worker").stdout) == worker
        assert Path(watchdog("log", "worker").stdout.strip()) == tmp_path / "log" / "worker.log"
        wait_until(healthy, what="gunicorn socket")

        log = Path(watchdog("log").stdout.strip())
        assert log == tmp_path / "log" / "watchdog.log"
        assert "GET /healthz" in log.read_text()
    finally:
        watchdog("shutdown")
