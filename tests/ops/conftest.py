import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OWN_VARIABLES = {
    "ENV_MODE",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "ENV_FILE",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "SITE_URL",
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXY_COUNT",
}


def make_site_env(tmp_path: Path) -> dict[str, str]:
    """Environment of a production-like site living in tmp_path (SQLite file, own folders)."""
    env = {key: value for key, value in os.environ.items() if key not in OWN_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="ocpizzapp.settings",
        ENV_MODE="production",
        SECRET_KEY="test-" + "k" * 60,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SITE_URL="https://localhost",
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
