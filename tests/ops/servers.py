"""Helpers to run the project's real servers (gunicorn, nginx, supervisord) in a test."""

import http.client
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


def streams_command(replacements: dict[str, str]) -> list[str]:
    """ExecStart of the project's ocpizza-streams.service, with this interpreter's uvicorn."""
    unit = render(DEPLOY / "conf_files" / "ocpizza-streams.service", replacements)
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    program, *arguments = shlex.split(exec_start.removeprefix("ExecStart="))
    assert program.endswith("/bin/uvicorn")
    return [sys.executable, "-m", "uvicorn", *arguments]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def smtp_server() -> Iterator[str]:
    """A mail server that answers as SMTP servers do (greeting, then one reply per command): its EMAIL_URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop_serving = threading.Event()

    def serve():
        while not stop_serving.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client, client.makefile("rwb") as stream:
                stream.write(b"220 mail.ocpizza.test ESMTP\r\n")
                stream.flush()
                for line in stream:
                    stream.write(b"221 bye\r\n" if line.upper().startswith(b"QUIT") else b"250 ok\r\n")
                    stream.flush()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop_serving.set()
        thread.join(5)
        listener.close()
