"""Consents to SMS and to offers by e-mail: never assumed, given and withdrawn by the customer, each change
kept as its proof (GDPR art. 7.1), exported with the rest and gone with the account."""

import json

import pytest

from tests.factories import CustomerFactory
from ventes.models import ConsentPurpose, ConsentRecord, Customer

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "camille@example.com",
    "first_name": "Camille",
    "last_name": "Martin",
    "phone": "06 12 34 56 78",
    "password1": "une-pizza-au-four",
    "password2": "une-pizza-au-four",
}
PROFILE = {"first_name": "Camille", "last_name": "Martin", "phone": "06 12 34 56 78", "notify_email": "on"}


def proofs(customer: Customer) -> list[tuple[str, bool, str]]:
    return list(customer.consents.order_by("pk").values_list("purpose", "given", "source"))


def test_the_offers_box_is_never_ticked_in_advance(client):
    page = client.get("/compte/inscription/").content.decode()
    assert "Recevoir nos offres et nouveautés par e-mail" in page
    assert 'name="marketing"' in page and "checked" not in page.split('name="marketing"')[1].split(">")[0]

    client.post("/compte/inscription/", SIGNUP)

    customer = Customer.objects.get(user__email="camille@example.com")
    assert customer.marketing_consent_at is None and proofs(customer) == []


def test_a_sign_up_with_the_box_ticked_records_the_consent_and_its_proof(client):
    client.post("/compte/inscription/", {**SIGNUP, "marketing": "on"})

    customer = Customer.objects.get(user__email="camille@example.com")
    assert customer.marketing_consent_at is not None
    assert proofs(customer) == [(ConsentPurpose.MARKETING, True, "inscription")]


def test_the_account_gives_and_withdraws_each_consent_and_keeps_every_change(client):
    customer = CustomerFactory(phone="06 12 34 56 78")
    client.force_login(customer.user)

    client.post("/compte/", {**PROFILE, "marketing": "on", "sms_updates": "on"})
    customer.refresh_from_db()
    given_at = customer.marketing_consent_at
    assert given_at is not None and customer.sms_consent_at is not None
    assert 'id="id_marketing" checked>' in client.get("/compte/").content.decode()

    client.post("/compte/", {**PROFILE, "marketing": "on", "sms_updates": "on"})  # saved again, nothing changed
    customer.refresh_from_db()
    assert customer.marketing_consent_at == given_at

    client.post("/compte/", PROFILE)
    customer.refresh_from_db()
    assert customer.marketing_consent_at is None and customer.sms_consent_at is None
    assert proofs(customer) == [
        (ConsentPurpose.SMS, True, "compte"),
        (ConsentPurpose.MARKETING, True, "compte"),
        (ConsentPurpose.SMS, False, "compte"),
        (ConsentPurpose.MARKETING, False, "compte"),
    ]


def test_a_bad_mobile_records_no_consent(client):
    customer = CustomerFactory(phone="01 40 00 00 00")
    client.force_login(customer.user)

    response = client.post("/compte/", {**PROFILE, "phone": "01 40 00 00 00", "sms_updates": "on", "marketing": "on"})

    assert response.status_code == 200 and "mobile" in response.content.decode()
    customer.refresh_from_db()
    assert customer.marketing_consent_at is None and proofs(customer) == []


def test_a_recorded_proof_is_never_rewritten():
    consent = ConsentRecord.objects.create(
        customer=CustomerFactory(), purpose=ConsentPurpose.MARKETING, given=True, source="compte"
    )
    consent.given = False
    with pytest.raises(ValueError, match="ne se modifie pas"):
        consent.save()
    assert ConsentRecord.objects.get().given


def test_the_export_holds_the_consents_and_erasure_takes_them(client):
    client.post("/compte/inscription/", {**SIGNUP, "marketing": "on"})
    customer = Customer.objects.get(user__email="camille@example.com")

    exported = json.loads(client.get("/compte/mes-donnees/export.json").content)

    assert exported["profil"]["accord aux offres par e-mail donné le"] is not None
    assert [(c["objet"], c["accordé"], c["recueilli par"]) for c in exported["profil"]["consentements"]] == [
        ("offres et nouveautés par e-mail", True, "inscription")
    ]
    client.post("/compte/mes-donnees/effacer/", {"confirm": "EFFACER", "password": SIGNUP["password1"]})
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert not ConsentRecord.objects.exists()


def test_the_privacy_page_says_how_to_withdraw_the_offers(client):
    page = client.get("/confidentialite/").content.decode()
    assert "Les offres et nouveautés par e-mail" in page and "aux SMS ou aux offres" in page
