import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN_VARIABLES = {"ENV_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "ENV_FILE", "STATIC_ROOT", "MEDIA_ROOT"}


def make_site_env(tmp_path: Path) -> dict[str, str]:
    """Environment of a production-like site living in tmp_path (SQLite file, own folders)."""
    env = {key: value for key, value in os.environ.items() if key not in OWN_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="ocpizzapp.settings",
        ENV_MODE="production",
        SECRET_KEY="test-" + "k" * 60,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{tmp_path / 'site.sqlite3'}",
        ENV_FILE=str(tmp_path / "absent.env"),
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        BACKUP_DIR=str(tmp_path / "backups"),
        LOG_LEVEL="WARNING",
    )
    return env


@pytest.fixture
def site_env(tmp_path):
    return make_site_env(tmp_path)


def manage(*args: str, env: dict[str, str], check: bool = False) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture
def workers():
    """Start task workers (``manage.py run_worker``, as the Procfile and the units do) with an environment; all stopped
    at the end. Returns the process: a test may kill it."""
    started: list[subprocess.Popen] = []

    def start(env: dict[str, str], *arguments: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--interval", "0.2", "--no-startup-delay", *arguments],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
