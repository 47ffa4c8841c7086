from django.urls import path

from . import views

app_name = "ventes"

urlpatterns = [
    path("", views.home, name="home"),
]
