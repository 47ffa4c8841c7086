from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "OC Pizza — back-office"
admin.site.site_title = "OC Pizza"
admin.site.index_title = "Gestion de la chaîne"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
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
