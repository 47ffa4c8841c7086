"""The project's pages, and two views that let a typed business error through."""

from django.urls import include, path

from ventes.exceptions import IllegalTransition, TransitionForbidden


def conflict(request):
    raise IllegalTransition("Cette commande vient de changer d'état.")


def forbidden(request):
    raise TransitionForbidden()


urlpatterns = [path("conflit/", conflict), path("interdit/", forbidden), path("", include("ocpizzapp.urls"))]
