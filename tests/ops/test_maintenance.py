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
    remember_state(False, ttl=-1)
    assert DatabaseBackend().get_value() is True
    call_command("maintenance", "off")
    call_command("maintenance", "status")
    assert capsys.readouterr().out.strip().endswith("maintenance : off")


def test_switching_off_gives_the_site_back_at_once_where_it_was_seen_on(client):
    """The update engine's last step is ``maintenance off``: no server may keep answering 503 after it."""
    call_command("maintenance", "on")
    assert client.get("/").status_code == 503
    # Switched off by another server (the operator's shell), within MAINTENANCE_STATE_TTL of the refusal.
    MaintenanceState.objects.filter(pk=1).update(value="0")
    assert client.get("/").status_code == 200


def test_an_open_site_is_remembered_and_costs_no_query(client, django_assert_num_queries):
    call_command("maintenance", "off")
    # Switched on by another server: seen here within MAINTENANCE_STATE_TTL, not on every request's query.
    MaintenanceState.objects.filter(pk=1).update(value="1")
    with django_assert_num_queries(0):
        assert DatabaseBackend().get_value() is False
    remember_state(False, ttl=-1)
    assert client.get("/").status_code == 503


# The screens each role works on during a maintenance: the page and its htmx poll.
SCREENS = {
    "pizzaiolo": ["production:kitchen", "production:kitchen_board", "production:stock"],
    "counter": ["production:counter", "production:counter_board"],
    "rider": ["production:rider", "production:rider_board"],
    "manager": ["production:dashboard", "production:dashboard_board"],
}


@pytest.mark.parametrize("role", sorted(SCREENS))
def test_every_staff_role_keeps_working_during_maintenance(client, shop, maintenance_on, role):
    """Members of the pizzerias' staff are not is_staff (that is the back-office): they must get in all the same."""
    from django.urls import reverse

    from production.models import StaffMember
    from tests.factories import StaffMemberFactory, UserFactory
    from tests.ventes.helpers import place

    order = place(shop)
    user = UserFactory(email=f"{role}@ocpizza.fr")
    StaffMemberFactory(user=user, role=role, pizzeria=None if role == StaffMember.MANAGER else shop.pizzeria)
    assert not user.is_staff

    assert client.get(reverse("production:login")).status_code == 200
    signed_in = client.post(reverse("production:login"), {"username": user.email, "password": "motdepasse-solide"})
    assert signed_in.status_code == 302, signed_in.content.decode()[:500]
    assert client.get(signed_in["Location"], follow=True).status_code == 200
    for name in SCREENS[role]:
        url = reverse(name) if name.startswith("production:dashboard") else reverse(name, args=[shop.pizzeria.slug])
        assert client.get(url).status_code == 200, url
        assert client.get(url, headers={"HX-Request": "true"}).status_code == 200, url
    if role in {"counter", "manager"}:
        assert client.get(reverse("ventes:staff_order")).status_code == 200
        assert client.get(reverse("ventes:order_detail", args=[order.number])).status_code == 200
    assert client.post(reverse("production:logout")).status_code == 302


def test_customers_stay_out_during_maintenance(client, shop, maintenance_on):
    from django.urls import reverse

    from tests.factories import CustomerFactory

    assert client.get(reverse("accounts:login")).status_code == 503
    assert client.get(reverse("ventes:menu", args=[shop.pizzeria.slug])).status_code == 503
    customer = CustomerFactory().user
    client.force_login(customer)
    for url in ["/", reverse("ventes:cart"), reverse("accounts:profile")]:
        assert client.get(url).status_code == 503, url
    # The staff area is open, but its gate still turns a customer away.
    assert client.get(reverse("production:kitchen", args=[shop.pizzeria.slug])).status_code == 403


def test_an_open_site_does_not_resolve_each_url_twice(client, monkeypatch):
    """The package resolves every request's URL to find its decorators: an open site skips it."""
    from maintenance_mode import http

    resolved = []
    monkeypatch.setattr(http, "resolve", lambda path: resolved.append(path))
    call_command("maintenance", "off")
    assert client.get("/panier/").status_code == 200
    assert resolved == []


def test_no_view_forces_maintenance_on_or_off():
    """What lets an open site skip the package's look at the view (``StaffAwareMaintenanceMiddleware``)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield pattern.callback

    forced = [
        view
        for view in views(get_resolver().url_patterns)
        if {"force_maintenance_mode_on", "force_maintenance_mode_off"} & set(view.__dict__)
    ]
    assert forced == []
