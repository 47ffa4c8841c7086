"""The monthly cyclic backup (manual chapter 8) and its restore drill.

Database and media go through django-dbbackup. A PostgreSQL backup is a
``pg_dump --format=custom`` archive, already compressed and restorable with
``pg_restore`` (and by Heroku's ``pg:backups:restore``), so it is not gzipped
again; SQLite copies and media archives are gzipped. Every backup is then
restored into a scratch schema (PostgreSQL) or file (SQLite) and its row
counts compared, table by table, with the counts taken in the very snapshot
the dump was made from.
"""

import contextlib
import gzip
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dbbackup.db.sqlite import SqliteBackupConnector
from dbbackup.signals import post_backup, pre_backup
from dbbackup.storage import get_storage
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from ocpizzapp.maintenance import DatabaseBackend

logger = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup that cannot be trusted; the message says why, in French."""


@dataclass(frozen=True)
class BackupResult:
    database_file: str
    # Empty when there was no media folder to archive (fresh server, Heroku).
    media_file: str
    tables: int
    rows: int


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table_counts(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")
        counts[table] = cursor.fetchone()[0]
    return counts


def backup_path(name: str) -> Path:
    return Path(get_storage().storage.path(name))


@contextlib.contextmanager
def _consistent_dump() -> Iterator[dict]:
    """Count rows and dump in one snapshot, so that the drill compares like with like."""
    seen: dict = {}

    def before(sender, connector, **kwargs):
        if "snapshot" in seen:
            connector.dump_suffix = f"--snapshot={seen['snapshot']}"

    def after(sender, filename, **kwargs):
        seen["filename"] = filename

    pre_backup.connect(before)
    post_backup.connect(after)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT pg_export_snapshot()")
                seen["snapshot"] = cursor.fetchone()[0]
            seen["counts"] = table_counts(cursor, connection.introspection.table_names(cursor))
            yield seen
    finally:
        pre_backup.disconnect(before)
        post_backup.disconnect(after)


def _pg_settings() -> tuple[list[str], dict[str, str]]:
    # No host means the local socket, where a server deployed by deploy/ authenticates by peer.
    params = connection.settings_dict
    args = [
        f"--{option}={params[key]}"
        for option, key in (("host", "HOST"), ("port", "PORT"), ("username", "USER"))
        if params.get(key)
    ]
    env = {**os.environ}
    if params.get("PASSWORD"):
        env["PGPASSWORD"] = params["PASSWORD"]
    return args, env


def _pg_connect(dbname: str):
    import psycopg2

    params = connection.settings_dict
    link = psycopg2.connect(
        dbname=dbname,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
    )
    link.autocommit = True
    return contextlib.closing(link)


# In pg_restore's SQL every object of the dump is written ``public.name``.
_PUBLIC_PREFIX = re.compile(rb'(?<![\w"$])public\.')
_COPY_START = re.compile(rb"^COPY .* FROM stdin;$")
_PUBLIC_SCHEMA_ITSELF = re.compile(rb"^(CREATE|COMMENT ON|ALTER) SCHEMA public\b")


def _into_schema(sql: IO[bytes], schema: str, target: IO[bytes]) -> None:
    """Copy pg_restore's SQL from ``sql`` to ``target``, every ``public.`` object moved to ``schema``.

    Rows (between ``COPY … FROM stdin;`` and ``\\.``) are copied untouched: a
    customer's note may well contain the word "public.".
    """
    quoted = f'"{schema}".'.encode()
    target.write(f'CREATE SCHEMA "{schema}";\n'.encode())
    in_rows = False
    for line in sql:
        if in_rows:
            in_rows = line.rstrip(b"\r\n") != b"\\."
        elif _PUBLIC_SCHEMA_ITSELF.match(line):
            continue
        else:
            line = _PUBLIC_PREFIX.sub(quoted, line)
            in_rows = bool(_COPY_START.match(line.rstrip(b"\r\n")))
        target.write(line)


def _drill_postgresql(path: Path) -> dict[str, int]:
    """Restore ``path`` into a scratch schema of the live database, count its rows, drop it.

    Why a schema and not a scratch database: the deploy engine creates the
    application's role without CREATEDB (postgresql-scripts.sh), and managed
    PostgreSQL (Heroku) never grants it; granting it would take a superuser
    and give the web processes a right they do not need. The role owns its
    database, which is all CREATE SCHEMA asks for. pg_restore reads the whole
    archive (a damaged file fails there) and writes SQL in which every object
    is ``public.name``; that SQL is replayed into ``ocpizza_drill_<random>``,
    in one transaction, by psql. The name is new on every run, so two drills
    never share a schema. The live tables are never touched; the drill needs
    the dump's size again in free disk space for a moment.
    """
    schema = f"ocpizza_drill_{uuid.uuid4().hex[:16]}"
    args, env = _pg_settings()
    name = connection.settings_dict["NAME"]
    with tempfile.TemporaryFile() as sql, tempfile.TemporaryFile() as errors:
        command = ["pg_restore", "--no-owner", "--no-privileges", "--file=-", str(path)]
        reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
        assert reader.stdout is not None
        with reader.stdout:
            _into_schema(reader.stdout, schema, sql)
        if reader.wait() != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise BackupError(f"Sauvegarde illisible par pg_restore ({path.name}) : {message}")
        sql.seek(0)
        try:
            replayed = subprocess.run(
                ["psql", *args, "--no-psqlrc", "--quiet", "--single-transaction", "--set=ON_ERROR_STOP=1", name],
                stdin=sql,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if replayed.returncode != 0:
                raise BackupError(f"Sauvegarde illisible ({path.name}) : {replayed.stderr.strip()}")
            with _pg_connect(name) as drill, drill.cursor() as cursor:
                cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename", [schema])
                counts = {}
                for (table,) in cursor.fetchall():
                    cursor.execute(f"SELECT COUNT(*) FROM {_quote(schema)}.{_quote(table)}")
                    counts[table] = cursor.fetchone()[0]
                return counts
        finally:
            with _pg_connect(name) as drill, drill.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {_quote(schema)} CASCADE")


def _sqlite_counts(path: Path) -> dict[str, int]:
    """Row counts of the SQLite file ``path``, if it is a sound database of this site."""
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as database:
            cursor = database.cursor()
            problems = [row[0] for row in cursor.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"Sauvegarde illisible ({path.name}) : base SQLite abîmée ({problems[0]})")
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            tables = [row[0] for row in cursor.fetchall()]
            missing = sorted({"django_migrations", get_user_model()._meta.db_table} - set(tables))
            if missing:
                raise BackupError(
                    f"Sauvegarde illisible ({path.name}) : ce n'est pas une base d'OC Pizza "
                    f"(table(s) absente(s) : {', '.join(missing)})"
                )
            return table_counts(cursor, tables)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"Sauvegarde illisible ({path.name}) : {error}") from error


def _drill_sqlite(path: Path) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "drill.sqlite3"
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rb") as source, open(scratch, "wb") as target:
                shutil.copyfileobj(source, target)
        except (OSError, EOFError) as error:
            raise BackupError(f"Sauvegarde illisible ({path.name}) : {error}") from error
        return _sqlite_counts(scratch)


class CheckedSqliteConnector(SqliteBackupConnector):
    """dbbackup's SQLite connector, made safe for ``dbrestore`` itself.

    dbbackup's own restore writes whatever it is given over the live file: a
    wrong or truncated file destroyed the database and still exited 0. Here the
    file is checked first (a sound SQLite database with this site's tables),
    then copied in through SQLite's backup API, which replaces the pages in
    one transaction under SQLite's own locks, never half a file.
    """

    def restore_dump(self, dump: IO[bytes]) -> None:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder) / "restore.sqlite3"
            with open(scratch, "wb") as target:
                shutil.copyfileobj(dump, target)
            try:
                _sqlite_counts(scratch)
            except BackupError as error:
                raise CommandError(f"{error} — restauration refusée, la base n'a pas été modifiée.") from error
            self.connection.close()
            live_path = self.connection.settings_dict["NAME"]
            with (
                contextlib.closing(sqlite3.connect(scratch)) as source,
                contextlib.closing(sqlite3.connect(live_path)) as live,
            ):
                source.backup(live)


def restore_drill(*, path: Path, expected: dict[str, int] | None = None) -> dict[str, int]:
    """Restore ``path`` into a scratch schema (or file) and count its rows; raise BackupError on any doubt."""
    if not path.is_file() or path.stat().st_size == 0:
        raise BackupError(f"Sauvegarde introuvable ou vide : {path}")
    counts = _drill_postgresql(path) if connection.vendor == "postgresql" else _drill_sqlite(path)
    if expected is not None and counts != expected:
        differences = [
            f"{table} : {expected.get(table, 'absente')} attendue(s), {counts.get(table, 'absente')} restaurée(s)"
            for table in sorted(set(expected) | set(counts))
            if expected.get(table) != counts.get(table)
        ]
        raise BackupError(f"Exercice de restauration en échec ({path.name}) : " + " ; ".join(differences))
    return counts


def _media_backup() -> str:
    """Archive MEDIA_ROOT; a server that never stored an upload has no folder, hence nothing to archive."""
    if not Path(settings.MEDIA_ROOT).is_dir():
        logger.info("no media backup: %s does not exist", settings.MEDIA_ROOT)
        return ""
    call_command("mediabackup", clean=True, compress=True, verbosity=0)
    return get_storage().get_latest_backup(content_type="media")


def backup_run() -> BackupResult:
    compress = connection.vendor != "postgresql"
    with _consistent_dump() as seen:
        call_command("dbbackup", clean=True, compress=compress, verbosity=0)
    counts = restore_drill(path=backup_path(seen["filename"]), expected=seen["counts"])
    logger.info("backup %s verified: %d tables, %d rows", seen["filename"], len(counts), sum(counts.values()))
    media_file = _media_backup()
    return BackupResult(
        database_file=seen["filename"], media_file=media_file, tables=len(counts), rows=sum(counts.values())
    )


def backup_restore(*, path: Path) -> None:
    """Restore the live database from ``path``, after a drill proved the file sound.

    The maintenance flag lives in the database, so the dump brings back the
    state of the day it was taken (usually off) while the operator is still
    working: the state of the moment is put back as soon as the data is in.
    """
    restore_drill(path=path)
    state = DatabaseBackend()
    maintenance = state.read()
    call_command("dbrestore", input_path=str(path), uncompress=path.suffix == ".gz", interactive=False, verbosity=0)
    if state.read() != maintenance:
        state.set_value(maintenance)
