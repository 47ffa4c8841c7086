from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from production.urls import stream_urlpatterns as staff_streams
from ventes.urls import stream_urlpatterns as order_streams

from . import streams, views

admin.site.site_header = "OC Pizza — back-office"
admin.site.site_title = "OC Pizza"
admin.site.index_title = "Gestion de la chaîne"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The live screens' Server-Sent Events: served by the stream server (ocpizzapp/asgi.py), never by gunicorn.
    path(
        "flux/",
        include(
            (
                [path("sante", streams.health, name="health"), *order_streams, path("equipe/", include(staff_streams))],
                "flux",
            )
        ),
    ),
    path("admin/", admin.site.urls),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("oauth/", include("accounts.social_urls")),
    path("compte/", include("accounts.urls")),
    path("equipe/", include("production.urls")),
    path("", include("ventes.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
