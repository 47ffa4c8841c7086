"""Google and Facebook sign-in (social-auth-app-django): providers, pipeline steps, errors.

A provider is on when its key and secret are set (settings then list its
backend in AUTHENTICATION_BACKENDS); the login page includes
``accounts/_social_buttons.html``, which renders nothing when none is on.

Account linking, the rule that prevents takeovers: a social sign-in joins an
existing account only when the provider vouches for the e-mail address.
Google does (``email_verified``, which social-core already insists on).
Facebook's Graph API gives no such claim, so a Facebook e-mail is treated as
unverified: it may open a new account but never enters an existing one.
Staff accounts are never joined at all: they sign in with their password.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from social_core.exceptions import AuthAssociationError, AuthResponseError, SocialAuthBaseException
from social_core.pipeline.partial import partial
from social_django.middleware import SocialAuthExceptionMiddleware

from ventes.selectors import customer_has_phone
from ventes.services import customer_complete_profile

# Session key where the phone form hands the validated number to the pipeline.
PHONE_SESSION_KEY = "social_profile_phone"


@dataclass(frozen=True)
class SocialProvider:
    backend: str
    label: str
    backend_path: str
    setting_prefix: str


PROVIDERS = [
    SocialProvider("google-oauth2", "Google", "social_core.backends.google.GoogleOAuth2", "SOCIAL_AUTH_GOOGLE_OAUTH2"),
    SocialProvider("facebook", "Facebook", "social_core.backends.facebook.FacebookOAuth2", "SOCIAL_AUTH_FACEBOOK"),
]
# Providers whose e-mail address is verified by the provider itself.
VERIFIED_EMAIL_BACKENDS = {"google-oauth2"}


def enabled_social_providers() -> list[SocialProvider]:
    """The providers whose buttons are shown: key, secret and backend configured."""
    return [
        provider
        for provider in PROVIDERS
        if getattr(settings, f"{provider.setting_prefix}_KEY", "")
        and getattr(settings, f"{provider.setting_prefix}_SECRET", "")
        and provider.backend_path in settings.AUTHENTICATION_BACKENDS
    ]


def social_providers(request) -> dict:
    """Context processor: ``social_providers``, the list of providers that are on."""
    return {"social_providers": enabled_social_providers()}


class SocialSignInRefused(AuthAssociationError):
    """A pipeline refusal whose French message is shown to the customer."""

    def __init__(self, backend, message: str, *, code: str):
        super().__init__(backend, code=code, stage="pipeline", recovery="use_existing_account")
        self.french_message = message


def email_is_verified(*, backend_name: str, response: dict) -> bool:
    return backend_name in VERIFIED_EMAIL_BACKENDS and response.get("email_verified") is True


def associate_by_verified_email(backend, details, response, user=None, *args, **kwargs):
    """Pipeline step: join an existing account only through a verified e-mail address.

    Replaces social-core's ``associate_by_email``, which trusts any address.
    """
    if user:
        return None
    email = (details.get("email") or "").strip()
    if not email:
        raise SocialSignInRefused(
            backend,
            f"Votre compte {backend.title} ne nous transmet pas d'adresse e-mail : "
            "inscrivez-vous avec votre adresse e-mail et un mot de passe.",
            code="missing_claim",
        )
    existing = get_user_model().objects.filter(email__iexact=email).first()
    if existing is None:
        return None
    if existing.is_staff or existing.is_superuser:
        raise SocialSignInRefused(
            backend,
            "Ce compte appartient à l'équipe OC Pizza : connectez-vous avec votre mot de passe.",
            code="email_in_use",
        )
    if not email_is_verified(backend_name=backend.name, response=response or {}):
        raise SocialSignInRefused(
            backend,
            f"Un compte OC Pizza existe déjà avec l'adresse {email}, et {backend.title} ne nous garantit pas "
            "qu'elle est la vôtre : connectez-vous avec votre mot de passe.",
            code="email_in_use",
        )
    return {"user": existing, "is_new": False}


@partial
def complete_customer_profile(strategy, backend, user=None, *args, **kwargs):
    """Partial pipeline step: a customer profile with a phone number, asked once.

    The first time, the pipeline pauses on the phone form
    (``accounts_social:complete_profile``), which stores the validated number
    in the session and sends the browser back to ``social:complete``.
    """
    if user is None or customer_has_phone(user=user):
        return None
    phone = strategy.session_pop(PHONE_SESSION_KEY)
    if phone:
        customer_complete_profile(user=user, phone=phone)
        return None
    return strategy.redirect(reverse("accounts_social:complete_profile"))


FRENCH_MESSAGES_BY_RECOVERY = {
    "restart_login": "La connexion a expiré ou a été interrompue : recommencez.",
    "retry_later": "Le service de connexion ne répond pas : réessayez dans un instant, "
    "ou connectez-vous avec votre e-mail.",
    "none": "Connexion annulée.",
    "use_existing_account": "Un compte existe déjà avec cette adresse e-mail : connectez-vous avec votre mot de passe.",
}
DEFAULT_FRENCH_MESSAGE = "La connexion n'a pas abouti : réessayez, ou connectez-vous avec votre e-mail."


def french_message(exception: SocialAuthBaseException) -> str:
    message = getattr(exception, "french_message", None)
    if message:
        return str(message)
    if isinstance(exception, AuthResponseError) and exception.claim == "email_verified":
        return "Google n'a pas confirmé votre adresse e-mail : connectez-vous avec votre e-mail et votre mot de passe."
    return FRENCH_MESSAGES_BY_RECOVERY.get(exception.recovery, DEFAULT_FRENCH_MESSAGE)


class SocialAuthErrorMiddleware(SocialAuthExceptionMiddleware):
    """social-django's error handling, with messages in French."""

    def get_message(self, request, exception) -> str:
        if isinstance(exception, SocialAuthBaseException):
            return french_message(exception)
        return super().get_message(request, exception)
