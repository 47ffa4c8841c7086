import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def get_with_database_down(path: str) -> tuple[str, str]:
    """GET ``path`` in a fresh process whose database refuses connections: (status line, body)."""
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        f"r = Client(raise_request_exception=False).get({path!r});"
        "print(r.status_code, r.get('Retry-After', '')); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
        "LOG_LEVEL": "CRITICAL",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    status, body = result.stdout.strip().split("\n", 1)
    return status.strip(), body


def test_healthz_503_when_the_schema_is_missing(tmp_path):
    """A server started without its ENV_FILE runs on an empty SQLite file: every page 503, so healthz too."""
    code = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client(raise_request_exception=False).get('/healthz');"
        "print(r.status_code); print(r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
        "LOG_LEVEL": "CRITICAL",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    status, body = result.stdout.strip().split("\n", 1)
    assert status == "503", result.stdout + result.stderr
    assert "pending" in body


def test_healthz_503_when_database_unreachable():
    status, body = get_with_database_down("/healthz")
    assert status == "503"
    assert "unreachable" in body
    assert "Traceback" not in body


def test_pages_answer_a_french_503_when_database_unreachable():
    status, body = get_with_database_down("/")
    assert status == "503 30"
    assert "Service momentanément indisponible" in body
    assert "Traceback" not in body and "OperationalError" not in body


@pytest.mark.django_db
def test_unknown_page_is_a_french_404(client, settings):
    settings.DEBUG = False
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


@pytest.mark.django_db
def test_csrf_failure_is_explained_in_french(settings):
    from django.test import Client

    settings.DEBUG = False
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Formulaire expiré" in response.content.decode()
