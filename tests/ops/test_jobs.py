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
