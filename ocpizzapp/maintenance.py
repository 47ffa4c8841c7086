"""django-maintenance-mode state kept in the database.

The package's default backend writes a file beside settings.py, which only the
server that wrote it would see; behind a load balancer every server must agree.
Each process remembers the state for MAINTENANCE_STATE_TTL seconds so that a
request costs no query; a switch reaches every server within that delay.
"""

import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from maintenance_mode.backends import AbstractStateBackend

from .models import MaintenanceState

logger = logging.getLogger(__name__)
STATE_PK = 1
_remembered: dict[str, Any] = {}


def remember_state(value, *, ttl: float | None = None) -> None:
    ttl = settings.MAINTENANCE_STATE_TTL if ttl is None else ttl
    _remembered.update(value=value, until=time.monotonic() + ttl)


class DatabaseBackend(AbstractStateBackend):
    def get_value(self):
        if _remembered and time.monotonic() < _remembered["until"]:
            return _remembered["value"]
        value = self._read()
        remember_state(value)
        return value

    def _read(self):
        try:
            raw = MaintenanceState.objects.filter(pk=STATE_PK).values_list("value", flat=True).first()
        except DatabaseError:
            # Before the first migrate, or while the database is down: /healthz says so.
            logger.warning("Maintenance state unreadable, using the fallback value")
            return settings.MAINTENANCE_MODE_STATE_BACKEND_FALLBACK_VALUE
        return self.from_str_to_state_value(raw or "0")

    def set_value(self, value):
        MaintenanceState.objects.update_or_create(pk=STATE_PK, defaults={"value": self.from_state_to_str_value(value)})
        remember_state(value)
