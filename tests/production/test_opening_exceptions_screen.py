"""The managers' screen of opening exceptions: a day closed or with special hours, for one pizzeria or the whole
chain, the public holidays ahead; bad input said beside its field with nothing written."""

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from production.models import OpeningException
from production.selectors import pizzeria_hours_on
from tests import factories

pytestmark = pytest.mark.django_db

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
# Written out: reversing at import would load the URLconf before the tests' settings apply.
URL = "/equipe/horaires/"
REMOVE = "/equipe/horaires/supprimer/"


@pytest.fixture(autouse=True)
def december():
    with time_machine.travel(datetime.datetime(2026, 12, 1, 10, 0, tzinfo=PARIS), tick=False):
        yield


def post(client, **fields):
    return client.post(URL, {f"exception-{name}": value for name, value in fields.items()})


def test_a_chain_manager_closes_every_pizzeria_and_one_opens_past_midnight(client, shop, team):
    client.force_login(team.manager)  # a manager of the whole chain

    post(client, scope="chaine", day="2026-12-24", closed="on", label="Réveillon")
    response = post(client, scope=shop.other_pizzeria.slug, day="2026-12-31", opens="18:00", closes="02:00")

    assert response.status_code == 302
    assert sorted(OpeningException.objects.values_list("pizzeria__slug", "day", "closed", "chain_wide")) == sorted(
        [
            (shop.pizzeria.slug, datetime.date(2026, 12, 24), True, True),
            (shop.other_pizzeria.slug, datetime.date(2026, 12, 24), True, True),
            (shop.other_pizzeria.slug, datetime.date(2026, 12, 31), False, False),
        ]
    )
    assert pizzeria_hours_on(shop.pizzeria, datetime.date(2026, 12, 24)) == []
    (night,) = pizzeria_hours_on(shop.other_pizzeria, datetime.date(2026, 12, 31))
    assert night.closes == datetime.datetime(2027, 1, 1, 2, 0, tzinfo=PARIS)
    page = " ".join(client.get(URL).content.decode().split())
    assert "Jeudi 24 décembre 2026" in page and "Toute la chaîne</strong> : fermée — Réveillon" in page
    assert "18h00–02h00 (le lendemain)" in page
    assert "Férié : Noël" in page  # the public holidays ahead, with who closes for them


def test_removing_the_chain_exception_gives_every_pizzeria_its_usual_hours_back(client, shop, team):
    client.force_login(team.manager)
    post(client, scope="chaine", day="2026-12-24", closed="on")

    response = client.post(REMOVE, {"scope": "chaine", "day": "2026-12-24"})

    assert response.status_code == 302 and not OpeningException.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"day": "2026-11-30", "closed": "on"}, "day", "Ce jour est déjà passé."),
        ({"day": "2026-12-24"}, "opens", "Indiquez l&#x27;ouverture, ou cochez « fermée toute la journée »."),
        ({"day": "2026-12-24", "opens": "18:00"}, "closes", "Indiquez la fermeture, ou cochez"),
        ({"day": "2026-12-24", "opens": "18:00", "closes": "18:00"}, "closes", "La fermeture doit différer"),
        ({"day": "24/13/2026", "closed": "on"}, "day", "Saisissez une date, par exemple 2026-12-24."),
        ({"day": "2026-12-24", "opens": "25:00", "closes": "23:00"}, "opens", "Indiquez une heure, par exemple 18:00."),
        ({"day": "2026-12-24", "closed": "on", "scope": "nulle-part"}, "scope", "Choisissez une pizzeria de la liste."),
    ],
)
def test_bad_input_is_said_beside_its_field_and_nothing_is_written(client, shop, team, fields, field, message):
    client.force_login(team.manager)

    response = post(client, **{"scope": shop.pizzeria.slug, **fields})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_exception-{field}_error"' in page and message in page
    assert not OpeningException.objects.exists()


def test_a_pizzeria_manager_sets_their_own_pizzeria_only(client, shop):
    own = factories.UserFactory(email="gerant@ocpizza.fr")
    factories.StaffMemberFactory(user=own, role="manager", pizzeria=shop.pizzeria)
    client.force_login(own)

    page = client.get(URL).content.decode()
    assert "Toute la chaîne" not in page and shop.other_pizzeria.name not in page
    assert post(client, scope="chaine", day="2026-12-24", closed="on").status_code == 400
    assert post(client, scope=shop.other_pizzeria.slug, day="2026-12-24", closed="on").status_code == 400
    assert client.post(REMOVE, {"scope": "chaine", "day": "2026-12-24"}).status_code == 400
    assert not OpeningException.objects.exists()
    assert post(client, scope=shop.pizzeria.slug, day="2026-12-24", closed="on").status_code == 302


def test_only_managers_open_it(client, team):
    client.force_login(team.pizzaiolo)
    assert client.get(URL).status_code == 403


def test_the_screen_reads_in_few_queries_whatever_the_days(client, shop, team, django_assert_max_num_queries):
    client.force_login(team.manager)
    for day in range(2, 30):
        post(client, scope=shop.pizzeria.slug, day=f"2026-12-{day:02d}", closed="on")
    with django_assert_max_num_queries(8):
        client.get(URL)


def test_the_screens_addresses():
    assert (reverse("production:opening_exceptions"), reverse("production:opening_exception_delete")) == (URL, REMOVE)
