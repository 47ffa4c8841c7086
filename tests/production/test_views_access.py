"""Who reaches which staff URL: every URL, every role, GET and POST alike."""

import pytest
from django.urls import reverse

from production.services import role_groups_sync
from tests import factories
from tests.ventes.helpers import place
from ventes.models import Order

KITCHEN = {"pizzaiolo", "manager"}
RIDER = {"rider", "manager"}
COUNTER = {"counter", "manager"}
TICKET = {"pizzaiolo", "counter", "manager"}
MANAGER = {"manager"}
STAFF = {"pizzaiolo", "rider", "counter", "manager"}
ROLES = ["pizzaiolo", "rider", "counter", "manager"]

# name, method, roles allowed, object in the URL, POST data
URLS = [
    ("home", "get", STAFF, None, None),
    ("dashboard", "get", MANAGER, None, None),
    ("dashboard_board", "get", MANAGER, None, None),
    ("pizzeria_pause", "post", MANAGER, "", {"accepting": "0"}),
    ("kitchen", "get", KITCHEN, "", None),
    ("kitchen_board", "get", KITCHEN, "", None),
    ("kitchen_start", "post", KITCHEN, "order", {}),
    ("kitchen_finish", "post", KITCHEN, "order", {}),
    ("kitchen_undo", "post", KITCHEN, "order", {}),
    ("recipe_list", "get", KITCHEN, "", None),
    ("recipe_detail", "get", KITCHEN, "product", None),
    ("order_ticket", "get", TICKET, "order", None),
    ("rider", "get", RIDER, "", None),
    ("rider_board", "get", RIDER, "", None),
    ("rider_take", "post", RIDER, "order", {}),
    ("rider_deliver", "post", RIDER, "order", {}),
    ("counter", "get", COUNTER, "", None),
    ("counter_board", "get", COUNTER, "", None),
    ("counter_handover", "post", COUNTER, "order", {}),
    ("stock", "get", KITCHEN, "", None),
    ("stock_ledger", "get", KITCHEN, "", None),
    ("stock_line", "get", KITCHEN, "stock", None),
    ("stock_restock", "post", KITCHEN, "stock", {"restock-quantity": "5"}),
    ("stock_inventory", "post", KITCHEN, "stock", {"inventory-quantity": "1150"}),
    ("stock_waste", "post", KITCHEN, "stock", {"waste-quantity": "1"}),
]
URL_IDS = [name for name, *_ in URLS]


@pytest.fixture
def objects(shop):
    """One object of each kind at the shop's pizzeria and at the other one."""
    foreign_product = factories.ProductFactory(name="Calzone", pizzerias=[shop.other_pizzeria])
    return {
        "order": (place(shop).pk, place(shop, pizzeria_id=shop.other_pizzeria.pk).pk),
        "product": (shop.margherita.pk, foreign_product.pk),
        "stock": (shop.stock["cheese"].pk, shop.other_pizzeria.stock_lines.get(ingredient__name="cheese").pk),
    }


def url_for(name, kind, shop, objects, *, pizzeria=None, foreign_object=False):
    if kind is None:
        return reverse(f"production:{name}")
    kwargs = {"slug": (pizzeria or shop.pizzeria).slug}
    if kind == "product":
        kwargs["product_id"] = objects[kind][int(foreign_object)]
    elif kind:
        kwargs["pk"] = objects[kind][int(foreign_object)]
    return reverse(f"production:{name}", kwargs=kwargs)


def call(client, method, url, data):
    return client.post(url, data) if method == "post" else client.get(url)


@pytest.mark.parametrize(("name", "method", "roles", "kind", "data"), URLS, ids=URL_IDS)
def test_anonymous_goes_to_the_staff_login(client, shop, objects, name, method, roles, kind, data):
    url = url_for(name, kind, shop, objects)
    response = call(client, method, url, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("production:login"))


@pytest.mark.parametrize(("name", "method", "roles", "kind", "data"), URLS, ids=URL_IDS)
def test_a_customer_is_refused(client, shop, team, objects, name, method, roles, kind, data):
    client.force_login(team.customer)
    assert call(client, method, url_for(name, kind, shop, objects), data).status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "roles", "kind", "data"), URLS, ids=URL_IDS)
def test_each_role_reaches_its_screens_only(client, shop, team, objects, role, name, method, roles, kind, data):
    client.force_login(team.user(role))
    response = call(client, method, url_for(name, kind, shop, objects), data)
    if role in roles:
        expected = 302 if method == "post" or name == "home" else 200
        assert response.status_code == expected, response.content[:500]
    else:
        assert response.status_code == 403


SCOPED = [url for url in URLS if url[3] is not None]
# Every (role, URL) pair where a member of one pizzeria may open the URL at his own.
SCOPED_BY_ROLE = [(role, *url) for url in SCOPED for role in ["pizzaiolo", "rider", "counter"] if role in url[2]]


@pytest.mark.parametrize(
    ("role", "name", "method", "roles", "kind", "data"),
    SCOPED_BY_ROLE,
    ids=[f"{pair[1]}-{pair[0]}" for pair in SCOPED_BY_ROLE],
)
def test_another_pizzerias_screens_and_objects_are_not_found(
    client, shop, team, objects, role, name, method, roles, kind, data
):
    client.force_login(team.user(role))
    other_slug = url_for(name, kind, shop, objects, pizzeria=shop.other_pizzeria, foreign_object=True)
    assert call(client, method, other_slug, data).status_code == 404
    if kind:
        own_slug_foreign_object = url_for(name, kind, shop, objects, foreign_object=True)
        assert call(client, method, own_slug_foreign_object, data).status_code == 404


@pytest.mark.parametrize(("name", "method", "roles", "kind", "data"), SCOPED, ids=[u[0] for u in SCOPED])
def test_a_manager_reaches_every_pizzeria(client, shop, team, objects, name, method, roles, kind, data):
    client.force_login(team.manager)
    url = url_for(name, kind, shop, objects, pizzeria=shop.other_pizzeria, foreign_object=True)
    assert call(client, method, url, data).status_code == (302 if method == "post" else 200)


def test_nothing_was_written_by_refused_posts(client, shop, team, objects):
    client.force_login(team.rider)
    order_id = objects["order"][0]
    cheese = shop.level("cheese")
    client.post(reverse("production:kitchen_start", kwargs={"slug": shop.pizzeria.slug, "pk": order_id}))
    client.post(reverse("production:stock_restock", kwargs={"slug": shop.pizzeria.slug, "pk": objects["stock"][0]}))
    assert shop.level("cheese") == cheese
    assert Order.objects.get(pk=order_id).state == "received"


def test_each_roles_group_holds_what_its_screens_write(db):
    groups = role_groups_sync()

    def codenames(role):
        return set(groups[role].permissions.values_list("content_type__app_label", "codename"))

    assert ("production", "add_stockmovement") in codenames("pizzaiolo")
    assert ("ventes", "change_order") in codenames("pizzaiolo")
    assert ("ventes", "add_payment") in codenames("rider")
    assert ("ventes", "add_payment") in codenames("counter")
    assert ("production", "add_stockmovement") not in codenames("rider")
    assert ("production", "change_pizzeria") in codenames("manager")


def test_a_superuser_without_a_staff_role_acts_as_a_manager(client, shop):
    admin = factories.UserFactory(is_superuser=True, is_staff=True)
    client.force_login(admin)
    assert client.get(reverse("production:home"))["Location"] == reverse("production:dashboard")
    assert client.get(reverse("production:kitchen", args=[shop.other_pizzeria.slug])).status_code == 200


@pytest.mark.parametrize("role", ["manager", "pizzaiolo"])
def test_a_closed_down_pizzeria_is_not_found(client, shop, team, role):
    type(shop.pizzeria).objects.filter(pk=shop.pizzeria.pk).update(is_active=False)
    client.force_login(team.user(role))
    assert client.get(reverse("production:kitchen", args=[shop.pizzeria.slug])).status_code == 404


def test_taps_are_posts_only(client, shop, team, objects):
    client.force_login(team.pizzaiolo)
    start = reverse("production:kitchen_start", kwargs={"slug": shop.pizzeria.slug, "pk": objects["order"][0]})
    assert client.get(start).status_code == 405
    assert Order.objects.get(pk=objects["order"][0]).state == "received"
