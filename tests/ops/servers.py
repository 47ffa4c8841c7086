"""Helpers to run the project's real servers (gunicorn, nginx, supervisord) in a test."""

import http.client
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket, to talk to gunicorn without nginx."""

    def __init__(self, path: str):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]):
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def wait_until(check, *, what: str, limit: float = 30.0):
    """Poll ``check`` until it is truthy; a readiness wait, not a timing assertion."""
    deadline = time.monotonic() + limit
    while True:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not come up")
        time.sleep(0.1)


def render(template: Path, replacements: dict[str, str]) -> str:
    text = template.read_text()
    for placeholder, value in replacements.items():
        text = text.replace(placeholder, value)
    return text


def unit_environment(unit: Path, replacements: dict[str, str]) -> dict[str, str]:
    """The variables a systemd unit's Environment= lines give its process."""
    variables: dict[str, str] = {}
    for line in render(unit, replacements).splitlines():
        if line.startswith("Environment="):
            for pair in shlex.split(line.removeprefix("Environment=")):
                name, _, value = pair.partition("=")
                variables[name] = value
    return variables


def gunicorn_command(replacements: dict[str, str]) -> list[str]:
    """ExecStart of the project's gunicorn.service, with this interpreter's gunicorn."""
    unit = render(DEPLOY / "conf_files" / "gunicorn.service", replacements).replace("\\\n", " ")
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    program, *arguments = shlex.split(exec_start.removeprefix("ExecStart="))
    assert program.endswith("/bin/gunicorn")
    return [sys.executable, "-m", "gunicorn", *arguments]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
