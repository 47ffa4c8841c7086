"""Scheduled jobs: once across servers, skipped in maintenance, never silent."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from maintenance_mode.core import set_maintenance_mode

from ocpizzapp.jobs import JobOutcome, run_job
from ocpizzapp.ops.verify import cron_job_hash
from tests.ops.conftest import manage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_job_runs_its_work():
    calls = []
    assert run_job(name="t", work=lambda: calls.append(1)) is JobOutcome.DONE
    assert calls == [1]


@pytest.mark.django_db
def test_job_skips_while_in_maintenance():
    calls = []
    set_maintenance_mode(True)
    assert run_job(name="t", work=lambda: calls.append(1)) is JobOutcome.MAINTENANCE
    set_maintenance_mode(False)
    assert calls == []


@pytest.mark.django_db
def test_job_error_is_reported_and_raised(monkeypatch):
    reported = []
    monkeypatch.setattr("ocpizzapp.jobs.sentry_sdk.capture_exception", reported.append)

    def broken():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run_job(name="t", work=broken)
    assert [str(error) for error in reported] == ["boom"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_servers_running_a_job_at_once_do_the_work_once():
    """Server A holds the lock while server B tries: B skips, the work is done once."""
    inside, b_done = threading.Event(), threading.Event()
    calls, outcomes = [], {}

    def work():
        calls.append(1)
        inside.set()
        b_done.wait(30)

    def server(label):
        try:
            outcomes[label] = run_job(name="cyclic_update", work=work if label == "A" else lambda: calls.append(1))
        finally:
            connection.close()

    a = threading.Thread(target=server, args=("A",))
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=server, args=("B",))
    b.start()
    b.join(30)
    b_done.set()
    a.join(30)
    assert outcomes == {"A": JobOutcome.DONE, "B": JobOutcome.LOCKED}
    assert calls == [1]


def _crontab(*args):
    return subprocess.run(["crontab", *args], capture_output=True, text=True, check=False)


@pytest.mark.xdist_group("machine-crontab")
def test_crontab_add_show_remove_on_the_machine_cron(tmp_path):
    """The real `crontab`; other entries of the user's crontab are left as they were."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "ENV_FILE": str(tmp_path / "ocpizza.env")}
    before = _crontab("-l").stdout if _crontab("-l").returncode == 0 else ""

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "crontab", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    try:
        assert manage("add").returncode == 0
        listing = _crontab("-l").stdout
        for job in settings.CRONJOBS:
            assert cron_job_hash(job) in listing
        assert f"ENV_FILE={tmp_path / 'ocpizza.env'}" in listing
        assert "0 6 1 * *" in listing and "*/5 * * * *" in listing
        shown = manage("show").stdout
        assert "ocpizzapp.cron.cyclic_backup" in shown
    finally:
        assert manage("remove").returncode == 0
    after = _crontab("-l").stdout if _crontab("-l").returncode == 0 else ""
    assert after.strip() == before.strip()


def test_failing_cron_job_exits_non_zero():
    """django-crontab's runner would swallow the error; ours leaves with status 1."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
        "LOG_LEVEL": "CRITICAL",
    }
    job = next(job for job in settings.CRONJOBS if job[1] == "ocpizzapp.cron.expire_payments")
    result = subprocess.run(
        [sys.executable, "manage.py", "crontab", "run", cron_job_hash(job)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1


@pytest.mark.django_db
def test_cron_job_command_runs_a_job_like_cron(capsys):
    from django.core.management import call_command

    call_command("cron_job", "expire_payments")
    assert "Tâche expire_payments terminée." in capsys.readouterr().out


def _two_runs_at_once(first_work):
    """Server A runs the job with ``first_work``; while A is inside, server B tries the same job."""
    inside, b_done = threading.Event(), threading.Event()
    calls, outcomes = [], {}

    def work_a():
        calls.append("A")
        first_work()
        inside.set()
        b_done.wait(30)

    def server(label):
        try:
            outcomes[label] = run_job(name="cyclic_backup", work=work_a if label == "A" else lambda: calls.append("B"))
        finally:
            connection.close()

    a = threading.Thread(target=server, args=("A",))
    a.start()
    assert inside.wait(30)
    b = threading.Thread(target=server, args=("B",))
    b.start()
    b.join(30)
    b_done.set()
    a.join(30)
    return outcomes, calls


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_lock_survives_a_job_that_closes_the_database_connection():
    """django-dbbackup closes the connection mid-job; a lock held by that session would go with it."""
    outcomes, calls = _two_runs_at_once(lambda: connection.close())
    assert outcomes == {"A": JobOutcome.DONE, "B": JobOutcome.LOCKED}
    assert calls == ["A"]


@pytest.mark.django_db(transaction=True)
def test_a_job_runs_once_at_a_time_on_sqlite_too():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite lock")
    outcomes, calls = _two_runs_at_once(lambda: None)
    assert outcomes == {"A": JobOutcome.DONE, "B": JobOutcome.LOCKED}
    assert calls == ["A"]


@pytest.mark.postgres
def test_two_servers_starting_the_cyclic_backup_a_second_apart_back_up_once(deployed_site):
    """The real job, twice, on the deployed role: the second server skips while the first works."""
    env = {**deployed_site.env, "LOG_LEVEL": "INFO"}
    manage("migrate", "--noinput", env=env, check=True)
    manage("seed_demo", env=env, check=True)
    command = [sys.executable, "manage.py", "cron_job", "cyclic_backup"]
    # The second server is started first and waits, set up, for the signal: how long a Python process takes
    # to start must not decide whether the first one's job (a few seconds on this small database) has ended.
    go = deployed_site.folder / "go"
    waiting_server = (
        "import os, pathlib, sys, time; sys.argv = ['manage.py', 'cron_job', 'cyclic_backup']; "
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'ocpizzapp.settings'); "
        "import django; django.setup(); from django.core.management import execute_from_command_line; "
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): time.sleep(0.02)\n"
        "execute_from_command_line(sys.argv)"
    )
    second = subprocess.Popen(
        [sys.executable, "-c", waiting_server],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stderr is not None
        for line in first.stderr:
            if "job cyclic_backup started" in line:
                break
        go.touch()
        _, second_err = second.communicate(timeout=300)
        first.communicate(timeout=300)
    finally:
        first.kill()
        second.kill()
    assert first.returncode == 0 and second.returncode == 0, second_err
    assert "job cyclic_backup skipped: another server is running it" in second_err, second_err
    assert len(list((deployed_site.folder / "backups").glob("*.psql.bin"))) == 1


def _hash_of(function: str) -> str:
    return cron_job_hash(next(job for job in settings.CRONJOBS if job[1] == function))


def test_a_second_deployment_on_the_host_runs_its_job_while_the_first_runs_its_own(tmp_path):
    """Deployments A and B on one host, same CRONJOBS: A's running job must not make B's skip."""
    from tests.ops.conftest import make_site_env

    sites = {}
    for label in "AB":
        (tmp_path / label).mkdir()
        sites[label] = {**make_site_env(tmp_path / label), "LOG_LEVEL": "INFO"}
        manage("migrate", "--noinput", env=sites[label], check=True)
    job = _hash_of("ocpizzapp.cron.expire_payments")

    def run(site):
        return subprocess.run(
            [sys.executable, "manage.py", "crontab", "run", job], cwd=ROOT, env=site, capture_output=True, text=True
        )

    # A is in the middle of its expire_payments: it holds what its run holds.
    running_a = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCKS, job],
        cwd=ROOT,
        env=sites["A"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert running_a.stdout.readline().strip() == "holding"
        assert "job expire_payments done" in run(sites["B"]).stderr
        assert "job expire_payments skipped" in run(sites["A"]).stderr
    finally:
        running_a.communicate("stop\n", timeout=30)
    assert "job expire_payments done" in run(sites["A"]).stderr


# What a deployment's running job holds: django-crontab's file lock, and whatever
# ocpizzapp.jobs takes (the lock is taken from within a real run_job).
HOLD_LOCKS = """
import fcntl, os, sys, tempfile
import django
django.setup()
from ocpizzapp.jobs import run_job

job_hash = sys.argv[1]
crontab_lock = open(os.path.join(tempfile.gettempdir(), f"django_crontab_{job_hash}.lock"), "w")
fcntl.flock(crontab_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)

def wait():
    print("holding", flush=True)
    sys.stdin.readline()

run_job(name="expire_payments", work=wait)
"""
