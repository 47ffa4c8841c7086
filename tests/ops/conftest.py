import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ops.servers import smtp_server

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
# Everything an env file sets: a value left in the test's own environment would win over the file.
SITE_VARIABLES = OWN_VARIABLES | {"BACKUP_DIR", "LOG_LEVEL", "EMAIL_URL", "SENTRY_DSN"}


# A made-up company whose SIRET and VAT number have the right check digits.
LEGAL_MENTIONS = {
    "COMPANY_NAME": "OC Pizza SAS",
    "COMPANY_ADDRESS": "12 rue de la Pâte, 75011 Paris",
    "COMPANY_SIRET": "85234711100019",
    "COMPANY_VAT_NUMBER": "FR95852347111",
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
        **LEGAL_MENTIONS,
        ARCHIVE_SIGNING_KEY="archive-" + "a" * 40,
    )
    return env


@pytest.fixture
def mail_server() -> Iterator[str]:
    with smtp_server() as address:
        yield address


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


@dataclass(frozen=True)
class DeployedSite:
    name: str  # of the role and of its database
    env: dict[str, str]  # a process environment holding only ENV_FILE, as cron and gunicorn get it
    folder: Path


def _postgres_admin(sql: str) -> None:
    """As the deploy engine does it: psql run as the postgres system user."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


@pytest.fixture
def deployed_site(tmp_path):
    """A site as the deploy engine builds it: role and database made by deploy/postgresql-scripts.sh
    itself (no CREATEDB, owner of its database), and an env file as django-scripts.sh writes it.

    The server connects by peer authentication as the system user of the same name; here the
    same role connects over TCP (no such system user), with exactly its rights.
    """
    if os.geteuid() != 0 or subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
        pytest.skip("runs deploy/postgresql-scripts.sh, which needs root and the postgres system user")
    name = f"ocpizza_t{uuid.uuid4().hex[:12]}"
    step = subprocess.run(
        ["bash", str(ROOT / "deploy" / "postgresql-scripts.sh")],
        env={**os.environ, "OCPIZZA_USER": name, "OCPIZZA_DB_NAME": name, "DEPLOY_LOG": str(tmp_path / "deploy_logs")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        assert step.returncode == 0, (tmp_path / "deploy_logs.out").read_text()
        env_file = tmp_path / "ocpizza.env"
        env_file.write_text(
            "ENV_MODE=production\n"
            f"SECRET_KEY={'s' * 60}\n"
            "ALLOWED_HOSTS=ocpizza.test\n"
            f"DATABASE_URL=postgres://{name}@127.0.0.1:5432/{name}\n"
            f"STATIC_ROOT={tmp_path / 'static'}\n"
            f"MEDIA_ROOT={tmp_path / 'media'}\n"
            f"BACKUP_DIR={tmp_path / 'backups'}\n"
            "LOG_LEVEL=WARNING\n"
            # What the operator adds to the file the engine wrote (docs/exploitation.md).
            + "".join(f"{key}={value}\n" for key, value in LEGAL_MENTIONS.items())
            + f"ARCHIVE_SIGNING_KEY={'a' * 40}\n"
        )
        env = {key: value for key, value in os.environ.items() if key not in SITE_VARIABLES}
        env.update(DJANGO_SETTINGS_MODULE="ocpizzapp.settings", ENV_FILE=str(env_file))
        yield DeployedSite(name=name, env=env, folder=tmp_path)
    finally:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _postgres_admin(f'DROP ROLE IF EXISTS "{name}"')


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
