"""The deployed-server drill: the runbook's procedures on a server built by the deploy engine itself.

Steps 1 to 4 of the engine run for real into a temporary prefix (step 1 creates
the system user; its packages are already on the machine), with a PostgreSQL
role and database of a unique name created by ``postgresql-scripts.sh``. Then
supervisord from the project's conf (started as ``ocpizza-supervisor.service``
would) and nginx from the project's site file (with the TLS lines certbot
adds) serve the site on a free loopback port. Nothing of the machine's own
services is touched; the user, role, database, crontab and processes are
removed at the end.
"""

import os
import re
import secrets
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.ops.conftest import LEGAL_MENTIONS
from tests.ops.servers import DEPLOY, ROOT, UnixHTTPConnection, free_port, get, render, smtp_server, wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.nginx,
    pytest.mark.xdist_group("deployed-drill"),
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("runuser") or not shutil.which("supervisord"),
        reason="the deploy engine runs as root and creates a system user",
    ),
]
DOMAIN = "drill.ocpizza.test"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSWORD = "ocpizza-demo"
MANAGE_ENV = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}


@dataclass
class Server:
    name: str  # system user, PostgreSQL role and database
    prefix: Path
    env: dict[str, str]  # the engine's settings, as root would export them
    port: int = 0
    supervisor: list[str] = field(default_factory=list)  # the unit's ExecStart, as its user, with its environment
    reload: list[str] = field(default_factory=list)

    @property
    def home(self) -> Path:
        return Path(self.env["OCPIZZA_HOME"])

    @property
    def app(self) -> Path:
        return self.home / "app"

    @property
    def env_file(self) -> Path:
        return Path(self.env["ENV_FILE"])

    def step(self, script: str, **settings: str) -> tuple[subprocess.CompletedProcess, str]:
        env = {**self.env, **settings}
        result = subprocess.run(
            [str(DEPLOY / script)], env=env, cwd=self.prefix, capture_output=True, text=True, timeout=900
        )
        return result, Path(env["DEPLOY_LOG"]).read_text()

    def manage_command(self, *args: str) -> list[str]:
        """The runbook's ``manage``: runuser -u ocpizza -- env ENV_FILE=… venv/bin/python app/manage.py."""
        python = [f"{self.home}/venv/bin/python", f"{self.app}/manage.py"]
        return ["runuser", "-u", self.name, "--", "env", f"ENV_FILE={self.env_file}", *python, *args]

    def manage(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(
            self.manage_command(*args),
            cwd=self.prefix,
            env=MANAGE_ENV,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert result.returncode == 0, f"manage {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def session(self) -> requests.Session:
        web = requests.Session()
        web.trust_env = False  # neither the machine's proxies nor its CA bundle: the drill's own certificate
        web.verify = str(self.prefix / "nginx" / "cert.pem")
        web.headers["Host"] = f"{DOMAIN}:{self.port}"
        return web

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def login(self, web: requests.Session, page: str, email: str, password: str = PASSWORD, **headers: str):
        form = web.get(self.url(page), timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token, form.status_code
        return web.post(
            self.url(page),
            data={"csrfmiddlewaretoken": token.group(1), "username": email, "password": password},
            headers={"Referer": f"https://{DOMAIN}:{self.port}{page}", **headers},
            timeout=30,
        )


def _run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=120, **kwargs)


def _origin_repository(prefix: Path) -> Path:
    """The code under test as the git repository the engine clones (OCPIZZA_REPO)."""
    origin = prefix / "origin"
    local = {".venv", ".git", "backups", "staticfiles", "media", "supervision", "db.sqlite3", ".env"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        """What a checkout holds that git does not: the developer's venv, database, caches."""
        at_root = Path(folder) == ROOT
        return {name for name in names if name == "__pycache__" or (at_root and name in local)}

    shutil.copytree(ROOT, origin, ignore=ignore)
    git = ["git", "-C", str(origin), "-c", "user.name=drill", "-c", "user.email=drill@ocpizza.test"]
    for command in (["init", "--quiet", "--initial-branch=main"], ["add", "-A"], ["commit", "--quiet", "-m", "drill"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return origin


def _unit_command(server: Server, directive: str) -> list[str]:
    """A line of ocpizza-supervisor.service run as systemd would: its user, its environment only."""
    unit = render(
        DEPLOY / "conf_files" / "ocpizza-supervisor.service",
        {
            "@OCPIZZA_USER@": server.name,
            "@OCPIZZA_APP@": str(server.app),
            "@OCPIZZA_VENV@": str(server.home / "venv"),
            "@OCPIZZA_HOME@": str(server.home),
            "@ENV_FILE@": str(server.env_file),
            "@STREAMS_SOCKET@": str(server.home / "streams" / "streams.sock"),
        },
    )
    variables = [
        pair for line in unit.splitlines() if line.startswith("Environment=") for pair in shlex.split(line[12:])
    ]
    command = next(line for line in unit.splitlines() if line.startswith(f"{directive}="))
    # Two workers: the drill runs on small CI machines (a setting of deploy/gunicorn.conf.py).
    environment = [f"PATH={SYSTEM_PATH}", f"HOME={server.home}", "LANG=C.UTF-8", "GUNICORN_WORKERS=2", *variables]
    return ["runuser", "-u", server.name, "--", "env", "-i", *environment, *shlex.split(command.partition("=")[2])]


def _nginx_conf(server: Server) -> Path:
    """The project's site file as supervision-scripts.sh renders it, with the TLS lines certbot adds."""
    folder = server.prefix / "nginx"
    folder.mkdir()
    _run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={DOMAIN}",
        "-addext", f"subjectAltName=DNS:{DOMAIN},IP:127.0.0.1",
        "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), check=True,
    )  # fmt: skip
    site = render(
        DEPLOY / "conf_files" / "nginx_ocpizza",
        {
            "@GUNICORN_SOCKET@": str(server.home / "supervision" / "gunicorn.sock"),
            "@STREAMS_SOCKET@": str(server.home / "streams" / "streams.sock"),
            "@OCPIZZA_HOME@": str(server.home),
            "@OCPIZZA_DOMAIN@": DOMAIN,
        },
    )
    tls = (
        f"listen 127.0.0.1:{server.port} ssl;\n"
        f"    ssl_certificate {folder / 'cert.pem'};\n    ssl_certificate_key {folder / 'key.pem'};"
    )
    site = site.replace("listen 80;", tls).replace("listen [::]:80;", "")
    (folder / "site.conf").write_text(site)
    temporary = [folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")]
    for path in temporary:
        path.mkdir()
        shutil.chown(path, "www-data", "www-data")
    (folder / "nginx.conf").write_text(
        f"""user www-data www-data;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
worker_processes 1;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    access_log {folder}/access.log;
    client_body_temp_path {temporary[0]};
    proxy_temp_path {temporary[1]};
    fastcgi_temp_path {temporary[2]};
    uwsgi_temp_path {temporary[3]};
    scgi_temp_path {temporary[4]};
    include {folder}/site.conf;
}}
"""
    )
    return folder / "nginx.conf"


def _drop(name: str) -> None:
    """Remove what the drill created on the machine: crontab, databases, role, user."""
    _run("crontab", "-r", "-u", name)
    owned = _run(
        "runuser", "-u", "postgres", "--", "psql", "-tAc",
        f"SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = '{name}'",
    ).stdout.split()  # fmt: skip
    for database in {*owned, name}:
        _run("runuser", "-u", "postgres", "--", "dropdb", "--if-exists", "--force", database)
    _run("runuser", "-u", "postgres", "--", "dropuser", "--if-exists", name)
    _run("userdel", name)
    _run("groupdel", name)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with ExitStack() as stack:
        yield from _deployed(stack)


def _deployed(stack: ExitStack) -> Iterator[Server]:
    name = f"ocpizza_drill_{secrets.token_hex(4)}"
    prefix = Path(tempfile.mkdtemp(prefix="ocpizza-drill-"))
    prefix.chmod(0o755)  # the application user and nginx's workers go through it
    processes: list[subprocess.Popen] = []
    bin_dir = prefix / "bin"
    bin_dir.mkdir()
    # Step 1's packages are already installed on this machine: apt-get has nothing to do.
    (bin_dir / "apt-get").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "apt-get").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{SYSTEM_PATH}",
        "HOME": str(prefix),
        "LANG": "C.UTF-8",
        "OCPIZZA_USER": name,
        "OCPIZZA_DOMAIN": DOMAIN,
        "OCPIZZA_HOME": str(prefix / "srv"),
        "OCPIZZA_REPO": str(_origin_repository(prefix)),
        "OCPIZZA_BRANCH": "main",
        "OCPIZZA_DB_NAME": name,
        "ENV_FILE": str(prefix / "etc" / "ocpizza.env"),
        "DEPLOY_LOG": str(prefix / "deploy_logs"),
        "GUNICORN_SERVICE": "ocpizza-supervisor",
        "WORKER_SERVICE": "",
        "STREAMS_SERVICE": "",
        **{key: value for key, value in os.environ.items() if key.startswith("PIP_")},
    }
    deployed = Server(name=name, prefix=prefix, env=env)
    mail = stack.enter_context(smtp_server())
    try:
        for script in ("ubuntu-scripts.sh", "postgresql-scripts.sh", "venv-scripts.sh", "django-scripts.sh"):
            result, log = deployed.step(script)
            if script == "django-scripts.sh" and result.returncode != 0:
                # As the runbook says: the mail server and the legal mentions go into ENV_FILE, then the step
                # runs again. The engine wrote the archives' key itself.
                assert log.rstrip().splitlines()[-2].endswith("Deployment-verification > ERROR"), log
                out = Path(f"{env['DEPLOY_LOG']}.out").read_text()
                assert "Legal-mentions > ERROR" in out and "Archive-signing-key > CORRECT" in out, out[-3000:]
                with deployed.env_file.open("a") as env_file:
                    env_file.write(f"EMAIL_URL={mail}\n")
                    env_file.writelines(f"{name}={value}\n" for name, value in LEGAL_MENTIONS.items())
                result, log = deployed.step(script)
            out = Path(f"{env['DEPLOY_LOG']}.out").read_text()[-3000:]
            assert result.returncode == 0, f"{script}\n{log}\n{out}"
            if script == "ubuntu-scripts.sh":
                # The repository stands for the project's git server: the new user may read it.
                subprocess.run(["chown", "-R", f"{name}:{name}", env["OCPIZZA_REPO"]], check=True)

        supervision = deployed.home / "supervision"  # as supervision-scripts.sh installs it
        _run("install", "-d", "-o", name, "-g", "www-data", "-m", "750", str(supervision), check=True)
        deployed.supervisor = _unit_command(deployed, "ExecStart")
        deployed.reload = _unit_command(deployed, "ExecReload")
        # systemd's part for the update engine: 'systemctl reload ocpizza-supervisor' runs the unit's ExecReload.
        (bin_dir / "systemctl").write_text(
            '#!/bin/sh\n[ "$1 $2" = "reload ocpizza-supervisor" ] || { echo "no systemd here: $*" >&2; exit 1; }\n'
            f"exec {shlex.join(deployed.reload)}\n"
        )
        (bin_dir / "systemctl").chmod(0o755)
        # supervisord writes its own log and gunicorn's under the supervision folder; this is for its start.
        with open(prefix / "supervisord.out", "wb") as out:
            processes.append(subprocess.Popen(deployed.supervisor, stdout=out, stderr=subprocess.STDOUT))
        socket_path = str(supervision / "gunicorn.sock")
        try:
            wait_until(
                lambda: get(UnixHTTPConnection(socket_path), "/healthz", {"Host": DOMAIN})[0] == 200, what="gunicorn"
            )
        except AssertionError as error:
            logs = "\n".join(
                path.read_text()[-3000:] for path in [prefix / "supervisord.out", *supervision.glob("*.log")]
            )
            raise AssertionError(f"{error}\n{logs}") from None

        deployed.port = free_port()
        conf = _nginx_conf(deployed)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        checked = _run(nginx, "-t", "-c", str(conf))
        assert checked.returncode == 0, checked.stderr
        processes.append(
            subprocess.Popen([nginx, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        web = deployed.session()
        try:
            wait_until(lambda: web.get(deployed.url("/healthz"), timeout=5).status_code == 200, what="nginx")
        except AssertionError as error:
            raise AssertionError(f"{error}\n{(conf.parent / 'error.log').read_text()[-3000:]}") from None
        deployed.manage("seed_demo")
        yield deployed
    finally:
        if deployed.supervisor:
            watchdog = [*deployed.supervisor[:-1], "shutdown"]
            _run(*watchdog)
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        _drop(name)
        shutil.rmtree(prefix, ignore_errors=True)


def test_the_engine_built_a_production_site_served_by_supervisord_and_nginx(server):
    log = Path(server.env["DEPLOY_LOG"]).read_text()
    assert log.rstrip().endswith("Deployment-verification > CORRECT"), log
    env_file = server.env_file.read_text()
    assert "ENV_MODE=production" in env_file and f"DATABASE_URL=postgres:///{server.name}" in env_file
    web = server.session()
    page = web.get(server.url("/"), timeout=30)
    assert page.status_code == 200 and "OC Pizza" in page.text
    assert page.headers["Server"].startswith("nginx") and "Strict-Transport-Security" in page.headers
    stylesheet = re.search(r"/static/css/ocpizza\.[0-9a-f]+\.css", page.text)
    assert stylesheet  # the manifest of the production storage
    assert web.get(server.url(stylesheet.group(0)), timeout=30).status_code == 200  # read by nginx's www-data
    # The live screens' stream server, run by supervisord, reached through nginx and listening to PostgreSQL.
    streams = web.get(server.url("/flux/sante"), timeout=30)
    assert streams.status_code == 200 and streams.json()["status"] == "ok", streams.text


def test_a_forged_forwarded_address_cannot_dodge_the_lockout_behind_nginx(server):
    """TRUSTED_PROXY_COUNT=1 from the env file: the address nginx appends is the one that counts."""
    web = server.session()
    for attempt in range(5):
        server.login(web, "/compte/connexion/", "client@example.com", "mauvais", **{
            "X-Forwarded-For": f"10.9.9.{attempt}"
        })  # fmt: skip
    locked = server.login(web, "/compte/connexion/", "client@example.com", "mauvais")
    assert locked.status_code == 429
    server.manage("axes_reset")


def _staff_emails(server: Server) -> dict[str, str]:
    listing = server.manage("seed_demo").stdout
    emails = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and "@" in parts[0]:
            emails.setdefault(parts[1], parts[0])
    return emails


def test_maintenance_blocks_customers_and_lets_every_staff_role_work(server):
    emails = _staff_emails(server)
    server.manage("maintenance", "on")
    try:
        customer = server.session()
        wait_until(lambda: customer.get(server.url("/"), timeout=30).status_code == 503, what="maintenance")
        assert customer.get(server.url("/compte/connexion/"), timeout=30).status_code == 503
        for role in ("pizzaiolo", "livreur", "comptoir", "manager"):
            staff = server.session()
            screen = server.login(staff, "/equipe/connexion/", next(e for r, e in emails.items() if r.startswith(role)))
            assert screen.status_code == 200, (role, screen.status_code, screen.url)
            assert "/equipe/" in screen.url
    finally:
        server.manage("maintenance", "off")


def _backups(server: Server) -> list[Path]:
    return sorted((server.home / "backups").glob("*.psql.bin"))


def test_backup_wipe_restore_keeps_maintenance_on(server):
    count = "from django.contrib.auth import get_user_model; print(get_user_model().objects.count())"

    def users() -> str:
        return server.manage("shell", "--no-imports", "-c", count).stdout.strip()

    before = users()
    assert int(before) > 0
    server.manage("maintenance", "on")
    try:
        server.manage("backup_ocpizza")
        backup = _backups(server)[-1]
        server.manage("flush", "--noinput")  # the accident
        server.manage("maintenance", "on")
        assert users() == "0"
        server.manage("restore_ocpizza", backup.name)
        assert users() == before
        assert server.manage("maintenance", "status").stdout.strip().endswith("on")
        assert server.session().get(server.url("/"), timeout=30).status_code == 503
    finally:
        server.manage("maintenance", "off")


def test_two_backup_jobs_at_once_make_one_verified_backup(server):
    before = set(_backups(server))
    # As the runbook's ``manage`` runs it (the deploy's user and env file), with the jobs' log lines shown.
    as_deployed = ["runuser", "-u", server.name, "--", "env", f"ENV_FILE={server.env_file}", "LOG_LEVEL=INFO"]
    # The second server's job is started first and waits, set up, for the signal: how long a Python process
    # takes to start must not decide whether the first one's backup has already ended.
    go = server.prefix / "go"
    waiting_server = (
        "import os, pathlib, sys, time; "
        f"sys.path.insert(0, {str(server.app)!r}); sys.argv = ['manage.py', 'cron_job', 'cyclic_backup']; "
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'ocpizzapp.settings'); "
        "import django; django.setup(); from django.core.management import execute_from_command_line; "
        f"go = pathlib.Path({str(go)!r})\n"
        "while not go.exists(): time.sleep(0.02)\n"
        "execute_from_command_line(sys.argv)"
    )
    run = {"cwd": server.prefix, "env": MANAGE_ENV, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    second = subprocess.Popen([*as_deployed, f"{server.home}/venv/bin/python", "-c", waiting_server], **run)
    first = subprocess.Popen(
        [*as_deployed, f"{server.home}/venv/bin/python", f"{server.app}/manage.py", "cron_job", "cyclic_backup"], **run
    )
    try:
        assert first.stderr is not None
        for line in first.stderr:
            if "job cyclic_backup started" in line:
                break
        go.touch()
        _, second_err = second.communicate(timeout=300)
        _, first_err = first.communicate(timeout=300)
    finally:
        first.kill()
        second.kill()
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert "job cyclic_backup skipped: another server is running it" in second_err, second_err
    assert len(set(_backups(server)) - before) == 1


def test_an_update_then_its_rollback_with_static_files(server):
    web = server.session()

    def stylesheet() -> bytes:
        link = re.search(r"/static/css/ocpizza\.[0-9a-f]+\.css", web.get(server.url("/"), timeout=30).text)
        assert link
        return web.get(server.url(link.group(0)), timeout=30).content

    original = stylesheet()
    bundle = server.home / "livraisons" / "2.6"  # where the runbook puts a bundle
    _run("install", "-d", "-g", server.name, "-m", "750", str(bundle.parent), str(bundle), check=True)
    (bundle / "ocpizza_2.6.css").write_text("body { color: #b22222; }\n")
    (bundle / "controller.ini").write_text("[heavy_components]\nocpizza_2.6.css = static/css/ocpizza.css\n")
    _run("chgrp", "-R", server.name, str(bundle), check=True)
    _run("chmod", "-R", "g+rX", str(bundle), check=True)
    engine = DEPLOY / "update" / "update-engine.sh"
    env = {**server.env, "UPDATE_LOG": str(server.prefix / "update_logs")}

    result = subprocess.run([str(engine), str(bundle)], env=env, capture_output=True, text=True, timeout=600)
    log = (server.prefix / "update_logs").read_text()
    assert result.returncode == 0, log + result.stderr + (server.prefix / "update_logs.out").read_text()[-3000:]
    wait_until(lambda: stylesheet() == b"body { color: #b22222; }\n", what="the updated stylesheet")
    assert web.get(server.url("/"), timeout=30).status_code == 200

    result = subprocess.run([str(engine), "--rollback"], env=env, capture_output=True, text=True, timeout=600)
    log = (server.prefix / "update_logs").read_text()
    assert result.returncode == 0, log + result.stderr
    wait_until(lambda: stylesheet() == original, what="the previous stylesheet")
    assert "Maintenance-off > CORRECT" in log
    # The maintenance page links the stylesheet too: the site itself is back the moment the engine is done.
    assert web.get(server.url("/"), timeout=30).status_code == 200


def test_a_failed_pull_stops_the_engine_and_the_site_keeps_serving(server):
    pull_log = str(server.prefix / "pull_logs")
    result, log = server.step("django-scripts.sh", OCPIZZA_BRANCH="no-such-branch", DEPLOY_LOG=pull_log)
    assert result.returncode == 1
    assert "Project-downloading > ERROR" in log and "CORRECT" not in log
    assert server.session().get(server.url("/"), timeout=30).status_code == 200


def _without(server: Server, variable: str) -> str:
    kept = [line for line in server.env_file.read_text().splitlines() if not line.startswith(f"{variable}=")]
    return "\n".join(kept) + "\n"


@pytest.mark.parametrize("broken", ["staticfiles.json", "model without migration", "no e-mail", "no SECRET_KEY"])
def test_verify_deployment_names_each_broken_set_up(server, broken):
    """Set-ups that pass a naive check and break the site later (issue's point 9)."""
    manifest = server.home / "static" / "staticfiles.json"
    models = server.app / "ocpizzapp" / "models.py"
    env_file = server.env_file.read_text()
    code = models.read_text()
    try:
        if broken == "staticfiles.json":
            manifest.rename(manifest.with_suffix(".away"))
            expected = "staticfiles.json"
        elif broken == "model without migration":
            models.write_text(code + "\n\nclass Stray(models.Model):\n    name = models.CharField(max_length=9)\n")
            expected = "makemigrations"
        elif broken == "no e-mail":
            server.env_file.write_text(_without(server, "EMAIL_URL"))
            expected = "EMAIL_URL"
        else:
            server.env_file.write_text(_without(server, "SECRET_KEY"))
            expected = "SECRET_KEY"
        result = server.manage("verify_deployment", "--skip=cron", check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "Traceback" not in output
        errors = [line for line in result.stdout.splitlines() if line.endswith("> ERROR")]
        assert errors and expected in output, output
    finally:
        if manifest.with_suffix(".away").exists():
            manifest.with_suffix(".away").rename(manifest)
        models.write_text(code)
        server.env_file.write_text(env_file)
