"""The customer's account, under /compte/."""

from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("inscription/", views.signup, name="signup"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/", views.password_reset, name="password_reset"),
    path("mot-de-passe/envoye/", views.password_reset_done, name="password_reset_done"),
    path("mot-de-passe/<uidb64>/<token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("mot-de-passe/termine/", views.password_reset_complete, name="password_reset_complete"),
    path("adresses/", views.address_list, name="addresses"),
    path("adresses/ajouter/", views.address_add, name="address_add"),
    path("adresses/<int:address_id>/modifier/", views.address_edit, name="address_edit"),
    path("adresses/<int:address_id>/supprimer/", views.address_delete_view, name="address_delete"),
    path("commandes/", views.order_history, name="orders"),
    path("mes-donnees/", views.my_data, name="my_data"),
    path("mes-donnees/export.json", views.my_data_export, {"fmt": "json"}, name="my_data_json"),
    path("mes-donnees/export.csv", views.my_data_export, {"fmt": "csv"}, name="my_data_csv"),
    path("mes-donnees/effacer/", views.my_data_erase, name="my_data_erase"),
]
