from django.urls import path

from . import views, webhooks

app_name = "ventes"

urlpatterns = [
    path("", views.home, name="home"),
    path("paiement/stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]
