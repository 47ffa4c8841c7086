import os
import shutil

import pytest
from django.db import connection

from tests import factories


def _required(flag: str) -> bool:
    return os.environ.get(flag) == "1"


def pytest_collection_modifyitems(config, items):
    """Skip what this machine cannot run, unless CI says it must run."""
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    checks = {
        "postgres": (on_postgres, "REQUIRE_POSTGRES", "needs DATABASE_URL pointing at PostgreSQL"),
        "e2e": (os.path.exists("/usr/bin/chromium"), "REQUIRE_E2E", "needs Debian's chromium"),
        "nginx": (shutil.which("nginx") is not None, "REQUIRE_NGINX", "needs nginx"),
    }
    for available, flag, reason in checks.values():
        if not available and _required(flag):
            raise pytest.UsageError(f"{flag}=1 but this run cannot: it {reason}.")
    for item in items:
        for marker, (available, _, reason) in checks.items():
            if marker in item.keywords and not available:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _maintenance_off():
    """Requests in tests see the site open without a query, unless a test switches it."""
    from ocpizzapp.maintenance import remember_state

    remember_state(False, ttl=3600)


@pytest.fixture
def pizzeria(db):
    return factories.PizzeriaFactory()


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
