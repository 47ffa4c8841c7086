"""deploy/update/update-engine.sh end to end, on a copy of the project (chapter 6.1)."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import LEGAL_MENTIONS, make_site_env
from tests.ops.servers import ROOT, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("runuser"), reason="runs as root, like the engine"
)
SERVER_VARIABLES = (
    "ENV_MODE",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_URL",
    "DATABASE_URL",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "BACKUP_DIR",
    # What the operator adds once to the file the engine wrote (docs/exploitation.md, first deployment).
    *LEGAL_MENTIONS,
    "ARCHIVE_SIGNING_KEY",
)


@pytest.fixture
def server(tmp_path, mail_server):
    """A copy of the project with its environment file, a fake systemctl, and its own crontab lines."""
    app = tmp_path / "app"
    shutil.copytree(
        ROOT, app, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite3", "backups", "staticfiles")
    )
    site = make_site_env(tmp_path)
    env_file = tmp_path / "ocpizza.env"
    env_file.write_text("".join(f"{name}={site[name]}\n" for name in SERVER_VARIABLES) + f"EMAIL_URL={mail_server}\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "systemctl").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/systemctl.calls\n')
    (bin_dir / "systemctl").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "OCPIZZA_USER": "root",
        "OCPIZZA_APP": str(app),
        "OCPIZZA_VENV": str(Path(sys.executable).parent.parent),
        "ENV_FILE": str(env_file),
        "UPDATE_LOG": str(tmp_path / "update_logs"),
    }
    python = [sys.executable, str(app / "manage.py")]
    manage_env = {**os.environ, "ENV_FILE": str(env_file)}
    for name in SERVER_VARIABLES:
        manage_env.pop(name, None)
    subprocess.run([*python, "migrate", "--noinput"], env=manage_env, check=True, capture_output=True)
    subprocess.run([*python, "crontab", "add"], env=manage_env, check=True, capture_output=True)
    # The site's task worker, as its systemd unit runs it: verify_deployment checks its heartbeat.
    worker = subprocess.Popen(
        [*python, "run_worker"], env=manage_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    database = site["DATABASE_URL"].removeprefix("sqlite:///")

    def beat() -> bool:
        with sqlite3.connect(database) as db:
            return db.execute("SELECT count(*) FROM ocpizzapp_workerheartbeat").fetchone()[0] > 0

    try:
        wait_until(beat, what="the task worker's heartbeat", limit=90)
        yield app, env, tmp_path
    finally:
        worker.terminate()
        worker.wait(30)
        subprocess.run([*python, "crontab", "remove"], env=manage_env, check=True, capture_output=True)


@pytest.mark.xdist_group("machine-crontab")
def test_update_engine_applies_a_bundle_inside_maintenance(server):
    app, env, tmp_path = server
    bundle = tmp_path / "livraison"
    bundle.mkdir()
    (bundle / "pizza_tokyo.png").write_bytes(b"\x89PNG tokyo")
    (bundle / "controller.ini").write_text("[light_components]\npizza_tokyo.png = static/img/pizza_tokyo.png\n")

    result = subprocess.run(
        [str(app / "deploy" / "update" / "update-engine.sh"), str(bundle)], env=env, capture_output=True, text=True
    )
    log = (tmp_path / "update_logs").read_text()
    assert result.returncode == 0, log + result.stderr + (tmp_path / "update_logs.out").read_text()
    events = [line.split(" : ")[1] for line in log.splitlines() if " : " in line and not line.startswith("#")]
    assert events == [
        "Bundle-access > CORRECT",
        "Update-preview > CORRECT",
        "Maintenance-on > CORRECT",
        "Components-update > CORRECT",
        "Migrations-check > CORRECT",
        "Static-collection > CORRECT",
        "Database-upgrading > CORRECT",
        "Gunicorn-reload > CORRECT",
        "Worker-restart > CORRECT",
        "Streams-restart > CORRECT",
        "Deployment-verification > CORRECT",
        "Maintenance-off > CORRECT",
    ]
    assert (app / "static" / "img" / "pizza_tokyo.png").read_bytes() == b"\x89PNG tokyo"
    assert (tmp_path / "static" / "img" / "pizza_tokyo.png").exists()  # collected
    assert (tmp_path / "systemctl.calls").read_text().split("\n")[:3] == [
        "reload gunicorn",
        "restart ocpizza-worker",
        "restart ocpizza-streams",
    ]


@pytest.mark.xdist_group("machine-crontab")
def test_update_engine_refuses_a_bad_bundle_before_maintenance(server):
    app, env, tmp_path = server
    bundle = tmp_path / "livraison"
    bundle.mkdir()
    (bundle / "evil.py").write_text("")
    (bundle / "controller.ini").write_text("[heavy_components]\nevil.py = ../../evil.py\n")
    result = subprocess.run(
        [str(app / "deploy" / "update" / "update-engine.sh"), str(bundle)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    log = (tmp_path / "update_logs").read_text()
    assert "Update-preview > ERROR" in log and "Maintenance-on" not in log
    assert "still in maintenance" not in result.stderr


def _engine(app: Path, env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess, str]:
    result = subprocess.run(
        [str(app / "deploy" / "update" / "update-engine.sh"), *args], env=env, capture_output=True, text=True
    )
    return result, Path(env["UPDATE_LOG"]).read_text()


def _maintenance(app: Path, env: dict[str, str]) -> str:
    manage_env = {**os.environ, "ENV_FILE": env["ENV_FILE"]}
    for name in SERVER_VARIABLES:
        manage_env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(app / "manage.py"), "maintenance", "status"],
        env=manage_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _collected(static_root: Path, name: str) -> bytes:
    """The file the site serves for ``name``: the hashed copy the manifest points to."""
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    return (static_root / manifest["paths"][name]).read_bytes()


@pytest.mark.xdist_group("machine-crontab")
def test_a_rollback_puts_the_previous_static_files_back_live(server):
    app, env, tmp_path = server
    original = (app / "static" / "css" / "ocpizza.css").read_bytes()
    bundle = tmp_path / "livraison"
    bundle.mkdir()
    (bundle / "ocpizza_2.6.css").write_text("body { color: red; }\n")
    (bundle / "controller.ini").write_text("[heavy_components]\nocpizza_2.6.css = static/css/ocpizza.css\n")
    result, log = _engine(app, env, str(bundle))
    assert result.returncode == 0, log + result.stderr
    assert _collected(tmp_path / "static", "css/ocpizza.css") == b"body { color: red; }\n"

    result, log = _engine(app, env, "--rollback")
    assert result.returncode == 0, log + result.stderr + (tmp_path / "update_logs.out").read_text()
    events = [line.split(" : ")[1] for line in log.splitlines() if " : " in line and not line.startswith("#")]
    assert events == [
        "Maintenance-on > CORRECT",
        "Components-rollback > CORRECT",
        "Static-collection > CORRECT",
        "Gunicorn-reload > CORRECT",
        "Worker-restart > CORRECT",
        "Streams-restart > CORRECT",
        "Deployment-verification > CORRECT",
        "Maintenance-off > CORRECT",
    ]
    assert (app / "static" / "css" / "ocpizza.css").read_bytes() == original
    assert _collected(tmp_path / "static", "css/ocpizza.css") == original


@pytest.mark.xdist_group("machine-crontab")
def test_a_model_changed_without_its_migration_never_goes_live(server):
    app, env, tmp_path = server
    bundle = tmp_path / "livraison"
    bundle.mkdir()
    models = (app / "ocpizzapp" / "models.py").read_text()
    field = "    changed_at = models.DateTimeField(auto_now=True)\n"
    changed = models.replace(field, field + '    reason = models.CharField(max_length=200, default="")\n')
    assert changed != models
    (bundle / "models_2.6.py").write_text(changed)
    (bundle / "controller.ini").write_text("[heavy_components]\nmodels_2.6.py = ocpizzapp/models.py\n")
    result, log = _engine(app, env, str(bundle))
    assert result.returncode == 1
    assert "Migrations-check > ERROR" in log and "without their migration" in log
    assert "Gunicorn-reload" not in log and "Database-upgrading" not in log
    assert "update-engine.sh --rollback" in result.stderr
    assert "on" in _maintenance(app, env).lower()
    assert not (tmp_path / "systemctl.calls").exists()


@pytest.mark.xdist_group("machine-crontab")
def test_a_bundle_the_application_user_cannot_read_is_refused_first(server):
    """The runbook put bundles in /root, which the application user cannot read."""
    app, env, tmp_path = server
    bundle = tmp_path / "livraison"
    bundle.mkdir(mode=0o700)
    (bundle / "pizza_tokyo.png").write_bytes(b"\x89PNG tokyo")
    (bundle / "controller.ini").write_text("[light_components]\npizza_tokyo.png = static/img/pizza_tokyo.png\n")
    result, log = _engine(app, {**env, "OCPIZZA_USER": "nobody", "OCPIZZA_HOME": "/srv/ocpizza"}, str(bundle))
    assert result.returncode == 1
    assert log.splitlines()[1].endswith("Bundle-access > ERROR")
    assert "nobody cannot read" in log and "/srv/ocpizza/livraisons/" in log and "not in /root" in log
