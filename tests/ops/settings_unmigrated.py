"""The project's settings plus an app whose model has no migration."""

from ocpizzapp.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.ops.unmigrated"]  # noqa: F405
