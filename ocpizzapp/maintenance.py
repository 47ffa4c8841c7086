"""django-maintenance-mode: state kept in the database, staff let through.

The package's default backend writes a file beside settings.py, which only the
server that wrote it would see; behind a load balancer every server must agree.
Each process remembers an open site for MAINTENANCE_STATE_TTL seconds so that a
request costs no query: switching maintenance on reaches every server within
that delay. A site in maintenance is read again on every request, so switching
it off gives the site back on every server at once: the update engine's last
step, and the operator's ``maintenance off``, mean what they say.

The package lets through ``is_staff`` users only, which are the back-office
accounts: the pizzerias' own staff (pizzaiolos, counter, riders, managers) are
members (``StaffMember``) without ``is_staff``, and must keep cooking and
delivering while customers wait. The staff area (``/equipe/``: its login, its
screens and their htmx polling) is open in settings; the middleware below lets
a signed-in member through everywhere else (order pages, receipts).
"""

import logging
import time

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from maintenance_mode.backends import AbstractStateBackend
from maintenance_mode.core import get_maintenance_mode
from maintenance_mode.http import get_maintenance_response, need_maintenance_response
from maintenance_mode.middleware import MaintenanceModeMiddleware

from production.selectors import staff_member_for

from .models import MaintenanceState

logger = logging.getLogger(__name__)
STATE_PK = 1
_open_until = {"monotonic": 0.0}


def remember_state(value: bool, *, ttl: float | None = None) -> None:
    """Remember an open site for ``ttl`` seconds; a site in maintenance is not remembered."""
    ttl = settings.MAINTENANCE_STATE_TTL if ttl is None else ttl
    _open_until["monotonic"] = 0.0 if value else time.monotonic() + ttl


class DatabaseBackend(AbstractStateBackend):
    def get_value(self):
        if time.monotonic() < _open_until["monotonic"]:
            return False
        value = self.read()
        remember_state(value)
        return value

    def read(self) -> bool:
        """The state in the database now, whatever this process remembers."""
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


class StaffAwareMaintenanceMiddleware(MaintenanceModeMiddleware):
    """The package's middleware, with the pizzerias' staff members let through.

    Membership is read only when maintenance is on and the request would be
    refused, so an open site pays no query for it. No view of ours forces
    maintenance on or off (the package's decorators): an open site answers
    at once, without the package resolving every request's URL a second time.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        if not get_maintenance_mode():
            return None
        if not need_maintenance_response(request):
            return None
        if staff_member_for(user=request.user) is not None:
            return None
        response: HttpResponse = get_maintenance_response(request)
        return response
