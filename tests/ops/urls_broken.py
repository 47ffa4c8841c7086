import logging

from django.urls import path

logger = logging.getLogger("ocpizzapp.tests")


def broken_view(request):
    raise RuntimeError("le four a explosé")


def relayed_view(request):
    """A failure logged where it happens, then wrapped and re-raised: still one failure."""
    try:
        {}["pâte"]
    except KeyError as error:
        logger.exception("recette incomplète pour %s", request.GET.get("email"))
        raise RuntimeError(f"commande impossible pour {request.GET.get('email')}") from error


urlpatterns = [path("casse/", broken_view), path("relaie/", relayed_view)]
