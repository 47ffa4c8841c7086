"""deploy/gunicorn.conf.py: a unix socket by default, one control socket per instance, jittered recycling."""

import json
import runpy
import subprocess
import sys

from tests.ops.conftest import make_site_env, manage
from tests.ops.servers import DEPLOY, ROOT, UnixHTTPConnection, get, stop, wait_until

CONF = DEPLOY / "gunicorn.conf.py"


def _settings(monkeypatch, **env: str) -> dict:
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_a_server_listens_on_a_unix_socket_unless_heroku_gives_a_port(monkeypatch):
    assert _settings(monkeypatch)["bind"] == ["unix:/run/gunicorn.sock"]
    assert _settings(monkeypatch, PORT="5123")["bind"] == ["0.0.0.0:5123"]


def test_workers_are_recycled_with_jitter(monkeypatch):
    settings = _settings(monkeypatch)
    assert settings["max_requests"] > 0 and 0 < settings["max_requests_jitter"] < settings["max_requests"]


def test_two_instances_on_one_host_have_their_own_control_socket(tmp_path):
    """gunicorn's default control socket (~/.gunicorn/gunicorn.ctl) is shared by every instance of a user."""
    site = make_site_env(tmp_path)
    manage("migrate", "--noinput", env=site, check=True)
    env = {**site, "HOME": str(tmp_path), "GUNICORN_WORKERS": "1", "GUNICORN_THREADS": "1"}
    env.pop("XDG_RUNTIME_DIR", None)
    sockets = [tmp_path / "a.sock", tmp_path / "b.sock"]
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(CONF), "--bind", f"unix:{path}", "ocpizzapp.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / f"{path.stem}.log", "wb"),  # noqa: SIM115
        )
        for path in sockets
    ]
    try:
        for path in sockets:
            wait_until(lambda path=path: get(UnixHTTPConnection(str(path)), "/healthz", {})[0] == 200, what="gunicorn")
        wait_until(lambda: len(list((tmp_path / ".gunicorn").glob("*.ctl"))) == 2, what="two control sockets")
        masters = set()
        for control in (tmp_path / ".gunicorn").glob("*.ctl"):
            shown = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "from gunicorn.ctl.cli import main; main()",
                    "-s",
                    str(control),
                    "-c",
                    "show stats",
                    "-j",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert shown.returncode == 0, shown.stderr
            masters.add(json.loads(shown.stdout)["pid"])
        # Each socket answers for its own instance.
        assert masters == {server.pid for server in servers}
    finally:
        for server in servers:
            stop(server)
