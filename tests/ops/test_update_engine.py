"""deploy/update/update-engine.sh end to end, on a copy of the project (chapter 6.1)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import make_site_env
from tests.ops.servers import ROOT

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
)


@pytest.fixture
def server(tmp_path):
    """A copy of the project with its environment file, a fake systemctl, and its own crontab lines."""
    app = tmp_path / "app"
    shutil.copytree(
        ROOT, app, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "*.sqlite3", "backups", "staticfiles")
    )
    site = make_site_env(tmp_path)
    env_file = tmp_path / "ocpizza.env"
    env_file.write_text("".join(f"{name}={site[name]}\n" for name in SERVER_VARIABLES))
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
    try:
        yield app, env, tmp_path
    finally:
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
        "Update-preview > CORRECT",
        "Maintenance-on > CORRECT",
        "Components-update > CORRECT",
        "Static-collection > CORRECT",
        "Database-upgrading > CORRECT",
        "Gunicorn-reload > CORRECT",
        "Deployment-verification > CORRECT",
        "Maintenance-off > CORRECT",
    ]
    assert (app / "static" / "img" / "pizza_tokyo.png").read_bytes() == b"\x89PNG tokyo"
    assert (tmp_path / "static" / "img" / "pizza_tokyo.png").exists()  # collected
    assert (tmp_path / "systemctl.calls").read_text().strip() == "reload gunicorn"


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
