"""verify_deployment: all CORRECT on a good site, names what is broken otherwise."""

import json
import re
from pathlib import Path

import pytest

from tests.ops.conftest import manage

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


@pytest.mark.xdist_group("machine-crontab")
def test_all_correct_on_a_good_site(good_site):
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
