"""Backups: round trip leaves every row identical; a bad file is refused."""

import contextlib
import gzip
import sqlite3
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from ocpizzapp.ops import backup
from ocpizzapp.ops.backup import BackupError, restore_drill
from tests import factories
from tests.ops.conftest import manage


@pytest.fixture
def backup_dir(tmp_path, monkeypatch, settings):
    """In-process runs write their backups in tmp_path (dbbackup reads its storage at import)."""
    import dbbackup.settings

    folder = tmp_path / "backups"
    monkeypatch.setattr(dbbackup.settings, "STORAGE_OPTIONS", {"location": str(folder)})
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(dbbackup.settings, "MEDIA_PATH", settings.MEDIA_ROOT)
    (tmp_path / "media" / "products").mkdir(parents=True)
    (tmp_path / "media" / "products" / "regina.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return folder


def _all_rows_sqlite(path: Path) -> dict[str, list]:
    with contextlib.closing(sqlite3.connect(path)) as database:
        query = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        tables = [row[0] for row in database.execute(query)]
        return {table: sorted(map(repr, database.execute(f'SELECT * FROM "{table}"'))) for table in tables}


def test_sqlite_round_trip_backup_wipe_restore(site_env, tmp_path):
    database = tmp_path / "site.sqlite3"
    Path(site_env["MEDIA_ROOT"]).mkdir()
    manage("migrate", "--noinput", env=site_env, check=True)
    manage("seed_demo", env=site_env, check=True)
    before = _all_rows_sqlite(database)
    assert sum(len(rows) for rows in before.values()) > 50

    result = manage("backup_ocpizza", env=site_env, check=True)
    assert "Sauvegarde vérifiée" in result.stdout
    files = sorted(path.name for path in Path(site_env["BACKUP_DIR"]).iterdir())
    dump = next(name for name in files if name.endswith(".sqlite3.gz"))
    assert any(name.endswith(".tar.gz") for name in files)

    manage("flush", "--noinput", env=site_env, check=True)
    assert _all_rows_sqlite(database) != before
    manage("restore_ocpizza", dump, env=site_env, check=True)
    assert _all_rows_sqlite(database) == before


def test_maintenance_stays_on_through_a_restore(site_env):
    """The runbook: maintenance on > restore > checks > maintenance off; the dump's own flag (off) must not win."""
    manage("migrate", "--noinput", env=site_env, check=True)
    manage("backup_ocpizza", env=site_env, check=True)
    dump = next(Path(site_env["BACKUP_DIR"]).glob("*.sqlite3.gz")).name
    manage("maintenance", "on", env=site_env, check=True)
    manage("restore_ocpizza", dump, env=site_env, check=True)
    assert manage("maintenance", "status", env=site_env, check=True).stdout.strip() == "maintenance : on"


def test_old_backups_are_pruned(site_env):
    site_env["BACKUP_KEEP"] = "2"
    Path(site_env["MEDIA_ROOT"]).mkdir()
    manage("migrate", "--noinput", env=site_env, check=True)
    for _ in range(3):
        manage("backup_ocpizza", env=site_env, check=True)
    names = [path.name for path in Path(site_env["BACKUP_DIR"]).iterdir() if not path.name.endswith(".metadata")]
    assert len([name for name in names if ".sqlite3" in name]) == 2
    assert len([name for name in names if name.endswith(".tar.gz")]) == 2


def _all_rows_live() -> dict[str, list]:
    with connection.cursor() as cursor:
        rows = {}
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows[table] = sorted(map(repr, cursor.fetchall()))
        return rows


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_postgresql_round_trip_backup_wipe_restore(backup_dir):
    factories.OrderLineFactory.create_batch(3)
    factories.StockFactory.create_batch(2)
    before = _all_rows_live()

    result = backup.backup_run()
    dump = backup_dir / result.database_file
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump custom format, as pg_restore expects

    call_command("flush", "--noinput")
    assert _all_rows_live() != before
    call_command("restore_ocpizza", str(dump))
    assert _all_rows_live() == before


@pytest.mark.django_db
def test_corrupted_backup_is_refused_with_a_clear_message(tmp_path):
    factories.PizzeriaFactory()
    corrupted = tmp_path / ("default.psql.bin" if connection.vendor == "postgresql" else "default.sqlite3.gz")
    corrupted.write_bytes(gzip.compress(b"garbage") if corrupted.suffix == ".gz" else b"PGDMP garbage")
    with pytest.raises(CommandError) as refused:
        call_command("restore_ocpizza", str(corrupted))
    message = str(refused.value)
    assert "illisible" in message and "restauration refusée" in message
    assert "la base n'a pas été modifiée" in message
    from production.models import Pizzeria

    assert Pizzeria.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_drill_reports_each_table_that_differs(tmp_path):
    factories.PizzeriaFactory()
    if connection.vendor == "postgresql":
        path = tmp_path / "default.psql.bin"
        args, env = backup._pg_settings()
        name = connection.settings_dict["NAME"]
        subprocess.run(["pg_dump", *args, "--format=custom", f"--file={path}", name], env=env, check=True)
    else:
        path = tmp_path / "default.sqlite3"
        with contextlib.closing(sqlite3.connect(path)) as copy:
            connection.ensure_connection()
            connection.connection.backup(copy)
    counts = restore_drill(path=path)
    assert counts["production_pizzeria"] == 1
    with pytest.raises(BackupError, match="production_pizzeria : 2 attendue"):
        restore_drill(path=path, expected={**counts, "production_pizzeria": 2})


def test_backup_without_a_media_folder_still_succeeds(site_env):
    """A fresh server (or Heroku) has no media folder until the first upload."""
    manage("migrate", "--noinput", env=site_env, check=True)
    assert not Path(site_env["MEDIA_ROOT"]).exists()
    result = manage("backup_ocpizza", env=site_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Sauvegarde vérifiée" in result.stdout and "médias : aucun" in result.stdout
    assert [path.name for path in Path(site_env["BACKUP_DIR"]).glob("*.sqlite3.gz")]


def test_raw_dbrestore_on_sqlite_refuses_a_bad_file_and_destroys_nothing(site_env, tmp_path):
    """The runbook lists `manage dbrestore`: whatever it is given, the live database survives a bad file."""
    database = tmp_path / "site.sqlite3"
    manage("migrate", "--noinput", env=site_env, check=True)
    manage("seed_demo", env=site_env, check=True)
    before = _all_rows_sqlite(database)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    stranger = tmp_path / "stranger.sqlite3"
    with contextlib.closing(sqlite3.connect(stranger)) as other:
        other.execute("CREATE TABLE notes (text TEXT)")
    truncated = tmp_path / "truncated.sqlite3"
    truncated.write_bytes(database.read_bytes()[: database.stat().st_size // 3])
    for bad in (garbage, stranger, truncated):
        result = manage("dbrestore", "--noinput", f"--input-path={bad}", env=site_env)
        assert result.returncode != 0, (bad.name, result.stdout + result.stderr)
        assert "restauration refusée, la base n'a pas été modifiée" in result.stderr, result.stderr
        assert _all_rows_sqlite(database) == before, bad.name

    # A sound backup still goes in.
    manage("backup_ocpizza", env=site_env, check=True)
    dump = next(Path(site_env["BACKUP_DIR"]).glob("*.sqlite3.gz"))
    manage("flush", "--noinput", env=site_env, check=True)
    manage("dbrestore", "--noinput", "--uncompress", f"--input-path={dump}", env=site_env, check=True)
    assert _all_rows_sqlite(database) == before


def _all_rows_of(site) -> dict[str, list]:
    import psycopg2

    with contextlib.closing(psycopg2.connect(host="127.0.0.1", user=site.name, dbname=site.name)) as link:
        cursor = link.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = {}
        # The maintenance switch is the one row the runbook changes on purpose meanwhile.
        for (table,) in cursor.fetchall():
            if table == "ocpizzapp_maintenancestate":
                continue
            cursor.execute(f'SELECT * FROM "{table}"')
            rows[table] = sorted(map(repr, cursor.fetchall()))
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ocpizza_drill%%'")
        rows["(drill schemas left)"] = cursor.fetchall()
        return rows


@pytest.mark.postgres
def test_backup_wipe_restore_with_the_role_the_deploy_engine_creates(deployed_site):
    """The runbook's chapter 7 as the ocpizza role runs it: no CREATEDB, no superuser."""
    env = deployed_site.env
    manage("migrate", "--noinput", env=env, check=True)
    manage("seed_demo", env=env, check=True)
    before = _all_rows_of(deployed_site)
    assert sum(len(rows) for rows in before.values()) > 50

    backed_up = manage("backup_ocpizza", env=env)
    assert backed_up.returncode == 0, backed_up.stdout + backed_up.stderr
    assert "Sauvegarde vérifiée" in backed_up.stdout
    dump = next((deployed_site.folder / "backups").glob("*.psql.bin")).name

    manage("flush", "--noinput", env=env, check=True)
    assert _all_rows_of(deployed_site) != before
    manage("maintenance", "on", env=env, check=True)
    restored = manage("restore_ocpizza", dump, env=env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert manage("maintenance", "status", env=env, check=True).stdout.strip() == "maintenance : on"
    manage("maintenance", "off", env=env, check=True)
    assert _all_rows_of(deployed_site) == before

    # verify_deployment proves the same path with a small real dump and its drill (no server runs here).
    elsewhere = ("cron", "static", "manifest", "email", "maintenance", "deploy", "worker", "https", "streams")
    only_backups = [f"--skip={name}" for name in elsewhere]
    verified = manage("verify_deployment", *only_backups, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Backup-storage > CORRECT" in verified.stdout
    no_client = manage("verify_deployment", *only_backups, env={**env, "PATH": str(deployed_site.folder)})
    assert no_client.returncode != 0
    assert "Backup-storage > ERROR" in no_client.stdout and "pg_dump introuvable" in no_client.stdout


def test_drill_sql_moves_objects_to_the_scratch_schema_and_leaves_rows_alone():
    import io

    dump = io.BytesIO(
        b"CREATE SCHEMA public;\n"
        b"CREATE TABLE public.production_pizzeria (id bigint, note text);\n"
        b"COPY public.production_pizzeria (id, note) FROM stdin;\n"
        b"1\tvoir public.annonce \\\\. avant\n"
        b"\\.\n"
        b"SELECT pg_catalog.setval('public.production_pizzeria_id_seq', 1, true);\n"
    )
    out = io.BytesIO()
    backup._into_schema(dump, "ocpizza_drill_x", out)
    assert out.getvalue().decode().splitlines() == [
        'CREATE SCHEMA "ocpizza_drill_x";',
        'CREATE TABLE "ocpizza_drill_x".production_pizzeria (id bigint, note text);',
        'COPY "ocpizza_drill_x".production_pizzeria (id, note) FROM stdin;',
        "1\tvoir public.annonce \\\\. avant",
        "\\.",
        "SELECT pg_catalog.setval('\"ocpizza_drill_x\".production_pizzeria_id_seq', 1, true);",
    ]
