import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass

import pytest
import requests
from django.db import connection

from tests.ops.servers import ROOT, free_port, stop, wait_until


def procfile_gunicorn(port: int) -> list[str]:
    """The Procfile's web command, with this interpreter, one worker, on a loopback port."""
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    program, *arguments = shlex.split(web.removeprefix("web:"))
    assert program == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *arguments, "--bind", f"127.0.0.1:{port}", "--workers", "1"]


def database_url() -> str:
    """The test database, as the servers started here must reach it."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class AppServer:
    process: subprocess.Popen
    url: str


@pytest.fixture
def app_servers():
    """Start gunicorn servers on the test database, each its own process and port; all stopped at the end.

    Their cache is per process unless the caller passes ``REDIS_URL``.
    """
    started: list[AppServer] = []

    def start(count: int = 1, **environment: str) -> list[AppServer]:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings", "DATABASE_URL": database_url()}
        env.pop("ENV_MODE", None)
        env.pop("REDIS_URL", None)
        env.update(environment)
        servers = []
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(procfile_gunicorn(port), cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
            servers.append(AppServer(process, f"http://127.0.0.1:{port}"))
            started.append(servers[-1])
        for server in servers:
            # A loaded CI machine may take a while to import Django in several processes at once.
            wait_until(
                lambda server=server: requests.get(f"{server.url}/healthz", timeout=2).status_code == 200,
                what=f"gunicorn at {server.url}",
                limit=90,
            )
        return servers

    yield start
    for server in started:
        stop(server.process)


def fill_cart(browser: requests.Session, url: str, shop, *, quantity: int = 1) -> dict[str, str]:
    """Open the menu and add Margheritas as a browser would; returns the CSRF header for the next posts."""
    browser.get(f"{url}/pizzeria/{shop.pizzeria.slug}/", timeout=30)
    csrf = {"X-CSRFToken": browser.cookies["csrftoken"]}
    added = browser.post(
        f"{url}/panier/ajouter/",
        {"pizzeria": shop.pizzeria.pk, "product": shop.margherita.pk, "quantity": quantity},
        headers=csrf,
        timeout=30,
    )
    assert added.status_code < 400
    return csrf


def checkout_token(browser: requests.Session, url: str) -> str:
    """The one-use token of the checkout form; the page only has one when the session holds a cart."""
    page = browser.get(f"{url}/commander/", timeout=30).text
    return re.search(r'name="token" value="([^"]+)"', page).group(1)
