from django.urls import path

from . import views, webhooks

app_name = "ventes"

urlpatterns = [
    path("", views.home, name="home"),
    path("pizzeria/<slug:slug>/", views.menu, name="menu"),
    path("pizzeria/<slug:slug>/produit/<int:product_id>/", views.product_configure, name="product_configure"),
    path("pizzeria/<slug:slug>/formule/<int:formula_id>/", views.formula_choose, name="formula_choose"),
    path("panier/", views.cart_page, name="cart"),
    path("panier/ajouter/", views.cart_add, name="cart_add"),
    path("panier/ajouter-formule/", views.cart_add_formula, name="cart_add_formula"),
    path("panier/<str:key>/", views.cart_update, name="cart_update"),
    path("panier/<str:key>/retirer/", views.cart_remove, name="cart_remove"),
    path("commander/", views.checkout, name="checkout"),
    path("commande/<str:number>/", views.order_detail, name="order_detail"),
    path("commande/<str:number>/suivi/", views.order_status, name="order_status"),
    path("commande/<str:number>/modifier/", views.order_edit, name="order_edit"),
    path("commande/<str:number>/annuler/", views.order_cancel, name="order_cancel"),
    path("commande/<str:number>/recu/", views.receipt, name="receipt"),
    path("commande/<str:number>/recu/duplicata/", views.receipt_reprint, name="receipt_reprint"),
    path("commande/<str:number>/rembourser/", views.order_refund, name="order_refund"),
    path("commande/<str:number>/recommander/", views.reorder, name="reorder"),
    path("equipe/commande/", views.staff_order, name="staff_order"),
    path("confidentialite/", views.privacy, name="privacy"),
    path("paiement/stripe/webhook/", webhooks.stripe_webhook, name="stripe_webhook"),
]

# The order page's stream, served by the stream server under /flux/ (ocpizzapp/urls.py).
stream_urlpatterns = [
    path("commande/<str:number>/", views.order_stream, name="order"),
]
