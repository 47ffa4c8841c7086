"""The deploy engine: shellcheck clean, a complete dry run, a stop at the first error."""

import re
import subprocess

import pytest

from tests.ops.servers import DEPLOY, ROOT

SCRIPTS = sorted(DEPLOY.rglob("*.sh"))
LINE = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}-\d{3} : [A-Za-z-]+ > (CORRECT|ERROR)$")
EXPECTED = {
    "# Step 1 : UBUNTU": ["Ubuntu-user-creation", "Packages-installation"],
    "# Step 2 : POSTGRESQL DataBase": ["Database-creation", "Psql-user-creation", "User-association"],
    "# Step 3 : VIRTUAL ENVIRONMENT": ["Virtual-environment-installation", "Virtual-environment-activation"],
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
            assert line.endswith("> CORRECT")
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


def test_procfile_runs_the_projects_wsgi_application_and_migrates():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert "ocpizzapp.wsgi:application" in lines["web"] and "gunicorn" in lines["web"]
    assert lines["release"].split() == ["python", "manage.py", "migrate", "--noinput"]
    assert (ROOT / "ocpizzapp" / "wsgi.py").is_file()
    assert (ROOT / ".python-version").read_text().strip() == "3.11"
