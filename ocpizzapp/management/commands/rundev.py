import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from django.core.management.base import BaseCommand

MANAGE = str(Path(__file__).resolve().parents[3] / "manage.py")


class Command(BaseCommand):
    help = "Développement : le serveur web et le worker de tâches ensemble ; Ctrl-C arrête les deux."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        # Each in a process group of its own, so that stopping one takes its children too (runserver's reloader).
        commands = {
            "worker": [sys.executable, MANAGE, "run_worker", "--interval", "0.5"],
            "web": [sys.executable, MANAGE, "runserver", addrport],
        }
        processes = {name: subprocess.Popen(command, start_new_session=True) for name, command in commands.items()}
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
