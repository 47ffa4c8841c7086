"""supervisord starts, stops and restarts gunicorn, and runs the task worker, through watchdog.sh."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import OWN_VARIABLES, manage
from tests.ops.servers import DEPLOY, ROOT, UnixHTTPConnection, get, unit_environment, wait_until

WATCHDOG = DEPLOY / "supervision" / "watchdog.sh"

pytestmark = pytest.mark.skipif(shutil.which("supervisord") is None, reason="needs supervisor")


def _pid(status_line: str) -> int | None:
    match = re.search(r"RUNNING\s+pid (\d+)", status_line)
    return int(match.group(1)) if match else None


SITE_VARIABLES = ("ENV_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "STATIC_ROOT", "MEDIA_ROOT", "BACKUP_DIR")


def _workers(master_pid: int) -> int:
    children = subprocess.run(["ps", "--no-headers", "-o", "pid", "--ppid", str(master_pid)], capture_output=True)
    return len(children.stdout.split())


def test_watchdog_starts_stops_restarts_gunicorn(site_env, tmp_path):
    """As at boot: only what ocpizza-supervisor.service gives, the site's settings in its ENV_FILE."""
    env_file = tmp_path / "ocpizza.env"
    env_file.write_text("".join(f"{name}={site_env[name]}\n" for name in SITE_VARIABLES))
    unit = unit_environment(
        DEPLOY / "conf_files" / "ocpizza-supervisor.service",
        {
            "@OCPIZZA_APP@": str(ROOT),
            "@OCPIZZA_VENV@": str(Path(sys.executable).parent.parent),
            "@OCPIZZA_HOME@": str(tmp_path),
            "@ENV_FILE@": str(env_file),
            "@STREAMS_SOCKET@": str(tmp_path / "supervision" / "streams.sock"),
        },
    )
    socket_path = tmp_path / "supervision" / "gunicorn.sock"
    assert unit["GUNICORN_BIND"] == f"unix:{socket_path}"
    env = {name: value for name, value in site_env.items() if name not in OWN_VARIABLES | set(SITE_VARIABLES)}
    # Tuning read by deploy/gunicorn.conf.py, which the supervised gunicorn must use.
    env.update(unit, GUNICORN_WORKERS="2")
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
        assert first is not None and _workers(first) == 2
        # Production mode from ENV_FILE: plain HTTP is sent to HTTPS (development would answer the page).
        status, headers, _ = get(UnixHTTPConnection(str(socket_path)), "/", {"Host": "localhost"})
        assert status == 301 and headers["Location"].startswith("https://"), (status, headers)
        # The task worker runs beside it, and stays up while gunicorn is stopped and started.
        worker = wait_until(lambda: _pid(watchdog("status", "worker").stdout), what="the task worker")
        # So does the stream server, on the socket the unit names (SQLite here: it says streams are off).
        streams = wait_until(lambda: _pid(watchdog("status", "streams").stdout), what="the stream server")
        streams_socket = str(tmp_path / "supervision" / "streams.sock")
        wait_until(
            lambda: get(UnixHTTPConnection(streams_socket), "/flux/sante", {"Host": "localhost"})[0] == 503,
            what="the stream server's socket",
        )

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
        assert _pid(watchdog("status", "streams").stdout) == streams
        assert Path(watchdog("log", "streams").stdout.strip()) == tmp_path / "supervision" / "streams.log"
        assert Path(watchdog("log", "worker").stdout.strip()) == tmp_path / "supervision" / "worker.log"
        wait_until(healthy, what="gunicorn socket")

        log = Path(watchdog("log").stdout.strip())
        assert log == tmp_path / "supervision" / "watchdog.log"
        assert "GET /healthz" in log.read_text()
    finally:
        watchdog("shutdown")


def test_watchdog_refuses_to_start_without_the_sites_env_file(tmp_path):
    """Without ENV_FILE gunicorn would serve a development site on an empty SQLite file."""
    env = {
        "PATH": "/usr/bin:/bin",
        "ENV_FILE": str(tmp_path / "missing.env"),
        "SUPERVISOR_RUN": str(tmp_path / "run"),
        "SUPERVISOR_LOG": str(tmp_path / "log"),
    }
    result = subprocess.run([str(WATCHDOG), "boot"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "missing.env is not readable" in result.stderr
    assert not (tmp_path / "run" / "supervisord.pid").exists()


def test_supervised_gunicorn_and_procfile_use_the_projects_gunicorn_settings():
    conf = (DEPLOY / "supervision" / "supervisord.conf").read_text()
    command = next(line for line in conf.splitlines() if line.startswith("command="))
    assert "--config %(ENV_OCPIZZA_APP)s/deploy/gunicorn.conf.py" in command
    assert "--workers" not in command and "--timeout" not in command
    assert 'environment=ENV_FILE="%(ENV_ENV_FILE)s"' in conf
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "--config deploy/gunicorn.conf.py" in web


def test_supervisord_starts_at_boot_instead_of_the_gunicorn_service():
    unit = (DEPLOY / "conf_files" / "ocpizza-supervisor.service").read_text()
    assert "WantedBy=multi-user.target" in unit
    assert "Conflicts=gunicorn.service gunicorn.socket ocpizza-streams.service" in unit
    assert "ExecReload=@OCPIZZA_APP@/deploy/supervision/watchdog.sh restart streams" in unit
    assert "ExecStart=@OCPIZZA_APP@/deploy/supervision/watchdog.sh run" in unit
    script = (DEPLOY / "supervision-scripts.sh").read_text()
    assert "systemctl enable --now ocpizza-supervisor.service" in script
