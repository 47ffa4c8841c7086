import datetime

import pytest
from django.utils import timezone

from production.models import OpeningHours
from tests import factories

pytestmark = pytest.mark.django_db


def test_home_lists_pizzerias_with_hours(client, django_assert_max_num_queries):
    open_one = factories.PizzeriaFactory(name="OC Pizza Bastille")
    closed_one = factories.PizzeriaFactory(name="OC Pizza Nuit", open_all_week=False)
    OpeningHours.objects.create(
        pizzeria=closed_one,
        weekday=timezone.localdate().weekday(),
        opens=datetime.time(0, 0),
        closes=datetime.time(0, 1),
    )
    factories.PizzeriaFactory(name="Fermée pour travaux", is_active=False)
    with django_assert_max_num_queries(3):
        response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "OC Pizza Bastille" in html and "OC Pizza Nuit" in html
    assert "Fermée pour travaux" not in html
    assert "00h00–23h59" in html
    assert html.count("Ouverte") >= 1 and "Fermée" in html
    assert open_one.address in html


def test_home_query_count_does_not_grow_with_pizzerias(client, django_assert_num_queries):
    factories.PizzeriaFactory()
    with django_assert_num_queries(3):  # the pizzerias, their hours and the exceptions to them
        client.get("/")
    factories.PizzeriaFactory.create_batch(5)
    with django_assert_num_queries(3):  # the pizzerias, their hours and the exceptions to them
        client.get("/")
