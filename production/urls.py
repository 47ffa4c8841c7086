from django.urls import path

from . import views

app_name = "production"

urlpatterns = [
    path("", views.home, name="home"),
    path("connexion/", views.StaffLoginView.as_view(), name="login"),
    path("deconnexion/", views.StaffLogoutView.as_view(), name="logout"),
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("couts-matiere/", views.food_cost, name="food_cost"),
    path("couts-matiere/prix/", views.ingredient_cost, name="ingredient_cost"),
    path("tableau-de-bord/direct/", views.dashboard_board, name="dashboard_board"),
    path("journal-des-ventes/", views.sales_journal, name="sales_journal"),
    path("<slug:slug>/journal-des-ventes/cloturer/", views.sales_journal_close, name="sales_journal_close"),
    path("<slug:slug>/pause/", views.pizzeria_pause, name="pizzeria_pause"),
    path("<slug:slug>/coup-de-feu/", views.pizzeria_busy, name="pizzeria_busy"),
    path("<slug:slug>/cuisine/", views.kitchen, name="kitchen"),
    path("<slug:slug>/cuisine/direct/", views.kitchen_board, name="kitchen_board"),
    path("<slug:slug>/cuisine/<int:pk>/commencer/", views.kitchen_move, {"action": "start"}, name="kitchen_start"),
    path("<slug:slug>/cuisine/<int:pk>/terminer/", views.kitchen_move, {"action": "finish"}, name="kitchen_finish"),
    path("<slug:slug>/cuisine/<int:pk>/annuler-geste/", views.kitchen_move, {"action": "undo"}, name="kitchen_undo"),
    path("<slug:slug>/recettes/", views.recipe_list, name="recipe_list"),
    path("<slug:slug>/recettes/<int:product_id>/", views.recipe_detail, name="recipe_detail"),
    path("<slug:slug>/commandes/<int:pk>/ticket/", views.order_ticket, name="order_ticket"),
    path("<slug:slug>/livraisons/", views.rider, name="rider"),
    path("<slug:slug>/livraisons/direct/", views.rider_board, name="rider_board"),
    path("<slug:slug>/livraisons/<int:pk>/prendre/", views.rider_move, {"action": "take"}, name="rider_take"),
    path("<slug:slug>/livraisons/<int:pk>/livree/", views.rider_move, {"action": "deliver"}, name="rider_deliver"),
    path("<slug:slug>/comptoir/", views.counter, name="counter"),
    path("<slug:slug>/comptoir/direct/", views.counter_board, name="counter_board"),
    path("<slug:slug>/comptoir/<int:pk>/remise/", views.counter_handover, name="counter_handover"),
    path("<slug:slug>/carte/", views.menu_prices, name="menu_prices"),
    path("<slug:slug>/stock/", views.stock, name="stock"),
    path("<slug:slug>/stock/historique/", views.stock_ledger, name="stock_ledger"),
    path("<slug:slug>/stock/<int:pk>/", views.stock_line, name="stock_line"),
    path("<slug:slug>/stock/<int:pk>/reapprovisionner/", views.stock_move, {"kind": "restock"}, name="stock_restock"),
    path("<slug:slug>/stock/<int:pk>/inventaire/", views.stock_move, {"kind": "inventory"}, name="stock_inventory"),
    path("<slug:slug>/stock/<int:pk>/perte/", views.stock_move, {"kind": "waste"}, name="stock_waste"),
    path("<slug:slug>/stock/<int:pk>/transfert/", views.stock_transfer_send, name="stock_transfer"),
]
