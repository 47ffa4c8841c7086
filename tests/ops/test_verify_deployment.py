"""verify_deployment: all CORRECT on a good site, names what is broken otherwise."""

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.ops.conftest import manage
from tests.ops.servers import wait_until

LINE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-\d{3} : [A-Za-z-]+ > (CORRECT|ERROR)$")


def _status(output: str) -> dict[str, str]:
    lines = [line for line in output.splitlines() if not line.startswith(" ")]
    assert lines and all(LINE.match(line) for line in lines), output
    return {line.split(" : ")[1].split(" > ")[0]: line.rsplit(" > ", 1)[1] for line in lines}


@pytest.fixture
def good_site(site_env, mail_server):
    site_env["EMAIL_URL"] = mail_server
    manage("migrate", "--noinput", env=site_env, check=True)
    manage("collectstatic", "--noinput", env=site_env, check=True)
    return site_env


def _worker_beat(env) -> bool:
    with sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return db.execute("SELECT count(*) FROM ocpizzapp_workerheartbeat").fetchone()[0] > 0


@pytest.mark.xdist_group("machine-crontab")
def test_all_correct_on_a_good_site(good_site, workers):
    workers(good_site)
    wait_until(lambda: _worker_beat(good_site), what="the task worker's heartbeat")
    manage("crontab", "add", env=good_site, check=True)
    try:
        result = manage("verify_deployment", env=good_site)
    finally:
        manage("crontab", "remove", env=good_site, check=True)
    assert result.returncode == 0, result.stdout + result.stderr
    status = _status(result.stdout)
    assert set(status.values()) == {"CORRECT"}
    assert {
        "Database-connection",
        "Database-migrations",
        "Models-migrations",
        "Static-files-collection",
        "Static-files-manifest",
        "Email-server",
        "Backup-storage",
        "Django-deploy-checks",
    } <= set(status)
    # The backup check made a real dump and drilled it, then left nothing behind.
    assert "sauvegarde d'essai" in result.stdout
    assert not list(Path(good_site["BACKUP_DIR"]).iterdir())
    # Services without their key are off, and the check says which.
    off = next(line for line in result.stdout.splitlines() if "service(s) désactivé(s)" in line)
    assert "STRIPE_SECRET_KEY" in off and "SOCIAL_AUTH_GOOGLE_OAUTH2_KEY" in off
    assert status["Task-worker"] == "CORRECT"
    # On SQLite the live screens poll: no stream server to ask.
    assert status["Stream-server"] == "CORRECT" and "polling seul" in result.stdout


def _broken(env, *skip):
    result = manage("verify_deployment", *[f"--skip={name}" for name in ("cron", *skip)], env=env)
    assert result.returncode != 0
    return _status(result.stdout), result.stdout + result.stderr


def test_missing_variable_is_named(good_site):
    del good_site["DATABASE_URL"]
    status, output = _broken(good_site, "migrations", "static")
    assert status["Environment-variables"] == "ERROR"
    assert "DATABASE_URL" in output


def test_unapplied_migration_is_named(good_site):
    manage("migrate", "production", "0003", "--noinput", env=good_site, check=True)
    status, output = _broken(good_site)
    assert status["Database-migrations"] == "ERROR"
    assert "production.0004_dailyreport" in output
    assert status["Static-files-collection"] == "CORRECT"


def test_unreachable_database_is_named(good_site):
    good_site["DATABASE_URL"] = "postgres://nobody@127.0.0.1:9/none"
    status, _ = _broken(good_site)
    assert status["Database-connection"] == "ERROR"
    assert status["Database-migrations"] == "ERROR"


def test_uncollected_static_is_named(good_site, tmp_path):
    good_site["STATIC_ROOT"] = str(tmp_path / "empty-static")
    status, output = _broken(good_site)
    assert status["Static-files-collection"] == "ERROR"
    assert "collectstatic" in output
    assert status["Database-migrations"] == "CORRECT"


def test_malformed_service_key_is_named(good_site):
    good_site["GMAP_API_KEY"] = "not-a-key"
    status, output = _broken(good_site)
    assert status["Outside-services-keys"] == "ERROR"
    assert "GMAP_API_KEY" in output


def test_missing_static_manifest_is_named(good_site):
    (Path(good_site["STATIC_ROOT"]) / "staticfiles.json").unlink()
    status, output = _broken(good_site)
    assert status["Static-files-manifest"] == "ERROR"
    assert "staticfiles.json" in output and "collectstatic" in output


def test_missing_hashed_static_file_is_named(good_site):
    static = Path(good_site["STATIC_ROOT"])
    hashed = sorted(json.loads((static / "staticfiles.json").read_text())["paths"].values())[0]
    (static / hashed).unlink()
    status, output = _broken(good_site)
    assert status["Static-files-manifest"] == "ERROR"
    assert hashed in output


def test_model_without_migration_is_named(good_site):
    good_site["DJANGO_SETTINGS_MODULE"] = "tests.ops.settings_unmigrated"
    status, output = _broken(good_site)
    assert status["Models-migrations"] == "ERROR"
    assert "coupon" in output.lower() and "makemigrations" in output
    assert status["Database-migrations"] == "CORRECT"


def test_unreachable_mail_server_is_named(good_site):
    good_site["EMAIL_URL"] = "smtp://127.0.0.1:9"
    status, output = _broken(good_site)
    assert status["Email-server"] == "ERROR"
    assert "127.0.0.1:9" in output and "EMAIL_URL" in output


def test_missing_secret_key_is_a_named_error_line_not_a_traceback(good_site):
    del good_site["SECRET_KEY"]
    status, output = _broken(good_site)
    assert status == {"Environment-variables": "ERROR"}
    assert "SECRET_KEY" in output and "Traceback" not in output


def test_backup_that_would_not_restore_is_named(good_site, tmp_path):
    """A writable folder is not a backup: the check makes one and drills it, so a damaged database shows."""
    database = tmp_path / "site.sqlite3"
    manage("seed_demo", env=good_site, check=True)
    data = bytearray(database.read_bytes())
    page = 4096
    last_pages = len(data) - 8 * page
    data[last_pages : last_pages + 4 * page] = b"\x5a" * (4 * page)
    database.write_bytes(bytes(data))
    status, output = _broken(good_site, "migrations")
    assert status["Backup-storage"] == "ERROR", output
    assert "sauvegarde d'essai en échec" in output


def test_a_production_site_announced_over_plain_http_is_named(good_site):
    """Secure cookies never come back over HTTP: every form would fail with a 403 and no hint."""
    good_site["SITE_URL"] = "http://ocpizza.fr"
    good_site["CSRF_TRUSTED_ORIGINS"] = "https://ocpizza.fr,http://www.ocpizza.fr"
    status, output = _broken(good_site)
    assert status["Https-serving"] == "ERROR"
    assert "http://ocpizza.fr, http://www.ocpizza.fr" in output and "chaque formulaire échoue" in output
    assert status["Database-migrations"] == "CORRECT"


def test_a_site_without_a_task_worker_is_named(good_site):
    status, output = _broken(good_site)
    assert status["Task-worker"] == "ERROR"
    assert "aucun worker de tâches actif (jamais vu) : manage.py run_worker" in output


def test_a_task_waiting_too_long_is_named(good_site):
    """A worker beats but the queue is not emptied (too few workers, a task that never ends...)."""
    good_site["TASK_MAX_WAIT_SECONDS"] = "60"
    code = (
        "import datetime; from django.utils import timezone; from ocpizzapp.worker import worker_beat; "
        "from ventes.notifications import order_notify; from django_tasks_db.models import DBTaskResult; "
        "now = timezone.now(); worker_beat(worker_id='w1', started_at=now, now=now); "
        "order_notify.enqueue(order_id=1, state='received'); "
        "DBTaskResult.objects.update(enqueued_at=now - datetime.timedelta(minutes=10))"
    )
    manage("shell", "-c", code, env=good_site, check=True)
    status, output = _broken(good_site)
    assert status["Task-worker"] == "ERROR"
    assert "une tâche attend depuis 6" in output


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("COMPANY_SIRET", "", "mention(s) légale(s) absente(s) des tickets : COMPANY_SIRET"),
        ("COMPANY_ADDRESS", " ", "COMPANY_ADDRESS"),
        ("COMPANY_SIRET", "85234711100018", "« 85234711100018 » n'est pas un SIRET valable"),
        ("COMPANY_VAT_NUMBER", "FR96852347111", "« FR96852347111 » n'est pas un n° de TVA français valable"),
        ("COMPANY_VAT_NUMBER", "FR44732829320", "ne correspond pas au SIREN de COMPANY_SIRET"),
    ],
)
def test_a_receipt_mention_missing_or_mistyped_is_named(good_site, variable, value, expected):
    """A SIRET with a typo would be printed on every receipt: the check digits are verified."""
    good_site[variable] = value
    status, output = _broken(good_site)
    assert status["Legal-mentions"] == "ERROR"
    assert expected in output
    assert status["Archive-signing-key"] == "CORRECT"


@pytest.mark.parametrize(("key", "expected"), [("", "absente"), ("court", "trop courte (5 caractères, 32 au moins)")])
def test_a_missing_or_short_archive_key_is_named(good_site, key, expected):
    good_site["ARCHIVE_SIGNING_KEY"] = key
    status, output = _broken(good_site)
    assert status["Archive-signing-key"] == "ERROR"
    assert f"ARCHIVE_SIGNING_KEY {expected}" in output and "garder une copie" in output
    assert status["Legal-mentions"] == "CORRECT"
