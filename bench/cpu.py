"""CPU time of the processes that answer: gunicorn's (its process group) and the PostgreSQL backends serving
the bench database, read from ``/proc`` (Linux) around a scenario.

CPU time, unlike a throughput, does not depend on what else the shared machine is doing: it is what the
scenario cost, wherever the time was spent waiting.
"""

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name, in parentheses, may hold spaces: the fields start after its closing one.
    return text[text.rindex(")") + 2 :].split()


def process_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` so far (0 once it has exited)."""
    fields = _stat(pid)
    # After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12).
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def group_pids(group: int) -> list[int]:
    """The processes of a process group: gunicorn's master and workers (started in a session of their own)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and int(fields[2]) == group:
            pids.append(int(entry.name))
    return pids


def database_backends() -> list[int]:
    """The PostgreSQL server processes serving this database, this process's own excepted."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


@dataclass
class CpuMeter:
    """Start it before a scenario, ``stop()`` after: CPU seconds of gunicorn and of the database backends.

    A gunicorn worker recycled during the scenario takes its time with it (``max_requests``): the figure is
    then a little low. Backends opened during the scenario are counted from their start; the database's
    background processes (WAL writer, checkpointer) are not counted.
    """

    server_group: int
    _start: dict[int, float] | None = None

    def _now(self) -> dict[int, float]:
        return {pid: process_seconds(pid) for pid in group_pids(self.server_group)}

    def start(self) -> "CpuMeter":
        self._start = {**self._now(), **{-pid: process_seconds(pid) for pid in database_backends()}}
        return self

    def stop(self) -> dict[str, float]:
        assert self._start is not None
        server = sum(seconds - self._start.get(pid, 0.0) for pid, seconds in self._now().items())
        database = sum(process_seconds(pid) - self._start.get(-pid, 0.0) for pid in database_backends())
        return {"server_s": max(server, 0.0), "database_s": max(database, 0.0)}
