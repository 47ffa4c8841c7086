"""The reduced benchmark run of CI: small data, about 2 s per scenario.

It fails on an error, an oversold stock or an order/ledger mismatch that the
benchmark reports (its exit status), or a live stream's event that never came,
never on a timing.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.postgres


def _bench_database_url() -> str:
    """A database of its own beside the suite's, named after it (the benchmark drops and recreates it)."""
    db = settings.DATABASES["default"]
    name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0] or db["NAME"]
    user = urllib.parse.quote(db.get("USER") or "")
    password = f":{urllib.parse.quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}_quickbench"


def _drop(database_url: str) -> None:
    url = urllib.parse.urlparse(database_url)
    connection = psycopg2.connect(url._replace(path="/postgres").geturl())
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')
    connection.close()


def test_quick_benchmark_runs_without_error_or_oversell(tmp_path):
    if shutil.which("wrk") is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("wrk is missing: apt-get install wrk (.ci/run installs it)")
        pytest.skip("needs wrk")
    database_url = _bench_database_url()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PYTEST_"))}
    env["DATABASE_URL"] = database_url
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bench.run", "--quick"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        _drop(database_url)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "| orders |" in report, report
    assert "PROBLEM" not in report, report
    # The streams' scenario ran on the real stream server: every stream held (more than PostgreSQL's hundred
    # connections), every change heard, no error.
    written = re.search(r"Written (\S+\.json)", report)
    assert written, report
    streams = json.loads((ROOT / written.group(1)).read_text())["streams"]
    assert streams["held"] == streams["order_streams"] + streams["kitchen_streams"] == 210, streams
    assert streams["changes"] == 10, streams
    assert streams["events_expected"] >= streams["changes"], streams
    assert streams["missed"] == streams["kitchen_missed"] == streams["errors"] == 0, streams
