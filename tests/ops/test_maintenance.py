"""Maintenance mode: shared through the database, French 503, staff still in."""

import pytest
from django.core.management import call_command

from ocpizzapp.maintenance import DatabaseBackend, remember_state
from ocpizzapp.models import MaintenanceState

pytestmark = pytest.mark.django_db


@pytest.fixture
def maintenance_on():
    call_command("maintenance", "on")
    yield
    call_command("maintenance", "off")


def test_customers_get_a_french_503_with_retry_after(client, maintenance_on, settings):
    response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(settings.MAINTENANCE_MODE_RETRY_AFTER)
    assert "maintenance" in response.content.decode()
    assert '<html lang="fr">' in response.content.decode()


def test_staff_can_still_log_in_and_work(client, maintenance_on):
    from tests.factories import UserFactory

    assert client.get("/admin/login/").status_code == 200
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get("/").status_code == 200


def test_health_check_still_answers(client, maintenance_on):
    assert client.get("/healthz").status_code == 200


def test_state_is_in_the_database_for_every_server(capsys):
    call_command("maintenance", "on")
    assert MaintenanceState.objects.get().value == "1"
    # Another server: nothing remembered, reads the database.
    remember_state(None, ttl=-1)
    assert DatabaseBackend().get_value() is True
    call_command("maintenance", "off")
    call_command("maintenance", "status")
    assert capsys.readouterr().out.strip().endswith("maintenance : off")
