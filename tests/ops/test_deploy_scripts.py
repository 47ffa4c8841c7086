"""The deploy engine: shellcheck clean, a complete dry run, a stop at the first error."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.servers import DEPLOY, ROOT

SCRIPTS = sorted(DEPLOY.rglob("*.sh"))
LINE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-\d{3} : [A-Za-z-]+ > (CORRECT|ERROR|DRY-RUN)$")
EXPECTED = {
    "# Step 1 : UBUNTU": ["Ubuntu-user-creation", "Packages-installation"],
    "# Step 2 : POSTGRESQL DataBase": ["Database-creation", "Psql-user-creation", "User-association"],
    "# Step 3 : VIRTUAL ENVIRONMENT": [
        "Python-version-check",
        "Virtual-environment-installation",
        "Virtual-environment-activation",
    ],
    "# Step 4 : DJANGO PROJECT": [
        "Project-downloading",
        "Environment-file-creation",
        "Database-upgrading",
        "Ressources-access-formatting",
        "Scheduled-jobs-installation",
        "Deployment-verification",
    ],
    "# Step 5 : GUNICORN": ["Gunicorn-service-file-configuration", "Gunicorn-service-activation"],
    "# Step 6 : NGINX": ["Nginx-service-file-configuration", "Nginx-service-activation"],
    "# Final step : Launch the website": ["Website-connection"],
}


def test_the_six_steps_and_the_engines_exist():
    names = {script.name for script in SCRIPTS}
    assert {
        "deploy-engine.sh",
        "ubuntu-scripts.sh",
        "postgresql-scripts.sh",
        "venv-scripts.sh",
        "django-scripts.sh",
        "gunicorn-scripts.sh",
        "nginx-scripts.sh",
        "update-engine.sh",
        "watchdog.sh",
    } <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_shellcheck_clean(script):
    result = subprocess.run(
        ["shellcheck", "--external-sources", "--severity=style", str(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_dry_run_writes_a_complete_deploy_logs_without_touching_the_system(tmp_path):
    log = tmp_path / "deploy_logs"
    home = tmp_path / "srv"
    env = {"PATH": "/usr/bin:/bin", "DEPLOY_LOG": str(log), "OCPIZZA_HOME": str(home), "HOME": str(tmp_path)}
    result = subprocess.run(
        [str(DEPLOY / "deploy-engine.sh"), "--dry-run"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    sections: dict[str, list[str]] = {}
    heading = None
    for line in log.read_text().splitlines():
        if line.startswith("# Step") or line.startswith("# Final"):
            heading = line
            sections[heading] = []
        elif line and not line.startswith("#"):
            assert LINE.match(line), line
            # Nothing ran, so nothing is claimed CORRECT.
            assert line.endswith("> DRY-RUN")
            sections[heading].append(line.split(" : ")[1].split(" > ")[0])
    assert sections == EXPECTED
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deploy_logs"]
    assert "would run" in result.stdout


def test_engine_stops_at_the_first_error_and_says_what_to_fix(tmp_path):
    log = tmp_path / "deploy_logs"
    script = f'source "{DEPLOY}/lib.sh"; event First-step "check the first thing" false; event Second-step "" true'
    result = subprocess.run(
        ["bash", "-c", script], env={"PATH": "/usr/bin:/bin", "DEPLOY_LOG": str(log)}, capture_output=True, text=True
    )
    assert result.returncode == 1
    lines = log.read_text().splitlines()
    assert lines[0].endswith("First-step > ERROR")
    assert lines[1].startswith("# To fix: check the first thing")
    assert not any("Second-step" in line for line in lines)
    assert "ERROR at First-step" in result.stderr


def test_no_password_in_any_deploy_file():
    """Scripts and conf files; README.md quotes the manuals' passwords to explain their removal."""
    secret = re.compile(r"(?i)(password\s*[=:]\s*\S|with\s+password|PGPASSWORD=)")
    for path in [*DEPLOY.rglob("*"), ROOT / "Procfile"]:
        if path.is_file() and path.suffix != ".md":
            code = [line for line in path.read_text().splitlines() if not line.lstrip().startswith(("#", ";"))]
            assert not secret.search("\n".join(code)), path


def test_the_stream_server_runs_with_the_same_options_wherever_it_is_started():
    """systemd, supervisord, the Procfile, and ``stream_server_command`` (development, tests, benchmark)."""
    from ocpizzapp.ops.streamserver import APPLICATION, OPTIONS

    started = " ".join([*OPTIONS, APPLICATION])
    assert "--workers 2" in started
    for path in [DEPLOY / "conf_files" / "ocpizza-streams.service", DEPLOY / "supervision" / "supervisord.conf"]:
        assert path.read_text().count(started) == 1, path
    assert (ROOT / "Procfile").read_text().count(started) == 1


def test_procfile_runs_the_projects_wsgi_application_and_migrates():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "ocpizzapp.wsgi:application" in lines["web"] and "gunicorn" in lines["web"]
    assert lines["release"].split() == ["python", "manage.py", "migrate", "--noinput"]
    assert lines["stream"].split()[0] == "uvicorn" and lines["stream"].split()[-1] == "ocpizzapp.asgi:application"
    assert (ROOT / "ocpizzapp" / "wsgi.py").is_file()
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


as_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="runs as root, like the engine")


def fake_commands(bin_dir: Path, commands: dict[str, str]) -> None:
    """Shell scripts standing in for system commands (apt-get, systemctl, nginx) the test must not run."""
    bin_dir.mkdir(exist_ok=True)
    for name, body in commands.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)


def run_step(script: str, tmp_path: Path, **settings: str) -> tuple[subprocess.CompletedProcess, str]:
    env = {
        "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "DEPLOY_LOG": str(tmp_path / "deploy_logs"),
        "OCPIZZA_USER": "root",
        "OCPIZZA_HOME": str(tmp_path / "srv"),
        **settings,
    }
    result = subprocess.run([str(DEPLOY / script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    log = tmp_path / "deploy_logs"
    return result, log.read_text() if log.exists() else ""


@as_root
def test_a_failed_pull_is_an_error_not_a_correct_line(tmp_path):
    """The manual's git step: a branch that does not exist must stop the deployment."""
    app = tmp_path / "srv" / "app"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(app)], check=True, capture_output=True)
    result, log = run_step(
        "django-scripts.sh",
        tmp_path,
        OCPIZZA_APP=str(app),
        OCPIZZA_VENV=str(Path(sys.executable).parent.parent),
        OCPIZZA_REPO=str(ROOT),
        OCPIZZA_BRANCH="no-such-branch",
        ENV_FILE=str(tmp_path / "ocpizza.env"),
    )
    assert result.returncode == 1
    assert "Project-downloading > ERROR" in log, log
    assert "CORRECT" not in log
    assert not (tmp_path / "ocpizza.env").exists()


@as_root
def test_an_env_file_written_before_the_archives_gets_their_key_once(tmp_path):
    """A server deployed before the sales journal's archives: step 4 adds the key, keeps the rest, and a second
    run keeps that key (the archives sealed with it are checked with it)."""
    fake_commands(tmp_path / "bin", {"runuser": "exit 0"})  # the application user's commands are not the point
    env_file = tmp_path / "ocpizza.env"
    env_file.write_text("ENV_MODE=production\nSECRET_KEY=kept\n")
    env_file.chmod(0o640)
    settings = {"OCPIZZA_REPO": str(ROOT), "ENV_FILE": str(env_file)}

    result, log = run_step("django-scripts.sh", tmp_path, **settings)
    assert result.returncode == 0, log
    lines = env_file.read_text().splitlines()
    assert lines[:2] == ["ENV_MODE=production", "SECRET_KEY=kept"]
    key = lines[2].removeprefix("ARCHIVE_SIGNING_KEY=")
    assert len(lines) == 4 and len(key) >= 32
    # And where the stream server listens, which verify_deployment asks (it came later still).
    assert lines[3] == f"LIVE_STREAM_SERVER=unix:{tmp_path}/srv/streams/streams.sock"
    assert env_file.stat().st_mode & 0o777 == 0o640

    run_step("django-scripts.sh", tmp_path, **settings)
    assert env_file.read_text().splitlines() == lines


@as_root
def test_a_failed_apt_get_update_is_an_error(tmp_path):
    fake_commands(tmp_path / "bin", {"apt-get": '[ "$1" = update ] && exit 100\nexit 0'})
    result, log = run_step("ubuntu-scripts.sh", tmp_path)
    assert result.returncode == 1
    assert "Ubuntu-user-creation > CORRECT" in log
    assert "Packages-installation > ERROR" in log, log


@as_root
def test_a_failed_nginx_reload_is_an_error(tmp_path):
    # The step links the site into nginx's folder: never this machine's own.
    assert "NGINX_ENABLED" in (DEPLOY / "lib.sh").read_text(), "the folder of enabled sites must be a setting"
    (tmp_path / "sites-enabled").mkdir()
    fake_commands(tmp_path / "bin", {"nginx": "exit 0", "systemctl": '[ "$1" = reload ] && exit 1\nexit 0'})
    result, log = run_step(
        "nginx-scripts.sh",
        tmp_path,
        NGINX_SITE=str(tmp_path / "ocpizza"),
        NGINX_ENABLED=str(tmp_path / "sites-enabled"),
    )
    assert result.returncode == 1
    assert "Nginx-service-file-configuration > CORRECT" in log
    assert "Nginx-service-activation > ERROR" in log, log
    assert (tmp_path / "sites-enabled" / "ocpizza").resolve() == tmp_path / "ocpizza"


def test_a_python_older_than_requires_python_stops_the_venv_step(tmp_path):
    """Ubuntu 22.04's Python 3.10 cannot install the requirements: said before pip fails halfway."""
    fake_commands(tmp_path / "bin", {"python3": "echo 3.10", "runuser": "echo runuser must not be reached; exit 1"})
    result, log = run_step("venv-scripts.sh", tmp_path, OCPIZZA_VENV=str(tmp_path / "venv"))
    assert result.returncode == 1
    assert "Python-version-check > ERROR" in log
    assert "Ubuntu 24.04" in log
    assert "Virtual-environment-installation" not in log
    needed = re.search(r'requires-python = ">=([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert needed and "requirements need 3.11 or newer" in (tmp_path / "deploy_logs.out").read_text()


@as_root
def test_supervision_step_installs_the_boot_unit_and_points_nginx_at_its_socket(tmp_path):
    (tmp_path / "systemd").mkdir()
    fake_commands(tmp_path / "bin", {"nginx": "exit 0", "systemctl": f'echo "$@" >> {tmp_path}/systemctl.calls'})
    result, log = run_step(
        "supervision-scripts.sh",
        tmp_path,
        SYSTEMD_DIR=str(tmp_path / "systemd"),
        NGINX_SITE=str(tmp_path / "ocpizza"),
        OCPIZZA_APP="/srv/ocpizza/app",
        ENV_FILE="/etc/ocpizza/ocpizza.env",
    )
    assert result.returncode == 0, log + (tmp_path / "deploy_logs.out").read_text()
    unit = (tmp_path / "systemd" / "ocpizza-supervisor.service").read_text()
    assert "ENV_FILE=/etc/ocpizza/ocpizza.env" in unit
    assert "ExecStart=/srv/ocpizza/app/deploy/supervision/watchdog.sh run" in unit
    socket_path = tmp_path / "srv" / "supervision" / "gunicorn.sock"
    assert f"GUNICORN_BIND=unix:{socket_path}" in unit
    assert f"server unix:{socket_path} " in (tmp_path / "ocpizza").read_text()
    # The stream server's socket is the same as under systemd: the env file's LIVE_STREAM_SERVER holds for both.
    streams_socket = tmp_path / "srv" / "streams" / "streams.sock"
    assert f"STREAMS_SOCKET={streams_socket}" in unit
    assert f"server unix:{streams_socket} " in (tmp_path / "ocpizza").read_text()
    calls = (tmp_path / "systemctl.calls").read_text().splitlines()
    assert "disable --now gunicorn.socket gunicorn.service ocpizza-streams.service" in calls
    assert "enable --now ocpizza-supervisor.service" in calls and "reload nginx" in calls
