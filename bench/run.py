"""The benchmark: ``python -m bench.run [--large] [--seconds N] [--quick] [--reuse-db]``.

It builds a fresh PostgreSQL database with the generated data set, serves the
project with gunicorn under production settings on a free loopback port,
drives it with wrk (reads) and a Python load generator (orders racing on
shared stock), checks the stock afterwards and writes the figures to
``bench/results/`` (JSON and Markdown). It exits non-zero on any error or
oversold stock, never because of a timing.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from bench.mail import SlowMailServer
from bench.streams import CHANGES_PER_SECOND, KITCHEN_STREAMS, ORDER_STREAMS

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ocpizza_bench"
GUNICORN_CONFIG = BASE_DIR / "deploy" / "gunicorn.conf.py"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="500 pizzerias, 50 products, 1 000 000 past orders")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each scenario (default 10)")
    parser.add_argument("--quick", action="store_true", help="CI run: small data, 2 s per scenario, few connections")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections / customers")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database of the previous run (no rebuild)")
    parser.add_argument(
        "--mail-delay",
        type=int,
        metavar="MS",
        help="a real SMTP server answering each message after MS ms, and a task worker delivering to it",
    )
    parser.add_argument("--order-streams", type=int, help=f"open tracking streams (default {ORDER_STREAMS})")
    parser.add_argument("--kitchen-streams", type=int, help=f"open kitchen streams (default {KITCHEN_STREAMS})")
    parser.add_argument(
        "--changes-per-second", type=float, help=f"order changes a second (default {CHANGES_PER_SECOND:g})"
    )
    args = parser.parse_args(argv)
    quick = {"order_streams": 200, "kitchen_streams": 10, "changes_per_second": 5.0}
    full = {
        "order_streams": ORDER_STREAMS,
        "kitchen_streams": KITCHEN_STREAMS,
        "changes_per_second": CHANGES_PER_SECOND,
    }
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick:
        args.large = False
        args.seconds = min(args.seconds, 2)
        args.connections = min(args.connections, 4)
    return args


# Environment: the server and this process share one database and one SECRET_KEY.


def production_environment(database_url: str, static_root: str) -> dict[str, str]:
    return {
        "ENV_MODE": "production",
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database_url,
        "STATIC_ROOT": static_root,
        "LOG_LEVEL": "WARNING",
        # Confirmation e-mails go nowhere: an SMTP server is outside what is measured.
        "EMAIL_URL": "dummymail://",
        "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
    }


def database_recreate(database_url: str) -> None:
    import psycopg2

    url = urllib.parse.urlparse(database_url)
    name = url.path.lstrip("/")
    server = url._replace(path="/postgres").geturl()
    connection = psycopg2.connect(server)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The server


class Server:
    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(GUNICORN_CONFIG),
            "--bind",
            f"127.0.0.1:{port}",
            "ocpizzapp.wsgi",
        ]
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout} s: see {self.log}")

    def stop(self) -> None:
        process_group_stop(self.process)


def process_group_stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Worker:
    """The task worker beside gunicorn, as deployed: it sends the customers' e-mails."""

    def __init__(self, env: dict[str, str], log: Path):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run_worker"],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        process_group_stop(self.process)


def main(argv=None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("The benchmark needs PostgreSQL: DATABASE_URL=postgres://...", file=sys.stderr)
        return 2
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    static_root = tempfile.mkdtemp(prefix="ocpizza-bench-static-")
    env = production_environment(database_url, static_root)
    os.environ.update(env)
    if not args.reuse_db:
        database_recreate(database_url)

    import django

    django.setup()
    from bench import scenarios

    label = "large" if args.large else "small"
    started = time.monotonic()
    fixture = scenarios.prepare(large=args.large, reuse=args.reuse_db, quick=args.quick)
    print(f"Data set {label} ready in {time.monotonic() - started:.0f} s", flush=True)
    mail = worker = None
    if args.mail_delay is not None:
        mail = SlowMailServer(delay_ms=args.mail_delay).start()
        env["EMAIL_URL"] = mail.url
        worker = Worker(env, Path(tempfile.gettempdir()) / f"ocpizza-bench-worker-{os.getpid()}.log")
    server = Server(env, free_port(), Path(tempfile.gettempdir()) / f"ocpizza-bench-gunicorn-{os.getpid()}.log")
    try:
        server.wait_ready()
        report = scenarios.run_all(
            base=server.base,
            fixture=fixture,
            seconds=args.seconds,
            connections=args.connections,
            server_group=server.process.pid,
            streams=scenarios.StreamLoad(args.order_streams, args.kitchen_streams, args.changes_per_second),
        )
    finally:
        server.stop()
        if worker is not None:
            worker.stop()
        if mail is not None:
            mail.stop()
        shutil.rmtree(static_root, ignore_errors=True)
    report["dataset"] = label
    report["machine"] = scenarios.machine()
    report["settings"] = {
        "seconds": args.seconds,
        "connections": args.connections,
        "mail_delay_ms": args.mail_delay,
        "order_streams": args.order_streams,
        "kitchen_streams": args.kitchen_streams,
        "changes_per_second": args.changes_per_second,
    }
    if mail is not None:
        report["notes"].append(
            f"Mail server answering each message after {args.mail_delay} ms; "
            f"{mail.received} messages delivered by the task worker during the run."
        )
    stamp = time.strftime("%Y%m%d-%H%M%S")
    json_path = RESULTS_DIR / f"bench-{label}-{stamp}.json"
    md_path = RESULTS_DIR / f"bench-{label}-{stamp}.md"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    table = scenarios.markdown(report)
    md_path.write_text(table)
    print(table)
    print(f"Written {json_path.relative_to(BASE_DIR)} and {md_path.relative_to(BASE_DIR)}")
    problems = report["problems"]
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
