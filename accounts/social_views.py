"""The page of the social sign-in: the phone number asked on the first login."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from social_core.utils import PARTIAL_TOKEN_SESSION_NAME
from social_django.models import Partial

from accounts.forms import PhoneForm
from accounts.social import PHONE_SESSION_KEY


@never_cache
@require_http_methods(["GET", "POST"])
def complete_profile(request):
    """Shown while a Google/Facebook sign-in is paused on ``complete_customer_profile``."""
    token = request.session.get(PARTIAL_TOKEN_SESSION_NAME)
    # The same manager as ``Partial.objects``, which social-auth types as a manager of any model.
    pending = Partial._default_manager.filter(token=token).first() if token else None
    if pending is None:
        messages.error(request, "Votre connexion a expiré : recommencez.")
        return redirect("ventes:home")

    form = PhoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        request.session[PHONE_SESSION_KEY] = form.cleaned_data["phone"]
        return redirect(reverse("social:complete", args=[pending.backend]))
    details = pending.data.get("kwargs", {}).get("details", {})
    return render(
        request,
        "accounts/social_profile.html",
        {"form": form, "first_name": details.get("first_name", ""), "email": details.get("email", "")},
    )
