"""verify_deployment's first line when the settings themselves refuse to load.

In production the settings stop at a missing secret (SECRET_KEY, ALLOWED_HOSTS…)
with ImproperlyConfigured, before any command can run: the operator got a
traceback instead of a line naming what to fix.
"""

import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .deploylog import deploy_log_line


def settings_refusal() -> str | None:
    """Why the settings cannot load, or None when they can."""
    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading one setting loads the settings module
    except ImproperlyConfigured as error:
        return str(error)
    return None


def verify_settings_or_exit() -> None:
    refusal = settings_refusal()
    if refusal is None:
        return
    sys.stdout.write(f"{deploy_log_line(event='Environment-variables', ok=False)}\n    {refusal}\n")
    sys.stderr.write("CommandError: Déploiement incomplet : Environment-variables\n")
    sys.exit(1)
