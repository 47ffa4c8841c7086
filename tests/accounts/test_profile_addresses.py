"""The profile and the address book: own data only, French errors beside the fields, flat query counts."""

from decimal import Decimal

import pytest

from accounts.services import AddressData, address_update
from tests.accounts.helpers import describes
from tests.factories import AddressFactory, CustomerFactory, StaffMemberFactory
from ventes.exceptions import UnknownAddress
from ventes.geo import Location
from ventes.models import Address, Customer

pytestmark = pytest.mark.django_db

ADDRESS = {
    "label": "Bureau",
    "line1": "8 rue Keller",
    "line2": "3e étage",
    "postcode": "75011",
    "city": "Paris",
    "instructions": "Sonner deux fois",
}


@pytest.fixture
def customer(client):
    customer = CustomerFactory(user__email="camille@example.com")
    client.force_login(customer.user)
    return customer


@pytest.mark.parametrize(
    "page",
    [
        "/compte/",
        "/compte/adresses/",
        "/compte/adresses/ajouter/",
        "/compte/adresses/1/modifier/",
        "/compte/commandes/",
    ],
)
def test_account_pages_need_a_login(client, page):
    response = client.get(page)

    assert response.status_code == 302
    assert response["Location"].startswith(f"/compte/connexion/?next={page}")


# --- profile ------------------------------------------------------------------------------


def test_profile_page_shows_what_we_know(client, customer):
    html = client.get("/compte/").content.decode()

    assert "camille@example.com" in html
    assert 'value="Camille"' in html
    assert 'value="06 12 34 56 78"' in html
    assert 'href="/compte/adresses/"' in html
    assert 'href="/compte/commandes/"' in html


def test_profile_edit(client, customer):
    response = client.post("/compte/", {"first_name": "Camilla", "last_name": "Marti", "phone": "01.23.45.67.89"})

    assert response.status_code == 302
    assert response["Location"] == "/compte/"
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert (customer.user.first_name, customer.user.last_name) == ("Camilla", "Marti")
    assert customer.phone == "01 23 45 67 89"


def test_profile_bad_phone_changes_nothing(client, customer):
    response = client.post("/compte/", {"first_name": "Camilla", "last_name": "Marti", "phone": "0612"})

    assert response.status_code == 200
    assert response.context["form"].errors["phone"] == [
        "Saisissez un numéro de téléphone français, par exemple 06 12 34 56 78."
    ]
    assert describes(response.content.decode(), field_id="id_phone")
    customer.refresh_from_db()
    customer.user.refresh_from_db()
    assert customer.user.first_name == "Camille"
    assert customer.phone == "06 12 34 56 78"


def test_profile_of_a_user_without_customer_row_creates_it_on_save(client):
    staff = StaffMemberFactory()
    client.force_login(staff.user)

    assert client.get("/compte/").status_code == 200
    assert not Customer.objects.exists()
    client.post("/compte/", {"first_name": "Paolo", "last_name": "Rossi", "phone": "0611223344"})

    assert Customer.objects.get(user=staff.user).phone == "06 11 22 33 44"


# --- address book -------------------------------------------------------------------------


def test_address_book_lists_only_own_addresses(client, customer):
    AddressFactory(customer=customer, label="Maison", line1="12 rue Oberkampf")
    AddressFactory(label="Chez l'autre", line1="1 avenue Secrète")

    html = client.get("/compte/adresses/").content.decode()

    assert "12 rue Oberkampf" in html
    assert "avenue Secrète" not in html


def test_empty_address_book(client, customer):
    assert "pas encore d'adresse" in client.get("/compte/adresses/").content.decode()


def test_add_address(client, customer):
    form = client.get("/compte/adresses/ajouter/").content.decode()
    for field in ADDRESS:
        assert f'<label for="id_{field}">' in form

    response = client.post("/compte/adresses/ajouter/", ADDRESS)

    assert response.status_code == 302
    assert response["Location"] == "/compte/adresses/"
    address = Address.objects.get()
    assert address.customer == customer
    assert (address.label, address.line1, address.line2, address.postcode) == (
        "Bureau",
        "8 rue Keller",
        "3e étage",
        "75011",
    )
    assert address.instructions == "Sonner deux fois"
    # No Google Maps key in tests: no coordinates, checkout falls back to postcodes.
    assert address.latitude is None


def test_first_address_of_a_user_without_customer_row(client):
    staff = StaffMemberFactory()
    client.force_login(staff.user)

    client.post("/compte/adresses/ajouter/", ADDRESS)

    assert Address.objects.get().customer.user == staff.user


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"postcode": "7501"}, "postcode", "Saisissez un code postal à 5 chiffres, par exemple 75011."),
        ({"postcode": "75O11"}, "postcode", "Saisissez un code postal à 5 chiffres, par exemple 75011."),
        ({"line1": ""}, "line1", "Ce champ est obligatoire."),
        (
            {"label": "x" * 51},
            "label",
            "Assurez-vous que cette valeur comporte au plus 50 caractères (actuellement 51).",
        ),
    ],
    ids=["short-postcode", "letter-in-postcode", "no-street", "long-label"],
)
def test_add_address_bad_input_writes_nothing(client, customer, changes, field, message):
    response = client.post("/compte/adresses/ajouter/", {**ADDRESS, **changes})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert describes(response.content.decode(), field_id=f"id_{field}")
    assert not Address.objects.exists()


def test_geocoded_address_keeps_its_coordinates(client, customer, monkeypatch):
    monkeypatch.setattr(
        "accounts.services.geocode_address",
        lambda *, address: Location(latitude=Decimal("48.857000"), longitude=Decimal("2.380000")),
    )

    client.post("/compte/adresses/ajouter/", ADDRESS)

    address = Address.objects.get()
    assert (address.latitude, address.longitude) == (Decimal("48.857000"), Decimal("2.380000"))


def test_address_google_cannot_find_is_refused_beside_the_street(client, customer, monkeypatch):
    monkeypatch.setattr("accounts.services.geocode_address", lambda *, address: None)

    response = client.post("/compte/adresses/ajouter/", ADDRESS)

    assert response.status_code == 200
    assert response.context["form"].errors["line1"] == [
        "Adresse introuvable : vérifiez le numéro, la rue et le code postal."
    ]
    assert not Address.objects.exists()


def test_edit_address(client, customer):
    address = AddressFactory(customer=customer, label="Maison")

    assert 'value="Maison"' in client.get(f"/compte/adresses/{address.pk}/modifier/").content.decode()
    response = client.post(f"/compte/adresses/{address.pk}/modifier/", {**ADDRESS, "line1": "10 rue de Lappe"})

    assert response["Location"] == "/compte/adresses/"
    address.refresh_from_db()
    assert (address.label, address.line1, address.postcode) == ("Bureau", "10 rue de Lappe", "75011")
    # Moved without a geocoder: the old coordinates would be wrong, so they go.
    assert address.latitude is None


def test_edit_without_moving_keeps_the_coordinates(client, customer):
    address = AddressFactory(customer=customer, line1="8 rue Keller", postcode="75011", city="Paris")

    client.post(f"/compte/adresses/{address.pk}/modifier/", {**ADDRESS, "label": "Atelier"})

    address.refresh_from_db()
    assert address.label == "Atelier"
    assert address.latitude == Decimal("48.857000")


def test_edit_bad_input_changes_nothing(client, customer):
    address = AddressFactory(customer=customer, label="Maison", postcode="75001")

    response = client.post(f"/compte/adresses/{address.pk}/modifier/", {**ADDRESS, "postcode": "abc"})

    assert response.status_code == 200
    assert "postcode" in response.context["form"].errors
    address.refresh_from_db()
    assert (address.label, address.postcode) == ("Maison", "75001")


def test_delete_address_asks_then_deletes(client, customer):
    address = AddressFactory(customer=customer, label="Maison")

    confirm = client.get(f"/compte/adresses/{address.pk}/supprimer/")
    assert "Supprimer l'adresse « Maison » ?" in confirm.content.decode()
    assert Address.objects.exists()

    response = client.post(f"/compte/adresses/{address.pk}/supprimer/")

    assert response["Location"] == "/compte/adresses/"
    assert not Address.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("action", ["modifier", "supprimer"])
def test_someone_elses_address_is_404_and_untouched(client, customer, method, action):
    other = AddressFactory(label="Chez l'autre", line1="1 avenue Secrète", postcode="75001")

    response = getattr(client, method)(f"/compte/adresses/{other.pk}/{action}/", ADDRESS)

    assert response.status_code == 404
    other.refresh_from_db()
    assert (other.label, other.line1, other.postcode) == ("Chez l'autre", "1 avenue Secrète", "75001")


def test_unknown_address_id_is_404(client, customer):
    assert client.get("/compte/adresses/999999/modifier/").status_code == 404


def test_services_refuse_someone_elses_address(customer):
    other = AddressFactory()

    with pytest.raises(UnknownAddress):
        address_update(user=customer.user, address_id=other.pk, data=AddressData(**ADDRESS))


@pytest.mark.parametrize("count", [2, 30])
def test_address_book_query_count_is_flat(client, customer, django_assert_num_queries, count):
    AddressFactory.create_batch(count, customer=customer)

    # session, user, addresses
    with django_assert_num_queries(3):
        response = client.get("/compte/adresses/")

    assert response.content.decode().count('class="card address"') == count
