"""The first-login profile page, beside social-auth's own views under /oauth/."""

from django.urls import path

from . import social_views

app_name = "accounts_social"

urlpatterns = [
    path("profil/", social_views.complete_profile, name="complete_profile"),
]
