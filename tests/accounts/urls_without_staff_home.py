"""Only what the login needs, so that /equipe/ resolves nowhere whatever other apps add later."""

from django.http import HttpResponse
from django.urls import include, path

home_patterns = ([path("", lambda request: HttpResponse("accueil"), name="home")], "ventes")

urlpatterns = [
    path("compte/", include("accounts.urls")),
    path("", include(home_patterns)),
]
