"""Production mode refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(env_overrides: dict[str, str], code: str = "import django; django.setup()"):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "ENV_MODE"}}
    env.update({"DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", **env_overrides})
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)


def test_production_refuses_to_start_without_secret_key():
    result = run_django({"ENV_MODE": "production", "ALLOWED_HOSTS": "ocpizza.fr"})
    assert result.returncode != 0
    assert "Missing required environment variable SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = run_django({"ENV_MODE": "production", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "Missing required environment variable ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_its_secrets():
    result = run_django(
        {"ENV_MODE": "production", "SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "ocpizza.fr"},
        "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_unknown_env_mode_is_refused():
    result = run_django({"ENV_MODE": "staging"})
    assert result.returncode != 0
    assert "ENV_MODE" in result.stderr


def test_the_half_and_half_price_rule_is_read_and_checked():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.OCPIZZA['HALF_AND_HALF_PRICE'])"
    )
    assert run_django({"HALF_AND_HALF_PRICE": "average"}, code).stdout.strip() == "average"
    assert run_django({}, code).stdout.strip() == "dearer"
    refused = run_django({"HALF_AND_HALF_PRICE": "cheaper"})
    assert refused.returncode != 0 and "HALF_AND_HALF_PRICE must be dearer or average." in refused.stderr
