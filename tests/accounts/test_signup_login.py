"""Sign-up, login and logout through the test client."""

import pytest
from django.conf import settings

from accounts.exceptions import EmailAlreadyUsed
from accounts.models import User
from accounts.services import customer_sign_up
from tests.accounts.helpers import PASSWORD, describes, logged_in_user
from tests.factories import CustomerFactory, StaffMemberFactory, UserFactory
from ventes.models import Customer

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "Camille.Martin@Example.com",
    "first_name": "Camille",
    "last_name": "Martin",
    "phone": "+33 6 12 34 56 78",
    "password1": "une-pizza-au-four",
    "password2": "une-pizza-au-four",
}


def signup(client, **changes):
    return client.post("/compte/inscription/", {**SIGNUP, **changes})


# --- sign-up ------------------------------------------------------------------------------


def test_signup_page(client):
    response = client.get("/compte/inscription/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Créer un compte</h1>" in html
    for field in ("email", "first_name", "last_name", "phone", "password1", "password2"):
        assert f'<label for="id_{field}">' in html
    assert 'type="tel"' in html


def test_signup_creates_the_account_and_its_customer_then_logs_in(client):
    response = signup(client)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get()
    assert user.email == "camille.martin@example.com"
    assert (user.first_name, user.last_name) == ("Camille", "Martin")
    assert user.check_password("une-pizza-au-four")
    assert Customer.objects.get(user=user).phone == "06 12 34 56 78"
    assert logged_in_user(client) == user


def test_signup_follows_a_safe_next_only(client):
    assert signup(client, next="/compte/commandes/")["Location"] == "/compte/commandes/"
    client.logout()
    assert signup(client, email="autre@example.com", next="https://evil.example/")["Location"] == "/"


def test_signup_refuses_an_email_taken_in_another_case(client):
    existing = CustomerFactory(user__email="camille.martin@example.com")

    response = signup(client, email="CAMILLE.MARTIN@example.COM")

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "Un compte existe déjà avec cette adresse e-mail : connectez-vous, ou réinitialisez votre mot de passe."
    ]
    assert describes(response.content.decode(), field_id="id_email")
    assert list(User.objects.all()) == [existing.user]
    assert Customer.objects.count() == 1
    assert logged_in_user(client) is None


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"password1": "12345678", "password2": "12345678"}, "password1", "Ce mot de passe est trop courant."),
        ({"password1": "pizza", "password2": "pizza"}, "password1", "Ce mot de passe est trop court."),
        ({"password1": "camillemartin", "password2": "camillemartin"}, "password1", "trop semblable"),
        ({"password2": "une-autre-pizza"}, "password2", "Les deux mots de passe ne correspondent pas."),
        ({"phone": "12345"}, "phone", "Saisissez un numéro de téléphone français, par exemple 06 12 34 56 78."),
        ({"phone": ""}, "phone", "Ce champ est obligatoire."),
        ({"email": "pas-une-adresse"}, "email", "Saisissez une adresse e-mail valide, par exemple camille@exemple.fr."),
        ({"first_name": ""}, "first_name", "Ce champ est obligatoire."),
    ],
    ids=[
        "common-password",
        "short-password",
        "similar-password",
        "mismatch",
        "bad-phone",
        "no-phone",
        "bad-email",
        "no-first-name",
    ],
)
def test_signup_bad_input_is_said_beside_the_field_and_nothing_is_written(client, changes, field, message):
    response = signup(client, **changes)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors
    assert describes(response.content.decode(), field_id=f"id_{field}")
    assert not User.objects.exists()
    assert not Customer.objects.exists()
    assert logged_in_user(client) is None


def test_sign_up_service_refuses_a_taken_email_in_any_case():
    UserFactory(email="camille@example.com")

    with pytest.raises(EmailAlreadyUsed):
        customer_sign_up(email="Camille@Example.com", password=PASSWORD, first_name="C", last_name="M", phone="")
    assert User.objects.count() == 1


def test_a_logged_in_customer_is_sent_from_signup_to_the_account(client):
    client.force_login(CustomerFactory().user)

    assert client.get("/compte/inscription/")["Location"] == "/compte/"


# --- login --------------------------------------------------------------------------------


def test_login_page_labels_the_email_and_offers_the_other_ways_in(client):
    html = client.get("/compte/connexion/").content.decode()

    assert '<label for="id_username">Adresse e-mail' in html
    assert 'type="email"' in html
    assert '<label for="id_password">' in html
    assert 'href="/compte/mot-de-passe/"' in html
    assert 'href="/compte/inscription/"' in html


def test_login_and_signup_pages_include_the_social_buttons(client, settings):
    settings.SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = "google-client-id"
    settings.SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = "google-secret"
    settings.AUTHENTICATION_BACKENDS = [
        "accounts.backends.StaffAwareModelBackend",
        "social_core.backends.google.GoogleOAuth2",
    ]

    for page in ("/compte/connexion/?next=/compte/commandes/", "/compte/inscription/?next=/compte/commandes/"):
        html = client.get(page).content.decode()
        assert "Continuer avec Google" in html
        assert '<input type="hidden" name="next" value="/compte/commandes/">' in html


def test_login_with_email_in_any_case(client):
    user = CustomerFactory(user__email="camille@example.com").user

    response = client.post("/compte/connexion/", {"username": "Camille@Example.COM", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user(client) == user


def test_login_follows_next(client):
    CustomerFactory(user__email="camille@example.com")

    response = client.post(
        "/compte/connexion/", {"username": "camille@example.com", "password": PASSWORD, "next": "/compte/commandes/"}
    )

    assert response["Location"] == "/compte/commandes/"


@pytest.mark.parametrize("email, password", [("camille@example.com", "mauvais"), ("inconnu@example.com", PASSWORD)])
def test_bad_login_says_so_in_french(client, email, password):
    CustomerFactory(user__email="camille@example.com")

    response = client.post("/compte/connexion/", {"username": email, "password": password})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Adresse e-mail ou mot de passe incorrect." in html
    assert 'role="alert"' in html
    assert logged_in_user(client) is None


def test_empty_login_says_which_field_is_missing(client):
    response = client.post("/compte/connexion/", {"username": "", "password": ""})

    assert response.context["form"].errors["username"] == ["Ce champ est obligatoire."]
    assert describes(response.content.decode(), field_id="id_username")


def test_staff_are_sent_to_their_screens_when_they_exist(client, settings):
    settings.ROOT_URLCONF = "tests.accounts.urls_with_staff_home"
    StaffMemberFactory(user__email="pizzaiolo@ocpizza.fr")

    response = client.post("/compte/connexion/", {"username": "pizzaiolo@ocpizza.fr", "password": PASSWORD})

    assert response["Location"] == "/equipe/"
    assert logged_in_user(client).email == "pizzaiolo@ocpizza.fr"


def test_staff_go_home_when_there_are_no_staff_screens(client, settings):
    settings.ROOT_URLCONF = "tests.accounts.urls_without_staff_home"
    StaffMemberFactory(user__email="pizzaiolo@ocpizza.fr")

    response = client.post("/compte/connexion/", {"username": "pizzaiolo@ocpizza.fr", "password": PASSWORD})

    assert response["Location"] == "/"
    assert logged_in_user(client).email == "pizzaiolo@ocpizza.fr"


def test_customers_are_not_sent_to_the_staff_screens(client, settings):
    settings.ROOT_URLCONF = "tests.accounts.urls_with_staff_home"
    CustomerFactory(user__email="camille@example.com")

    response = client.post("/compte/connexion/", {"username": "camille@example.com", "password": PASSWORD})

    assert response["Location"] == "/"


# --- logout and the header ----------------------------------------------------------------


def test_logout_is_post_only(client):
    user = CustomerFactory().user
    client.force_login(user)

    assert client.get("/compte/deconnexion/").status_code == 405
    assert logged_in_user(client) == user

    response = client.post("/compte/deconnexion/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user(client) is None


def test_header_offers_login_to_visitors(client):
    html = client.get("/").content.decode()

    assert '<a href="/compte/connexion/">Connexion</a>' in html
    assert "Déconnexion" not in html


def test_header_offers_the_account_and_a_logout_form_to_customers(client):
    client.force_login(CustomerFactory().user)

    html = client.get("/").content.decode()

    assert '<a href="/compte/">Mon compte</a>' in html
    assert '<form method="post" action="/compte/deconnexion/" class="inline-form">' in html
    assert ">Connexion</a>" not in html


@pytest.mark.parametrize("way_in", ["login", "signup"])
def test_what_the_visitor_put_in_the_session_survives_logging_in(client, way_in):
    # The shop keeps the cart in the session: it must not be lost at the login step.
    CustomerFactory(user__email="camille@example.com")
    session = client.session
    session["cart"] = {"pizzeria": 1, "lines": {"7": 2}}
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key  # a guest's session is its cookie

    if way_in == "login":
        client.post("/compte/connexion/", {"username": "camille@example.com", "password": PASSWORD})
    else:
        signup(client, email="nouveau@example.com")

    assert logged_in_user(client) is not None
    assert client.session["cart"] == {"pizzeria": 1, "lines": {"7": 2}}
