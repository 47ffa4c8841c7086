"""Production settings, CSRF on every form, login throttling behind nginx."""

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import NoReverseMatch, reverse

from production.models import StaffMember
from tests import factories
from tests.security.test_access_walk import EXCLUDED_NAMESPACES, url_patterns

ROOT = Path(__file__).resolve().parent.parent.parent


def run_production(args: list[str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ocpizzapp.settings",
            "ENV_MODE": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "ocpizza.fr",
        }
    )
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_with_production_settings_reports_nothing():
    result = run_production(["manage.py", "check", "--deploy", "--fail-level", "DEBUG"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_sends_cookies_over_https_only_and_trusts_nginx_for_the_scheme():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({k: getattr(s, k) for k in ('DEBUG', 'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE',"
        "'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER',"
        "'SESSION_COOKIE_HTTPONLY', 'AXES_CLIENT_IP_CALLABLE')}))"
    )
    result = run_production(["-c", code])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_HTTPONLY": True,
        "AXES_CLIENT_IP_CALLABLE": "ocpizzapp.security.client_ip",
    }


# CSRF: every URL of the project refuses a POST without the token, whoever sends it.

CSRF_EXEMPT = {"ventes:stripe_webhook": "Stripe cannot hold our token; every event is signature-verified instead"}
DUMMY = {"int": 1, "slug": "bastille", "str": "BAS-260101-001"}


def _post_urls() -> list[str]:
    urls = []
    for name, params in url_patterns():
        if name in CSRF_EXEMPT or (params and name.split(":", 1)[0] in EXCLUDED_NAMESPACES):
            continue
        kwargs = {param: DUMMY["int"] if param.endswith(("id", "pk")) else DUMMY["str"] for param in params}
        if "slug" in params:
            kwargs["slug"] = DUMMY["slug"]
        if params & {"uidb64", "token"}:
            kwargs.update(uidb64="MQ", token="set-password")
        try:
            urls.append(reverse(name, kwargs=kwargs))
        except NoReverseMatch:
            pytest.fail(f"cannot build a URL for {name} with {kwargs}")
    return urls


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_every_post_without_a_csrf_token_is_refused(who):
    client = Client(enforce_csrf_checks=True)
    if who == "customer":
        client.force_login(factories.CustomerFactory().user)
    urls = _post_urls()
    assert len(urls) > 40
    for url in urls:
        response = client.post(url, {"quantity": "1"})
        assert response.status_code == 403, (url, response.status_code)
        assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_the_stripe_webhook_is_exempt_but_refuses_an_unsigned_event(settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test"
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("ventes:stripe_webhook"), "{}", content_type="application/json")
    assert response.status_code == 400


# Login throttling

LOGINS = {"customer": "accounts:login", "staff": "production:login", "admin": "admin:login"}


@pytest.fixture
def accounts(db):
    customer = factories.CustomerFactory(user=factories.UserFactory(email="camille@example.com")).user
    staff = factories.UserFactory(email="chef@ocpizza.fr")
    factories.StaffMemberFactory(user=staff, role=StaffMember.PIZZAIOLO)
    admin = factories.UserFactory(email="admin@ocpizza.fr", is_staff=True, is_superuser=True)
    return {"customer": customer, "staff": staff, "admin": admin}


def _login(client, page, email, password, forwarded="203.0.113.7"):
    data = {"username": email, "password": password}
    return client.post(reverse(LOGINS[page]), data, HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="127.0.0.1")


@pytest.mark.parametrize("page", sorted(LOGINS))
def test_login_is_locked_after_repeated_failures_with_a_french_page(page, accounts, client, settings):
    email = accounts[page].email
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, page, email, "mauvais").status_code == 200
    locked = _login(client, page, email, "mauvais")
    assert locked.status_code == 429
    assert "Trop de tentatives de connexion" in locked.content.decode()
    # Even the right password waits for the cool-off...
    assert _login(client, page, email, "motdepasse-solide").status_code == 429
    assert "_auth_user_id" not in client.session
    # ...and is welcome once it is over.
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(hours=1))
    assert _login(client, page, email, "motdepasse-solide").status_code == 302
    assert client.session["_auth_user_id"] == str(accounts[page].pk)


def test_a_forged_forwarded_address_cannot_dodge_the_lock_by_default(accounts, client, settings):
    """No trusted proxy configured (gunicorn reached directly): the header is only what the client wrote."""
    assert settings.TRUSTED_PROXY_COUNT == 0
    email = accounts["customer"].email
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "customer", email, "mauvais", forwarded=f"10.0.0.{attempt}")
    assert _login(client, "customer", email, "motdepasse-solide", forwarded="198.51.100.9").status_code == 429


def test_the_lock_follows_the_address_nginx_saw_not_what_the_client_wrote(accounts, client, settings):
    settings.TRUSTED_PROXY_COUNT = 1  # nginx in front
    email = accounts["customer"].email
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # The attacker writes a new address each time; nginx appends the real one.
        _login(client, "customer", email, "mauvais", forwarded=f"10.0.0.{attempt}, 203.0.113.7")
    assert _login(client, "customer", email, "motdepasse-solide", forwarded="1.2.3.4, 203.0.113.7").status_code == 429
    # Another customer behind another address still logs in: the e-mail alone is not locked.
    other = _login(Client(), "customer", email, "motdepasse-solide", forwarded="198.51.100.9")
    assert other.status_code == 302


def test_a_success_forgets_earlier_failures(accounts, client, settings):
    email = accounts["customer"].email
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "customer", email, "mauvais")
    assert _login(client, "customer", email, "motdepasse-solide").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "customer", email, "mauvais").status_code == 200
