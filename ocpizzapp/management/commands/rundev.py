import os
import signal
import subprocess
import sys
import time
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType

from django.conf import settings
from django.core.management.base import BaseCommand

from ocpizzapp.ops.streamserver import stream_server_command

MANAGE = str(Path(__file__).resolve().parents[3] / "manage.py")


class Command(BaseCommand):
    help = (
        "Développement : le serveur web, le worker de tâches et, sur PostgreSQL, le serveur de flux (port suivant) "
        "ensemble ; Ctrl-C arrête le tout."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: object, addrport: str, **options: object) -> None:
        # Each in a process group of its own, so that stopping one takes its children too (runserver's reloader).
        commands = {
            "worker": [sys.executable, MANAGE, "run_worker", "--interval", "0.5"],
            "web": [sys.executable, MANAGE, "runserver", addrport],
        }
        environment = dict(os.environ)
        if settings.LIVE_STREAMS:
            # The stream server on the next port: the pages open their streams there (CORS for SITE_URL's origin).
            host, _, port = addrport.rpartition(":")
            host = "127.0.0.1" if host in {"", "0.0.0.0"} else host
            streams = f"http://{host}:{int(port) + 1}"
            environment.setdefault("SITE_URL", f"http://{host}:{port}")
            environment.setdefault("LIVE_STREAM_URL", streams)
            commands["streams"] = stream_server_command(host=host.strip("[]"), port=int(port) + 1)
            self.stdout.write(f"Flux en direct : {streams}/flux/")
        else:
            self.stdout.write("Flux en direct désactivés sur SQLite : les pages se mettent à jour par polling.")
        processes = {
            name: subprocess.Popen(command, start_new_session=True, env=environment)
            for name, command in commands.items()
        }
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping and all(process.poll() is None for process in processes.values()):
            time.sleep(0.2)
        exited = [name for name, process in processes.items() if process.poll() is not None]
        if exited and not stopping:
            self.stderr.write(f"{', '.join(exited)} s'est arrêté : arrêt de l'ensemble.")
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if exited and not stopping:
            sys.exit(1)
