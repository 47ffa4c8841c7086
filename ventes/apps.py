from django.apps import AppConfig


class VentesConfig(AppConfig):
    name = "ventes"
    verbose_name = "Ventes"
