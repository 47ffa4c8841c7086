"""Password reset by e-mail, the whole cycle, in French."""

import re

import pytest

from tests.accounts.helpers import PASSWORD, describes, logged_in_user
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/compte/mot-de-passe/[^/\s]+/[^/\s]+/)")


def ask_for_a_link(client, email="camille@example.com"):
    return client.post("/compte/mot-de-passe/", {"email": email})


def test_reset_page(client):
    html = client.get("/compte/mot-de-passe/").content.decode()

    assert "<h1>Mot de passe oublié</h1>" in html
    assert '<label for="id_email">Adresse e-mail' in html


def test_full_cycle_from_the_mail_to_the_new_password(client, mailoutbox):
    user = CustomerFactory(user__email="camille@example.com").user

    asked = ask_for_a_link(client, email="Camille@Example.com")

    assert asked.status_code == 302
    assert asked["Location"] == "/compte/mot-de-passe/envoye/"
    assert "Consultez votre messagerie" in client.get(asked["Location"]).content.decode()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["camille@example.com"]
    assert mail.subject == "Votre nouveau mot de passe OC Pizza"
    assert "Bonjour Camille," in mail.body
    link = LINK.search(mail.body).group(1)

    # Django swaps the token for a session marker before showing the form, so the token never leaks by Referer.
    opened = client.get(link)
    assert opened.status_code == 302
    form_url = opened["Location"]
    form_page = client.get(form_url)
    assert "Choisissez un nouveau mot de passe" in form_page.content.decode()

    done = client.post(form_url, {"new_password1": "four-a-bois-2026", "new_password2": "four-a-bois-2026"})

    assert done.status_code == 302
    assert done["Location"] == "/compte/mot-de-passe/termine/"
    assert 'href="/compte/connexion/"' in client.get(done["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password("four-a-bois-2026")
    login = client.post("/compte/connexion/", {"username": "camille@example.com", "password": "four-a-bois-2026"})
    assert login.status_code == 302
    assert logged_in_user(client) == user
    # The link served once.
    client.logout()
    assert "Lien expiré ou déjà utilisé" in client.get(link, follow=True).content.decode()


def test_unknown_email_looks_the_same_and_sends_nothing(client, mailoutbox):
    response = ask_for_a_link(client, email="inconnu@example.com")

    assert response["Location"] == "/compte/mot-de-passe/envoye/"
    assert mailoutbox == []


def test_bad_email_is_said_beside_the_field(client, mailoutbox):
    response = ask_for_a_link(client, email="pas-une-adresse")

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "Saisissez une adresse e-mail valide, par exemple camille@exemple.fr."
    ]
    assert describes(response.content.decode(), field_id="id_email")
    assert mailoutbox == []


def test_weak_new_password_is_refused_and_nothing_changes(client, mailoutbox):
    user = UserFactory(email="camille@example.com")
    ask_for_a_link(client)
    form_url = client.get(LINK.search(mailoutbox[0].body).group(1))["Location"]

    response = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})

    assert response.status_code == 200
    assert "Ce mot de passe est trop courant." in response.context["form"].errors["new_password2"]
    assert describes(response.content.decode(), field_id="id_new_password2")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_forged_link_is_refused(client):
    UserFactory(email="camille@example.com")

    response = client.get("/compte/mot-de-passe/MQ/forged-token/")

    assert response.status_code == 200
    assert "Lien expiré ou déjà utilisé" in response.content.decode()
    assert 'href="/compte/mot-de-passe/"' in response.content.decode()
