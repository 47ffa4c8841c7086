"""Google and Facebook sign-in: the whole OAuth round trip through social-auth, against faked providers."""

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.template.loader import render_to_string
from django.test import RequestFactory
from social_core.backends import utils as backend_utils
from social_django.models import UserSocialAuth

from accounts.models import User
from tests.factories import CustomerFactory, UserFactory
from ventes.models import Customer

GOOGLE_TOKEN_URL = "https://accounts.google.com/o/oauth2/token"
GOOGLE_USERINFO_URL = "https://www.googleapis.com/oauth2/v3/userinfo"
FACEBOOK_TOKEN_URL = "https://graph.facebook.com/v24.0/oauth/access_token"
FACEBOOK_ME_URL = "https://graph.facebook.com/v24.0/me"
GOOGLE_BACKEND = "social_core.backends.google.GoogleOAuth2"
FACEBOOK_BACKEND = "social_core.backends.facebook.FacebookOAuth2"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_backend_cache():
    # social-core caches the backends of AUTHENTICATION_BACKENDS once, and these tests change that setting.
    backend_utils.BACKENDSCACHE.clear()
    yield
    backend_utils.BACKENDSCACHE.clear()


@pytest.fixture
def providers_on(settings):
    settings.SOCIAL_AUTH_GOOGLE_OAUTH2_KEY = "google-client-id"
    settings.SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET = "google-secret"
    settings.SOCIAL_AUTH_FACEBOOK_KEY = "facebook-app-id"
    settings.SOCIAL_AUTH_FACEBOOK_SECRET = "facebook-secret"
    settings.AUTHENTICATION_BACKENDS = ["accounts.backends.StaffAwareModelBackend", GOOGLE_BACKEND, FACEBOOK_BACKEND]


@pytest.fixture
def providers_off(settings):
    for name in ("GOOGLE_OAUTH2", "FACEBOOK"):
        setattr(settings, f"SOCIAL_AUTH_{name}_KEY", "")
        setattr(settings, f"SOCIAL_AUTH_{name}_SECRET", "")
    settings.AUTHENTICATION_BACKENDS = ["accounts.backends.StaffAwareModelBackend"]


@pytest.fixture
def provider():
    # Anything not faked fails: the suite never reaches Google or Facebook.
    with responses.RequestsMock() as mock:
        yield mock


def google_profile(*, sub="g-1234", email="camille@example.com", verified=True):
    return {
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": "Camille Martin",
        "given_name": "Camille",
        "family_name": "Martin",
    }


def facebook_profile(*, fid="fb-5678", email="camille@example.com"):
    return {"id": fid, "name": "Camille Martin", "first_name": "Camille", "last_name": "Martin", "email": email}


def fake_google(provider, profile):
    provider.post(GOOGLE_TOKEN_URL, json={"access_token": "g-token", "token_type": "Bearer", "expires_in": 3599})
    provider.get(GOOGLE_USERINFO_URL, json=profile)


def fake_facebook(provider, profile):
    provider.get(FACEBOOK_TOKEN_URL, json={"access_token": "fb-token", "token_type": "bearer", "expires_in": 5183944})
    provider.get(FACEBOOK_ME_URL, json=profile)


def sign_in(client, backend, *, next_url=None):
    """POST the login button, then come back from the provider with the state it was given."""
    begin = client.post(f"/oauth/login/{backend}/", {"next": next_url} if next_url else {})
    assert begin.status_code == 302
    authorize = urlsplit(begin["Location"])
    state = parse_qs(authorize.query)["state"][0]
    return client.get(f"/oauth/complete/{backend}/", {"state": state, "code": "provider-code"})


def logged_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- new customers: the phone step ------------------------------------------------------


@pytest.mark.parametrize(
    "backend, fake, profile",
    [("google-oauth2", fake_google, google_profile()), ("facebook", fake_facebook, facebook_profile())],
    ids=["google", "facebook"],
)
def test_new_customer_signs_in_then_gives_a_phone_number(client, providers_on, provider, backend, fake, profile):
    fake(provider, profile)

    complete = sign_in(client, backend, next_url="/commande/")

    assert complete.status_code == 302
    assert complete["Location"] == "/oauth/profil/"
    assert logged_in_user(client) is None  # not before the profile is complete

    page = client.get("/oauth/profil/")
    assert page.status_code == 200
    assert "Bienvenue, Camille" in page.text
    assert '<label for="id_phone">Téléphone</label>' in page.text

    invalid = client.post("/oauth/profil/", {"phone": "12"})
    assert invalid.status_code == 200
    assert 'aria-invalid="true"' in invalid.text
    assert "Saisissez un numéro de téléphone français" in invalid.text

    valid = client.post("/oauth/profil/", {"phone": "+33 6 12 34 56 78"})
    assert valid.status_code == 302
    assert valid["Location"] == f"/oauth/complete/{backend}/"

    done = client.get(valid["Location"])
    assert done.status_code == 302
    assert done["Location"] == "/commande/"
    user = logged_in_user(client)
    assert user.email == "camille@example.com"
    assert (user.first_name, user.last_name) == ("Camille", "Martin")
    assert not user.has_usable_password()
    assert user.customer.phone == "06 12 34 56 78"
    assert UserSocialAuth.objects.get(user=user).provider == backend


def test_provider_tokens_are_requested_with_the_app_credentials(client, providers_on, provider):
    fake_google(provider, google_profile())

    sign_in(client, "google-oauth2")

    token_request = parse_qs(provider.calls[0].request.body)
    assert token_request["client_id"] == ["google-client-id"]
    assert token_request["code"] == ["provider-code"]
    assert provider.calls[1].request.headers["Authorization"] == "Bearer g-token"


def test_facebook_profile_is_asked_with_the_app_secret_proof(client, providers_on, provider):
    fake_facebook(provider, facebook_profile())

    sign_in(client, "facebook")

    profile_request = parse_qs(urlsplit(provider.calls[1].request.url).query)
    expected = hmac.new(b"facebook-secret", b"fb-token", hashlib.sha256).hexdigest()
    assert profile_request["appsecret_proof"] == [expected]
    assert "email" in profile_request["fields"][0]


def test_profile_page_without_a_sign_in_in_progress_sends_home(client):
    response = client.get("/oauth/profil/")

    assert response.status_code == 302
    assert response["Location"] == "/"


# --- returning customers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "backend, fake, profile",
    [("google-oauth2", fake_google, google_profile()), ("facebook", fake_facebook, facebook_profile())],
    ids=["google", "facebook"],
)
def test_returning_customer_is_signed_in_directly(client, providers_on, provider, backend, fake, profile):
    fake(provider, profile)
    sign_in(client, backend)
    client.get(client.post("/oauth/profil/", {"phone": "06 12 34 56 78"})["Location"])
    first_time = logged_in_user(client)
    client.logout()

    again = sign_in(client, backend)

    assert again.status_code == 302
    assert again["Location"] == "/"
    assert logged_in_user(client) == first_time
    assert User.objects.count() == 1
    assert UserSocialAuth.objects.count() == 1


# --- linking to an existing account -----------------------------------------------------


def test_a_verified_google_email_joins_the_existing_account(client, providers_on, provider):
    customer = CustomerFactory(user__email="Camille@Example.com")
    fake_google(provider, google_profile(email="camille@example.com", verified=True))

    complete = sign_in(client, "google-oauth2")

    assert complete["Location"] == "/"
    assert logged_in_user(client) == customer.user
    assert UserSocialAuth.objects.get(provider="google-oauth2").user == customer.user


def test_an_unverified_google_email_does_not_take_over_an_account(client, providers_on, provider):
    victim = UserFactory(email="camille@example.com")
    fake_google(provider, google_profile(verified=False))

    complete = sign_in(client, "google-oauth2")

    assert complete.status_code == 302
    assert complete["Location"] == "/compte/connexion/"
    assert logged_in_user(client) is None
    assert not UserSocialAuth.objects.exists()
    assert User.objects.get() == victim
    assert messages_of(complete) == [
        "Google n'a pas confirmé votre adresse e-mail : connectez-vous avec votre e-mail et votre mot de passe."
    ]


def test_a_facebook_email_never_joins_an_existing_account(client, providers_on, provider):
    victim = UserFactory(email="camille@example.com")
    fake_facebook(provider, facebook_profile(email="camille@example.com"))

    complete = sign_in(client, "facebook")

    assert logged_in_user(client) is None
    assert not UserSocialAuth.objects.exists()
    assert list(User.objects.all()) == [victim]
    victim.refresh_from_db()
    assert victim.check_password("motdepasse-solide")
    assert "connectez-vous avec votre mot de passe" in messages_of(complete)[0]


def test_a_staff_account_is_never_joined_even_by_a_verified_email(client, providers_on, provider):
    UserFactory(email="manager@ocpizza.fr", is_staff=True)
    fake_google(provider, google_profile(email="manager@ocpizza.fr", verified=True))

    complete = sign_in(client, "google-oauth2")

    assert logged_in_user(client) is None
    assert not UserSocialAuth.objects.exists()
    assert messages_of(complete) == [
        "Ce compte appartient à l'équipe OC Pizza : connectez-vous avec votre mot de passe."
    ]


def test_a_facebook_account_without_email_is_refused(client, providers_on, provider):
    profile = facebook_profile()
    del profile["email"]
    fake_facebook(provider, profile)

    complete = sign_in(client, "facebook")

    assert logged_in_user(client) is None
    assert not User.objects.exists()
    assert "ne nous transmet pas d'adresse e-mail" in messages_of(complete)[0]


def test_a_forged_state_is_refused(client, providers_on, provider):
    client.post("/oauth/login/google-oauth2/")

    response = client.get("/oauth/complete/google-oauth2/", {"state": "forged", "code": "provider-code"})

    assert response.status_code == 302
    assert logged_in_user(client) is None
    assert messages_of(response) == ["La connexion a expiré ou a été interrompue : recommencez."]
    assert len(provider.calls) == 0


# --- buttons ----------------------------------------------------------------------------


def render_buttons(**context) -> str:
    request = RequestFactory().get("/connexion/")
    return render_to_string("accounts/_social_buttons.html", context, request=request)


def test_no_buttons_without_keys(providers_off):
    assert render_buttons().strip() == ""


def test_buttons_without_a_secret_stay_hidden(providers_on, settings):
    settings.SOCIAL_AUTH_FACEBOOK_SECRET = ""

    html = render_buttons()

    assert "Continuer avec Google" in html
    assert "Facebook" not in html


def test_buttons_are_post_forms_with_csrf_when_keys_are_set(providers_on):
    html = render_buttons(next="/commande/")

    assert '<form method="post" action="/oauth/login/google-oauth2/"' in html
    assert '<form method="post" action="/oauth/login/facebook/"' in html
    assert html.count('name="csrfmiddlewaretoken"') == 2
    assert html.count('<input type="hidden" name="next" value="/commande/">') == 2
    assert '<button type="submit" class="button button-facebook">Continuer avec Facebook</button>' in html


def test_sign_in_cannot_be_started_by_a_get(client, providers_on):
    assert client.get("/oauth/login/google-oauth2/").status_code == 405


def test_a_provider_without_keys_cannot_be_used(client, providers_off):
    assert client.post("/oauth/login/facebook/").status_code == 404


def test_customer_profile_keeps_an_existing_customer_row(client, providers_on, provider):
    # An account joined by a verified e-mail may have a customer row without a phone yet.
    customer = CustomerFactory(user__email="camille@example.com", phone="")
    fake_google(provider, google_profile())

    assert sign_in(client, "google-oauth2")["Location"] == "/oauth/profil/"
    client.get(client.post("/oauth/profil/", {"phone": "01 23 45 67 89"})["Location"])

    assert logged_in_user(client) == customer.user
    assert Customer.objects.get().phone == "01 23 45 67 89"
