from django.urls import path


def broken_view(request):
    raise RuntimeError("le four a explosé")


urlpatterns = [path("casse/", broken_view)]
